/**
 * libs/sql — the deterministic SQLite state machine: what the leader checks before the log
 * (prepare), how every replica applies committed commands (applyBatch), reads, snapshots.
 */
export { SqlError, type SqlErrorCode } from './errors';
export { SQL_LIMITS, type SqlLimits, type SqlOptions } from './limits';
export { encodeCommand, decodeCommand } from './codec';
export { namedKeys } from './types';
export { SqlStateMachine } from './state-machine';
export { readSnapshotIndex } from './snapshot-file';
export { databaseOrigin, dumpSql, importBackup, ORIGIN_TABLE, quoteName, sqlLiteral } from './backup-file';
export { splitStatements, tokenize, type Token, type TokenKind, type SplitStatement } from './tokenizer';
export type {
  ApplyEntry,
  ApplyError,
  ApplyOutcome,
  Command,
  ExecuteInput,
  QueryInput,
  QueryResult,
  StatementInput,
  StatementResult,
} from './types';
