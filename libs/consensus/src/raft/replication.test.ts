/** Log replication (§5.3, §5.4.2, §10.2): consistency check, backtracking, commit rule, flow control. */
import { describe, expect, it } from 'vitest';
import { nodeId, term } from '../contract';
import type { AppendMessage, AppendResponseMessage, RaftMessage } from './messages';
import { RaftCore } from './core';
import { Net, bytes, diskOf, options, termsOf, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');
const isAppendTo = (to: string) => (m: RaftMessage): m is AppendMessage => m.type === 'append' && m.to === to;

describe('raft log replication', () => {
  it('a follower rejects an append whose (prevIndex, prevTerm) it does not hold (§5.3)', () => {
    const net = new Net(three);
    net.start('n2', diskOf(2, [1, 1]));
    const n2 = net.core('n2');
    n2.step({ type: 'append', from: nodeId('n1'), to: nodeId('n2'), term: term(3), prevIndex: 5 as never, prevTerm: term(3), commit: 0 as never, entries: [] });
    const rd = n2.ready();
    expect(rd.entries).toEqual([]);
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'appendResponse', reject: true, index: 5, hintIndex: 2, hintTerm: 1 })]);
  });

  it('a conflicting suffix is truncated and replaced by the leader\'s records', () => {
    const net = new Net(three);
    net.start('n1', diskOf(3, [1, 1, 2, 3, 3], 2));
    net.start('n2', diskOf(3, [1, 1, 2, 2, 2, 2], 2));
    net.start('n3', diskOf(3, [1, 1], 2));
    net.elect('n1');
    expect(net.leaderOf()).toBe('n1');
    expect(termsOf(net.disks.get('n2'))).toEqual([1, 1, 2, 3, 3, 4]);
    expect(termsOf(net.disks.get('n3'))).toEqual([1, 1, 2, 3, 3, 4]);
    // The Ready that fixed n2 started at the conflict, below n2's last stored record.
    // The probe at 5 was rejected; the hint sent the leader straight to 3, the last common record.
    const probes = net.sent.filter(isAppendTo('n2')).filter((m) => m.entries.length > 0);
    expect(probes.map((m) => m.prevIndex)).toEqual([5, 3]);
    expect(net.core('n2').status().commitIndex).toBe(6);
  });

  it('fast backtracking skips a whole conflicting term in one round trip', () => {
    const long = (t: number, n: number): number[] => Array.from({ length: n }, () => t);
    const net = new Net(three);
    net.start('n1', diskOf(3, [1, ...long(3, 50)], 1));
    net.start('n2', diskOf(3, [1, ...long(2, 60)], 1));
    net.start('n3', diskOf(3, [1], 1));
    net.elect('n1');
    const rejects = net.sent.filter((m): m is AppendResponseMessage => m.type === 'appendResponse' && m.from === 'n2' && m.reject);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ index: 51, hintIndex: 51, hintTerm: 2 });
    expect(termsOf(net.disks.get('n2'))).toEqual([1, ...long(3, 50), 4]);
  });

  it('only entries of the leader\'s own term commit by counting replicas (Figure 8)', () => {
    // n1 holds an entry of term 2 that only it has; it wins term 3 and replicates that entry to n2.
    const net = new Net(three, { entriesPerMessageMax: 1 });
    net.start('n1', diskOf(2, [1, 2], 1));
    net.start('n2', diskOf(2, [1], 1));
    net.start('n3', diskOf(2, [1], 1));
    // Records of term 3 (the noop) never reach a node that already holds index 2.
    net.filter = (m) => !(m.type === 'append' && m.entries.some((e) => e.term === 3) && net.core(m.to).status().lastIndex >= 2);
    net.elect('n1');
    expect(net.leaderOf()).toBe('n1');
    expect(termsOf(net.disks.get('n2'))).toEqual([1, 2]);
    expect(net.core('n1').status().progress['n2']?.match).toBe(2);
    // Index 2 is on a majority but of an older term: not committed.
    expect(net.core('n1').status().commitIndex).toBe(1);
    net.filter = () => true;
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
    // Once the noop of term 3 reaches a majority, it commits, and index 2 with it.
    expect(net.core('n1').status().commitIndex).toBe(3);
    expect(net.core('n2').status().commitIndex).toBe(3);
  });

  it('a leader counts its own records toward commit only after the Ready carrying them was advanced', () => {
    const core = new RaftCore(options('n1', voters('n1')), { hardState: null, snapshot: null, entries: [] });
    for (let i = 0; i < 30 && core.status().role !== 'leader'; i++) core.tick();
    let rd = core.ready();
    expect(rd.entries.map((e) => e.kind)).toEqual(['noop']);
    expect(rd.committed).toEqual([]);
    expect(core.status().commitIndex).toBe(0);
    core.advance();
    expect(core.status().commitIndex).toBe(1);
    const p = core.propose(bytes('x'));
    expect(p).toMatchObject({ ok: true, index: 2, term: 1 });
    rd = core.ready();
    expect(rd.committed.map((e) => e.index)).toEqual([1]);
    expect(core.status().progress['n1']?.match).toBe(1);
    core.advance();
    expect(core.status().progress['n1']?.match).toBe(2);
    rd = core.ready();
    expect(rd.committed.map((e) => e.index)).toEqual([2]);
    expect(rd.hardState).toBeNull(); // a new commit index alone does not rewrite the hard state
    expect(rd.mustSync).toBe(false);
    core.advance();
    expect(core.hasReady()).toBe(false);
  });

  it('a follower replies in the same Ready that carries the records, and may apply them from it', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.processAll();
    const append = net.queue.find(isAppendTo('n2'));
    if (!append) throw new Error('no append to n2');
    const n2 = net.core('n2');
    n2.step({ ...append, commit: 2 as never });
    const rd = n2.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.committed.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    expect(rd.hardState).toBeNull();
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'appendResponse', index: 2, reject: false })]);
    n2.advance();
    expect(n2.hasReady()).toBe(false);
  });

  it('Ready reports the soft state only when role, leader or term changed', () => {
    const net = new Net(three);
    const n1 = net.core('n1');
    expect(n1.hasReady()).toBe(false);
    net.campaign('n1');
    const rd = n1.ready();
    expect(rd.softState).toEqual({ role: 'candidate', leader: null, term: 1 });
    expect(rd.hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
    expect(rd.mustSync).toBe(true);
    n1.advance();
    for (const m of rd.messages) net.queue.push(m);
    net.stabilize();
    expect(n1.status().role).toBe('leader');
    n1.propose(bytes('b'));
    const quiet = n1.ready();
    expect(quiet.softState).toBeNull();
    n1.advance();
  });

  it('batches at most entriesPerMessageMax records and bytesPerMessageMax bytes per append (at least one)', () => {
    const net = new Net(three, { entriesPerMessageMax: 3, bytesPerMessageMax: 10 });
    net.elect('n1');
    net.isolate('n2');
    for (let i = 0; i < 7; i++) net.core('n1').propose(bytes('abcd'));
    net.core('n1').propose(new Uint8Array(25));
    net.stabilize();
    net.heal();
    const before = net.sent.length;
    for (let i = 0; i < 10; i++) {
      net.tick('n1');
      net.stabilize();
    }
    const appends = net.sent.slice(before).filter(isAppendTo('n2')).filter((m) => m.entries.length > 0);
    expect(appends.length).toBeGreaterThan(2);
    for (const m of appends) {
      expect(m.entries.length).toBeLessThanOrEqual(3);
      const size = m.entries.reduce((n, e) => n + e.data.length, 0);
      if (m.entries.length > 1) expect(size).toBeLessThanOrEqual(10);
    }
    expect(appends.some((m) => m.entries.length === 1 && m.entries[0]?.data.length === 25)).toBe(true);
    expect(net.core('n2').status().lastIndex).toBe(net.core('n1').status().lastIndex);
  });

  it('pipelines at most inflightMessagesMax appends to a peer in replicate state', () => {
    const net = new Net(three, { entriesPerMessageMax: 1, inflightMessagesMax: 2 });
    net.elect('n1');
    expect(net.core('n1').status().progress['n2']?.state).toBe('replicate');
    for (let i = 0; i < 6; i++) net.core('n1').propose(bytes(`p${i}`));
    net.processAll();
    const first = net.queue.filter(isAppendTo('n2'));
    expect(first.map((m) => m.entries.length)).toEqual([1, 1]);
    // Each acknowledgement opens the window again.
    net.stabilize();
    expect(net.core('n2').status().lastIndex).toBe(7);
    const all = net.sent.filter(isAppendTo('n2')).filter((m) => m.entries.length > 0);
    expect(all.length).toBeGreaterThanOrEqual(6);
  });

  it('a peer that rejects falls back to probe state: one append at a time', () => {
    const net = new Net(three);
    net.elect('n1');
    const leader = net.core('n1');
    leader.step({ type: 'appendResponse', from: nodeId('n2'), to: nodeId('n1'), term: term(1), index: 5 as never, reject: true, hintIndex: 0 as never, hintTerm: term(0), lost: false });
    expect(leader.status().progress['n2']?.state).toBe('probe');
    net.processAll();
    leader.propose(bytes('1'));
    leader.propose(bytes('2'));
    net.processAll();
    expect(net.queue.filter(isAppendTo('n2'))).toHaveLength(1);
    net.stabilize();
    expect(leader.status().progress['n2']?.state).toBe('replicate');
  });

  it('reportUnreachable sends a replicating peer back to probe', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').reportUnreachable(nodeId('n2'));
    expect(net.core('n1').status().progress['n2']?.state).toBe('probe');
  });

  it('refuses proposals beyond uncommittedEntriesMax as overloaded', () => {
    const net = new Net(three, { uncommittedEntriesMax: 3 });
    net.elect('n1');
    net.isolate('n2');
    net.isolate('n3');
    const n1 = net.core('n1');
    expect(n1.propose(bytes('1')).ok).toBe(true);
    expect(n1.propose(bytes('2')).ok).toBe(true);
    expect(n1.propose(bytes('3')).ok).toBe(true);
    expect(n1.propose(bytes('4'))).toEqual({ ok: false, reason: 'overloaded' });
    net.heal();
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(n1.propose(bytes('4')).ok).toBe(true);
  });

  it('followers and candidates refuse proposals, naming the leader they know', () => {
    const net = new Net(three);
    expect(net.core('n2').propose(bytes('x'))).toEqual({ ok: false, reason: 'not_leader', leader: null });
    net.elect('n1');
    expect(net.core('n2').propose(bytes('x'))).toEqual({ ok: false, reason: 'not_leader', leader: 'n1' });
  });

  it('every node applies the same commands in the same order, also after a restart from its disk', () => {
    const net = new Net(three);
    net.elect('n1');
    for (let i = 0; i < 5; i++) net.core('n1').propose(bytes(`c${i}`));
    net.stabilize();
    net.tick('n1');
    net.stabilize();
    const want = ['c0', 'c1', 'c2', 'c3', 'c4'];
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(want);
    const disk = net.disks.get('n2');
    if (!disk) throw new Error('no disk');
    net.applied.set('n2', []);
    const restarted = net.start('n2', { ...disk, entries: [...disk.entries] });
    expect(restarted.status()).toMatchObject({ term: 1, lastIndex: 6, role: 'follower' });
    // The commit index is not part of the hard state: the leader's next heartbeat restores it.
    for (let i = 0; i < 10 && net.appliedData('n2').length < want.length; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.appliedData('n2')).toEqual(want); // re-applied from the log (no snapshot yet)
  });

  it('a leader hands out its appends as early messages (before its own persist); a candidate never does', () => {
    const net = new Net(three);
    net.campaign('n1');
    const candidate = net.core('n1').ready();
    expect(candidate.earlyMessages).toEqual([]);
    expect(candidate.messages.every((m) => m.type === 'vote' || m.type === 'preVote')).toBe(true);
    net.core('n1').advance();
    for (const m of candidate.messages) net.queue.push(m);
    net.stabilize();
    const leader = net.core('n1');
    expect(leader.status().role).toBe('leader');
    leader.propose(bytes('early'));
    const rd = leader.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.earlyMessages.map((m) => m.type)).toEqual(['append', 'append']);
    expect(rd.messages.filter((m) => m.type === 'append')).toEqual([]);
    // Followers acknowledge before the leader persisted: it still may not count itself.
    net.queue.length = 0;
    for (const m of rd.earlyMessages) net.core(m.to).step(m);
    for (const id of ['n2', 'n3']) net.process(id);
    const acks = net.queue.filter((m) => m.to === 'n1' && m.type === 'appendResponse');
    expect(acks).toHaveLength(2);
    for (const m of acks) leader.step(m);
    expect(leader.status().progress['n1']?.match).toBe(1);
    leader.advance();
    expect(leader.status().progress['n1']?.match).toBe(2);
  });
});
