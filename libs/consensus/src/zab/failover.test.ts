/**
 * Failover after the leader dies: how many ticks and messages Fast Leader Election, discovery
 * and synchronization take, and the steps that must not wait for a heartbeat or a timeout.
 * n3, the old leader of epoch 1, is dead; n1 and n2 hold the same history, so n2 (the higher
 * id) is the vote both settle on.
 */
import { describe, expect, it } from 'vitest';
import { nodeId, type NodeId } from '../contract';
import { FINALIZE_TICKS, type ZabCore } from './core';
import type { AckEpochMessage, FollowerInfoMessage, NotificationMessage, PeerState, Vote, ZabMessage } from './messages';
import { ZabNet, diskOf, lone, voters } from './testkit';
import { options } from '../common/testkit';

const V3 = voters('n1', 'n2', 'n3');
const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');
/** The history both survivors hold: three records of epoch 1. */
const HISTORY = [1, 1, 1];
const VOTE_N2: Vote = { leader: n2, epoch: 1, zxidEpoch: 1, zxidIndex: 3 } as Vote;
const ELECTION_TIMEOUT_TICKS = options(n1, V3).electionTimeoutTicks;

/** A survivor of epoch 1 on its own. */
function survivor(id: NodeId): ReturnType<typeof lone> {
  return lone(id, diskOf(1, 1, HISTORY), V3);
}

function notification(from: NodeId, to: NodeId, round: number, state: PeerState, vote: Vote): NotificationMessage {
  return { type: 'notification', from, to, round, state, vote };
}

function followerInfo(from: NodeId, to: NodeId, attempt = 1): FollowerInfoMessage {
  return { type: 'followerInfo', from, to, epoch: 1, acceptedEpoch: 1, observer: false, incarnation: 7, attempt } as FollowerInfoMessage;
}

/** n1 LOOKING in round 1 agrees with n2's vote and, its finalize window over, follows n2 (FOLLOWERINFO sent). */
function n1FollowingN2(): ReturnType<typeof lone> {
  const s = survivor(n1);
  s.core.tick();
  s.drain();
  s.core.step(notification(n2, n1, 1, 'looking', VOTE_N2));
  for (let t = 0; t < FINALIZE_TICKS; t++) s.core.tick();
  expect(types(s.drain(), n2)).toContain('followerInfo');
  return s;
}

const types = (ms: readonly ZabMessage[], to: NodeId): string[] => ms.filter((m) => m.to === to).map((m) => m.type);

/** n2 LOOKING in round 1 (its first tick announces its vote), with n1's agreeing vote: its finalize window is open. */
function n2InFinalizeWindow(): { core: ZabCore; drain: () => ZabMessage[] } {
  const s = survivor(n2);
  s.core.tick();
  s.drain();
  s.core.step(notification(n1, n2, 1, 'looking', VOTE_N2));
  expect(s.drain().filter((m) => m.type === 'leaderInfo')).toEqual([]);
  return s;
}

describe('zab failover: Fast Leader Election', () => {
  it('a FOLLOWERINFO that reaches a node still in its finalize window is answered as soon as that node leads (no wait for its resend)', () => {
    const { core, drain } = n2InFinalizeWindow();
    core.step(followerInfo(n1, n2));
    drain();
    let sent: ZabMessage[] = [];
    for (let t = 0; t < FINALIZE_TICKS; t++) {
      core.tick();
      sent = drain();
    }
    // The tick that ends the window chooses the epoch with n1's FOLLOWERINFO: LEADERINFO leaves then.
    expect(types(sent, n1)).toContain('leaderInfo');
  });

  it('a node that hears a voter of its own round FOLLOWING it, with a quorum agreeing, leads at once (FLE checkLeader: if everyone else thinks I am the leader, I am)', () => {
    const { core, drain } = n2InFinalizeWindow();
    core.step(notification(n1, n2, 1, 'following', VOTE_N2));
    drain();
    // No tick has passed: n2 already leads, so n1's FOLLOWERINFO is answered at once.
    core.step(followerInfo(n1, n2));
    expect(types(drain(), n1)).toContain('leaderInfo');
  });

  it('a FOLLOWING notification of an older round does not make a node lead', () => {
    const { core, drain } = n2InFinalizeWindow();
    core.step(notification(n1, n2, 0, 'following', VOTE_N2));
    drain();
    core.step(followerInfo(n1, n2));
    expect(types(drain(), n1)).not.toContain('leaderInfo');
  });

  it('the finalize window ends at once when every voter not heard from in this round is known unreachable', () => {
    const { core, drain } = survivor(n1);
    core.tick();
    drain();
    core.reportUnreachable(n3);
    core.step(notification(n2, n1, 1, 'looking', VOTE_N2));
    // n1 adopts n2's vote; n2 and n1 agree and n3's link is down: no better vote can come now.
    expect(types(drain(), n2)).toContain('followerInfo');
  });

  it('the finalize window still runs when the silent voter was heard from since its link was reported down', () => {
    const { core, drain } = survivor(n1);
    core.tick();
    drain();
    core.reportUnreachable(n3);
    // n3 is back (it answers, from an older round): a better vote may yet come from it.
    core.step(notification(n3, n1, 0, 'looking', { leader: n3, epoch: 1, zxidEpoch: 1, zxidIndex: 2 } as Vote));
    core.step(notification(n2, n1, 1, 'looking', VOTE_N2));
    expect(types(drain(), n2)).not.toContain('followerInfo');
    for (let t = 0; t < FINALIZE_TICKS; t++) core.tick();
    expect(types(drain(), n2)).toContain('followerInfo');
  });

  it('a learner whose leader-to-be announces a newer round while LOOKING joins that round (it will not be led from the old one)', () => {
    const { core, drain } = n1FollowingN2();
    // n2 gave up on that election and looks again, in round 2, voting for itself.
    core.step(notification(n2, n1, 2, 'looking', VOTE_N2));
    const sent = drain().filter((m): m is NotificationMessage => m.type === 'notification' && m.to === n2);
    expect(sent.map((m) => [m.state, m.round, m.vote.leader])).toContainEqual(['looking', 2, n2]);
  });

  it('a follower that joined out of election stays with its leader on a late LOOKING notification the leader sent before it was elected, and looks again on one of a later round', () => {
    const { core, drain } = survivor(n1);
    core.tick();
    drain();
    // n2 leads, elected in round 3; n3 follows it, holding round 1. n1 joins n2 out of election;
    // n3's notification completes the agreement, so n1's own round becomes 1 (ZOOKEEPER-1732).
    core.step(notification(n2, n1, 3, 'leading', VOTE_N2));
    core.step(notification(n3, n1, 1, 'following', VOTE_N2));
    const fi = drain().find((m): m is FollowerInfoMessage => m.type === 'followerInfo');
    expect(fi).toBeDefined();
    const attempt = fi!.attempt;
    core.step({ type: 'leaderInfo', from: n2, to: n1, epoch: 2, attempt } as ZabMessage);
    drain();
    core.step({ type: 'sync', from: n2, to: n1, epoch: 2, attempt, syncId: 1, mode: 'diff', index: 3, indexEpoch: 1 } as ZabMessage);
    core.step({ type: 'newLeader', from: n2, to: n1, epoch: 2, syncId: 1, lastIndex: 3 } as ZabMessage);
    core.step({ type: 'upToDate', from: n2, to: n1, epoch: 2, commit: 3 } as ZabMessage);
    drain();
    expect(core.status()).toMatchObject({ role: 'follower', leader: n2 });
    // A copy of the LOOKING notification n2 sent in round 3, before it was elected, arrives late.
    core.step(notification(n2, n1, 3, 'looking', VOTE_N2));
    expect(core.status()).toMatchObject({ role: 'follower', leader: n2 });
    expect(types(drain(), n2)).not.toContain('followerInfo');
    // n2 looks again, in round 4: it gave up leading, and n1 joins that round.
    core.step(notification(n2, n1, 4, 'looking', VOTE_N2));
    expect(core.status().role).toBe('candidate');
  });
});

describe('zab failover: discovery', () => {
  it('a prospective leader sends no PING before it has chosen its epoch, and a learner of the old epoch does not depose it', () => {
    const net = new ZabNet(V3);
    const old = net.settle();
    net.propose(old, 'a');
    net.stabilize();
    net.tickAll(2);
    net.crash(old);
    const [a, b] = ['n1', 'n2', 'n3'].filter((x) => x !== old) as [string, string];
    // The winner's discovery cannot finish: every FOLLOWERINFO is lost for now.
    net.filter = (m) => m.type !== 'followerInfo';
    const mark = net.sent.length;
    net.core(a).reportUnreachable(old as NodeId);
    net.core(b).reportUnreachable(old as NodeId);
    for (let t = 0; t < 8; t++) net.tickAll();
    const since = net.sent.slice(mark);
    expect(since.filter((m) => m.type === 'ping')).toEqual([]);
    expect(since.filter((m) => m.type === 'staleEpoch')).toEqual([]);
    net.filter = () => true;
    const leader = net.settle();
    expect([a, b]).toContain(leader);
  });

  it('a LEADERINFO answering a FOLLOWERINFO of a connection the learner gave up is ignored; the learner resends its current one and is served within an election timeout', () => {
    // Every message of this scenario is delivered unless said otherwise.
    const a = survivor(n1);
    const b = survivor(n2);
    const to = (id: NodeId, ms: readonly ZabMessage[]): ZabMessage[] => ms.filter((m) => m.to === id);
    a.core.tick();
    b.core.tick();
    a.drain();
    b.drain();
    // n2 hears n3 (alive a moment longer) look in round 2 with a worse vote: n2 moves to round 2.
    b.core.step(notification(n3, n2, 2, 'looking', { leader: n3, epoch: 1, zxidEpoch: 1, zxidIndex: 2 } as Vote));
    const bRound2 = to(n1, b.drain());
    // n1, still in round 1, follows n2 after its finalize window: FOLLOWERINFO, attempt 1.
    a.core.step(notification(n2, n1, 1, 'looking', VOTE_N2));
    for (let t = 0; t < FINALIZE_TICKS; t++) a.core.tick();
    const first = to(n2, a.drain()).filter((m): m is FollowerInfoMessage => m.type === 'followerInfo');
    expect(first.map((m) => m.attempt)).toEqual([1]);
    // n2, LOOKING, keeps it for the moment it leads.
    b.core.step(first[0]!);
    b.drain();
    // n1 hears n2 look in round 2, rejoins the election, and n2, settled, leads at once and serves
    // the kept FOLLOWERINFO of attempt 1: epoch chosen, LEADERINFO for attempt 1.
    for (const m of bRound2) a.core.step(m);
    for (const m of to(n2, a.drain())) b.core.step(m);
    let toA = to(n1, b.drain());
    expect(toA).toContainEqual(expect.objectContaining({ type: 'leaderInfo', attempt: 1 }));
    // n1 follows n2 on a new connection; its FOLLOWERINFO of attempt 2 is lost.
    for (let t = 0; t < FINALIZE_TICKS; t++) a.core.tick();
    expect(to(n2, a.drain()).filter((m) => m.type === 'followerInfo').map((m) => (m as FollowerInfoMessage).attempt)).toEqual([2]);
    let toB: ZabMessage[] = [];
    for (let t = 1; t <= ELECTION_TIMEOUT_TICKS; t++) {
      for (const m of toA) a.core.step(m);
      for (const m of toB) b.core.step(m);
      a.core.tick();
      b.core.tick();
      toB = to(n2, a.drain());
      toA = to(n1, b.drain());
      if (b.core.status().role === 'leader') break;
    }
    expect(b.core.status().role).toBe('leader');
  });

  it('the leader sends DIFF and NEWLEADER in one turn (one ordered stream); it does not wait for the DIFF to be acknowledged', () => {
    const { core, drain } = n2InFinalizeWindow();
    core.step(notification(n1, n2, 1, 'following', VOTE_N2));
    core.step(followerInfo(n1, n2));
    const leaderInfo = drain().find((m) => m.type === 'leaderInfo' && m.to === n1);
    expect(leaderInfo).toBeDefined();
    const epoch = (leaderInfo as { epoch: number }).epoch;
    const ack: AckEpochMessage = { type: 'ackEpoch', from: n1, to: n2, epoch, attempt: 1, fresh: true, currentEpoch: 1, lastEpoch: 1, lastIndex: 3 } as AckEpochMessage;
    core.step(ack);
    expect(types(drain(), n1)).toEqual(['sync', 'newLeader']);
  });

  it('the leader persists its new currentEpoch while DIFF and NEWLEADER are on the way (they depend only on acceptedEpoch, durable already)', () => {
    const { core, drain } = n2InFinalizeWindow();
    core.step(notification(n1, n2, 1, 'following', VOTE_N2));
    core.step(followerInfo(n1, n2));
    const epoch = (drain().find((m) => m.type === 'leaderInfo') as { epoch: number }).epoch;
    core.step({ type: 'ackEpoch', from: n1, to: n2, epoch, attempt: 1, fresh: true, currentEpoch: 1, lastEpoch: 1, lastIndex: 3 } as AckEpochMessage);
    const rd = core.ready();
    expect(rd.hardState).toEqual({ acceptedEpoch: epoch, currentEpoch: epoch });
    expect(rd.earlyMessages.map((m) => m.type)).toEqual(['sync', 'newLeader']);
    core.advance();
  });

  it('a learner holds proposals and a NEWLEADER that overtook their DIFF, and takes them when it arrives', () => {
    const { core, drain } = n1FollowingN2();
    core.step({ type: 'leaderInfo', from: n2, to: n1, epoch: 2, attempt: 1 } as ZabMessage);
    expect(types(drain(), n2)).toEqual(['ackEpoch']);
    const record = { index: 4, term: 1, kind: 'command', data: new Uint8Array([4]) };
    core.step({ type: 'newLeader', from: n2, to: n1, epoch: 2, syncId: 1, lastIndex: 4 } as ZabMessage);
    core.step({ type: 'proposal', from: n2, to: n1, epoch: 2, syncId: 1, entries: [record], commit: 3 } as unknown as ZabMessage);
    expect(drain()).toEqual([]);
    core.step({ type: 'sync', from: n2, to: n1, epoch: 2, attempt: 1, syncId: 1, mode: 'diff', index: 3, indexEpoch: 1 } as ZabMessage);
    const rd = core.ready();
    expect(rd.hardState).toEqual({ acceptedEpoch: 2, currentEpoch: 2 });
    expect(rd.entries.map((e) => e.index)).toEqual([4]);
    expect(rd.messages).toContainEqual(expect.objectContaining({ type: 'ack', to: n2, newLeader: true, index: 4 }));
    core.advance();
  });
  it('a learner holding a NEWLEADER that overtook its SYNC keeps the newest: a reordered older one does not replace it', () => {
    const { core, drain } = n1FollowingN2();
    core.step({ type: 'leaderInfo', from: n2, to: n1, epoch: 2, attempt: 1 } as ZabMessage);
    drain();
    // The leader synchronized n1 twice (its first SYNC stream was abandoned): the second one's
    // NEWLEADER arrives first, then the first one's, then the second SYNC.
    core.step({ type: 'newLeader', from: n2, to: n1, epoch: 2, syncId: 2, lastIndex: 3 } as ZabMessage);
    core.step({ type: 'newLeader', from: n2, to: n1, epoch: 2, syncId: 1, lastIndex: 3 } as ZabMessage);
    core.step({ type: 'sync', from: n2, to: n1, epoch: 2, attempt: 1, syncId: 2, mode: 'diff', index: 3, indexEpoch: 1 } as ZabMessage);
    expect(drain()).toContainEqual(expect.objectContaining({ type: 'ack', to: n2, syncId: 2, newLeader: true, index: 3 }));
  });
});
