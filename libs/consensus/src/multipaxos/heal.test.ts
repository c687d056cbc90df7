/**
 * A node cut off from a working leader campaigns in vain; when the partition heals it must
 * follow that leader, not depose it. A proposer promises its own ballot only once a quorum of
 * the other acceptors did (its promise counts last, persisted before it wins): alone, it never
 * raises its promise above the leader's ballot, so it accepts the leader's next Accept.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term } from '../contract';
import { PaxosNet, voters } from './testkit';

const N3 = ['n1', 'n2', 'n3'];

describe('Multi-Paxos: a partition that heals costs no election', () => {
  it('a follower cut off for many timeouts follows the same leader at the same ballot after the heal', () => {
    const net = new PaxosNet(voters(...N3));
    const L = net.settle();
    const ballot = net.core(L).status().term;
    const F = N3.find((id) => id !== L)!;
    net.isolate(F);
    let campaigns = 0;
    for (let i = 0; i < 200; i++) {
      net.tickAll();
      if (net.core(F).status().role === 'candidate') campaigns++;
    }
    expect(campaigns).toBeGreaterThan(0);
    // It asked for higher ballots, but promised none of them: nobody else did.
    expect(net.core(F).status().promisedFence).toBeLessThanOrEqual(ballot);
    expect(net.hard(F)?.promised ?? 0).toBeLessThanOrEqual(ballot);
    net.heal();
    for (let i = 0; i < 40; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leaderOf()).toBe(L);
    expect(net.core(L).status().term).toBe(ballot);
    expect(net.core(F).status().role).toBe('follower');
    expect(net.core(F).status().leader).toBe(L);
    // And it takes writes again: the next heartbeat tells it the slot is chosen.
    net.propose(L, 'after the heal');
    net.tickAll(3);
    expect(net.appliedData(F)).toContain('after the heal');
    expect(net.core(L).status().term).toBe(ballot);
  });

  it('a candidate still refuses another candidate of a lower ballot than its own, though it promised neither', () => {
    const net = new PaxosNet(voters(...N3));
    const L = net.settle();
    const ballot = net.core(L).status().term;
    const [F, G] = N3.filter((id) => id !== L) as [string, string];
    net.isolate(F);
    for (let i = 0; i < 200 && net.core(F).status().role !== 'candidate'; i++) net.tickAll();
    expect(net.core(F).status().role).toBe('candidate');
    // Above its promise (the leader's ballot), below the ballot it campaigns with.
    net.core(F).step({ type: 'prepare', from: nodeId(G), to: nodeId(F), ballot: term(ballot + 1), fromSlot: logIndex(1) });
    net.process(F);
    expect(net.core(F).status().role).toBe('candidate');
    expect(net.core(F).status().promisedFence).toBe(ballot);
  });
});
