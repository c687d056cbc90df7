/**
 * Operating errors of the replica: expected, typed, and mapped by the edge (gRPC) to a
 * status code plus `ql-*` metadata. A broken invariant is not one of these: it throws Error.
 */
import type { QlErrorCode } from '@quorumlite/proto';

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
