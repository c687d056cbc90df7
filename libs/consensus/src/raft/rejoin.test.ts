/**
 * A voter that lost its data directory rejoins (CoreOptions.rejoining): it follows as an
 * observer — no campaign, no vote — tells the leader it lacks what it acknowledged, and the
 * leader forgets that acknowledgement and brings it up to date. Without rejoining it stops.
 */
import { describe, expect, it } from 'vitest';
import { nodeId, term } from '../contract';
import { fencedHardState, rejoinedHardState } from './config';
import { bytes, Net, voters, type Disk } from './testkit';

/** A fresh empty disk each time: the test network writes into the one it is given. */
const empty = (): Disk => ({ hardState: null, snapshot: null, entries: [] });

/** Rejoins `id` as the driver does (rejoin.ts, step 0): fenced at the highest term the others promised. */
function rejoinFenced(net: Net, id: string): void {
  const fence = Math.max(...['n1', 'n2', 'n3'].filter((o) => o !== id).map((o) => net.core(o).status().promisedFence));
  net.start(id, { hardState: fencedHardState(null, { fence, self: nodeId(id) }), snapshot: null, entries: [] }, { rejoining: true });
}

function threeWithHistory(): Net {
  const net = new Net(voters('n1', 'n2', 'n3'), { preVote: true, checkQuorum: true });
  net.elect('n1');
  for (const d of ['a', 'b', 'c']) {
    const r = net.core('n1').propose(bytes(d));
    if (!r.ok) throw new Error(`n1 refused ${d}`);
    net.stabilize();
  }
  return net;
}

describe('raft rejoin after a lost data directory', () => {
  it('a rejoining voter follows as an observer and never campaigns, however long it hears nothing', () => {
    const net = threeWithHistory();
    net.start('n3', empty(), { rejoining: true });
    net.isolate('n1');
    net.tick('n3', 200);
    expect(net.core('n3').status().role).toBe('observer');
    expect(net.sent.filter((m) => m.from === 'n3' && (m.type === 'vote' || m.type === 'preVote'))).toEqual([]);
  });

  it('a rejoining voter grants no vote, even to a candidate of a newer term with a longer log', () => {
    const net = threeWithHistory();
    net.start('n3', empty(), { rejoining: true });
    const before = net.sent.length;
    net.core('n3').step({ type: 'vote', from: nodeId('n2'), to: nodeId('n3'), term: term(9), lastIndex: 4 as never, lastTerm: term(1), transfer: false });
    net.process('n3');
    expect(net.sent.slice(before).filter((m) => m.from === 'n3' && m.type === 'voteResponse')).toEqual([expect.objectContaining({ reject: true })]);
  });

  it('the leader forgets the match of a node that comes back without its records, and brings it up to date', () => {
    const net = threeWithHistory();
    expect(net.core('n1').status().progress['n3']?.match).toBe(4);
    net.start('n3', empty(), { rejoining: true });
    for (let i = 0; i < 5; i++) net.tick('n1');
    net.stabilize();
    expect(net.sent.some((m) => m.type === 'appendResponse' && m.from === 'n3' && m.lost)).toBe(true);
    // The test network keeps what n3 applied before it lost its disk: it applied it all again.
    expect(net.appliedData('n3')).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(net.core('n3').status()).toMatchObject({ role: 'observer', leader: 'n1', commitIndex: 4 });
    expect(net.core('n1').status().progress['n3']?.match).toBe(4);
  });

  it('a lost-record answer from a voter that is not rejoining is not needed: a stale rejection stays ignored', () => {
    const net = threeWithHistory();
    const before = net.core('n1').status().progress['n3'];
    net.core('n1').step({ type: 'appendResponse', from: nodeId('n3'), to: nodeId('n1'), term: term(1), index: 2 as never, reject: true, hintIndex: 0 as never, hintTerm: term(0), lost: false });
    expect(net.core('n1').status().progress['n3']?.match).toBe(before?.match);
  });

  it('without rejoining, a voter that lost its records stops at the next heartbeat and names --rejoin', () => {
    const net = threeWithHistory();
    net.start('n3', empty());
    expect(() => {
      for (let i = 0; i < 5; i++) net.tick('n1');
      net.stabilize();
    }).toThrow(/commit 4 is beyond the last index 0.*--rejoin/);
  });

  it('a rejoined voter holds the leader term and a vote for the leader; a lower term is refused', () => {
    expect(rejoinedHardState({ term: 3, vote: null, commit: 7 }, { fence: 5, leader: nodeId('n1'), self: nodeId('n3') })).toEqual({ term: 5, vote: 'n1', commit: 7 });
    expect(rejoinedHardState(null, { fence: 2, leader: nodeId('n1'), self: nodeId('n3') })).toEqual({ term: 2, vote: 'n1', commit: 0 });
    expect(() => rejoinedHardState({ term: 6, vote: null, commit: 0 }, { fence: 5, leader: nodeId('n1'), self: nodeId('n3') })).toThrow(/below the term 6/);
    expect(() => rejoinedHardState({ term: 5, vote: 'n2', commit: 0 }, { fence: 5, leader: nodeId('n1'), self: nodeId('n3') })).toThrow(/already has a vote for n2/);
  });
});

/**
 * A deposed leader below the number the rejoining node promised before it lost its disk must not
 * count its answers (thesis §3.6: taking an append of term T is being in term T). The node is
 * fenced at the highest term of the others before it answers anything (rejoin.ts, step 0).
 */
describe('raft rejoin: fenced above every lost promise', () => {
  /** n1 leads term 1 and pauses; n2 wins term 2 with n3's vote; n3 loses its disk; n1 resumes. */
  function deposedLeaderAndLostVote(): { net: Net; hold: { n1: boolean; n2toN3: boolean; n2toN1: boolean } } {
    const net = new Net(voters('n1', 'n2', 'n3'), { preVote: true, checkQuorum: true });
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    const hold = { n1: true, n2toN3: false, n2toN1: true };
    net.filter = (m) => !(hold.n1 && m.from === 'n1') && !(hold.n2toN1 && m.from === 'n2' && m.to === 'n1') && !(hold.n2toN3 && m.from === 'n2' && m.to === 'n3');
    net.tick('n3', 12);
    net.drop((m) => m.from === 'n3');
    net.elect('n2');
    expect(net.core('n2').status()).toMatchObject({ role: 'leader', term: 2 });
    expect(net.disks.get('n3')?.hardState).toMatchObject({ term: 2, vote: 'n2' });
    return { net, hold };
  }

  it('a deposed leader cannot commit with the rejoining node\'s acknowledgement', () => {
    const { net, hold } = deposedLeaderAndLostVote();
    hold.n2toN3 = true;
    rejoinFenced(net, 'n3');
    hold.n1 = false;
    net.core('n1').propose(bytes('x'));
    for (let i = 0; i < 3; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.appliedData('n1')).not.toContain('x');
    expect(net.core('n1').status().term).toBeGreaterThanOrEqual(2);
    hold.n2toN1 = false;
    hold.n2toN3 = false;
    for (let i = 0; i < 60; i++) {
      for (const id of ['n1', 'n2', 'n3']) net.tick(id);
      net.stabilize();
    }
    const at = (id: string, index: number) => net.disks.get(id)?.entries.find((e) => e.index === index);
    const commit = net.core('n2').status().commitIndex;
    for (let i = 1; i <= commit; i++) for (const id of ['n1', 'n3']) expect(at(id, i)).toEqual(at('n2', i));
  });

  it('a deposed leader cannot confirm a read with the rejoining node\'s answer', () => {
    const { net, hold } = deposedLeaderAndLostVote();
    net.core('n2').propose(bytes('w'));
    net.stabilize();
    expect(net.appliedData('n2')).toContain('w');
    hold.n2toN3 = true;
    rejoinFenced(net, 'n3');
    hold.n1 = false;
    net.core('n1').readIndex('r1');
    for (let i = 0; i < 3; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.readStates.get('n1') ?? []).toEqual([]);
  });

  it('a heartbeat\'s commit from a match acknowledged before the loss never commits a deposed leader\'s tail', () => {
    const net = new Net(voters('n1', 'n2', 'n3'), { preVote: true, checkQuorum: true });
    net.elect('n2');
    net.core('n2').propose(bytes('a'));
    net.stabilize();
    // n2 pauses with three proposals nobody else got; n1 leads term 2 with a match for n3.
    const hold = { n2: true, n3toN2: false };
    net.filter = (m) =>
      !(hold.n2 && m.from === 'n2') &&
      !(m.from === 'n1' && m.to === 'n2') &&
      !(m.from === 'n2' && m.to === 'n1') &&
      !(hold.n3toN2 && m.from === 'n3' && m.to === 'n2' && !(m.type === 'appendResponse' && m.reject));
    for (const d of ['p', 'q', 'r']) net.core('n2').propose(bytes(d));
    net.process('n2');
    net.queue = net.queue.filter((m) => m.from !== 'n2');
    net.tick('n3', 12);
    net.drop((m) => m.from === 'n3');
    net.elect('n1');
    net.core('n1').propose(bytes('b'));
    net.stabilize();
    expect(net.core('n1').status().progress['n3']?.match).toBe(4);
    // n3 loses its disk and rejoins; n2 resumes and reaches n3 first, then n1's heartbeat does.
    rejoinFenced(net, 'n3');
    net.applied.set('n3', []);
    hold.n2 = false;
    hold.n3toN2 = true;
    for (let i = 0; i < 3; i++) {
      net.tick('n2');
      net.stabilize();
    }
    expect((net.disks.get('n3')?.entries ?? []).filter((e) => e.term === 1 && e.index > 2)).toEqual([]);
    net.tick('n1');
    net.stabilize();
    expect(net.appliedData('n3')).toEqual(net.appliedData('n1').slice(0, net.appliedData('n3').length));
  });

  it('fenced hard state: the highest term with a vote for itself, never below what it holds', () => {
    expect(fencedHardState(null, { fence: 4, self: nodeId('n3') })).toEqual({ term: 4, vote: 'n3', commit: 0 });
    expect(fencedHardState({ term: 4, vote: null, commit: 2 }, { fence: 4, self: nodeId('n3') })).toEqual({ term: 4, vote: 'n3', commit: 2 });
    expect(fencedHardState({ term: 6, vote: null, commit: 2 }, { fence: 4, self: nodeId('n3') })).toEqual({ term: 6, vote: null, commit: 2 });
  });

  it('a rejoining node killed between its records and its hard state finishes at that term (its vote for itself granted nothing)', () => {
    const net = threeWithHistory();
    const t = net.core('n1').status().term;
    // n3 took n1's records and died before its hard state was written: it boots voting for itself.
    net.start('n3', { hardState: null, snapshot: null, entries: [...(net.disks.get('n1')?.entries ?? [])] }, { rejoining: true });
    net.process('n3');
    const hard = net.disks.get('n3')!.hardState;
    expect(hard).toMatchObject({ term: t, vote: 'n3' });
    expect(rejoinedHardState(hard, { fence: t, leader: nodeId('n1'), self: nodeId('n3') })).toMatchObject({ term: t, vote: 'n1' });
  });
});
