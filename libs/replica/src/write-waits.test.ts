import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logIndex, proposalToken, term, type Entry } from '@quorumlite/consensus';
import type { ApplyOutcome } from '@quorumlite/sql';
import { ReplicaError } from './errors';
import { systemClock, type Durability, type WriteResult } from './ports';
import { WriteWaits, type WriteWaiter } from './write-waits';

const data = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, payload: string): Entry => ({ index: logIndex(index), term: term(1), kind: 'command', data: data(payload) });
const ok = (rowsAffected: number): ApplyOutcome => ({ ok: true, results: [{ rowsAffected, lastInsertRowid: 0n }], duplicate: false }) as unknown as ApplyOutcome;

interface Seen {
  results: WriteResult[];
  errors: unknown[];
}

function waiter(durability: Durability, seen: Seen, timeoutMs = 1_000, idempotent = true): WriteWaiter {
  return { durability, deadlineMs: Date.now() + timeoutMs, timeoutMs, idempotent, resolve: (r) => seen.results.push(r), reject: (e) => seen.errors.push(e) };
}

describe('WriteWaits', () => {
  let met = false;
  let seen: Seen;
  let waits: WriteWaits;

  beforeEach(() => {
    vi.useFakeTimers();
    met = false;
    seen = { results: [], errors: [] };
    waits = new WriteWaits({ now: () => Date.now(), after: systemClock.after, durabilityMet: () => met, leaderHint: () => ({ leaderId: 'n2', leaderAddress: 'a2' }) });
  });
  afterEach(() => vi.useRealTimers());

  it('answers a quorum write when its own command applies, with the outcome', () => {
    waits.add(3, proposalToken(data('mine')), waiter('quorum', seen));
    waits.applied([entry(2, 'other'), entry(3, 'mine')], [ok(0), ok(1)]);
    expect(seen.results).toEqual([{ results: [{ rowsAffected: 1, lastInsertRowid: 0n }], index: 3, duplicate: false }]);
  });

  it('refuses as unavailable, naming the leader, when another command took its index', () => {
    waits.add(3, proposalToken(data('mine')), waiter('quorum', seen));
    waits.applied([entry(3, 'theirs')], [ok(1)]);
    expect(seen.errors[0]).toBeInstanceOf(ReplicaError);
    expect(seen.errors[0]).toMatchObject({ code: 'unavailable', details: { leaderId: 'n2' } });
  });

  it('times out at the deadline, saying the outcome is unknown', () => {
    waits.add(3, proposalToken(data('mine')), waiter('quorum', seen, 500));
    vi.advanceTimersByTime(501);
    expect(seen.errors[0]).toMatchObject({ code: 'timeout' });
    expect((seen.errors[0] as Error).message).toMatch(/^write at index 3 was not committed within 500 ms; its outcome is unknown/);
    waits.applied([entry(3, 'mine')], [ok(1)]);
    expect(seen.results).toEqual([]);
  });

  it('each wait times out at its own deadline, a shorter one given later first', () => {
    waits.add(1, proposalToken(data('a')), waiter('quorum', seen, 1_000));
    vi.advanceTimersByTime(100);
    waits.add(2, proposalToken(data('b')), waiter('quorum', seen, 300));
    waits.add(3, proposalToken(data('c')), waiter('leader', seen, 600));
    vi.advanceTimersByTime(299);
    expect(seen.errors).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(seen.errors.map((e) => (e as Error).message)).toEqual([expect.stringMatching(/^write at index 2 was not committed within 300 ms/)]);
    vi.advanceTimersByTime(300);
    expect((seen.errors[1] as Error).message).toMatch(/^write at index 3 did not reach this leader's disk within 600 ms/);
    expect(waits.waitsForLeaderFsync()).toBe(false);
    expect(waits.waitsAt(1)).toBe(true);
    vi.advanceTimersByTime(300);
    expect(seen.errors).toHaveLength(3);
    expect(seen.errors[2]).toMatchObject({ code: 'timeout', details: { index: 1 } });
    expect(waits.waitsAt(1)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('semi and all wait for the copies after the commit, and fail once no longer leader', () => {
    waits.add(3, proposalToken(data('a')), waiter('semi', seen));
    waits.add(4, proposalToken(data('b')), waiter('all', seen));
    waits.applied([entry(3, 'a'), entry(4, 'b')], [ok(1), ok(1)]);
    expect(seen.results).toEqual([]);
    met = true;
    waits.checkDurability(true);
    expect(seen.results.map((r) => r.index)).toEqual([3, 4]);

    waits.add(5, proposalToken(data('c')), waiter('all', seen));
    met = false;
    waits.applied([entry(5, 'c')], [ok(1)]);
    waits.checkDurability(false);
    expect((seen.errors[0] as Error).message).toMatch(/committed at index 5 by a quorum, but not yet acknowledged by every data voter/);
  });

  it('leader: acknowledged once the leader holds it durably, uncommitted and without results', () => {
    waits.add(7, proposalToken(data('x')), waiter('leader', seen));
    expect(waits.waitsForLeaderFsync()).toBe(true);
    waits.durableOnLeader(6);
    expect(seen.results).toEqual([]);
    waits.durableOnLeader(7);
    expect(seen.results).toEqual([{ results: [], index: 7, duplicate: false, uncommitted: true }]);
    expect(waits.waitsForLeaderFsync()).toBe(false);
  });

  it('once no longer leader, every write above the commit point fails at once as unknown, naming the leader; a committed one waits for its apply', () => {
    waits.add(2, proposalToken(data('c')), waiter('quorum', seen));
    waits.add(3, proposalToken(data('a')), waiter('quorum', seen));
    waits.add(4, proposalToken(data('b')), waiter('quorum', seen));
    waits.leadershipLost(2);
    expect(seen.errors).toHaveLength(2);
    expect(seen.errors[0]).toMatchObject({ code: 'unavailable', details: { leaderId: 'n2', leaderAddress: 'a2', index: 3 } });
    expect((seen.errors[1] as Error).message).toMatch(/stopped leading before the write at index 4 was known to commit; its outcome is unknown — retry with the same request id/);
    expect(waits.waitsAt(3)).toBe(false);
    waits.applied([entry(2, 'c'), entry(3, 'a')], [ok(1), ok(1)]);
    expect(seen.results.map((r) => r.index)).toEqual([2]);
    vi.advanceTimersByTime(5_000);
    expect(seen.errors).toHaveLength(2);
  });

  it('a write without a request id is told a retry may apply it twice', () => {
    waits.add(3, proposalToken(data('a')), waiter('quorum', seen, 1_000, false));
    waits.leadershipLost(0);
    expect((seen.errors[0] as Error).message).toMatch(/no request id: a retry may apply it twice/);
  });

  it('a write still waiting at an index proposed again is answered as not applied', () => {
    waits.add(3, proposalToken(data('old')), waiter('quorum', seen));
    waits.add(3, proposalToken(data('new')), waiter('quorum', seen));
    expect((seen.errors[0] as Error).message).toMatch(/before the write at index 3 committed; it was not applied/);
    waits.applied([entry(3, 'new')], [ok(1)]);
    expect(seen.results.map((r) => r.index)).toEqual([3]);
    expect(seen.errors).toHaveLength(1);
  });

  it('a snapshot supersedes the writes it covers; failAll fails every wait', () => {
    waits.add(3, proposalToken(data('a')), waiter('quorum', seen));
    waits.add(9, proposalToken(data('b')), waiter('quorum', seen));
    waits.add(10, proposalToken(data('c')), waiter('leader', seen));
    waits.supersededThrough(5);
    expect((seen.errors[0] as Error).message).toMatch(/index 3 was superseded by a snapshot/);
    const stop = new ReplicaError('unavailable', 'stopping');
    waits.failAll(stop);
    expect(seen.errors.slice(1)).toEqual([stop, stop]);
    vi.advanceTimersByTime(5_000);
    expect(seen.errors).toHaveLength(3);
  });
});
