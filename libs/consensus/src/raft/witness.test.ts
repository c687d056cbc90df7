/**
 * Witnesses in Raft: a member that votes and counts toward every quorum but keeps no
 * database. It is elected only when no data voter can be, and then only until a data voter
 * holds its records; it learns how far the data voters hold the log, and forgets up to there.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Member } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import { FAST_ELECTION_STAGGER_TICKS } from '../common';
import { WITNESS_HAND_OVER_ELECTIONS_MAX, type RaftCore } from './core';
import type { HeartbeatMessage, RaftMessage } from './messages';
import { memberList as list } from '../common/testkit';
import { bytes, diskOf, Net, voters } from './testkit';

const ELECTION_TICKS = 10; // the testkit's electionTimeoutTicks

const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });
const twoAndWitness = [...voters('n1', 'n2'), witness('w3')];

function propose(net: Net, id: string, data: string): void {
  const r = net.core(id).propose(bytes(data));
  if (!r.ok) throw new Error(`${id} refused ${data}: ${r.reason}`);
  net.stabilize();
}

/** Ticks the witness leader (each tick delivered) until `to` leads, bounded. */
function handOver(net: Net, from: string, to: string): void {
  for (let i = 0; i < 40 && net.leaderOf() !== to; i++) {
    net.tick(from);
    net.stabilize();
  }
}

/** n1 leads and commits a, b and c on every node; the witness w3 forgets them all, as its driver would. */
function witnessForgetsABC(net: Net): RaftCore {
  net.elect('n1');
  for (const d of ['a', 'b', 'c']) propose(net, 'n1', d);
  net.tick('n1');
  net.stabilize();
  const w = net.core('w3');
  const hold = w.status().dataVotersHold ?? 0;
  expect(hold).toBe(4);
  w.compact({ index: logIndex(hold), term: term(1), members: twoAndWitness }, 0);
  net.process('w3');
  expect(w.status().firstIndex).toBe(5);
  return w;
}

/** Lets `id` campaign and delivers only until it leads (its hand-over may then be under way). */
function electOnly(net: Net, id: string): void {
  net.campaign(id);
  net.processAll();
  for (let i = 0; i < 20 && net.leaderOf() !== id; i++) net.deliverOnce();
}

/** Ticks every live node once per round, delivering everything between rounds. */
function run(net: Net, rounds: number, until: () => boolean = () => false): number {
  for (let i = 0; i < rounds; i++) {
    if (until()) return i;
    for (const id of [...net.cores.keys()]) net.tick(id);
    net.stabilize();
  }
  return rounds;
}

/** The testkit's bare Raft, and the defaults a node runs with. */
const SETTINGS = [
  { name: 'plain', over: {} },
  { name: 'preVote + checkQuorum', over: { preVote: true, checkQuorum: true } },
] as const;

const campaignedFrom = (net: Net, id: string): boolean => net.sent.some((m: RaftMessage) => m.from === id && (m.type === 'vote' || m.type === 'preVote'));

describe('raft witness', () => {
  it('reports its role, and counts toward the commit quorum with one data voter down', () => {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    expect(net.core('w3').status().role).toBe('witness');
    net.isolate('n2');
    propose(net, 'n1', 'a');
    expect(net.appliedData('n1')).toEqual(['a']);
    expect(net.core('n1').status().commitIndex).toBe(2);
  });

  it('a witness gets a snapshot position only once every data voter holds the records below it', () => {
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    const net = new Net(members);
    net.elect('n1');
    propose(net, 'n1', 'a');
    net.isolate('n3');
    net.isolate('w5');
    for (const d of ['b', 'c', 'd', 'e']) propose(net, 'n1', d);
    const commit = net.core('n1').status().commitIndex;
    net.core('n1').compact({ index: logIndex(commit), term: term(1), members }, 0);
    net.process('n1');
    // w5 is back, n3 still behind: w5 must keep what it has, not take the position.
    net.heal();
    net.isolate('n3');
    for (let i = 0; i < 30; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.sent.some((m) => m.type === 'snapshot' && m.to === 'w5')).toBe(false);
    // n3 catches up (by snapshot, it is a data voter): now w5 may forget.
    net.heal();
    for (let i = 0; i < 30; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.core('n3').status().lastIndex).toBe(net.core('n1').status().lastIndex);
    expect(net.core('w5').status().lastIndex).toBe(net.core('n1').status().lastIndex);
  });

  it('a data voter leader refuses to transfer leadership to a witness', () => {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    net.core('n1').transferLeadership(nodeId('w3'));
    net.stabilize();
    for (const id of ['n1', 'n2', 'w3']) net.tick(id, 5);
    net.stabilize();
    expect(net.leaderOf()).toBe('n1');
    expect(net.sent.some((m) => m.type === 'timeoutNow' && m.to === 'w3')).toBe(false);
  });

  it('the newest records only on the witness: it is elected, brings the data voter up to date and hands over', () => {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    net.isolate('n2');
    for (const d of ['a', 'b', 'c']) propose(net, 'n1', d);
    // n1, the only data voter holding a, b and c, dies; n2 comes back behind.
    net.cores.delete('n1');
    net.heal();
    // n2 campaigns first (a data voter's timeout is shorter) but the witness refuses: its log is newer.
    net.elect('n2');
    expect(net.leaderOf()).not.toBe('n2');
    // The witness's longer timeout fires; n2 votes for it.
    electOnly(net, 'w3');
    expect(net.leaderOf()).toBe('w3');
    expect(net.core('w3').propose(bytes('at-witness'))).toEqual({ ok: false, reason: 'transferring' });
    // A change is refused with a sentence: the witness leads only to hand over.
    expect(net.core('w3').proposeMembership([{ id: nodeId('n1'), role: 'voter', address: 'n1:7000' }, { id: nodeId('n2'), role: 'voter', address: 'n2:7000' }])).toMatchObject({
      ok: false,
      reason: 'witness_leader',
      message: expect.stringMatching(/w3 is a witness: it leads only to hand over to a data voter; propose the change at the next leader/),
    });
    // Its heartbeats and the transfer run until n2 leads with every record.
    handOver(net, 'w3', 'n2');
    expect(net.leaderOf()).toBe('n2');
    expect(net.core('w3').status().role).toBe('witness');
    propose(net, 'n2', 'd');
    expect(net.appliedData('n2')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('learns how far every data voter holds the log, never beyond what both do', () => {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    propose(net, 'n1', 'a');
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status().dataVotersHold).toBe(2);
    expect(net.core('w3').status().dataVotersHold).toBe(2);
    // n2 is cut off: what n1 and the witness commit is not held by every data voter.
    net.isolate('n2');
    propose(net, 'n1', 'b');
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(3);
    expect(net.core('n1').status().dataVotersHold).toBe(2);
    expect(net.core('w3').status().dataVotersHold).toBe(2);
  });

  it('forgets its records on compact() with no snapshot behind it, and still brings a data voter up to date when it leads', () => {
    const net = new Net(twoAndWitness);
    witnessForgetsABC(net);
    // n2 misses d; n1 dies: the witness leads with its short log and n2 gets d from it.
    net.isolate('n2');
    propose(net, 'n1', 'd');
    net.cores.delete('n1');
    net.heal();
    net.elect('w3');
    handOver(net, 'w3', 'n2');
    expect(net.leaderOf()).toBe('n2');
    expect(net.appliedData('n2')).toEqual(['a', 'b', 'c', 'd']);
    expect(net.sent.filter((m) => m.from === nodeId('w3') && m.type === 'snapshot')).toEqual([]);
  });

  it('carries dataHold on the heartbeat and refuses a value beyond its commit index', () => {
    const hb: HeartbeatMessage = { type: 'heartbeat', from: nodeId('n1'), to: nodeId('w3'), term: term(2), commit: 9 as never, readSeq: 1, dataHold: 7 as never };
    expect(decodeMessage(encodeMessage(hb))).toEqual(hb);
    expect(() => decodeMessage(encodeMessage({ ...hb, dataHold: 10 as never }))).toThrow(/dataHold 10 is beyond its commit 9/);
  });

  it.each(SETTINGS)('a witness that loses its leader keeps its extra election timeout: the data voter is elected, with no hand-over ($name)', ({ over }) => {
    const leaderDies = (): Net => {
      const net = new Net(twoAndWitness, over);
      net.elect('n1');
      net.cores.delete('n1');
      for (const id of ['n2', 'w3']) net.core(id).reportUnreachable(nodeId('n1'));
      return net;
    };
    // A whole election timeout alone: a data voter would have campaigned; the witness must not.
    const alone = leaderDies();
    for (let i = 0; i < ELECTION_TICKS; i++) alone.tick('w3');
    expect(campaignedFrom(alone, 'w3')).toBe(false);
    // It still campaigns sooner than a full witness timeout would let it (its slot: after n2's).
    for (let i = 0; i < 2 * FAST_ELECTION_STAGGER_TICKS; i++) alone.tick('w3');
    expect(campaignedFrom(alone, 'w3')).toBe(true);
    // Both tick together: the data voter campaigns first and wins; the witness never leads.
    const both = leaderDies();
    run(both, 3 * ELECTION_TICKS, () => both.leaderOf() !== null);
    expect(both.leaderOf()).toBe('n2');
    expect(campaignedFrom(both, 'w3')).toBe(false);
  });

  it('a witness leader hands over to a data voter that answered it, not to the first-listed one, which is dead', () => {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    net.isolate('n2');
    for (const d of ['a', 'b']) propose(net, 'n1', d);
    net.cores.delete('n1');
    net.heal();
    net.elect('n2'); // refused by the witness, whose log is newer
    electOnly(net, 'w3');
    expect(net.leaderOf()).toBe('w3');
    const ticks = run(net, 4 * ELECTION_TICKS, () => net.leaderOf() === 'n2');
    expect(net.leaderOf()).toBe('n2');
    expect(ticks).toBeLessThanOrEqual(2);
    expect(net.sent.some((m) => m.type === 'timeoutNow' && m.to === 'n1')).toBe(false);
  });

  it('a witness leader hands over to the most up-to-date data voter that answered it', () => {
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    // One record per append: the data voter that lacks more takes more round trips.
    const net = new Net(members, { entriesPerMessageMax: 1, inflightMessagesMax: 1 });
    net.elect('n1');
    propose(net, 'n1', 'a');
    net.isolate('n2');
    propose(net, 'n1', 'b');
    net.isolate('n3');
    for (const d of ['c', 'd', 'e']) propose(net, 'n1', d);
    // n1 dies; n3 holds a and b, n2 only a; the witnesses hold everything.
    net.cores.delete('n1');
    net.heal();
    net.elect('n3'); // refused by both witnesses
    electOnly(net, 'w4');
    expect(net.leaderOf()).toBe('w4');
    run(net, 4 * ELECTION_TICKS, () => net.leaderOf() === 'n3' || net.leaderOf() === 'n2');
    expect(net.leaderOf()).toBe('n3');
    expect(net.sent.some((m) => m.type === 'timeoutNow' && m.to === 'n2')).toBe(false);
  });

  it('a witness installs a snapshot position: it drops every record (a stale suffix too), keeps its term, and votes by that position', () => {
    const members = twoAndWitness;
    const net = new Net(members);
    // n1 and n2 hold records of term 2; the witness holds a record of term 1 at index 3 that never committed.
    net.start('n1', diskOf(2, [1, 1, 2, 2, 2]));
    net.start('n2', diskOf(2, [1, 1, 2, 2, 2]));
    net.start('w3', diskOf(1, [1, 1, 1]));
    net.isolate('w3');
    net.elect('n1');
    propose(net, 'n1', 'x');
    const leader = net.core('n1').status();
    expect(leader.commitIndex).toBe(7);
    const t = leader.term;
    net.core('n1').compact({ index: logIndex(7), term: t, members }, 0);
    net.process('n1');
    net.heal();
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.sent.some((m) => m.type === 'snapshot' && m.to === 'w3')).toBe(true);
    const check = (currentTerm: number): void => {
      const w = net.core('w3').status();
      expect(w.firstIndex).toBe(8);
      expect(w.lastIndex).toBe(7);
      expect(w.commitIndex).toBe(7);
      expect(w.term).toBe(currentTerm);
      const disk = net.disks.get('w3');
      expect(disk?.snapshot).toMatchObject({ index: 7, term: t });
      expect(disk?.entries).toEqual([]);
      expect(disk?.hardState?.term).toBe(currentTerm);
    };
    check(t);
    // It votes by the position: a candidate holding less is refused, one holding as much is granted.
    const ask = (from: string, voteTerm: number, lastIndex: number, lastTerm: number): boolean => {
      const before = net.sent.length;
      net.core('w3').step({ type: 'vote', from: nodeId(from), to: nodeId('w3'), term: term(voteTerm), lastIndex: logIndex(lastIndex), lastTerm: term(lastTerm), transfer: false });
      net.process('w3');
      const answer = net.sent.slice(before).find((m) => m.type === 'voteResponse');
      if (answer?.type !== 'voteResponse') throw new Error('no vote response');
      net.queue = [];
      return !answer.reject;
    };
    expect(ask('n2', t + 1, 5, 2)).toBe(false);
    expect(ask('n2', t + 2, 6, t)).toBe(false);
    expect(ask('n2', t + 3, 7, t)).toBe(true);
    // The same after a restart from its disk, which kept its term and vote.
    const disk = net.disks.get('w3');
    if (disk === undefined) throw new Error('no disk');
    expect(disk.hardState?.vote).toBe('n2');
    net.start('w3', disk);
    check(t + 3);
    expect(ask('n1', t + 4, 6, t)).toBe(false);
    expect(ask('n1', t + 5, 7, t)).toBe(true);
  });

  it.each(SETTINGS)('a witness leader whose only live data voter is below its forgotten records steps down, and a data voter leads once one is back ($name)', ({ over }) => {
    const net = new Net(twoAndWitness, over);
    const w = witnessForgetsABC(net);
    // n1 goes down; n2 comes back with its disk lost: the witness cannot bring it up to date.
    net.cores.delete('n1');
    net.applied.delete('n2');
    net.start('n2');
    electOnly(net, 'w3');
    expect(net.leaderOf()).toBe('w3');
    const ledTerm = w.status().term;
    run(net, (WITNESS_HAND_OVER_ELECTIONS_MAX + 1) * ELECTION_TICKS, () => net.leaderOf() !== 'w3');
    expect(net.leaderOf()).toBeNull();
    expect(w.status().term).toBe(ledTerm); // stepping down changes no term
    expect(net.sent.some((m) => m.type === 'timeoutNow' && m.to === 'n2')).toBe(false);
    expect(net.sent.some((m) => m.type === 'snapshot')).toBe(false);
    // n1 comes back with its disk: a data voter leads, n2 gets every record, writes go on.
    const disk = net.disks.get('n1');
    if (disk === undefined) throw new Error('no disk');
    net.applied.delete('n1');
    net.start('n1', disk);
    run(net, 12 * ELECTION_TICKS, () => {
      const l = net.leaderOf();
      return l === 'n1' || l === 'n2';
    });
    const leader = net.leaderOf();
    expect(leader === 'n1' || leader === 'n2').toBe(true);
    propose(net, leader ?? '', 'd');
    run(net, 2);
    expect(net.appliedData('n1')).toEqual(['a', 'b', 'c', 'd']);
    expect(net.appliedData('n2')).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('raft witness across member changes', () => {
  /** n1 leads n1, n2, w3 with a written; n2 then misses b and c, which n1 and w3 commit. */
  function n2Behind(): Net {
    const net = new Net(twoAndWitness);
    net.elect('n1');
    propose(net, 'n1', 'a');
    net.isolate('n2');
    propose(net, 'n1', 'b');
    propose(net, 'n1', 'c');
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 4, dataVotersHold: 2 });
    return net;
  }

  it('until a removal commits, the removed data voter still counts toward dataHold, and the leader replicates to it', () => {
    const net = n2Behind();
    const r = net.core('n1').proposeMembership(list('n1 w3:witness'));
    expect(r).toMatchObject({ ok: true, index: 5 });
    // A leader without record 5 would take the removal back, and n2 would be a data voter again
    // lacking b and c: the witness may not forget them yet.
    expect(net.core('n1').status()).toMatchObject({ membershipPending: true, dataVotersHold: 2 });
    net.heal();
    net.isolate('w3');
    net.tick('n1');
    net.stabilize();
    expect(net.core('n2').status().lastIndex).toBe(5);
    expect(net.core('n1').status()).toMatchObject({ membershipPending: true, dataVotersHold: 4 });
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ membershipPending: false, commitIndex: 5, dataVotersHold: 5 });
    expect(Object.keys(net.core('n1').status().progress).sort()).toEqual(['n1', 'w3']);
  });

  it('until a witness\'s demotion commits, it gets no snapshot position past what every data voter holds', () => {
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    const net = new Net(members);
    net.elect('n1');
    propose(net, 'n1', 'a');
    const cut = new Set(['n2', 'w5']);
    net.filter = (m) => !cut.has(m.from) && !cut.has(m.to);
    propose(net, 'n1', 'b');
    propose(net, 'n1', 'c');
    // n1 compacts past what n2 and w5 hold: w5 can come back only by a snapshot position.
    net.core('n1').compact({ index: logIndex(4), term: term(1), members }, 0);
    net.process('n1');
    expect(net.core('n1').status().firstIndex).toBe(5);
    expect(net.core('n1').proposeMembership(list('n1 n2 n3 w4:witness w5:observer'))).toMatchObject({ ok: true, index: 5 });
    // w4 and n2 do not answer: the demotion stays uncommitted, and a new leader may take it back.
    cut.clear();
    for (const id of ['n2', 'w4']) cut.add(id);
    run(net, 2 * ELECTION_TICKS);
    expect(net.core('n1').status()).toMatchObject({ membershipPending: true, dataVotersHold: 2 });
    expect(net.sent.some((m) => m.type === 'snapshot' && m.to === 'w5')).toBe(false);
    net.filter = () => true;
    run(net, 2 * ELECTION_TICKS, () => net.core('w5').status().commitIndex >= 5);
    expect(net.core('n1').status().membershipPending).toBe(false);
    expect(net.core('w5').status()).toMatchObject({ role: 'observer', commitIndex: net.core('n1').status().commitIndex });
  });

  it('an observer becomes a witness only once every data voter holds every committed record', () => {
    const net = n2Behind();
    net.heal();
    const withObserver = list('n1 n2 w3:witness w4:observer');
    expect(net.core('n1').proposeMembership(withObserver)).toMatchObject({ ok: true });
    net.start('w4', undefined, { members: withObserver });
    net.isolate('n2');
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status().progress['w4']?.match).toBe(net.core('n1').status().commitIndex);
    // w4 may have taken a snapshot position as an observer, forgetting records n2 lacks.
    const r = net.core('n1').proposeMembership(list('n1 n2 w3:witness w4:witness'));
    expect(r).toMatchObject({ ok: false, reason: 'not_caught_up' });
    expect(!r.ok && 'message' in r ? r.message : '').toMatch(/w4 would vote as a witness.*a data voter lacks committed records/);
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(net.core('n1').proposeMembership(list('n1 n2 w3:witness w4:witness'))).toMatchObject({ ok: true });
  });

  it('a lagging witness whose term a removed member raised answers the leader\'s lower term, and catches up', () => {
    const net = new Net([...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')]);
    net.elect('n1');
    propose(net, 'n1', 'a');
    // n2 and w5 hear only each other while n2's removal commits: n2 never learns of it.
    const side = new Set(['n2', 'w5']);
    net.filter = (m) => side.has(m.from) === side.has(m.to);
    expect(net.core('n1').proposeMembership(list('n1 n3 w4:witness w5:witness'))).toMatchObject({ ok: true });
    run(net, 3);
    expect(net.core('n1').status().membershipPending).toBe(false);
    // n2 campaigns again and again (no pre-vote); w5, which still lists it, grants its votes.
    run(net, 10 * ELECTION_TICKS);
    expect(net.core('w5').status().term).toBeGreaterThan(net.core('n1').status().term);
    net.filter = () => true;
    net.core(net.leaderOf() ?? 'n1').propose(bytes('b'));
    const leaderCommit = (): number => net.core(net.leaderOf() ?? 'n1').status().commitIndex;
    run(net, 40 * ELECTION_TICKS, () => net.leaderOf() !== null && net.core('w5').status().commitIndex === leaderCommit() && leaderCommit() >= 5);
    expect(net.core('w5').status()).toMatchObject({ role: 'witness', commitIndex: leaderCommit() });
    expect(net.core('w5').status().members?.map((m) => m.id)).toEqual(['n1', 'n3', 'w4', 'w5']);
  });

  it('a witness that refuses the votes of a data voter behind it keeps its election clock, campaigns, and hands over', () => {
    const net = n2Behind();
    // n1 goes for good; n2, behind the witness, campaigns again and again (no pre-vote).
    net.cores.delete('n1');
    net.heal();
    const rounds = run(net, 20 * ELECTION_TICKS, () => net.leaderOf() === 'n2');
    expect(rounds).toBeLessThan(20 * ELECTION_TICKS);
    expect(campaignedFrom(net, 'w3')).toBe(true);
    propose(net, 'n2', 'd');
    run(net, 2);
    expect(net.appliedData('n2')).toEqual(['a', 'b', 'c', 'd']);
  });
});
