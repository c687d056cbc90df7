/**
 * Operating errors of the replica: expected, typed, and mapped by the edge (gRPC) to a
 * status code plus `ql-*` metadata. A broken invariant is not one of these: it throws Error.
 */
import type { QlErrorCode } from '@quorumlite/proto';
import { SqlError, type ApplyOutcome } from '@quorumlite/sql';
import type { WriteResult } from './ports';

export type ReplicaErrorCode = QlErrorCode;

export interface ReplicaErrorDetails {
  readonly sqliteCode?: string;
  readonly statementIndex?: number;
  readonly leaderId?: string | null;
  readonly leaderAddress?: string | null;
  readonly index?: number;
}

export class ReplicaError extends Error {
  constructor(
    readonly code: ReplicaErrorCode,
    message: string,
    readonly details: ReplicaErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReplicaError';
  }
}

export function isReplicaError(e: unknown): e is ReplicaError {
  return e instanceof ReplicaError;
}

/** A command's outcome from apply, as the client sees it: its results, or the error its statements raised. */
export function toWriteResult(outcome: ApplyOutcome, index: number, duplicate: boolean): WriteResult {
  if (!outcome.ok) {
    const err = outcome.error;
    throw new ReplicaError(err.code === 'sql_error' ? 'sql_error' : err.code === 'too_large' ? 'too_large' : err.code === 'invalid' ? 'invalid' : 'refused', err.message, {
      ...(err.sqliteCode !== undefined ? { sqliteCode: err.sqliteCode } : {}),
      ...(err.statementIndex !== undefined ? { statementIndex: err.statementIndex } : {}),
      index,
    });
  }
  return { results: outcome.results, index, duplicate };
}

/** A state-machine error as a ReplicaError; anything else as it is. */
export function fromSqlError(e: unknown): unknown {
  if (!(e instanceof SqlError)) return e;
  const code = e.code === 'corrupt' ? 'internal' : e.code;
  return new ReplicaError(code, e.message, {
    ...(e.sqliteCode !== undefined ? { sqliteCode: e.sqliteCode } : {}),
    ...(e.statementIndex !== undefined ? { statementIndex: e.statementIndex } : {}),
  }, { cause: e });
}
