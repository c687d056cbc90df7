/** Reads: consistency levels, and one read-index round for every read queued since the last. */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
import { IndexWaiters } from './index-waiters';
import { systemClock, type ReadRequest } from './ports';
import { Reads } from './reads';

function setup(applied = 0, commit = 0) {
  const waiters = new IndexWaiters(applied, systemClock.after);
  let kicks = 0;
  const reads = new Reads({
    applied: waiters,
    commitIndex: () => commit,
    now: () => 0,
    after: systemClock.after,
    kick: () => {
      kicks++;
    },
    leaderAddress: (id) => (id === 'n2' ? 'host:2' : null),
  });
  return { reads, waiters, kicks: () => kicks };
}

const request = (over: Partial<ReadRequest>): ReadRequest => ({
  sql: 'SELECT 1',
  params: [],
  named: {},
  consistency: 'linearizable',
  minIndex: 0,
  maxLagEntries: 0,
  maxRows: 0,
  timeoutMs: 1_000,
  ...over,
});

describe('Reads', () => {
  it('refuses a stale read further behind than max_lag_entries, and serves one within it at once', async () => {
    const { reads } = setup(5, 9);
    await expect(reads.awaitConsistency(request({ consistency: 'stale', maxLagEntries: 3 }))).rejects.toMatchObject({ code: 'stale' });
    await expect(reads.awaitConsistency(request({ consistency: 'stale', maxLagEntries: 4 }))).resolves.toBeUndefined();
  });

  it('answers every linearizable read queued since the last round with one round, once its index is applied', async () => {
    const { reads, waiters, kicks } = setup(0, 0);
    const a = reads.awaitConsistency(request({}));
    const b = reads.awaitConsistency(request({}));
    expect(kicks()).toBe(2);
    const round = reads.nextRound();
    expect(round).not.toBeNull();
    expect(reads.nextRound()).toBeNull();
    reads.settle([{ requestId: round!, index: logIndex(3) }], []);
    // Confirmed, but index 3 is not applied yet: the reads wait for it (a Ready hands its read
    // states over before its own records are persisted and applied).
    let answered = false;
    void Promise.all([a, b]).then(() => (answered = true));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    waiters.advance(2);
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    waiters.advance(3);
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
  });

  it('fails a round the core could not confirm with the leader it names, or no_leader when it names none', async () => {
    const { reads } = setup();
    const a = reads.awaitConsistency(request({}));
    const first = reads.nextRound()!;
    reads.settle([], [{ requestId: first, reason: 'dropped', leader: nodeId('n2') }]);
    await expect(a).rejects.toMatchObject({ code: 'unavailable', details: { leaderId: 'n2', leaderAddress: 'host:2' } });
    const b = reads.awaitConsistency(request({}));
    const second = reads.nextRound()!;
    reads.settle([], [{ requestId: second, reason: 'not_leader', leader: null }]);
    await expect(b).rejects.toMatchObject({ code: 'no_leader' });
  });

  it('fails queued reads and open rounds alike when the node stops', async () => {
    const { reads } = setup();
    const inRound = reads.awaitConsistency(request({}));
    reads.nextRound();
    const queued = reads.awaitConsistency(request({}));
    const stop = new ReplicaError('unavailable', 'stopping');
    reads.failAll(stop);
    await expect(inRound).rejects.toBe(stop);
    await expect(queued).rejects.toBe(stop);
    expect(reads.hasQueued()).toBe(false);
  });
});
