/**
 * A voter that lost its data directory rejoins (CoreOptions.rejoining) — Zab and Multi-Paxos
 * (Raft has raft/rejoin.test.ts): it catches up from the leader as an observer, never
 * campaigns or promises, and the hard state it comes back with binds it above the leader's
 * number. The Zab leader synchronizes it as an observer and counts none of its answers.
 */
import { describe, expect, it } from 'vitest';
import { emptyDisk, voters } from './common/testkit';
import { nodeId, term, type HardState } from './contract';
import { multipaxos } from './multipaxos';
import { PaxosNet } from './multipaxos/testkit';
import { diskOf as zabDiskOf } from './zab/testkit';
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
    const hard = module.rejoinedHardState(null, { fence: term(7), leader: nodeId('n1'), self: nodeId('n3') });
    expect(hard).toEqual(name === 'zab' ? { acceptedEpoch: 7, currentEpoch: 7 } : { promised: 7 });
  });

  it('is fenced, before it answers anything, at the highest number promised and never lower than it holds', () => {
    const module = name === 'zab' ? zab : multipaxos;
    const self = nodeId('n3');
    expect(module.fencedHardState(null, { fence: term(7), self })).toEqual(name === 'zab' ? { acceptedEpoch: 7, currentEpoch: 0 } : { promised: 7 });
    const held: HardState = name === 'zab' ? { acceptedEpoch: 9, currentEpoch: 4 } : { promised: 9 };
    expect(module.fencedHardState(held, { fence: term(7), self })).toEqual(held);
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
    net.core('n3').step({ type: 'prepare', from: nodeId('n2'), to: nodeId('n3'), ballot: term(1_000), fromSlot: 1 as never, designatedAt: term(0) });
    net.process('n3');
    expect(net.sent.slice(before).filter((m) => m.type === 'promise')).toEqual([expect.objectContaining({ reject: true })]);
  });
});

describe('zab status: the promise a lost acknowledgement of a new epoch made', () => {
  it('shows the accepted epoch, above the current epoch while an epoch is being discovered', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    // n2 acknowledged a new epoch 5 (acceptedEpoch) whose synchronization never finished.
    net.start('n2', zabDiskOf(5, 3, [1, 3]));
    expect(net.core('n2').status()).toMatchObject({ term: 3, promisedFence: 5 });
  });
});

/**
 * Paxos Made Simple, phase 2b: an acceptor accepts at ballot b only if it promised nothing above
 * b. A rejoining acceptor may have promised a ballot it no longer remembers; fenced at the
 * highest ballot the others promised (rejoin.ts, step 0), a deposed leader below it gets no
 * accept and no read confirmation from it.
 */
describe('multipaxos rejoin: fenced above every lost promise', () => {
  /** L leads and pauses; P wins a higher ballot with R's promise and chooses v; R loses its disk. */
  function deposedLeaderAndLostPromise(): { net: PaxosNet; L: string; P: string; R: string; hold: { L: boolean } } {
    const net = new PaxosNet(voters('n1', 'n2', 'n3'));
    const L = net.settle();
    const [P, R] = ['n1', 'n2', 'n3'].filter((id) => id !== L) as [string, string];
    net.propose(L, 'a');
    net.stabilize();
    net.tickAll(3);
    const hold = { L: true, PtoR: false };
    net.filter = (m) => !(hold.L && m.from === L) && !(m.from === P && m.to === L) && !(hold.PtoR && m.from === P && m.to === R);
    for (let i = 0; i < 40 && net.core(P).status().role !== 'leader'; i++) {
      net.tick(R);
      net.queue = net.queue.filter((m) => !(m.from === R && (m.type === 'prepare' || m.type === 'prePrepare'))); // R's own campaign is lost
      net.tick(P);
      net.stabilize();
    }
    expect(net.core(P).status().role).toBe('leader');
    net.propose(P, 'v');
    net.stabilize();
    expect(net.appliedData(P)).toEqual(['a', 'v']);
    // R loses its disk and rejoins, fenced; P's messages to it are slow for a moment; L resumes.
    hold.PtoR = true;
    net.crash(R);
    const fence = Math.max(...[L, P].map((id) => net.core(id).status().promisedFence));
    net.start(R, { hardState: multipaxos.fencedHardState(null, { fence: term(fence), self: nodeId(R) }), snapshot: null, entries: [] }, { rejoining: true });
    hold.L = false;
    return { net, L, P, R, hold };
  }

  it('a deposed leader chooses nothing in a slot already chosen', () => {
    const { net, L, P } = deposedLeaderAndLostPromise();
    net.propose(L, 'x');
    for (let i = 0; i < 6; i++) {
      net.tick(L);
      net.stabilize();
    }
    expect(net.appliedData(L)).toEqual(net.appliedData(P).slice(0, net.appliedData(L).length));
  });

  it('a deposed leader confirms no read with the rejoining acceptor', () => {
    const { net, L } = deposedLeaderAndLostPromise();
    net.core(L).readIndex('r1');
    for (let i = 0; i < 6; i++) {
      net.tick(L);
      net.stabilize();
    }
    expect(net.readStates.get(L) ?? []).toEqual([]);
  });
});
