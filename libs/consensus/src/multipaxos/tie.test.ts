/**
 * Two acceptors that lose a silent leader in the same tick both ask (prePrepare) and both are
 * told yes. Each rival's question carries only the ballot it would use — nobody promised it — so
 * it must not raise the ballot the other then chooses: when it did, both skipped a round, and a
 * whole round of ballots passed with no leader. They now Prepare in the same round and the
 * ballots' order (round, then rank) settles it in that round.
 */
import { describe, expect, it } from 'vitest';
import { roundOf } from './config';
import type { PaxosMessage } from './messages';
import { PaxosNet, voters } from './testkit';

const N3 = ['n1', 'n2', 'n3'];

describe('multipaxos: two askers of one round', () => {
  it('survivors that time out in the same tick elect one leader in the next round, not the one after', () => {
    // Every core draws the same timeout: the survivors ask in the same tick.
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: 10, random: () => 0.5 });
    const leader = net.settle();
    const round = roundOf(net.core(leader).status().term);
    const survivors = N3.filter((id) => id !== leader);
    net.filter = (m: PaxosMessage) => m.from !== leader && m.to !== leader;
    let ticks = 0;
    while (!survivors.some((id) => net.core(id).status().role === 'leader') && ticks < 200) {
      for (const id of survivors) net.tick(id);
      net.stabilize();
      ticks++;
    }
    const next = survivors.find((id) => net.core(id).status().role === 'leader');
    expect(next).toBeDefined();
    expect(roundOf(net.core(next!).status().term)).toBe(round + 1);
    // No Prepare of a later round was sent: no duel.
    expect(net.sent.filter((m) => m.type === 'prepare' && roundOf(m.ballot) > round + 1)).toEqual([]);
  });
});
