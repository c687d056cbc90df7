/**
 * A voter that lost its data directory rejoins (CoreOptions.rejoining): it follows as an
 * observer — no campaign, no vote — tells the leader it lacks what it acknowledged, and the
 * leader forgets that acknowledgement and brings it up to date. Without rejoining it stops.
 */
import { describe, expect, it } from 'vitest';
import { nodeId, term } from '../contract';
import { rejoinedHardState } from './config';
import { bytes, Net, voters, type Disk } from './testkit';

/** A fresh empty disk each time: the test network writes into the one it is given. */
const empty = (): Disk => ({ hardState: null, snapshot: null, entries: [] });

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
    expect(rejoinedHardState({ term: 3, vote: null, commit: 7 }, { fence: 5, leader: nodeId('n1') })).toEqual({ term: 5, vote: 'n1', commit: 7 });
    expect(rejoinedHardState(null, { fence: 2, leader: nodeId('n1') })).toEqual({ term: 2, vote: 'n1', commit: 0 });
    expect(() => rejoinedHardState({ term: 6, vote: null, commit: 0 }, { fence: 5, leader: nodeId('n1') })).toThrow(/below the term 6/);
    expect(() => rejoinedHardState({ term: 5, vote: 'n2', commit: 0 }, { fence: 5, leader: nodeId('n1') })).toThrow(/already has a vote for n2/);
  });
});
