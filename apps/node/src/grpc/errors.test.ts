import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { decodeError } from '@quorumlite/client';
import { QL_ERROR_CODES, QL_ERROR_STATUS } from '@quorumlite/proto';
import { ReplicaError } from '@quorumlite/replica';
import { fromServiceError, toServiceError } from './errors';

function asServiceError(e: Partial<grpc.ServiceError>): grpc.ServiceError {
  return Object.assign(new Error(e.details ?? ''), { code: e.code!, details: e.details ?? '', metadata: e.metadata ?? new grpc.Metadata() });
}

describe('node and client read errors alike', () => {
  it('every code the node sends reaches the client and a forwarding node as itself, with one status', () => {
    for (const code of QL_ERROR_CODES) {
      const sent = asServiceError(toServiceError(new ReplicaError(code, 'x')));
      expect(sent.code).toBe(QL_ERROR_STATUS[code]);
      expect(decodeError(sent).code).toBe(code);
      expect(fromServiceError(sent).code).toBe(code);
    }
  });

  it('a status without ql-code means the same on both sides', () => {
    for (const status of [grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.UNKNOWN]) {
      const e = asServiceError({ code: status, details: 'from grpc itself' });
      expect(fromServiceError(e).code, grpc.status[status]).toBe(decodeError(e).code);
    }
    expect(fromServiceError(asServiceError({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'Received message larger than max' })).code).toBe('too_large');
  });

  it("a witness's refused read reaches the client as noData; no other error does", () => {
    const witness = decodeError(asServiceError(toServiceError(new ReplicaError('refused', 'node n3 is a witness', { leaderId: 'n1', noData: true }))));
    expect(witness).toMatchObject({ code: 'refused', noData: true, leaderId: 'n1' });
    expect(decodeError(asServiceError(toServiceError(new ReplicaError('refused', 'a query may only read')))).noData).toBeUndefined();
  });

  it('a ql-code that is not one of ours is not taken at its word', () => {
    const metadata = new grpc.Metadata();
    metadata.set('ql-code', 'made_up');
    expect(fromServiceError(asServiceError({ code: grpc.status.UNAVAILABLE, details: 'x', metadata })).code).toBe('unavailable');
  });
});
