/**
 * A change refused for want of a quorum that answered lately is asked again while the leader may
 * still be hearing from its followers (right after an election or a transfer), and refused for
 * good after that; every other refusal is final at once.
 */
import { describe, expect, it } from 'vitest';
import type { MemberSpec } from '@quorumlite/consensus';
import { membershipRefused, ReplicaError } from './errors';
import { changeMembers, type MemberChangesHost } from './member-changes';
import type { ReplicaMember } from './membership';

const MEMBERS: ReplicaMember[] = ['n1', 'n2', 'n3', 'n4'].map((id) => ({ id, address: `mem:${id}`, role: 'voter' }));

/** A host on a clock that moves only when a timer fires; `refusals` are thrown by the first proposes. */
function host(refusals: ReplicaError[], settleMs: number): MemberChangesHost & { proposed: (readonly MemberSpec[])[]; nowMs: number } {
  const h = {
    proposed: [] as (readonly MemberSpec[])[],
    nowMs: 0,
    members: () => ({ members: MEMBERS, pending: false }),
    propose: (next: readonly MemberSpec[]) => {
      h.proposed.push(next);
      const refusal = refusals.shift();
      return refusal ? Promise.reject(refusal) : Promise.resolve({ index: 7 });
    },
    caughtUp: () => true,
    storeAt: () => Promise.resolve('database' as const),
    now: () => h.nowMs,
    after: (ms: number, fn: () => void) => {
      h.nowMs += ms;
      queueMicrotask(fn);
      return { cancel: () => undefined };
    },
    settleMs: () => settleMs,
  };
  return h;
}

const noQuorum = (): ReplicaError => membershipRefused('no_quorum', 'changing n1 leaves voters n2, n3, n4, of which n2 answered lately');

describe('a member change refused for want of a quorum that answered lately', () => {
  it('is asked again while the leader settles, and goes through once the voters answer', async () => {
    const h = host([noQuorum(), noQuorum(), noQuorum()], 1_000);
    const out = await changeMembers(h, { kind: 'remove', id: 'n1' }, 5_000);
    expect(out.index).toBe(7);
    expect(h.proposed).toHaveLength(4);
    expect(h.proposed.every((next) => next.map((m) => m.id).join() === 'n2,n3,n4')).toBe(true);
    expect(h.nowMs).toBeLessThan(1_000);
  });

  it('stands once the settling time has passed, with the core sentence', async () => {
    const h = host(Array.from({ length: 1_000 }, noQuorum), 1_000);
    await expect(changeMembers(h, { kind: 'remove', id: 'n1' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/of which n2 answered lately/) });
    expect(h.nowMs).toBeGreaterThanOrEqual(1_000);
    expect(h.nowMs).toBeLessThan(1_100);
  });

  it('stands at the request deadline when that comes first', async () => {
    const h = host(Array.from({ length: 1_000 }, noQuorum), 10_000);
    await expect(changeMembers(h, { kind: 'remove', id: 'n1' }, 300)).rejects.toMatchObject({ code: 'refused' });
    expect(h.nowMs).toBeLessThan(400);
  });

  it('does not ask again a change refused for any other reason', async () => {
    const h = host([membershipRefused('too_many_changes', 'one member at a time')], 1_000);
    await expect(changeMembers(h, { kind: 'remove', id: 'n1' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: 'one member at a time' });
    expect(h.proposed).toHaveLength(1);
    expect(h.nowMs).toBe(0);
  });
});
