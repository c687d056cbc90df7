/**
 * Membership at runtime (thesis §4.1–4.2, one server at a time), one test per rule, and the
 * config record's codec.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { CONFIG_CODEC_VERSION, decodeConfig, encodeConfig } from '../common';
import { ConsensusError, logIndex, nodeId, term, type ProposeMembershipResult } from '../contract';
import type { RaftMessage, SnapshotMessage } from './messages';
import { Net, bytes, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');

const roles = (net: Net, id: string): string => rolesOf(net.core(id));

function expectOk(r: ProposeMembershipResult): void {
  expect(r).toMatchObject({ ok: true });
}

function expectRefused(r: ProposeMembershipResult, reason: string, message: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  expect('message' in r ? r.message : '').toMatch(message);
}

/** A leader n1 of n1..n3 with a write committed; `n4` joined as an observer when asked. */
function cluster(withObserver = false): Net {
  const net = new Net(three);
  net.elect('n1');
  net.core('n1').propose(bytes('a'));
  net.stabilize();
  if (withObserver) {
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    // The driver starts a new member with the member list that names it.
    net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
    net.stabilize();
  }
  return net;
}

/** Leader ticks, every message delivered after each: peers that answer stay "reachable". */
function heartbeats(net: Net, leader: string, ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    net.tick(leader);
    net.stabilize();
  }
}

describe('raft membership changes (thesis §4.1–4.2)', () => {
  it('adds a member as an observer, which catches up without voting, then promotes it to voter', () => {
    const net = cluster(true);
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter n3:voter n4:observer');
    expect(net.core('n4').status()).toMatchObject({ role: 'observer', commitIndex: 3, membershipPending: false });
    expect(net.appliedData('n4')).toEqual(['a']);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    for (const id of ['n1', 'n2', 'n3', 'n4']) expect(net.core(id).status()).toMatchObject({ membershipPending: false, commitIndex: 4 });
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter n3:voter n4:voter');
    expect(net.core('n4').status().role).toBe('follower');
    // Four voters: a quorum is three, so n1 and n4 alone no longer commit.
    net.isolate('n2');
    net.isolate('n3');
    net.core('n1').propose(bytes('b'));
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(4);
    net.heal();
    net.isolate('n3');
    heartbeats(net, 'n1', 2);
    expect(net.core('n1').status().commitIndex).toBe(5);
  });

  it('adding an observer never stalls commits, even while it is down', () => {
    const net = cluster();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.core('n1').propose(bytes('b'));
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 4, membershipPending: false });
    // It may vote only once it holds every committed record (§4.2.1).
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')), 'not_caught_up', /n4 has not caught up/);
  });

  it('removes a follower: the rest commit by a quorum of two', () => {
    const net = cluster();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter');
    expect(net.core('n2').status()).toMatchObject({ membershipPending: false, commitIndex: 3 });
    net.isolate('n2');
    net.core('n1').propose(bytes('b'));
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(3); // n1 alone is no quorum of {n1, n2}
    net.heal();
    heartbeats(net, 'n1', 2);
    expect(net.core('n1').status().commitIndex).toBe(4);
    expect(Object.keys(net.core('n1').status().progress)).toEqual(['n1', 'n2']);
  });

  it('removes the leader: it replicates without counting itself until the change commits, then steps down and the rest elect', () => {
    const net = cluster();
    net.isolate('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n2 n3')));
    net.stabilize();
    // n1 and n2 hold the change, but n1 does not count itself: {n2, n3} needs n3.
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', commitIndex: 2, membershipPending: true });
    net.heal();
    heartbeats(net, 'n1', 1);
    expect(net.core('n1').status()).toMatchObject({ role: 'observer', leader: null, commitIndex: 3, membershipPending: false });
    for (const id of ['n2', 'n3']) expect(net.core(id).status()).toMatchObject({ commitIndex: 3, membershipPending: false });
    // The removed leader never campaigns again; n2 or n3 is elected.
    net.tick('n1', 100);
    expect(net.queue.filter((m) => m.from === 'n1')).toEqual([]);
    net.elect('n2');
    expect(net.leaderOf()).toBe('n2');
    net.core('n2').propose(bytes('b'));
    net.stabilize();
    expect(net.core('n3').status().commitIndex).toBe(5);
  });

  it('a server no voter of its uncommitted latest configuration still campaigns, without its own vote, to commit it (§4.1)', () => {
    const net = new Net(voters('n1', 'n2'));
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    // n1 demotes itself; only it holds the record when it restarts and loses its leadership.
    net.isolate('n1');
    expectOk(net.core('n1').proposeMembership(memberList('n1:observer n2')));
    net.process('n1');
    net.start('n1', net.disks.get('n1'));
    expect(net.core('n1').status()).toMatchObject({ role: 'observer', membershipPending: true });
    // What n1 sent while cut off never arrives.
    net.drop((m) => m.from === 'n1');
    net.heal();
    // n2 stops waiting for its old leader (a pre-vote is refused while it does).
    net.tick('n2', 10);
    net.stabilize();
    net.elect('n1');
    // Elected by n2 alone (the voters of its configuration), it commits the change and steps down.
    expect(net.sent.some((m) => m.type === 'preVote' && m.from === 'n1')).toBe(true);
    expect(net.sent.some((m) => m.type === 'append' && m.from === 'n1' && m.term >= 2)).toBe(true);
    expect(net.core('n1').status()).toMatchObject({ role: 'observer', leader: null, membershipPending: false });
    expect(net.core('n2').status()).toMatchObject({ commitIndex: 4, membershipPending: false });
    expect(roles(net, 'n2')).toBe('n1:observer n2:voter');
    net.tick('n1', 100);
    expect(net.queue.filter((m) => m.from === 'n1')).toEqual([]);
    net.elect('n2');
    expect(net.leaderOf()).toBe('n2');
  });

  it('a removed leader that never learned its removal committed campaigns by pre-vote only: its term stays, and added back it follows', () => {
    // Campaigning by vote, it raised its term at every timeout: added back, it ignored the
    // leader's lower term (or, with CheckQuorum or PreVote, answered with its own and deposed it).
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    // n1 removes itself; the followers take the record, but no answer reaches n1.
    expectOk(net.core('n1').proposeMembership(memberList('n2 n3')));
    net.filter = (m) => m.to !== 'n1';
    net.stabilize();
    // n1 dies; n2 is elected, and its noop commits the removal.
    net.isolate('n1');
    net.elect('n2');
    heartbeats(net, 'n2', 1);
    expect(net.core('n3').status()).toMatchObject({ membershipPending: false, commitIndex: 4 });
    // n1 restarts still holding its removal uncommitted: it may campaign (it could hold the only copy).
    net.start('n1', net.disks.get('n1'));
    net.filter = () => true;
    net.heal();
    const sentBefore = net.sent.length;
    expect(net.core('n1').status()).toMatchObject({ role: 'observer', membershipPending: true, term: 1 });
    for (let i = 0; i < 10; i++) {
      net.campaign('n1');
      net.stabilize();
    }
    // n2 and n3 ignore a non-member, and a pre-vote raises no term: n1 stays in term 1.
    const campaign = net.sent.slice(sentBefore).filter((m) => m.from === 'n1').map((m) => m.type);
    expect(campaign).toContain('preVote');
    expect(campaign).not.toContain('vote');
    expect(net.core('n1').status().term).toBe(1);
    // Added back as an observer, it takes n2's records; n2 keeps leading in its term.
    heartbeats(net, 'n2', 1);
    expectOk(net.core('n2').proposeMembership(memberList('n2 n3 n1:observer')));
    heartbeats(net, 'n2', 3);
    expect(net.leaderOf()).toBe('n2');
    expect(net.core('n1').status()).toMatchObject({ role: 'observer', leader: 'n2', term: 2, membershipPending: false });
    expect(roles(net, 'n1')).toBe('n2:voter n3:voter n1:observer');
  });

  it('read-index rounds and CheckQuorum count the voters of the configuration in use', () => {
    const net = new Net([...three, { id: nodeId('n4'), role: 'observer' }], { checkQuorum: true });
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    // Four voters: n1 and n2 alone are no quorum for a read; n4's answer makes one.
    net.isolate('n3');
    net.isolate('n4');
    net.core('n1').readIndex('r1');
    heartbeats(net, 'n1', 2);
    expect(net.readStates.get('n1')).toEqual([]);
    net.heal();
    net.isolate('n3');
    heartbeats(net, 'n1', 1);
    expect(net.readStates.get('n1')).toEqual([{ requestId: 'r1', index: 3 }]);
    // Hearing from n2 alone — a quorum of the three voters before, not of the four now — n1
    // steps down within two election timeouts.
    net.heal();
    net.isolate('n3');
    net.isolate('n4');
    for (let i = 0; i < 21 && net.core('n1').status().role === 'leader'; i++) heartbeats(net, 'n1', 1);
    expect(net.core('n1').status().role).toBe('follower');
  });

  it('a change in flight survives the death of the leader that proposed it', () => {
    const net = cluster();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    // The followers take the record; their answers never reach n1.
    net.filter = (m) => m.to !== 'n1' || m.type !== 'appendResponse';
    net.stabilize();
    expect(net.core('n2').status()).toMatchObject({ membershipPending: true, commitIndex: 2 });
    // n1 dies with the change uncommitted; n2 holds it, is elected, and its noop commits it.
    net.isolate('n1');
    net.filter = () => true;
    net.elect('n2');
    heartbeats(net, 'n2', 1);
    for (const id of ['n2', 'n3']) {
      expect(net.core(id).status()).toMatchObject({ membershipPending: false, commitIndex: 4 });
      expect(roles(net, id)).toBe('n1:voter n2:voter n3:voter n4:observer');
    }
  });

  it('refuses a second change while one is in flight, and before the leader committed a record of its term', () => {
    const net = cluster();
    net.isolate('n2');
    net.isolate('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer n5:observer')), 'config_pending', /index 3 is not committed yet/);
    net.heal();
    net.stabilize();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer n5:observer')));
    net.stabilize();
    // A new leader whose noop has not committed yet: a change of its predecessor may be in flight.
    net.isolate('n1');
    net.filter = (m) => !(m.type === 'appendResponse' && m.to === 'n2');
    net.elect('n2');
    expect(net.core('n2').status()).toMatchObject({ role: 'leader', commitIndex: 4, lastIndex: 5 });
    expectRefused(net.core('n2').proposeMembership(memberList('n1 n2 n3 n4:observer')), 'config_pending', /not committed a record of its term/);
  });

  it('no leader lacks a committed entry: a leader proposes no change before a record of its term commits (Ongaro 2015)', () => {
    const net = new Net(voters('n1', 'n2', 'n3', 'n4'));
    // Every record any node applies is committed: a later leader must hold each one.
    const committed = new Map<number, number>();
    net.onApply = (_id, e) => committed.set(e.index, e.term);
    const expectLeadersHoldCommitted = (): void => {
      const leader = net.leaderOf();
      if (leader === null) return;
      const held = new Map(net.disks.get(leader)?.entries.map((e) => [e.index as number, e.term as number]));
      for (const [index, t] of committed) expect(held.get(index), `leader ${leader} at index ${index}`).toBe(t);
    };
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    // n1, cut off, appends "remove n3" (index 3, term 1): only it ever holds the record.
    net.isolate('n1');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n4')));
    net.process('n1');
    // n2 is elected in term 2 by n2, n3 and n4; its appends to n4 are lost, so its noop cannot commit.
    net.filter = (m) => !(m.type === 'append' && m.to === 'n4');
    net.elect('n2');
    expect(net.core('n2').status()).toMatchObject({ role: 'leader', term: 2, commitIndex: 2, lastIndex: 3 });
    // n2 proposes "remove n4". Without the rule it would commit on n2 and n3, a quorum of
    // {n1, n2, n3}, at index 4 — while n1's change may still commit beside it.
    const removeN4 = net.core('n2').proposeMembership(memberList('n1 n2 n3'));
    heartbeats(net, 'n2', 2);
    expectLeadersHoldCommitted();
    // n1 restarts and is elected in term 3 by n1 and n4, a quorum of its own {n1, n2, n4}.
    net.heal();
    net.isolate('n2');
    net.isolate('n3');
    net.filter = () => true;
    net.start('n1', net.disks.get('n1'));
    net.elect('n1');
    if (net.leaderOf() !== 'n1') net.elect('n1');
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 3 });
    expectLeadersHoldCommitted();
    expectRefused(removeN4, 'config_pending', /not committed a record of its term/);
  });

  it('refuses two voters changed at once, and a new member that does not come as an observer', () => {
    const net = cluster(true);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2')), 'too_many_changes', /n3, n4 change at once/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter n5:observer')), 'too_many_changes', /n4, n5/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')), 'too_many_changes', /nothing changes/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer n5:voter')), 'invalid', /n5 is new: add it as an observer/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2:observer n3:observer n4:observer')), 'too_many_changes', /n2, n3 change/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n1 n2 n3')), 'invalid', /listed twice/);
    expectRefused(net.core('n2').proposeMembership(memberList('n1 n2')), 'not_leader', /.?/);
  });

  it('refuses a change that would leave no quorum of reachable voters, saying why', () => {
    const net = cluster();
    net.isolate('n3');
    heartbeats(net, 'n1', 11); // n3 silent for over an election timeout
    expectRefused(
      net.core('n1').proposeMembership(memberList('n1 n3')),
      'no_quorum',
      /changing n2 leaves voters n1, n3, of which n1 answered lately: a quorum of them is 2/,
    );
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
  });

  it('refuses a list whose witnesses outnumber what its data voters survive', () => {
    const net = new Net([...voters('n1', 'n2'), { id: nodeId('n3'), role: 'witness' }]);
    net.elect('n1');
    heartbeats(net, 'n1', 1);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2:witness n3:witness')), 'witness_shortfall', /1 data voter and 2 witnesses/);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3:witness n4:observer')));
  });

  it('refuses a voter made a witness, or a witness a voter, in place: what a process keeps is fixed at its start', () => {
    const net = new Net([...voters('n1', 'n2', 'n3', 'n4'), { id: nodeId('w5'), role: 'witness' }]);
    net.elect('n1');
    heartbeats(net, 'n1', 1);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:witness w5:witness')), 'invalid', /n4 is a voter; a witness keeps no database, so the node itself must change/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4 w5:voter')), 'invalid', /w5 is a witness; a voter keeps the database/);
  });

  it('a config record cut from the log takes its configuration with it (§4.1 fall back)', () => {
    const net = cluster();
    net.isolate('n1');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.process('n1');
    expect(net.core('n1').status()).toMatchObject({ membershipPending: true });
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter n3:voter n4:observer');
    net.elect('n2');
    net.heal();
    heartbeats(net, 'n2', 2);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader: 'n2', membershipPending: false });
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter n3:voter');
  });

  it('ignores a removed member: it gets no vote and its higher term is not taken', () => {
    const net = cluster();
    net.isolate('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    net.heal();
    // n3 never heard of its removal (cut off until it committed; the leader replicates to it no more): it campaigns.
    expect(roles(net, 'n3')).toBe('n1:voter n2:voter n3:voter');
    const before = net.core('n1').status().term;
    net.campaign('n3');
    net.stabilize();
    net.campaign('n3');
    net.stabilize();
    expect(net.core('n3').status().term).toBeGreaterThan(before);
    for (const id of ['n1', 'n2']) expect(net.core(id).status().term).toBe(before);
    expect(net.leaderOf()).toBe('n1');
    expect(net.sent.filter((m: RaftMessage) => m.to === 'n3' && (m.type === 'voteResponse' || m.type === 'preVoteResponse'))).toEqual([]);
  });

  it('a snapshot carries the configuration as of its index, and a node restarted from it knows it', () => {
    const net = cluster(true);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3:observer n4')));
    net.stabilize();
    // The driver asks the core what a snapshot at an index carries (membersAt).
    const at = (i: number): string => net.core('n1').membersAt(logIndex(i)).map((m) => `${m.id}:${m.role}`).join(' ');
    expect(at(0)).toBe('n1:voter n2:voter n3:voter');
    expect(at(3)).toBe('n1:voter n2:voter n3:voter n4:observer');
    expect(at(4)).toBe('n1:voter n2:voter n3:voter n4:voter');
    expect(at(5)).toBe('n1:voter n2:voter n3:observer n4:voter');
    expect(() => net.core('n1').membersAt(logIndex(6))).toThrow(/membersAt: index 6 is outside the log, which holds the configurations of 0..5/);
    // Passed the members it booted with, the core keeps its own as of index 5.
    net.core('n1').compact({ index: logIndex(5), term: term(1), members: three }, 0);
    expect(at(5)).toBe('n1:voter n2:voter n3:observer n4:voter');
    expect(() => net.core('n1').membersAt(logIndex(4))).toThrow(/index 4 is outside the log, which holds the configurations of 5..5/);
    net.start('n5', undefined, { members: memberList('n1 n2 n3:observer n4 n5:observer') });
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3:observer n4 n5:observer')));
    heartbeats(net, 'n1', 3);
    const snap = net.sent.find((m): m is SnapshotMessage => m.type === 'snapshot' && m.to === 'n5');
    expect(snap?.snapshot.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:observer', 'n4:voter']);
    expect(roles(net, 'n5')).toBe('n1:voter n2:voter n3:observer n4:voter n5:observer');
    // Restarted from its snapshot and log with an older boot list, n5 still knows the latest.
    const disk = net.disks.get('n5');
    expect(disk?.snapshot?.index).toBe(5);
    net.start('n5', disk, { members: memberList('n1 n2 n3 n5:observer') });
    expect(roles(net, 'n5')).toBe('n1:voter n2:voter n3:observer n4:voter n5:observer');
    net.start('n1', net.disks.get('n1'));
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter n3:observer n4:voter n5:observer');
  });
});

describe('config record codec', () => {
  const members = memberList('n1 n2:witness n3:observer');

  it('round-trips a member list with its addresses', () => {
    const data = encodeConfig(members);
    expect(data[0]).toBe(CONFIG_CODEC_VERSION);
    expect(decodeConfig(data)).toEqual(members);
  });

  it.each([
    ['an unknown version', (d: Uint8Array) => Uint8Array.of(9, ...d.subarray(1)), /config record: version 9 is not 1/],
    ['truncated bytes', (d: Uint8Array) => d.subarray(0, d.length - 3), /config record: .*(truncated|exceeds)/],
    ['trailing bytes', (d: Uint8Array) => Uint8Array.of(...d, 0), /trailing bytes/],
    ['an unknown role', (d: Uint8Array) => Uint8Array.of(...d.subarray(0, 5), 7, ...d.subarray(6)), /member n1 has an unknown role/],
    ['no voter', () => encodeConfig(memberList('n3:observer')), /at least one voter/],
    ['a duplicated member', () => encodeConfig(memberList('n1 n1')), /listed twice/],
  ])('refuses %s with a ConsensusError that says so', (_what, corrupt, message) => {
    const bad = corrupt(encodeConfig(members));
    expect(() => decodeConfig(bad)).toThrow(ConsensusError);
    expect(() => decodeConfig(bad)).toThrow(message);
  });
});
