import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { decodeError, isRetryable, QuorumliteError } from './errors';
import { backoffMs, RETRY_BACKOFF_CAP_MS } from './retry';

function serviceError(code: grpc.status, details: string, meta: Record<string, string> = {}): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(meta)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

describe('decodeError', () => {
  it('reads every ql-* trailer', () => {
    const e = decodeError(
      serviceError(grpc.status.FAILED_PRECONDITION, 'UNIQUE constraint failed: t.id', {
        'ql-code': 'sql_error',
        'ql-sqlite-code': 'SQLITE_CONSTRAINT_UNIQUE',
        'ql-index': '42',
      }),
      '127.0.0.1:7001',
    );
    expect(e).toBeInstanceOf(QuorumliteError);
    expect(e.code).toBe('sql_error');
    expect(e.grpcCode).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.sqliteCode).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(e.index).toBe(42n);
    expect(e.message).toBe('UNIQUE constraint failed: t.id');
    expect(e.cause).toBeInstanceOf(Error);
    expect(isRetryable(e)).toBe(false);
  });

  it('reads leader hints', () => {
    const e = decodeError(
      serviceError(grpc.status.FAILED_PRECONDITION, 'not the leader', { 'ql-code': 'not_leader', 'ql-leader': 'n2', 'ql-leader-addr': '127.0.0.1:7002' }),
    );
    expect([e.code, e.leaderId, e.leaderAddress]).toEqual(['not_leader', 'n2', '127.0.0.1:7002']);
    expect(isRetryable(e)).toBe(true);
  });

  it('derives a code from the status when the node sent none', () => {
    const down = decodeError(serviceError(grpc.status.UNAVAILABLE, 'No connection established. Resolution note: '), '127.0.0.1:1');
    expect(down.code).toBe('unavailable');
    expect(down.message).toBe('cannot reach 127.0.0.1:1: No connection established.');
    expect(isRetryable(down)).toBe(true);
    expect(decodeError(serviceError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded')).code).toBe('timeout');
    expect(decodeError(serviceError(grpc.status.UNIMPLEMENTED, 'nope')).code).toBe('internal');
    expect(decodeError(new Error('boom')).code).toBe('internal');
  });

  it('reads a status without ql-code as too_large when it is RESOURCE_EXHAUSTED, and checks the ql-code it is given', () => {
    // grpc-js's own "message larger than max" carries no ql-code: too large, not worth a retry.
    const big = decodeError(serviceError(grpc.status.RESOURCE_EXHAUSTED, 'Received message larger than max (20000000 vs. 16777216)'));
    expect(big.code).toBe('too_large');
    expect(isRetryable(big)).toBe(false);
    // An unknown ql-code is not passed through as if it were one.
    expect(decodeError(serviceError(grpc.status.UNAVAILABLE, 'x', { 'ql-code': 'made_up' })).code).toBe('unavailable');
  });

  it('never retries request errors', () => {
    for (const code of ['sql_error', 'refused', 'invalid', 'too_large', 'internal']) {
      expect(isRetryable(new QuorumliteError('x', { code, grpcCode: 9 }))).toBe(false);
    }
  });
});

describe('backoffMs', () => {
  it('grows from the start and stays under the cap', () => {
    expect(backoffMs(1, 0)).toBe(10);
    expect(backoffMs(1, 0.999)).toBeLessThanOrEqual(20);
    expect(backoffMs(2, 1)).toBe(40);
    for (let attempt = 1; attempt < 100; attempt++) {
      expect(backoffMs(attempt, 0.999)).toBeLessThanOrEqual(RETRY_BACKOFF_CAP_MS);
      expect(backoffMs(attempt, 0)).toBeGreaterThan(0);
    }
  });
});
