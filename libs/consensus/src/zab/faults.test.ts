/** Zab under faults and edge cases: discovery, observers, crashes between persists, divergence. */
import { describe, expect, it } from 'vitest';
import { nodeId } from '../contract';
import type { ZabCore } from './core';
import type { ZabMessage } from './messages';
import { ZabNet, diskOf, lone, observer, voters } from './testkit';

const V3 = voters('n1', 'n2', 'n3');

/** Make `c` (LOOKING) follow `leader` through FLE's out-of-election rule. */
function joinLeader(c: ZabCore, self: string, leader: string, other: string, epoch: number, last: number): void {
  const vote = { leader, epoch, zxidEpoch: epoch, zxidIndex: last } as never;
  c.step({ type: 'notification', from: leader, to: self, round: 7, state: 'leading', vote } as never);
  c.step({ type: 'notification', from: other, to: self, round: 7, state: 'following', vote } as never);
}

/** The attempt of the last FOLLOWERINFO among `ms`: a LEADERINFO answers only that one. */
function attemptOf(ms: readonly ZabMessage[]): number {
  const fi = ms.filter((m) => m.type === 'followerInfo').at(-1);
  expect(fi).toBeDefined();
  return fi!.attempt;
}

describe('zab: discovery', () => {
  it('a learner never ACKs (countably) a LEADERINFO equal to its acceptedEpoch (paper: e > f.p; ZK: ACKEPOCH with -1)', () => {
    // n1 accepted epoch 1 from another prospective leader (acceptedEpoch 1, currentEpoch 0).
    const { core, drain } = lone('n1', diskOf(1, 0, []), V3);
    core.tick();
    drain();
    joinLeader(core, 'n1', 'n3', 'n2', 0, 0);
    const fi = drain().filter((m) => m.type === 'followerInfo');
    expect(fi.length).toBe(1);
    core.step({ type: 'leaderInfo', from: 'n3', to: 'n1', epoch: 1, attempt: attemptOf(fi) } as never);
    const acks = drain().filter((m) => m.type === 'ackEpoch') as Extract<ZabMessage, { type: 'ackEpoch' }>[];
    // A plain ACKEPOCH lets n3 count n1 toward epoch 1's discovery quorum although n1 already
    // promised epoch 1 to another leader: two leaders can then establish the same epoch.
    expect(acks).toHaveLength(1);
    expect(acks[0]!.fresh).toBe(false);
  });

  it('the "claim only the committed prefix" flag does not leak into the next leader\'s discovery', () => {
    // n1 holds records (1,1) (2,2) (3,2): acked, commit not heard. A leader whose history is
    // [1,1,3] sends TRUNC at 2 (epoch 1), which disagrees with n1's record 2.
    const { core, drain } = lone('n1', diskOf(2, 2, [1, 2, 2]), V3);
    core.tick();
    drain();
    joinLeader(core, 'n1', 'n2', 'n3', 3, 3);
    const attempt = attemptOf(drain());
    core.step({ type: 'leaderInfo', from: 'n2', to: 'n1', epoch: 4, attempt } as never);
    drain();
    // n1 falls back to its committed prefix (sets claimCommittedOnly) and resyncs.
    core.step({ type: 'sync', from: 'n2', to: 'n1', epoch: 4, attempt, syncId: 1, mode: 'trunc', index: 2, indexEpoch: 1 } as never);
    expect(attemptOf(drain())).toBe(attempt + 1);
    // n2 dies; n1 looks again and follows n3, a prospective leader still in discovery.
    core.reportUnreachable('n2' as never);
    drain();
    joinLeader(core, 'n1', 'n3', 'n2', 2, 1);
    core.step({ type: 'leaderInfo', from: 'n3', to: 'n1', epoch: 5, attempt: attemptOf(drain()) } as never);
    const ack = drain().find((m) => m.type === 'ackEpoch') as Extract<ZabMessage, { type: 'ackEpoch' }> | undefined;
    expect(ack).toBeDefined();
    // n3 compares this summary with its own to decide whether to abdicate: it must be n1's real last zxid.
    expect(ack!.lastIndex).toBe(3);
  });
});

describe('zab: observers', () => {
  it('a voter that promised an epoch no discovery established is not left out: the leader steps down, and the next epoch takes it in', () => {
    const net = new ZabNet(V3);
    const leader = net.settle();
    const epoch = net.core(leader).status().term;
    const [, cut] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    // cut chose (or acked) epoch+5 as a prospective leader whose discovery failed: ZooKeeper's
    // leader would refuse it for as long as it leads.
    net.crash(cut);
    net.disk(cut).hardState = { acceptedEpoch: epoch + 5, currentEpoch: epoch };
    net.restart(cut);
    for (let i = 0; i < 200 && !(net.leaderOf() !== null && net.core(cut).status().leader !== null && net.core(net.leaderOf()!).status().term > epoch + 5); i++) {
      net.tickAll();
      net.stabilize();
    }
    const now = net.leaderOf()!;
    expect(net.core(now).status().term).toBeGreaterThanOrEqual(epoch + 5);
    net.propose(now, 'b');
    net.stabilize();
    net.tickAll(3);
    net.stabilize();
    expect(net.core(cut).status().leader).toBe(now);
    expect(net.appliedData(cut)).toEqual(['a', 'b']);
  });

  it('a voter rejoining with a fence above the leader’s epoch (the highest promise of its peers) is let in the same way', () => {
    const net = new ZabNet(V3);
    const leader = net.settle();
    const epoch = net.core(leader).status().term;
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    const [, cut] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    net.crash(cut);
    // Its disk is gone; the rejoin fenced it at a peer's leftover promise of epoch+2
    // (fencedHardState: acceptedEpoch only).
    net.start(cut, diskOf(epoch + 2, 0, []), { rejoining: true });
    for (let i = 0; i < 300 && net.appliedData(cut).length < 2; i++) {
      if (i === 50) net.propose(net.leaderOf() ?? leader, 'b');
      net.tickAll();
      net.stabilize();
    }
    expect(net.core(net.leaderOf()!).status().term).toBeGreaterThanOrEqual(epoch + 2);
    expect(net.appliedData(cut)).toEqual(['a', 'b']);
  });

  it('an observer that promised a higher epoch does not depose an established leader', () => {
    const net = new ZabNet([...V3, observer('o1')]);
    const leader = net.settle();
    const epoch = net.core(leader).status().term;
    net.crash('o1');
    net.propose(leader, 'a');
    net.stabilize();
    // o1 had accepted epoch 9 from a prospective leader that never established it.
    net.disk('o1').hardState = { acceptedEpoch: 9, currentEpoch: 1 };
    net.restart('o1');
    for (let i = 0; i < 60; i++) net.tickAll();
    // The leader must neither step down nor see its epoch bumped by a non-voter.
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(epoch);
  });

  it('5 voters + 2 observers: commit, crash leader, re-elect, observers converge', () => {
    const net = new ZabNet([...voters('n1', 'n2', 'n3', 'n4', 'n5'), observer('o1'), observer('o2')]);
    const l1 = net.settle();
    for (let i = 0; i < 5; i++) net.propose(l1, `a${i}`);
    net.stabilize();
    net.tickAll(2);
    net.crash(l1);
    const l2 = net.settle();
    for (let i = 0; i < 5; i++) net.propose(l2, `b${i}`);
    net.stabilize();
    net.restart(l1);
    net.settle();
    net.tickAll(3);
    const want = [...Array.from({ length: 5 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)];
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5', 'o1', 'o2']) expect(net.appliedData(id)).toEqual(want);
  });

  it('two voters of three down: observers cannot make a quorum (epoch, establishment, commit, reads)', () => {
    const net = new ZabNet([...V3, observer('o1'), observer('o2')]);
    const leader = net.settle();
    const others = ['n1', 'n2', 'n3'].filter((x) => x !== leader);
    for (const o of others) net.crash(o);
    net.core(leader).readIndex('r');
    for (let i = 0; i < 100; i++) net.tickAll();
    expect(net.leaderOf()).toBeNull();
    expect(net.readStates.get(leader)!.some((r) => r.requestId === 'r')).toBe(false);
  });
});

describe('zab: named cases', () => {
  it('ZOOKEEPER-1549: an uncommitted proposal of a leader that died is never applied anywhere', () => {
    const net = new ZabNet(V3);
    const l = net.settle();
    const [a, b] = ['n1', 'n2', 'n3'].filter((x) => x !== l) as [string, string];
    net.propose(l, 'ok');
    net.stabilize();
    net.tickAll(2);
    net.filter = (m) => !(m.from === l && m.type === 'proposal' && m.entries.length > 0);
    net.propose(l, 'ghost');
    net.processAll();
    net.crash(l);
    net.filter = () => true;
    const l2 = net.settle();
    net.propose(l2, 'after');
    net.stabilize();
    net.restart(l);
    net.settle();
    net.tickAll(3);
    for (const id of ['n1', 'n2', 'n3']) {
      expect(net.appliedData(id)).toEqual(['ok', 'after']);
    }
    void a; void b;
  });

  it('stale leader still sending PROPOSAL/COMMIT/PING after a new epoch: nothing of it is accepted', () => {
    const net = new ZabNet(V3);
    const old = net.settle();
    net.isolate(old);
    let next: string | null = null;
    for (let i = 0; i < 100 && (next === null || next === old); i++) { net.tickAll(); next = net.leaderOf(); if (next === old) next = null; }
    expect(next).not.toBeNull();
    // old proposes while isolated (it may still think it leads), then the partition heals.
    const r = net.core(old).propose(new TextEncoder().encode('stale'));
    net.heal();
    net.settle();
    net.tickAll(3);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).not.toContain('stale');
    void r;
  });

  it('many crashes/restarts of random nodes with proposals: histories agree', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3', 'n4', 'n5'));
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    let k = 0;
    for (let round = 0; round < 15; round++) {
      const l = net.settle(400);
      for (let i = 0; i < 3; i++) net.propose(l, `w${k++}`);
      net.processAll();
      net.deliverOnce();
      const victim = round % 2 === 0 ? l : ids[(round * 3) % 5]!;
      net.crash(victim);
      net.settle(400);
      net.restart(victim);
    }
    net.settle(400);
    net.tickAll(5);
    const ref = net.appliedData(net.leaderOf()!);
    for (const id of ids) {
      const a = net.appliedData(id);
      expect(ref.slice(0, a.length)).toEqual(a.slice(0, ref.length));
    }
  });
});

describe('zab: more named cases', () => {
  it('a follower crashes after persisting acceptedEpoch but before currentEpoch (NEWLEADER lost), restarts, rejoins', () => {
    const net = new ZabNet(V3);
    const l1 = net.settle();
    net.propose(l1, 'a');
    net.stabilize();
    net.crash(l1);
    const survivors = ['n1', 'n2', 'n3'].filter((x) => x !== l1);
    const victim = survivors[0]!;
    net.filter = (m) => !(m.type === 'newLeader' && m.to === victim);
    let hard = net.hard(victim);
    for (let i = 0; i < 200; i++) {
      net.tickAll();
      hard = net.hard(victim);
      if (hard !== null && (hard['acceptedEpoch'] as number) > (hard['currentEpoch'] as number)) break;
    }
    expect((hard!['acceptedEpoch'] as number) > (hard!['currentEpoch'] as number)).toBe(true);
    net.crash(victim);
    net.filter = () => true;
    net.restart(l1);
    net.restart(victim);
    const l2 = net.settle();
    net.propose(l2, 'b');
    net.stabilize();
    net.tickAll(3);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  /** A follower down while 30 records were written and the leader compacted past them all. */
  const lagBehindTheCut = () => {
    const net = new ZabNet(V3);
    const l = net.settle();
    const lag = ['n1', 'n2', 'n3'].find((x) => x !== l)!;
    net.crash(lag);
    for (let i = 0; i < 30; i++) net.propose(l, `w${i}`);
    net.stabilize();
    net.tickAll(2);
    const st = net.core(l).status();
    net.core(l).compact({ index: st.commitIndex, term: st.term, members: V3 }, 0);
    return { net, l, lag, st };
  };

  it('a follower behind the leader\'s compaction point is sent SNAP and converges', () => {
    const { net, lag, st } = lagBehindTheCut();
    net.restart(lag);
    net.settle();
    net.tickAll(3);
    expect(net.sent.some((m) => m.type === 'sync' && m.to === lag && m.mode === 'snap')).toBe(true);
    expect(net.core(lag).status().commitIndex).toBe(st.commitIndex);
  });

  it('a SNAP that did not reach the learner is sent again at the next heartbeat, not after a sync limit', () => {
    const { net, l, lag, st } = lagBehindTheCut();
    // The driver has no file of that snapshot yet: the SNAP never leaves.
    let lost = 0;
    net.filter = (m) => !(m.type === 'sync' && m.to === lag && m.mode === 'snap' && lost++ === 0);
    net.restart(lag);
    for (let i = 0; i < 100 && lost === 0; i++) net.tickAll();
    expect(lost).toBe(1);
    net.core(l).reportSnapshotFailure(nodeId(lag));
    const snaps = () => net.sent.filter((m) => m.type === 'sync' && m.to === lag && m.mode === 'snap').length;
    const before = snaps();
    net.tickAll(2);
    expect(snaps()).toBeGreaterThan(before);
    net.stabilize();
    net.tickAll(3);
    expect(net.core(lag).status().commitIndex).toBe(st.commitIndex);
  });

  it('leader dies after COMMIT reached only one of four followers (5 nodes): every replica applies x once', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3', 'n4', 'n5'));
    const l = net.settle();
    const fs = ['n1', 'n2', 'n3', 'n4', 'n5'].filter((x) => x !== l);
    net.filter = (m) => !(m.type === 'commit' && m.to !== fs[0]) && !(m.type === 'ping' && m.from === l) && !(m.type === 'proposal' && m.entries.length === 0);
    net.propose(l, 'x');
    net.stabilize();
    net.crash(l);
    net.filter = () => true;
    net.settle();
    net.tickAll(3);
    for (const id of fs) expect(net.appliedData(id)).toEqual(['x']);
  });
});

describe('zab: diverged follower', () => {
  it('diverged in an epoch the leader never had: TRUNC point epoch differs, fallback resync converges', () => {
    const net = new ZabNet(V3, {}, { n1: diskOf(3, 3, [1, 1, 3]), n2: diskOf(3, 3, [1, 1, 3]), n3: diskOf(2, 2, [1, 2, 2]) });
    const leader = net.settle();
    expect(leader).not.toBe('n3');
    net.propose(leader, 'z');
    net.stabilize();
    net.tickAll(20);
    const syncs = net.sent.filter((m) => m.type === 'sync' && m.to === 'n3').map((m) => `${(m as { mode: string }).mode}@${(m as { index: number }).index}`);
    // The TRUNC at the common index leaves a record of the wrong epoch; the learner's next look finds it and resynchronizes from the start.
    expect(syncs).toEqual(['trunc@2', 'diff@0']);
    expect(net.epochsOnDisk('n3')).toEqual(net.epochsOnDisk(leader));
    expect(net.appliedData('n3')).toEqual(net.appliedData(leader));
  });
});
