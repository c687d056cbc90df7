/**
 * Multi-Paxos membership at runtime: configuration commands in the slots, each governing the
 * slots α after its own (Lamport's α window), one test per rule.
 */
import { describe, expect, it } from 'vitest';
import { memberList, options, rolesOf } from '../common/testkit';
import { logIndex, nodeId, term, type Member, type ProposeMembershipResult } from '../contract';
import { CONFIG_WINDOW_SLOTS_DEFAULT, CONFIG_WINDOW_SLOTS_MAX, ballotOf, paxosSettings } from './config';
import type { PaxosMessage, SnapshotMessage } from './messages';
import { PaxosNet, bytes, voters } from './testkit';

/** α in these tests: a record in slot i governs from slot i + 4. */
const ALPHA = 4;
const three = voters('n1', 'n2', 'n3');
const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });

const roles = (net: PaxosNet, id: string): string => rolesOf(net.core(id));

function expectOk(r: ProposeMembershipResult): number {
  expect(r).toMatchObject({ ok: true });
  return r.ok ? r.index : 0;
}

function expectRefused(r: ProposeMembershipResult, reason: string, message?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  if (message !== undefined) expect('message' in r ? r.message : '').toMatch(message);
}

/** `leader` (n1) leads n1..n3 (phase 1 of a fresh cluster proposes nothing again) with 'a' chosen in slot 1. */
function cluster(withObserver = false, leader = 'n1'): PaxosNet {
  const net = new PaxosNet(three, {}, {}, { configWindowSlots: ALPHA });
  for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tick(leader);
  net.settle();
  expect(net.leaderOf()).toBe(leader);
  net.propose(leader, 'a');
  net.stabilize();
  if (withObserver) {
    expect(expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')))).toBe(2);
    // The driver starts a new member with the member list that names it.
    net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
    heartbeats(net, 'n1', 2);
  }
  return net;
}

/** Leader ticks, every message delivered after each: peers that answer stay "reachable". */
function heartbeats(net: PaxosNet, leader: string, ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    net.tick(leader);
    net.stabilize();
  }
}

describe('multipaxos membership changes and witnesses', () => {
  it('a witness process joins as an observer and votes as a witness once it holds every chosen slot; the witness and one data voter then choose', () => {
    const net = cluster();
    expect(expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 w4:observer')))).toBe(2);
    // A process started as a witness keeps no database, whatever role the members give it.
    net.start('w4', undefined, { members: memberList('n1 n2 n3 w4:observer'), witnessStore: true });
    heartbeats(net, 'n1', 2);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 w4:witness')));
    net.stabilize();
    heartbeats(net, 'n1', 2);
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter n3:voter w4:witness');
    expect(net.core('w4').status()).toMatchObject({ role: 'witness', membershipPending: false });
    // Then n3 goes: two data voters and the witness, of which n1 and the witness are a quorum.
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 w4:witness')));
    net.stabilize();
    heartbeats(net, 'n1', 2);
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter w4:witness');
    net.crash('n2');
    net.propose('n1', 'b');
    net.stabilize();
    expect(net.appliedData('n1')).toEqual(['a', 'b']);
    // The witness forgets what both data voters hold, and names them as its holders on disk —
    // and n3, counted while it governed the slots it may forget (before its removal took effect).
    expect(Object.keys(JSON.parse(String(net.disk('w4').hardState?.['holders']))).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(net.core('w4').status().dataVotersHold).toBeGreaterThan(1);
  });

  it('refuses to make a voter a witness or a witness a voter in place: the process keeps its store', () => {
    const net = new PaxosNet([...voters('n1', 'n2', 'n3'), witness('w4')], {}, {}, { configWindowSlots: ALPHA });
    for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tick('n1');
    net.settle();
    expect(net.leaderOf()).toBe('n1');
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3:witness w4:witness')), 'invalid', /remove it, start it again on an empty data directory/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 w4:voter')), 'invalid', /keeps the database/);
  });
});

describe('multipaxos α setting', () => {
  it('defaults to 16 and refuses what is not an integer from 1 to the maximum, naming it', () => {
    expect(paxosSettings().configWindowSlots).toBe(CONFIG_WINDOW_SLOTS_DEFAULT);
    expect(CONFIG_WINDOW_SLOTS_DEFAULT).toBe(16);
    for (const bad of [0, -1, 1.5, CONFIG_WINDOW_SLOTS_MAX + 1, Number.NaN]) {
      expect(() => paxosSettings({ configWindowSlots: bad })).toThrow(/configWindowSlots \(α\) must be an integer from 1 to 1024/);
    }
  });
});

describe('multipaxos membership changes (Lamport α window)', () => {
  it('a change goes in a slot with α − 1 no-ops after it, and governs from α slots on', () => {
    const net = cluster(true);
    // Slot 2 holds the record, slots 3..5 the padding: chosen, so it took effect at slot 6.
    const slots = net.disk('n1').entries.map((e) => e.kind);
    expect(slots).toEqual(['command', 'config', 'noop', 'noop', 'noop']);
    expect(roles(net, 'n1')).toBe('n1:voter n2:voter n3:voter n4:observer');
    expect(net.core('n4').status()).toMatchObject({ role: 'observer', commitIndex: 5, membershipPending: false });
    expect(net.appliedData('n4')).toEqual(['a']);
  });

  it('adds a member as an observer, which learns without voting, then promotes it to voter', () => {
    const net = cluster(true);
    expect(expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')))).toBe(6);
    net.stabilize();
    heartbeats(net, 'n1', 1);
    for (const id of ['n1', 'n2', 'n3', 'n4']) expect(net.core(id).status()).toMatchObject({ membershipPending: false, commitIndex: 9 });
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter n3:voter n4:voter');
    expect(net.core('n4').status().role).toBe('follower');
    // Four acceptors govern slot 10: a quorum is three, so n1 and n4 alone choose nothing.
    net.isolate('n2');
    net.isolate('n3');
    net.propose('n1', 'b');
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(9);
    net.heal();
    net.isolate('n3');
    // The Accepts lost to n2 go again once its prefix stood still for a resend timeout.
    heartbeats(net, 'n1', net.resendTicks + 1);
    expect(net.core('n1').status().commitIndex).toBe(10);
  });

  it('the slots inside the window are chosen by the old configuration’s quorums', () => {
    const net = cluster(true);
    // n4 becomes a voter in slot 6; n3 and n4 go down before anything of it reaches them.
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.crash('n3');
    net.crash('n4');
    net.stabilize();
    // Slots 6..9 are governed by {n1, n2, n3}: n1 and n2 choose them, and the change takes effect.
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 9, membershipPending: false });
    // Slot 10 is governed by {n1..n4}: n1 and n2 are no quorum of it.
    net.propose('n1', 'b');
    heartbeats(net, 'n1', 2);
    expect(net.core('n1').status().commitIndex).toBe(9);
  });

  it('the leader proposes nothing α slots past a change it has not seen chosen', () => {
    const net = cluster();
    net.isolate('n2');
    net.isolate('n3');
    expect(expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')))).toBe(2);
    // Slots 3..5 hold the padding; slot 6 is the record's slot + α: its acceptors are not known yet.
    expect(net.core('n1').propose(bytes('b'))).toEqual({ ok: false, reason: 'overloaded' });
    expect(net.core('n1').status().lastIndex).toBe(5);
    net.heal();
    heartbeats(net, 'n1', 2);
    expect(net.core('n1').status().commitIndex).toBe(5);
    expect(net.core('n1').propose(bytes('b'))).toMatchObject({ ok: true, index: 6 });
  });

  it('adding an observer never stalls commits, even while it is down', () => {
    const net = cluster();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.stabilize();
    net.propose('n1', 'b');
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 6, membershipPending: false });
    // It may vote only once it holds every chosen slot.
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')), 'not_caught_up', /n4 has not caught up/);
  });

  it('removes a follower: the rest choose by a quorum of two', () => {
    const net = cluster();
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    heartbeats(net, 'n1', 1);
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter');
    expect(net.core('n2').status()).toMatchObject({ membershipPending: false, commitIndex: 5 });
    net.isolate('n2');
    net.propose('n1', 'b');
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(5); // n1 alone is no quorum of {n1, n2}
    net.heal();
    heartbeats(net, 'n1', net.resendTicks + 1);
    expect(net.core('n1').status().commitIndex).toBe(6);
    expect(Object.keys(net.core('n1').status().progress)).toEqual(['n2']);
  });

  it('removes the leader: once the change takes effect it proposes nothing and hands over to a data voter', () => {
    const net = cluster();
    net.isolate('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n2 n3')));
    net.stabilize();
    // The window's slots are governed by {n1, n2, n3}: n1 and n2 choose them, and the change took effect.
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 5, membershipPending: false });
    expect(net.core('n1').propose(bytes('x'))).toEqual({ ok: false, reason: 'transferring' });
    // Nor does it confirm reads: the members it would count are no longer its own.
    net.core('n1').readIndex('r-removed');
    net.processAll();
    expect(net.readFailures.get('n1')).toContainEqual({ requestId: 'r-removed', reason: 'not_leader', leader: null });
    net.heal();
    // It hands over to n2, the data voter that answered: takeOver, then n2's phase 1.
    for (let i = 0; i < 20 && net.core('n1').status().role === 'leader'; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.sent.some((m) => m.type === 'takeOver' && m.from === 'n1' && m.to === 'n2')).toBe(true);
    expect(net.core('n1').status().role).toBe('observer');
    expect(net.core('n2').status().role).toBe('leader');
    // A removed leader never runs phase 1 again.
    const sent = net.sent.length;
    net.tick('n1', 100);
    expect(net.sent.slice(sent).filter((m) => m.from === 'n1' && (m.type === 'prepare' || m.type === 'prePrepare'))).toEqual([]);
    net.crash('n1');
    const leader = net.settle();
    expect(leader).toBe('n2');
    net.propose(leader, 'b');
    net.stabilize();
    heartbeats(net, leader, 2);
    for (const id of ['n2', 'n3']) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  it('a change in flight survives the death of the leader that proposed it', () => {
    const net = cluster();
    // Only n2 hears of the record and its padding before n1 dies.
    net.filter = (m: PaxosMessage) => m.to !== 'n3';
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.process('n1');
    net.stabilize();
    net.crash('n1');
    net.filter = () => true;
    net.stabilize();
    const leader = net.settle();
    expect(leader).not.toBe('n1');
    heartbeats(net, leader, 2);
    for (const id of ['n2', 'n3']) expect(net.core(id).status()).toMatchObject({ commitIndex: 5, membershipPending: false });
    expect(roles(net, 'n3')).toBe('n1:voter n2:voter n3:voter n4:observer');
  });

  it('refuses a second change while one has not taken effect', () => {
    const net = cluster();
    net.isolate('n3');
    net.isolate('n2');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer n5:observer')), 'config_pending', /slot 2 has not taken effect yet/);
    net.heal();
    heartbeats(net, 'n1', 2);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer n5:observer')));
  });

  it('refuses two voters changed at once, and a new member that does not come as an observer', () => {
    const net = cluster();
    expectRefused(net.core('n1').proposeMembership(memberList('n1')), 'too_many_changes', /n2, n3 change at once/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4')), 'invalid', /add it as an observer/);
    expectRefused(net.core('n2').proposeMembership(memberList('n1 n2')), 'not_leader');
  });

  it('refuses a change that would leave no quorum of reachable voters, saying why', () => {
    const net = cluster();
    net.crash('n3');
    heartbeats(net, 'n1', 12);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n3')), 'no_quorum', /leaves voters n1, n3, of which n1 answered lately/);
  });

  it('ignores a removed member: it gets no promise and deposes no one', () => {
    const net = cluster();
    net.isolate('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    heartbeats(net, 'n1', 1);
    net.heal();
    // n3 never learned its removal: it still counts itself a voter of n1..n3, and campaigns.
    expect(roles(net, 'n3')).toBe('n1:voter n2:voter n3:voter');
    const before = net.core('n1').status().term;
    net.filter = (m: PaxosMessage) => m.from !== 'n1' || m.to !== 'n3';
    net.tick('n3', 200);
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: before });
    expect(net.core('n2').status().term).toBe(before);
    expect(net.sent.filter((m) => m.to === 'n3' && (m.type === 'promise' || m.type === 'prePromise'))).toEqual([]);
  });

  it('phase 1 asks the acceptors of a configuration the promises name, and wins only with a quorum of it', () => {
    const net = cluster(true);
    // n4 becomes a voter in slot 6; only n3 (and n4) hear of it before n1 dies — n2 never does.
    net.filter = (m: PaxosMessage) => m.to !== 'n2';
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    heartbeats(net, 'n1', 1);
    expect(net.core('n3').status()).toMatchObject({ commitIndex: 9 });
    net.crash('n1');
    net.filter = () => true;
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter n3:voter n4:observer');
    // n2's own slots say n1..n3 govern everything: it asks n1 and n3. n3's promise reports the
    // record of slot 6, which makes {n1..n4} govern from slot 10: n2 asks n4, and needs it.
    net.crash('n4');
    // n3 restarts (it then hears no leader) with a timeout long enough that only n2 campaigns.
    net.start('n3', net.disk('n3'), { electionTimeoutTicks: 1000 });
    for (let i = 0; i < 100 && net.core('n2').status().role !== 'leader'; i++) {
      net.tick('n2');
      net.stabilize();
    }
    expect(net.sent.some((m) => m.type === 'prepare' && m.from === 'n2' && m.to === 'n4')).toBe(true);
    expect(net.core('n2').status().role).not.toBe('leader');
    net.start('n4', net.disk('n4'), { members: memberList('n1 n2 n3 n4:observer') });
    const before = net.sent.length;
    for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tickAll();
    const leader = net.leaderOf();
    expect(leader).not.toBeNull();
    expect(net.sent.slice(before).some((m) => m.type === 'promise' && m.from === 'n4' && !m.reject)).toBe(true);
    net.propose(leader ?? '', 'b');
    heartbeats(net, leader ?? '', 2);
    for (const id of ['n2', 'n3', 'n4']) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  it('a new leader fills the window of a record it proposes again without its padding', () => {
    const net = cluster();
    // n2 gets the record of slot 2 alone, none of its padding; then n1 dies.
    let first = true;
    net.filter = (m: PaxosMessage) => {
      if (m.type !== 'accept' || m.from !== 'n1') return true;
      if (m.to !== 'n2' || !first) return false;
      first = false;
      return true;
    };
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.stabilize();
    expect(net.disk('n2').entries.map((e) => e.kind)).toEqual(['command', 'config', 'noop', 'noop', 'noop']);
    net.crash('n1');
    net.filter = () => true;
    // The Accept carried the padding too (one message): cut it back to the record alone.
    net.start('n2', { ...net.disk('n2'), entries: net.disk('n2').entries.slice(0, 2) });
    const leader = net.settle();
    heartbeats(net, leader, 2);
    expect(net.core(leader).status()).toMatchObject({ commitIndex: 5, lastIndex: 5, membershipPending: false });
    expect(roles(net, leader)).toBe('n1:voter n2:voter n3:voter n4:observer');
  });

  /**
   * n3 demotes itself while leading: n2 accepts the window's slots, but no heartbeat, takeOver
   * or teach reaches it, so it never learns them chosen; n3 does, compacts them away, and steps
   * down cut off. n2 then needs n3's promise over slots n3 forgot.
   */
  function strandedBehindCompaction(): PaxosNet {
    const net = cluster(false, 'n3');
    expectOk(net.core('n3').proposeMembership(memberList('n1:observer n2 n3')));
    net.stabilize();
    heartbeats(net, 'n3', 1);
    net.filter = (m: PaxosMessage) => !(m.to === 'n2' && (m.type === 'heartbeat' || m.type === 'takeOver'));
    expectOk(net.core('n3').proposeMembership(memberList('n1:observer n2 n3:observer')));
    net.stabilize();
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', commitIndex: 9, membershipPending: false });
    expect(net.core('n2').status().commitIndex).toBeLessThan(6);
    net.core('n3').compact({ index: logIndex(9), term: term(1), members: net.core('n3').membersAt(logIndex(9)) }, 0);
    // Its hand-overs fail; cut off, it steps down as any leader without a quorum does.
    net.isolate('n3');
    net.tick('n3', 30);
    expect(net.core('n3').status().role).toBe('observer');
    net.queue = []; // what it sent while cut off is lost
    net.heal();
    net.filter = () => true;
    return net;
  }

  it('a node that is no voter, asked by a data voter behind its compaction point, leads only to hand over to it', () => {
    const net = strandedBehindCompaction();
    // n2 needs n3's promise (n2 and n3 govern the slots it lacks as chosen) but n3 forgot them:
    // n3 runs phase 1 itself, and hands over with takeOver.
    for (let i = 0; i < 300 && net.core('n2').status().role !== 'leader'; i++) net.tickAll();
    // At a ballot of its new phase 1, above the one it led at before.
    expect(net.sent.some((m) => m.type === 'takeOver' && m.from === 'n3' && m.to === 'n2' && m.ballot > ballotOf(1, 3))).toBe(true);
    expect(net.core('n2').status()).toMatchObject({ role: 'leader' });
    expect(net.core('n3').status().role).toBe('observer');
    net.propose('n2', 'b');
    heartbeats(net, 'n2', 2);
    expect(net.appliedData('n2')).toEqual(['a', 'b']);
  });

  it('a node that is no voter gives up a phase 1 run to hand over that did not win within a timeout', () => {
    const net = strandedBehindCompaction();
    // Its Prepares are lost: the phase 1 it runs for n2 cannot win.
    net.filter = (m: PaxosMessage) => !(m.from === 'n3' && m.type === 'prepare');
    for (let i = 0; i < 100 && net.core('n3').status().role !== 'candidate'; i++) net.tickAll();
    expect(net.core('n3').status().role).toBe('candidate');
    for (let i = 0; i < 2 * options('n3', three).electionTimeoutTicks + 1 && net.core('n3').status().role === 'candidate'; i++) net.tick('n3');
    expect(net.core('n3').status().role).toBe('observer');
  });

  it('a snapshot carries the configuration as of its index, and a node restarted from it knows it', () => {
    const net = cluster(true);
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    const at = (i: number): string => net.core('n1').membersAt(logIndex(i)).map((m) => `${m.id}:${m.role}`).join(' ');
    expect(at(0)).toBe('n1:voter n2:voter n3:voter');
    expect(at(2)).toBe('n1:voter n2:voter n3:voter n4:observer');
    expect(at(6)).toBe('n1:voter n2:voter n3:voter n4:voter');
    expect(() => net.core('n1').membersAt(logIndex(10))).toThrow(/membersAt: index 10 is outside the slots, which hold the configurations of 0..9/);
    net.core('n1').compact({ index: logIndex(9), term: term(1), members: net.core('n1').membersAt(logIndex(9)) }, 0);
    expect(at(9)).toBe('n1:voter n2:voter n3:voter n4:voter');
    net.start('n5', undefined, { members: memberList('n1 n2 n3 n4 n5:observer') });
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2 n3 n4 n5:observer')));
    heartbeats(net, 'n1', 6);
    const snap = net.sent.find((m): m is SnapshotMessage => m.type === 'snapshot' && m.to === 'n5');
    expect(snap?.snapshot.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:voter', 'n4:voter']);
    expect(roles(net, 'n5')).toBe('n1:voter n2:voter n3:voter n4:voter n5:observer');
    // Restarted from its snapshot and slots with an older boot list, n5 still knows the latest.
    net.start('n5', net.disk('n5'), { members: memberList('n1 n2 n3 n5:observer') }, net.core('n5').status().commitIndex);
    expect(roles(net, 'n5')).toBe('n1:voter n2:voter n3:voter n4:voter n5:observer');
  });
});
