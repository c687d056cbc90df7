/** Log compaction and InstallSnapshot (§7). */
import { describe, expect, it } from 'vitest';
import { ConsensusError, logIndex, nodeId, term, type SnapshotMeta } from '../contract';
import { SLOW_PEER_RETAIN_FACTOR, SLOW_PEER_SILENCE_ELECTIONS_MAX } from '../common/slow-peers';
import type { SnapshotMessage } from './messages';
import { Net, bytes, diskOf, observer, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');
const meta = (index: number, t: number): SnapshotMeta => ({ index: logIndex(index), term: term(t), members: three });

describe('raft snapshots', () => {
  it('compact forgets records up to index - retainEntries, never past applied', () => {
    const net = new Net(three);
    net.elect('n1');
    for (let i = 0; i < 9; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    const n1 = net.core('n1');
    expect(n1.status().commitIndex).toBe(10);
    n1.compact(meta(8, 1), 3);
    expect(n1.status().firstIndex).toBe(6);
    n1.compact(meta(10, 1), 0);
    expect(n1.status().firstIndex).toBe(11);
    expect(() => n1.compact(meta(11, 1), 0)).toThrow(ConsensusError);
    expect(() => n1.compact(meta(10, 1), -1)).toThrow(/retainEntries/);
  });

  it('a peer behind the compacted prefix gets the snapshot, installs it and catches up from the log', () => {
    const net = new Net(three);
    net.elect('n1');
    net.isolate('n3');
    for (let i = 0; i < 9; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    net.core('n1').compact(meta(8, 1), 0);
    net.core('n1').propose(bytes('after'));
    net.stabilize();
    net.heal();
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
    const snap = net.sent.find((m): m is SnapshotMessage => m.type === 'snapshot');
    expect(snap).toMatchObject({ from: 'n1', to: 'n3', snapshot: { index: 8, term: 1 } });
    expect(net.disks.get('n3')?.snapshot?.index).toBe(8);
    expect(net.core('n3').status()).toMatchObject({ firstIndex: 9, lastIndex: 11, commitIndex: 11 });
    expect(net.appliedData('n3')).toEqual(['c7', 'c8', 'after']); // index 9, 10, 11
    expect(net.core('n1').status().progress['n3']).toMatchObject({ match: 11, state: 'replicate' });
  });

  it('a follower accepting a snapshot resets its log, sets commit = applied = snapshot index and answers at that index', () => {
    const net = new Net(three);
    net.start('n2', diskOf(1, [1, 1], 1));
    const n2 = net.core('n2');
    n2.step({ type: 'snapshot', from: nodeId('n1'), to: nodeId('n2'), term: term(2), snapshot: meta(5, 2) });
    const rd = n2.ready();
    expect(rd.snapshot).toEqual(meta(5, 2));
    expect(rd.hardState).toEqual({ term: 2, vote: null, commit: 5 });
    expect(rd.committed).toEqual([]);
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'appendResponse', index: 5, reject: false })]);
    n2.advance();
    expect(n2.status()).toMatchObject({ firstIndex: 6, lastIndex: 5, commitIndex: 5 });
    expect(n2.hasReady()).toBe(false);
  });

  it('a snapshot at or below the commit index is refused with the follower\'s commit', () => {
    const net = new Net(three);
    net.start('n2', diskOf(2, [1, 1, 2, 2], 4));
    const n2 = net.core('n2');
    n2.step({ type: 'snapshot', from: nodeId('n1'), to: nodeId('n2'), term: term(2), snapshot: meta(3, 2) });
    const rd = n2.ready();
    expect(rd.snapshot).toBeNull();
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'appendResponse', index: 4 })]);
  });

  it('a follower already holding the snapshot\'s last record just fast-forwards its commit', () => {
    const net = new Net(three);
    net.start('n2', diskOf(2, [1, 1, 2, 2, 2], 1));
    const n2 = net.core('n2');
    n2.step({ type: 'snapshot', from: nodeId('n1'), to: nodeId('n2'), term: term(2), snapshot: meta(4, 2) });
    const rd = n2.ready();
    expect(rd.snapshot).toBeNull();
    expect(rd.committed.map((e) => e.index)).toEqual([1, 2, 3, 4]); // applied starts at 0 on boot
    expect(n2.status()).toMatchObject({ firstIndex: 1, lastIndex: 5, commitIndex: 4 });
  });

  it('a failed snapshot send is retried after reportSnapshotFailure (and after a silent loss)', () => {
    const net = new Net(three);
    net.elect('n1');
    net.isolate('n3');
    for (let i = 0; i < 4; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    net.core('n1').compact(meta(5, 1), 0);
    net.heal();
    net.filter = (m) => m.type !== 'snapshot';
    for (let i = 0; i < 3; i++) {
      net.tick('n1');
      net.stabilize();
    }
    const n1 = net.core('n1');
    expect(n1.status().progress['n3']?.state).toBe('snapshot');
    n1.reportSnapshotFailure(nodeId('n3'));
    expect(n1.status().progress['n3']?.state).toBe('probe');
    const sentBefore = net.sent.filter((m) => m.type === 'snapshot').length;
    for (let i = 0; i < 3; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.sent.filter((m) => m.type === 'snapshot').length).toBeGreaterThan(sentBefore);
    // Lost without a report: after an election timeout in snapshot state the leader resends.
    const sentMid = net.sent.filter((m) => m.type === 'snapshot').length;
    for (let i = 0; i < 12; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.sent.filter((m) => m.type === 'snapshot').length).toBeGreaterThan(sentMid);
    net.filter = () => true;
    for (let i = 0; i < 15; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.core('n3').status().commitIndex).toBe(5);
  });

  it('a node restarts from a snapshot and the records after it', () => {
    const net = new Net(three);
    net.elect('n1');
    for (let i = 0; i < 4; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    const disk = net.disks.get('n2');
    if (!disk) throw new Error('no disk');
    const restarted = net.start('n2', { hardState: disk.hardState, snapshot: meta(3, 1), entries: disk.entries });
    expect(restarted.status()).toMatchObject({ firstIndex: 4, lastIndex: 5 });
    net.applied.set('n2', []);
    for (let i = 0; i < 10 && net.appliedData('n2').length < 2; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.appliedData('n2')).toEqual(['c2', 'c3']);
  });
});

describe('raft compaction with a slow follower', () => {
  const RETAIN = 2;
  /** The most records the leader keeps behind its snapshot for a slow peer. */
  const HELD_MAX = SLOW_PEER_RETAIN_FACTOR * RETAIN;

  /**
   * n1 leads; n3 keeps answering heartbeats but loses every append, so it stays live and in
   * replicate state at match 1 while the others go `lag` records further. n1's snapshot is
   * at its last record, 1 + lag.
   */
  function slowFollower(lag: number): Net {
    const net = new Net(three);
    net.elect('n1');
    net.filter = (m) => !(m.type === 'append' && m.to === 'n3');
    for (let i = 0; i < lag; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 1 + lag, progress: { n3: { match: 1, state: 'replicate' } } });
    return net;
  }

  function catchUp(net: Net): void {
    net.filter = () => true;
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
  }

  const snapshotsTo = (net: Net, to: string): number => net.sent.filter((m) => m.type === 'snapshot' && m.to === to).length;

  it('a leader keeps the records a live, replicating follower needs; it catches up by appends, then they go', () => {
    const lag = HELD_MAX;
    const net = slowFollower(lag);
    const n1 = net.core('n1');
    n1.compact(meta(1 + lag, 1), RETAIN);
    expect(n1.status().firstIndex).toBe(2); // n3 holds match 1: everything after it is kept
    // A follower compacts as before, whoever lags.
    net.core('n2').compact(meta(1 + lag, 1), RETAIN);
    expect(net.core('n2').status().firstIndex).toBe(lag);
    catchUp(net);
    expect(snapshotsTo(net, 'n3')).toBe(0);
    expect(net.core('n3').status().commitIndex).toBe(1 + lag);
    expect(net.appliedData('n3')).toEqual(Array.from({ length: lag }, (_, i) => `c${i}`));
    // Nobody needs the held records any more: the next tick forgets them.
    net.tick('n1');
    expect(n1.status().firstIndex).toBe(1 + lag - RETAIN + 1);
  });

  it('keeps holding records through a silence longer than CheckQuorum\'s round, within the silence bound', () => {
    const net = slowFollower(8);
    net.isolate('n3');
    net.tick('n1', 3 * 10); // three election timeouts: recentActive was cleared meanwhile
    net.stabilize();
    net.core('n1').compact(meta(9, 1), RETAIN);
    expect(net.core('n1').status().firstIndex).toBe(2);
  });

  it('a follower beyond the bound is not waited for: it gets the snapshot', () => {
    const lag = HELD_MAX + 1;
    const net = slowFollower(lag);
    const n1 = net.core('n1');
    n1.compact(meta(1 + lag, 1), RETAIN);
    expect(n1.status().firstIndex).toBe(1 + lag - RETAIN + 1);
    catchUp(net);
    expect(snapshotsTo(net, 'n3')).toBeGreaterThan(0);
    expect(net.core('n3').status().commitIndex).toBe(1 + lag);
  });

  it('a follower probed after its link broke is still waited for, and comes back to appends', () => {
    const net = slowFollower(8);
    const n1 = net.core('n1');
    n1.reportUnreachable(nodeId('n3'));
    expect(n1.status().progress['n3']?.state).toBe('probe');
    n1.compact(meta(9, 1), RETAIN);
    expect(n1.status().firstIndex).toBe(2);
    catchUp(net);
    expect(snapshotsTo(net, 'n3')).toBe(0);
    expect(net.core('n3').status().commitIndex).toBe(9);
  });

  it('a follower silent past the bound is not waited for, and stops holding records it held', () => {
    const silence = SLOW_PEER_SILENCE_ELECTIONS_MAX * 10; // electionTimeoutTicks in the testkit
    const held = slowFollower(8);
    held.core('n1').compact(meta(9, 1), RETAIN);
    expect(held.core('n1').status().firstIndex).toBe(2);
    held.isolate('n3');
    held.tick('n1', silence - 1);
    expect(held.core('n1').status().firstIndex).toBe(2);
    held.tick('n1');
    expect(held.core('n1').status().firstIndex).toBe(8);

    const silent = slowFollower(8);
    silent.isolate('n3');
    silent.tick('n1', silence);
    silent.core('n1').compact(meta(9, 1), RETAIN);
    expect(silent.core('n1').status().firstIndex).toBe(8);
  });

  it('never keeps more than the bound behind the snapshot, and none of it with retainEntries 0', () => {
    // n4 falls further behind than the bound; then observer n5 falls a little behind.
    const members = [...voters('n1', 'n2', 'n3', 'n4'), observer('n5')];
    const net = new Net(members);
    net.elect('n1');
    const n1 = net.core('n1');
    const lost = new Set(['n4']);
    net.filter = (m) => !(m.type === 'append' && lost.has(m.to));
    for (let i = 0; i < HELD_MAX; i++) n1.propose(bytes(`c${i}`));
    net.stabilize();
    lost.add('n5');
    for (let i = 0; i < 5; i++) n1.propose(bytes(`d${i}`));
    net.stabilize();
    net.tick('n1');
    net.stabilize();
    const last = n1.status().lastIndex;
    expect(n1.status()).toMatchObject({ commitIndex: last, progress: { n4: { match: 1, state: 'replicate' }, n5: { match: last - 5, state: 'replicate' } } });
    n1.compact({ index: last, term: term(1), members }, RETAIN);
    expect(n1.status().firstIndex).toBe(last - 5 + 1); // for n5; n4 is past the bound
    expect(last - n1.status().firstIndex + 1).toBeLessThanOrEqual(HELD_MAX);

    const unheld = slowFollower(8);
    unheld.core('n1').compact(meta(9, 1), 0);
    expect(unheld.core('n1').status().firstIndex).toBe(10);
  });
});
