/**
 * A leader its acceptors cannot answer — it sends, and hears nothing: their links to it are cut
 * and reported unreachable — gets no lease from them and does not restart their election clocks,
 * so one of them runs phase 1 within the fast-election stagger, not after the leader's own
 * step-down and another timeout. Once the link is reported reachable again, the lease holds.
 */
import { describe, expect, it } from 'vitest';
import { nodeId } from '../contract';
import { FAST_ELECTION_STAGGER_TICKS } from '../common';
import { PaxosNet, voters } from './testkit';

const N3 = ['n1', 'n2', 'n3'];

/** An established leader whose acceptors' links to it are cut and reported so. */
function sendOnlyLeader(): { net: PaxosNet; old: string; rest: string[] } {
  const net = new PaxosNet(voters(...N3));
  const old = net.settle();
  const rest = N3.filter((id) => id !== old);
  net.filter = (m) => m.to !== old;
  for (const id of rest) net.core(id).reportUnreachable(nodeId(old));
  return { net, old, rest };
}

describe('multipaxos: a leader its acceptors cannot answer', () => {
  it('is replaced within the fast-election stagger: its heartbeats restart no clock and its lease refuses no promise', () => {
    const { net, old, rest } = sendOnlyLeader();
    const oldBallot = net.core(old).status().term;
    const newLeader = (): string | undefined => rest.find((id) => net.core(id).status().role === 'leader');
    let ticks = 0;
    while (newLeader() === undefined && ticks < 4 * FAST_ELECTION_STAGGER_TICKS) {
      ticks++;
      net.tickAll();
    }
    // Its heartbeats (every tick) would otherwise hold both acceptors until it stepped down
    // (an election timeout, 10 ticks) and their own timeouts ran out after that.
    const leader = newLeader();
    expect(leader).toBeDefined();
    expect(ticks).toBeLessThanOrEqual(2 * FAST_ELECTION_STAGGER_TICKS);
    expect(net.core(leader!).status().term).toBeGreaterThan(oldBallot);
    // The new leader chooses with the other survivor, whose links are intact.
    const index = net.propose(leader!, 'after');
    net.stabilize();
    net.tickAll(); // the chosen watermark reaches the acceptor with the next heartbeat
    const other = rest.find((id) => id !== leader)!;
    expect(net.core(other).status().commitIndex).toBeGreaterThanOrEqual(index);
    expect(net.appliedData(other)).toContain('after');
  });

  it('keeps its lease once the links are reported reachable again', () => {
    const { net, old, rest } = sendOnlyLeader();
    const ballot = net.core(old).status().term;
    net.filter = () => true;
    for (const id of rest) net.core(id).reportReachable(nodeId(old));
    net.tickAll(4 * FAST_ELECTION_STAGGER_TICKS + 25);
    expect(net.core(old).status()).toMatchObject({ role: 'leader', term: ballot });
    expect(rest.map((id) => net.core(id).status().leader)).toEqual([old, old]);
  });

  it('one acceptor cut off from a leader the other still answers deposes nobody', () => {
    const net = new PaxosNet(voters(...N3));
    const old = net.settle();
    const [cut] = N3.filter((id) => id !== old) as [string];
    const ballot = net.core(old).status().term;
    net.filter = (m) => !(m.from === cut && m.to === old);
    net.core(cut).reportUnreachable(nodeId(old));
    net.tickAll(4 * FAST_ELECTION_STAGGER_TICKS + 25);
    expect(net.core(old).status()).toMatchObject({ role: 'leader', term: ballot });
    expect(N3.filter((id) => id !== cut).every((id) => net.core(id).status().term === ballot)).toBe(true);
  });
});
