/**
 * A voter that lost its data directory rejoins (CoreOptions.rejoining) — Zab and Multi-Paxos
 * (Raft has raft/rejoin.test.ts): it catches up from the leader as an observer, never
 * campaigns or promises, and the hard state it comes back with binds it above the leader's
 * number. The Zab leader synchronizes it as an observer and counts none of its answers.
 */
import { describe, expect, it } from 'vitest';
import { emptyDisk, voters } from './common/testkit';
import { nodeId, term } from './contract';
import { multipaxos } from './multipaxos';
import { PaxosNet } from './multipaxos/testkit';
import { zab } from './zab';
import { ZabNet } from './zab/testkit';

const nets = {
  zab: () => new ZabNet(voters('n1', 'n2', 'n3')),
  multipaxos: () => new PaxosNet(voters('n1', 'n2', 'n3')),
};

describe.each(['zab', 'multipaxos'] as const)('%s rejoin after a lost data directory', (name) => {
  function withHistory(): { net: ZabNet | PaxosNet; leader: string; follower: string } {
    const net = nets[name]();
    const leader = net.settle();
    for (const d of ['a', 'b', 'c']) {
      net.propose(leader, d);
      net.stabilize();
    }
    net.tickAll(3);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    return { net, leader, follower };
  }

  it('catches up from the leader as an observer', () => {
    const { net, leader, follower } = withHistory();
    net.crash(follower);
    net.start(follower, emptyDisk(), { rejoining: true });
    for (let i = 0; i < 60 && net.appliedData(follower).length < 3; i++) net.tickAll();
    expect(net.appliedData(follower)).toEqual(['a', 'b', 'c']);
    expect(net.core(follower).status()).toMatchObject({ role: 'observer', leader });
  });

  it('never campaigns and never becomes leader, however long it hears nothing', () => {
    const { net, follower } = withHistory();
    net.crash(follower);
    net.start(follower, emptyDisk(), { rejoining: true });
    const before = net.sent.length;
    for (const id of ['n1', 'n2', 'n3']) if (id !== follower) net.crash(id);
    for (let i = 0; i < 200; i++) {
      net.tick(follower);
      expect(['observer']).toContain(net.core(follower).status().role);
    }
    expect(net.sent.slice(before).filter((m) => m.from === follower && m.type === 'prepare')).toEqual([]);
  });

  it('comes back with a hard state that binds it at the leader number', () => {
    const module = name === 'zab' ? zab : multipaxos;
    const hard = module.rejoinedHardState(null, { fence: term(7), leader: nodeId('n1') });
    expect(hard).toEqual(name === 'zab' ? { acceptedEpoch: 7, currentEpoch: 7 } : { promised: 7 });
  });
});

describe('zab rejoin: the leader counts none of the rejoining node', () => {
  it('is never agreed on, even where no epoch was ever established and every vote is as weak', () => {
    // n3 has the highest id, which wins a tie between empty histories.
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    net.start('n3', emptyDisk(), { rejoining: true });
    const leader = net.settle();
    expect(leader).not.toBe('n3');
    expect(net.core('n3').status()).toMatchObject({ role: 'observer', leader });
  });

  it('commits nothing while the rejoining node is its only follower', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    net.propose(leader, 'a');
    net.stabilize();
    const [rejoiner, other] = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
    net.crash(rejoiner!);
    net.start(rejoiner!, emptyDisk(), { rejoining: true });
    for (let i = 0; i < 60 && net.appliedData(rejoiner!).length < 1; i++) net.tickAll();
    expect(net.appliedData(rejoiner!)).toEqual(['a']);
    net.crash(other!);
    const commit = net.core(leader).status().commitIndex;
    net.propose(leader, 'b');
    net.stabilize();
    net.tick(leader, 3);
    net.stabilize();
    expect(net.core(leader).status().commitIndex).toBe(commit);
  });
});

describe('multipaxos rejoin: it promises nothing', () => {
  it('refuses a prepare of any ballot', () => {
    const net = new PaxosNet(voters('n1', 'n2', 'n3'));
    net.start('n3', emptyDisk(), { rejoining: true });
    const before = net.sent.length;
    net.core('n3').step({ type: 'prepare', from: nodeId('n2'), to: nodeId('n3'), ballot: term(1_000), fromSlot: 1 as never });
    net.process('n3');
    expect(net.sent.slice(before).filter((m) => m.type === 'promise')).toEqual([expect.objectContaining({ reject: true })]);
  });
});
