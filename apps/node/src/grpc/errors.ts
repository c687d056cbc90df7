/** Maps replica errors to gRPC statuses with `ql-*` trailing metadata (see sql.proto). */
import * as grpc from '@grpc/grpc-js';
import { parseQlCode, QL_ERROR_STATUS, qlCodeOfStatus } from '@quorumlite/proto';
import { ReplicaError, type ReplicaErrorCode } from '@quorumlite/replica';


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
  if (d.noData) metadata.set('ql-no-data', '1');
  return { code: QL_ERROR_STATUS[err.code], details: err.message, metadata };
}

/** The reverse, for a forwarded write whose leader answered with an error. */
export function fromServiceError(e: grpc.ServiceError): ReplicaError {
  const get = (key: string): string | undefined => {
    const v = e.metadata?.get(key)[0];
    return v === undefined ? undefined : String(v);
  };
  const code: ReplicaErrorCode = parseQlCode(get('ql-code')) ?? qlCodeOfStatus(e.code);
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
