/** Maps replica errors to gRPC statuses with `ql-*` trailing metadata (see sql.proto). */
import * as grpc from '@grpc/grpc-js';
import { ReplicaError, type ReplicaErrorCode } from '@quorumlite/replica';

const STATUS: Record<ReplicaErrorCode, grpc.status> = {
  sql_error: grpc.status.INVALID_ARGUMENT,
  refused: grpc.status.INVALID_ARGUMENT,
  invalid: grpc.status.INVALID_ARGUMENT,
  too_large: grpc.status.RESOURCE_EXHAUSTED,
  not_leader: grpc.status.UNAVAILABLE,
  no_leader: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  stale: grpc.status.FAILED_PRECONDITION,
  internal: grpc.status.INTERNAL,
};

export function toServiceError(e: unknown): Partial<grpc.ServiceError> {
  const err =
    e instanceof ReplicaError
      ? e
      : new ReplicaError('internal', `internal error: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  const metadata = new grpc.Metadata();
  metadata.set('ql-code', err.code);
  const d = err.details;
  if (d.sqliteCode) metadata.set('ql-sqlite-code', d.sqliteCode);
  if (d.leaderId) metadata.set('ql-leader', d.leaderId);
  if (d.leaderAddress) metadata.set('ql-leader-addr', d.leaderAddress);
  if (d.index !== undefined) metadata.set('ql-index', String(d.index));
  if (d.statementIndex !== undefined) metadata.set('ql-statement', String(d.statementIndex));
  return { code: STATUS[err.code], details: err.message, metadata };
}

/** The reverse, for a forwarded write whose leader answered with an error. */
export function fromServiceError(e: grpc.ServiceError): ReplicaError {
  const get = (key: string): string | undefined => {
    const v = e.metadata?.get(key)[0];
    return v === undefined ? undefined : String(v);
  };
  const code = (get('ql-code') as ReplicaErrorCode | undefined) ?? grpcToCode(e.code);
  const index = get('ql-index');
  const statement = get('ql-statement');
  return new ReplicaError(code, e.details || e.message, {
    ...(get('ql-sqlite-code') ? { sqliteCode: get('ql-sqlite-code') } : {}),
    ...(get('ql-leader') ? { leaderId: get('ql-leader') } : {}),
    ...(get('ql-leader-addr') ? { leaderAddress: get('ql-leader-addr') } : {}),
    ...(index ? { index: Number(index) } : {}),
    ...(statement ? { statementIndex: Number(statement) } : {}),
  });
}

function grpcToCode(code: grpc.status): ReplicaErrorCode {
  switch (code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return 'timeout';
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return 'unavailable';
    case grpc.status.INVALID_ARGUMENT:
      return 'invalid';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'too_large';
    default:
      return 'internal';
  }
}
