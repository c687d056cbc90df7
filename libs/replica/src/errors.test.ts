import { describe, expect, it } from 'vitest';
import { withLeaderAddress, withStatements, withTimeout, writeSettings } from './errors';
import type { WriteRequest, WriteResult } from './ports';

describe('copies of a write request and result', () => {
  it('keep every field, the optional ones only when set', () => {
    const results = [{ rowsAffected: 1, lastInsertRowid: 2n }];
    expect(withLeaderAddress({ results, index: 7, duplicate: true }, 'h:1')).toStrictEqual({ results, index: 7, duplicate: true, leaderAddress: 'h:1' });
    const uncommitted: WriteResult = { results: [], index: 8, duplicate: false, uncommitted: true, leaderAddress: 'old' };
    expect(withLeaderAddress(uncommitted, 'h:2')).toStrictEqual({ results: [], index: 8, duplicate: false, uncommitted: true, leaderAddress: 'h:2' });

    const statements = [{ sql: 'SELECT 1', params: [], named: {} }];
    const request: WriteRequest = { statements, requestId: 'r', durability: 'all', timeoutMs: 5_000, forwarded: false };
    expect(withTimeout(request, 1_234, true)).toStrictEqual({ statements, requestId: 'r', durability: 'all', timeoutMs: 1_234, forwarded: true });
    expect(withTimeout({ ...request, authorization: 'Bearer t' }, 9, false)).toStrictEqual({ statements, requestId: 'r', durability: 'all', timeoutMs: 9, forwarded: false, authorization: 'Bearer t' });
    expect(request.timeoutMs).toBe(5_000);

    expect(writeSettings(request)).toStrictEqual({ requestId: 'r', durability: 'all', timeoutMs: 5_000, forwarded: false });
    const authorized: WriteRequest = { ...request, authorization: 'Bearer t' };
    expect(withStatements(writeSettings(authorized), statements)).toStrictEqual(authorized);
  });
});
