export { QuorumliteClient, newRequestId, CLIENT_TIMEOUT_MS_DEFAULT, CLIENT_RETRY_BUDGET_MS_DEFAULT, type TransferLeadershipOptions, type TransferLeadershipResult, type MemberEntry, type MembersResult, type MemberChangeRequest } from './client';
export { BackupStartedError, type BackupOptions, type BackupResult } from './backup';
export { QuorumliteError, decodeError, isRetryable, type QlCode } from './errors';
export { toWireParam, toWireParams, paramName, type ParamValue, type WireParams } from './params';
export { diffCounters, sumCounters, zeroCounters, messageTotals } from './counters';
export { backoffMs, RETRY_BACKOFF_START_MS, RETRY_BACKOFF_CAP_MS } from './retry';
export type {
  SqlValue,
  Durability,
  Consistency,
  Params,
  StatementSpec,
  ExecuteOptions,
  ExecuteResult,
  StatementResultInfo,
  QueryOptions,
  QueryResult,
  ColumnInfo,
  NodeStatus,
  NodeCounters,
  MessageTally,
  MemberInfo,
  ClientOptions,
  LinearizableReads,
  ClientTls,
} from './types';
