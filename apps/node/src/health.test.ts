import { describe, expect, it } from 'vitest';
import type { ReplicaStatus } from '@quorumlite/replica';
import { CATCHING_UP_ENTRIES, servingOf } from './health';

/** The fields health reads; the rest of a status does not matter to it. */
const BASE = { leaderId: 'n1', role: 'follower', commitIndex: 100, appliedIndex: 100 } as const;

describe('health', () => {
  const of = (over: Partial<ReplicaStatus>) => servingOf({ ...BASE, ...over } as unknown as ReplicaStatus);

  it('serves while a leader is known and the node has applied what it knows committed', () => {
    expect(of({})).toEqual({ node: 'SERVING', sql: 'SERVING' });
    expect(of({ appliedIndex: 100 - CATCHING_UP_ENTRIES })).toEqual({ node: 'SERVING', sql: 'SERVING' });
  });

  it('serves nothing without a leader', () => {
    expect(of({ leaderId: null })).toEqual({ node: 'NOT_SERVING', sql: 'NOT_SERVING' });
  });

  it('does not serve SQL while catching up, nor ever on a witness', () => {
    expect(of({ commitIndex: 5_000, appliedIndex: 5_000 - CATCHING_UP_ENTRIES - 1 })).toEqual({ node: 'SERVING', sql: 'NOT_SERVING' });
    expect(of({ role: 'witness' })).toEqual({ node: 'SERVING', sql: 'NOT_SERVING' });
  });
});
