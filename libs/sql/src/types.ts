import type { SqlValue } from '@quorumlite/proto';
import type { SqlErrorCode } from './errors';

export interface StatementInput {
  sql: string;
  /** Bound to `?` in order of appearance, or to `?NNN` as params[NNN-1]. */
  params: SqlValue[];
  /** Bound to :name, @name or $name; keys are given without the prefix. */
  named: Record<string, SqlValue>;
}

export interface ExecuteInput {
  statements: StatementInput[];
  /** Idempotency key; null (or '') for none. */
  requestId: string | null;
}

/** What goes into the log: the validated statements plus the leader-fixed time and seed. */
export interface Command {
  statements: StatementInput[];
  requestId: string | null;
  /** Milliseconds since the Unix epoch that 'now' means while this command applies. */
  timeMs: number;
  /** Seeds random() and randomblob() for this command. */
  seed: number;
}

export interface StatementResult {
  rowsAffected: number;
  lastInsertRowid: bigint;
  /** Only for a statement that returns rows (SELECT, … RETURNING): what Query would return. */
  rows?: QueryResult;
}

export interface ApplyError {
  code: SqlErrorCode;
  message: string;
  sqliteCode?: string;
  /** 0-based index of the failing statement in Command.statements. */
  statementIndex?: number;
}

/** `originalIndex`: for a duplicate request id, the log index the request was first applied at. */
export type ApplyOutcome =
  | { ok: true; results: StatementResult[]; duplicate: boolean; originalIndex?: number }
  | { ok: false; error: ApplyError; duplicate: boolean; originalIndex?: number };

export interface ApplyEntry {
  index: number;
  /**
   * A `config` record (a member list, the consensus library's codec): the database keeps the
   * latest one it applied (appliedMembers), so membership travels with the data and its snapshots.
   */
  kind: 'command' | 'noop' | 'config';
  data: Uint8Array;
}

export interface QueryInput {
  sql: string;
  params: SqlValue[];
  named: Record<string, SqlValue>;
  /** 0 (or more than resultRowsMax) means resultRowsMax. */
  maxRows: number;
  /** 0 (or more than resultBytesMax) means resultBytesMax. */
  maxBytes: number;
}

export interface QueryResult {
  /** declType is the column's declared type in its table, '' for expressions. */
  /** Shared by every answer of one statement until the schema changes: never written to. */
  columns: readonly { readonly name: string; readonly declType: string }[];
  rows: SqlValue[][];
  truncated: boolean;
}

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * A statement's named-value keys, as Object.keys gives them; for a statement with none (nearly
 * every write) one shared empty list, where Object.keys allocates one per call — several calls
 * per statement on a write's way from request to apply.
 */
export function namedKeys(named: Readonly<Record<string, unknown>>): readonly string[] {
  for (const key in named) {
    if (Object.prototype.hasOwnProperty.call(named, key)) return Object.keys(named);
  }
  return NO_KEYS;
}
