/**
 * A leader cut off by a partition that held its messages (no error, no reset) rejoins the
 * leader elected without it as soon as the partition heals: the answers to what it sent as the
 * old leader, delivered with the held bytes, do not make it leave the new leader.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type NodeId } from '../contract';
import type { FollowerInfoMessage, NotificationMessage, PeerState, PingAckMessage, StaleEpochMessage, Vote } from './messages';
import { ZabNet, diskOf, lone, voters } from './testkit';
import { INIT_LIMIT_ELECTIONS } from './core';
import { options } from '../common/testkit';

const V3 = voters('n1', 'n2', 'n3');
const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');
/** n2's vote: the history n1 and n2 held when n3 was cut off (n3 appended two more records alone). */
const VOTE_N2: Vote = { leader: n2, epoch: term(1), zxidEpoch: term(1), zxidIndex: 3 } as Vote;

function notification(from: NodeId, round: number, state: PeerState): NotificationMessage {
  return { type: 'notification', from, to: n3, round, state, vote: VOTE_N2 };
}

function staleEpoch(epoch: number, currentEpoch: number): StaleEpochMessage {
  return { type: 'staleEpoch', from: n2, to: n3, epoch: term(epoch), currentEpoch: term(currentEpoch) };
}

/** n3, the old leader of epoch 1, LOOKING; told by n1 and n2 that n2 leads, it follows n2 (FOLLOWERINFO sent). */
function oldLeaderJoiningN2(): ReturnType<typeof lone> {
  const s = lone('n3', diskOf(1, 1, [1, 1, 1, 1, 1]), V3);
  s.core.tick();
  s.drain();
  s.core.step(notification(n1, 1, 'following'));
  s.core.step(notification(n2, 1, 'leading'));
  expect(s.drain().filter((m) => m.to === n2).map((m) => m.type)).toContain('followerInfo');
  return s;
}

describe('zab: the old leader rejoins after a heal', () => {
  it('a STALEEPOCH from the new leader, of an epoch above its own promise, answers its old leadership: it keeps following', () => {
    const s = oldLeaderJoiningN2();
    // n2 promised and leads epoch 2; this answers a PING n3 sent as the leader of epoch 1.
    s.core.step(staleEpoch(2, 2));
    expect(s.core.status().role).toBe('follower');
    s.core.tick();
    const out = s.drain();
    expect(out.filter((m) => m.type === 'notification')).toEqual([]);
    expect(out.filter((m) => m.to === n2).map((m) => m.type)).toContain('followerInfo');
  });

  it('a STALEEPOCH of an epoch below its promise refuses it: it looks again', () => {
    const s = oldLeaderJoiningN2();
    // What a leader of an older epoch answers a FOLLOWERINFO that promised more (handleFollowerInfo).
    s.core.step({ ...staleEpoch(0, 0) });
    expect(s.core.status().role).toBe('candidate');
  });

  it('once it took the leader\'s epoch, any STALEEPOCH from the leader still sends it LOOKING', () => {
    const s = oldLeaderJoiningN2();
    s.core.step({ type: 'leaderInfo', from: n2, to: n3, epoch: term(2), attempt: 1 });
    s.drain();
    s.core.step(staleEpoch(2, 2));
    expect(s.core.status().role).toBe('candidate');
  });
});

describe('zab: a follower synchronizing again after a heal counts toward the leader\'s quorum (ZooKeeper\'s LearnerHandler.synced)', () => {
  it('the leader keeps leading while one follower is cut off and the other, just healed, has not yet acknowledged NEWLEADER but answers its PINGs', () => {
    const net = new ZabNet(V3);
    const leader = net.settle();
    const [a, b] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    const epoch = net.core(leader).status().term;
    const timeout = options(leader, V3).electionTimeoutTicks;
    net.isolate(a);
    // Long enough that a has been LOOKING for more than an election timeout when it heals (as
    // after any partition longer than two): it then follows the leader on its word alone.
    net.tickAll(3 * timeout);
    expect(net.core(a).status().role).toBe('candidate');
    // The partition shifts: a heals at the instant b is cut off. a's acknowledgement of
    // NEWLEADER is held, as a slow synchronization would hold it; its PING answers pass.
    net.heal();
    net.isolate(b);
    // b's stream broke (a refused link): the leader drops its handle at once.
    net.core(leader).reportUnreachable(nodeId(b));
    net.filter = (m) => !(m.type === 'ack' && m.from === nodeId(a) && (m as { newLeader?: boolean }).newLeader === true);
    const commit = net.core(leader).status().commitIndex;
    const index = net.propose(leader, 'during the shift');
    for (let t = 0; t < 2 * timeout; t++) {
      net.tickAll();
      expect(net.core(leader).status(), `tick ${t} after the shift`).toMatchObject({ role: 'leader', term: epoch });
    }
    // Heard is not synchronized: no commit counts a's copy before its NEWLEADER acknowledgement.
    expect(net.core(leader).status().commitIndex).toBe(commit);
    net.filter = () => true;
    net.tickAll(timeout);
    expect(net.core(leader).status()).toMatchObject({ role: 'leader', term: epoch });
    expect(net.core(leader).status().commitIndex).toBeGreaterThanOrEqual(index);
    expect(net.core(a).status()).toMatchObject({ role: 'follower', leader: nodeId(leader) });
  });
});

describe('zab: a follower that never finishes synchronizing stops counting (initLimit + syncLimit from its FOLLOWERINFO)', () => {
  it('the leader whose only other follower connected and answers every PING but never acknowledges NEWLEADER steps down once that window runs out, not before', () => {
    const net = new ZabNet(V3);
    const leader = net.settle();
    const [a, b] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    const timeout = options(leader, V3).electionTimeoutTicks;
    const epoch = net.core(leader).status().term;
    net.isolate(a);
    net.tickAll(3 * timeout);
    net.isolate(b);
    net.core(leader).reportUnreachable(nodeId(b));
    // a's FOLLOWERINFO reaches the leader (a new learner handle, its window opens)...
    const info: FollowerInfoMessage = { type: 'followerInfo', from: nodeId(a), to: nodeId(leader), epoch, acceptedEpoch: epoch, observer: false, incarnation: 1_000, attempt: 1 };
    net.core(leader).step(info);
    // ...and from then on only its PING answers do: a learner stuck synchronizing whose own
    // initLimit never runs out. Only the leader's rule can end this.
    let ticks = 0;
    const bound = (INIT_LIMIT_ELECTIONS + 3) * timeout;
    while (net.core(leader).status().role === 'leader' && ticks < bound) {
      const answer: PingAckMessage = { type: 'pingAck', from: nodeId(a), to: nodeId(leader), epoch, syncId: 0, index: logIndex(0), readSeq: 0 };
      net.core(leader).step(answer);
      net.tickAll();
      ticks++;
    }
    expect(net.core(leader).status().role, `after ${ticks} ticks`).not.toBe('leader');
    // Counted while within an initLimit and a sync limit of its FOLLOWERINFO: no step-down before that.
    expect(ticks).toBeGreaterThanOrEqual(INIT_LIMIT_ELECTIONS * timeout);
  });
});
