/**
 * Operating errors of the replica: expected, typed, and mapped by the edge (gRPC) to a
 * status code plus `ql-*` metadata. A broken invariant is not one of these: it throws Error.
 */
import { CodedError } from '@quorumlite/errors';
import type { MembershipRefusal, ReadFailure } from '@quorumlite/consensus';
import type { QlErrorCode } from '@quorumlite/proto';
import { SqlError, type ApplyOutcome } from '@quorumlite/sql';
import type { WriteRequest, WriteResult } from './ports';

export type ReplicaErrorCode = QlErrorCode;

export interface ReplicaErrorDetails {
  readonly sqliteCode?: string;
  readonly statementIndex?: number;
  readonly leaderId?: string | null;
  readonly leaderAddress?: string | null;
  readonly index?: number;
  /** Why the core refused a member list (membershipRefused). */
  readonly refusal?: MembershipRefusal;
  /** A read refused by a node that keeps no database (a witness): a data node would answer it. */
  readonly noData?: boolean;
}

export class ReplicaError extends CodedError<ReplicaErrorCode> {
  constructor(
    code: ReplicaErrorCode,
    message: string,
    readonly details: ReplicaErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
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

/**
 * Named fields, not a spread: V8 (Node 20) builds `{ ...r, more }` one property at a time, at
 * about ten times the cost of a literal — measurable on a path every request takes. The
 * records below fail to compile when WriteResult or WriteRequest gains a field, so the copies
 * cannot silently drop it.
 */
const _WRITE_RESULT_FIELDS: Record<keyof WriteResult, true> = { results: true, index: true, duplicate: true, uncommitted: true, leaderAddress: true };
const _WRITE_REQUEST_FIELDS: Record<keyof WriteRequest, true> = { statements: true, requestId: true, durability: true, timeoutMs: true, forwarded: true, authorization: true };

/** `r` answered by the leader at `leaderAddress`. */
export function withLeaderAddress(r: WriteResult, leaderAddress: string): WriteResult {
  const out: { -readonly [K in keyof WriteResult]: WriteResult[K] } = { results: r.results, index: r.index, duplicate: r.duplicate, leaderAddress };
  if (r.uncommitted !== undefined) out.uncommitted = r.uncommitted;
  return out;
}

/** `r` to be sent on with a new timeout (and marked forwarded, when it is). */
export function withTimeout(r: WriteRequest, timeoutMs: number, forwarded: boolean): WriteRequest {
  return requestOf(r.statements, r, timeoutMs, forwarded);
}

/** A write request without its statements: what a leader keeps of it once they are in the log record. */
export type WriteSettings = Omit<WriteRequest, 'statements'>;

/** `r`'s settings alone (named fields, as above). */
export function writeSettings(r: WriteRequest): WriteSettings {
  const out: { -readonly [K in keyof WriteSettings]: WriteSettings[K] } = { requestId: r.requestId, durability: r.durability, timeoutMs: r.timeoutMs, forwarded: r.forwarded };
  if (r.authorization !== undefined) out.authorization = r.authorization;
  return out;
}

/** A request again, from its settings and statements. */
export function withStatements(r: WriteSettings, statements: WriteRequest['statements']): WriteRequest {
  return requestOf(statements, r, r.timeoutMs, r.forwarded);
}

function requestOf(statements: WriteRequest['statements'], r: WriteSettings, timeoutMs: number, forwarded: boolean): WriteRequest {
  const out: { -readonly [K in keyof WriteRequest]: WriteRequest[K] } = {
    statements,
    requestId: r.requestId,
    durability: r.durability,
    timeoutMs,
    forwarded,
  };
  if (r.authorization !== undefined) out.authorization = r.authorization;
  return out;
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

/** An admin request that only the leader carries out, asked of a node that does not lead: names the leader it knows. */
export function askTheLeader(nodeId: string, leader: { leaderId: string | null; leaderAddress: string | null }, what: string): ReplicaError {
  return new ReplicaError('not_leader', `node ${nodeId} is not the leader${leader.leaderId ? `; ${leader.leaderId} is` : ''}: ask the leader to ${what}`, leader);
}

/** Why the core refused a proposal, as the client hears it. */
export function proposalRefused(
  reason: 'not_leader' | 'overloaded' | 'transferring',
  nodeId: string,
  leader: { leaderId: string | null; leaderAddress: string | null },
): ReplicaError {
  switch (reason) {
    case 'not_leader':
      return new ReplicaError('not_leader', `node ${nodeId} is not the leader`, leader);
    case 'overloaded':
      return new ReplicaError('overloaded', 'too many uncommitted writes; retry with backoff');
    case 'transferring':
      return new ReplicaError('unavailable', 'leadership is being transferred; retry shortly');
  }
}

/** Why the core refused a member list, as the operator hears it (the core's sentence). */
export function membershipRefused(reason: MembershipRefusal, message: string): ReplicaError {
  const details = { refusal: reason };
  switch (reason) {
    // In flight, or a member still catching up: a moment later the same change may go through.
    case 'config_pending':
    case 'not_caught_up':
    // A witness leads only to hand over: the next leader takes the change.
    case 'witness_leader':
      return new ReplicaError('unavailable', message, details);
    case 'invalid':
      return new ReplicaError('invalid', message, details);
    case 'too_many_changes':
    case 'no_quorum':
    case 'witness_shortfall':
    case 'unsupported':
      return new ReplicaError('refused', message, details);
  }
}

/** A linearizable read the core could not confirm, as the client hears it. */
export function readFailed(failure: ReadFailure, leaderAddress: string | null): ReplicaError {
  return failure.reason === 'not_leader' && !failure.leader
    ? new ReplicaError('no_leader', 'no leader is known to confirm a linearizable read; retry shortly', { leaderId: null, leaderAddress })
    : new ReplicaError('unavailable', 'leadership changed during a linearizable read; retry', { leaderId: failure.leader, leaderAddress });
}
