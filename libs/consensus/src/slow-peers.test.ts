/**
 * Compaction with a slow peer, the same rules for every protocol (common/slow-peers.ts): the
 * leader keeps the records a live peer still replicating from it lacks, within a bound, so it
 * catches up by replication (Raft appends, Zab proposals, Multi-Paxos accepts) instead of a
 * snapshot; the records go once it has them, once it falls silent, or when the leader stops
 * leading. Raft's own cases, in its testkit, are in raft/snapshot.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { SLOW_PEER_RETAIN_FACTOR, SLOW_PEER_SILENCE_ELECTIONS_MAX } from './common/slow-peers';
import { TestNet, voters } from './common/testkit';
import { logIndex, nodeId, type BaseMessage, type CoreOptions, type SnapshotMeta } from './contract';
import { PROTOCOLS, type ProtocolName } from './registry';

const RETAIN = 2;
/** The most records a leader keeps behind its snapshot for a slow peer. */
const HELD_MAX = SLOW_PEER_RETAIN_FACTOR * RETAIN;
/** electionTimeoutTicks in the testkit. */
const ELECTION_TICKS = 10;
const MEMBERS = voters('n1', 'n2', 'n3');

/** The messages that carry records from a leader to a follower. */
const REPLICATION: Record<ProtocolName, readonly string[]> = { raft: ['append'], zab: ['proposal', 'inform'], multipaxos: ['accept'] };

/** A follower's answers to the leader's replication and heartbeats. */
const ANSWERS: Record<ProtocolName, readonly string[]> = { raft: ['appendResponse', 'heartbeatResponse'], zab: ['ack', 'pingAck'], multipaxos: ['accepted', 'heartbeatResponse'] };

/** A whole-database snapshot on its way to `to`: Raft's and Multi-Paxos's snapshot, Zab's SYNC in SNAP mode. */
function isSnapshotTo(name: ProtocolName, m: BaseMessage, to: string): boolean {
  if (m.to !== to) return false;
  return name === 'zab' ? m.type === 'sync' && (m as BaseMessage & { mode?: string }).mode === 'snap' : m.type === 'snapshot';
}

describe.each(['raft', 'zab', 'multipaxos'] as const)('%s compaction with a slow follower', (name) => {
  interface Slow {
    readonly net: TestNet<BaseMessage>;
    readonly leader: string;
    readonly slow: string;
    readonly other: string;
    /** The last record the slow follower holds. */
    readonly base: number;
    /** The leader's last record, committed and applied: where its snapshot is taken. */
    readonly last: number;
  }

  /**
   * A leader, a follower that keeps up, and one that answers the leader's heartbeats but loses
   * every message carrying records, so it stays live and replicating at `base` while the
   * others go `lag` records further.
   */
  function slowFollower(lag: number, over: Partial<CoreOptions> = {}): Slow {
    const net = new TestNet<BaseMessage>(PROTOCOLS[name].create, MEMBERS, over);
    const leader = net.settle();
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    net.stabilize();
    const [other, slow] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    const base = net.core(leader).status().lastIndex;
    expect(net.core(slow).status().lastIndex).toBe(base);
    net.filter = (m) => !(m.to === slow && REPLICATION[name].includes(m.type));
    for (let i = 0; i < lag; i++) net.propose(leader, `c${i}`);
    net.stabilize();
    net.tick(leader);
    net.stabilize();
    const last = net.core(leader).status().lastIndex;
    expect(last).toBe(base + lag);
    expect(net.core(leader).status().commitIndex).toBe(last);
    expect(net.core(slow).status().lastIndex).toBe(base);
    return { net, leader, slow, other, base, last };
  }

  function snapshotAt(s: Slow, index: number): SnapshotMeta {
    const record = s.net.disk(s.leader).entries.find((e) => e.index === index);
    if (record === undefined) throw new Error(`${s.leader} has no record ${index} on its disk`);
    return { index: logIndex(index), term: record.term, members: MEMBERS };
  }

  /** Every message gets through again; tick until the slow follower applied what the leader did (bounded). */
  function catchUp(s: Slow): void {
    s.net.filter = () => true;
    const want = s.net.core(s.leader).status().commitIndex;
    for (let i = 0; i < 20 * ELECTION_TICKS && s.net.core(s.slow).status().commitIndex < want; i++) {
      s.net.tickAll();
      s.net.stabilize();
    }
    expect(s.net.core(s.slow).status().commitIndex).toBeGreaterThanOrEqual(want);
  }

  /** Ticks the leader and the follower that keeps up, so the leader keeps its quorum. */
  function tickKeeping(s: Slow, n: number): void {
    for (let i = 0; i < n; i++) {
      s.net.tick(s.leader);
      s.net.tick(s.other);
      s.net.stabilize();
    }
  }

  const snapshotsTo = (s: Slow): number => s.net.sent.filter((m) => isSnapshotTo(name, m, s.slow)).length;
  const firstIndex = (s: Slow, id: string): number => s.net.core(id).status().firstIndex;

  it('the leader keeps the records a live follower lacks; it catches up by replication, then they go', () => {
    const s = slowFollower(HELD_MAX);
    s.net.core(s.leader).compact(snapshotAt(s, s.last), RETAIN);
    expect(firstIndex(s, s.leader)).toBe(s.base + 1); // everything after what the slow one holds
    // A follower compacts as before, whoever lags.
    s.net.core(s.other).compact(snapshotAt(s, s.last), RETAIN);
    expect(firstIndex(s, s.other)).toBe(s.last - RETAIN + 1);
    catchUp(s);
    expect(snapshotsTo(s)).toBe(0);
    expect(s.net.appliedData(s.slow)).toEqual(s.net.appliedData(s.leader));
    // Nobody needs the held records any more: the next tick forgets them.
    s.net.tick(s.leader);
    expect(firstIndex(s, s.leader)).toBe(s.last - RETAIN + 1);
  });

  it('a follower beyond the bound is not waited for: it gets the snapshot', () => {
    const s = slowFollower(HELD_MAX + 1);
    s.net.core(s.leader).compact(snapshotAt(s, s.last), RETAIN);
    expect(firstIndex(s, s.leader)).toBe(s.last - RETAIN + 1);
    catchUp(s);
    expect(snapshotsTo(s)).toBeGreaterThan(0);
  });

  it('a follower whose link broke is still waited for within the silence bound: it comes back to replication, not a snapshot', () => {
    // One record a message, two messages in flight: catching up takes several round trips.
    const s = slowFollower(8, { entriesPerMessageMax: 1, inflightMessagesMax: 2 });
    s.net.core(s.leader).compact(snapshotAt(s, s.last), RETAIN);
    expect(firstIndex(s, s.leader)).toBe(s.base + 1);
    // Both ends see the link break, and the follower stays cut off for a few election timeouts.
    s.net.isolate(s.slow);
    s.net.core(s.leader).reportUnreachable(nodeId(s.slow));
    s.net.core(s.slow).reportUnreachable(nodeId(s.leader));
    tickKeeping(s, 3 * ELECTION_TICKS);
    expect(s.net.core(s.leader).status().role).toBe('leader');
    expect(firstIndex(s, s.leader)).toBe(s.base + 1);
    // It connects again; Zab's handshake (FOLLOWERINFO, LEADERINFO, ACKEPOCH) spans leader ticks.
    s.net.heal();
    s.net.core(s.leader).reportReachable(nodeId(s.slow));
    s.net.core(s.slow).reportReachable(nodeId(s.leader));
    const tickAllFor = (ticks: number): void => {
      for (let i = 0; i < ticks; i++) {
        s.net.tickAll();
        s.net.stabilize();
      }
    };
    s.net.filter = (m) => m.type !== 'ackEpoch';
    // The leader holds every record the follower lacks, or it has them already.
    const holdsWhatItLacks = (): void => expect(firstIndex(s, s.leader)).toBeLessThanOrEqual(s.net.core(s.slow).status().lastIndex + 1);
    tickAllFor(2 * ELECTION_TICKS);
    holdsWhatItLacks();
    // Synchronized again (Zab: the learner connects once more and gets a DIFF), its answers are
    // late for a few ticks: nothing it acknowledged since counts.
    s.net.filter = (m) => !(m.from === s.slow && ANSWERS[name].includes(m.type));
    const mark = s.net.sent.length;
    const syncs = (): BaseMessage[] => s.net.sent.slice(mark).filter((m) => m.type === 'sync' && m.to === s.slow);
    for (let i = 0; i < 6 * ELECTION_TICKS && name === 'zab' && syncs().length === 0; i++) tickAllFor(1);
    if (name === 'zab') expect(syncs().map((m) => (m as BaseMessage & { mode: string }).mode)).toEqual(['diff']);
    tickAllFor(3);
    holdsWhatItLacks();
    catchUp(s);
    expect(snapshotsTo(s)).toBe(0);
    expect(s.net.appliedData(s.slow)).toEqual(s.net.appliedData(s.leader));
  });

  it('a newer compact() replaces the one held: its records are kept for the follower the same way', () => {
    const s = slowFollower(8);
    const leader = s.net.core(s.leader);
    leader.compact(snapshotAt(s, s.last), RETAIN);
    for (let i = 0; i < 4; i++) s.net.propose(s.leader, `d${i}`);
    s.net.stabilize();
    const last = leader.status().lastIndex;
    expect(leader.status().commitIndex).toBe(last);
    leader.compact(snapshotAt(s, last), RETAIN);
    expect(firstIndex(s, s.leader)).toBe(s.base + 1);
    catchUp(s);
    expect(snapshotsTo(s)).toBe(0);
    s.net.tick(s.leader);
    expect(firstIndex(s, s.leader)).toBe(last - RETAIN + 1);
  });

  it('a follower silent past the bound stops holding records, and one silent before is not waited for', () => {
    const silence = SLOW_PEER_SILENCE_ELECTIONS_MAX * ELECTION_TICKS;
    const held = slowFollower(8);
    held.net.core(held.leader).compact(snapshotAt(held, held.last), RETAIN);
    expect(firstIndex(held, held.leader)).toBe(held.base + 1);
    held.net.isolate(held.slow);
    tickKeeping(held, silence - 2);
    expect(held.net.core(held.leader).status().role).toBe('leader');
    expect(firstIndex(held, held.leader)).toBe(held.base + 1);
    tickKeeping(held, 2);
    expect(firstIndex(held, held.leader)).toBe(held.last - RETAIN + 1);

    const silent = slowFollower(8);
    silent.net.isolate(silent.slow);
    tickKeeping(silent, silence);
    expect(silent.net.core(silent.leader).status().role).toBe('leader');
    silent.net.core(silent.leader).compact(snapshotAt(silent, silent.last), RETAIN);
    expect(firstIndex(silent, silent.leader)).toBe(silent.last - RETAIN + 1);
  });

  it('keeps nothing with retainEntries 0, and nothing once it no longer leads', () => {
    const unheld = slowFollower(8);
    unheld.net.core(unheld.leader).compact(snapshotAt(unheld, unheld.last), 0);
    expect(firstIndex(unheld, unheld.leader)).toBe(unheld.last + 1);

    const deposed = slowFollower(8);
    const leader = deposed.net.core(deposed.leader);
    leader.compact(snapshotAt(deposed, deposed.last), RETAIN);
    expect(firstIndex(deposed, deposed.leader)).toBe(deposed.base + 1);
    // Cut off from both followers, it steps down within a few election timeouts; its next tick as a follower forgets the records.
    deposed.net.isolate(deposed.leader);
    for (let i = 0; i < 5 * ELECTION_TICKS && leader.status().role === 'leader'; i++) deposed.net.tick(deposed.leader);
    expect(leader.status().role).not.toBe('leader');
    deposed.net.tick(deposed.leader);
    expect(firstIndex(deposed, deposed.leader)).toBe(deposed.last - RETAIN + 1);
  });
});
