/**
 * Zab's dynamic reconfiguration (ZooKeeper 3.5 reconfig; Shraer et al., USENIX ATC 2012), one
 * test per rule: the change is a transaction of the history; it commits with quorums of the old
 * and of the new configuration, as does every proposal after it until then; committing it
 * activates it; a new member learns as an observer before it votes; a leader the new
 * configuration drops hands over; members of neither configuration are ignored.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { logIndex, nodeId, term, type Member, type ProposeMembershipResult } from '../contract';
import { ZabConfigs, configView, countedVoterSets } from './reconfig';
import { MemoryLog } from '../common/log';
import { encodeConfig } from '../common';
import { bytes, lone, voters, ZabNet } from './testkit';
import type { NotificationMessage } from './messages';

const V3 = voters('n1', 'n2', 'n3');
const roles = (net: ZabNet, id: string): string => rolesOf(net.core(id));

function expectOk(r: ProposeMembershipResult): number {
  expect(r).toMatchObject({ ok: true });
  return r.ok ? r.index : 0;
}

function expectRefused(r: ProposeMembershipResult, reason: string, message?: RegExp): void {
  expect(r).toMatchObject({ ok: false, reason });
  if (message !== undefined) expect('message' in r ? r.message : '').toMatch(message);
}

/** Leader ticks, every message delivered after each: followers that answer stay "reachable". */
function heartbeats(net: ZabNet, leader: string, ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    net.tick(leader);
    net.stabilize();
  }
}

/**
 * Every node ticks, every message delivered, until `done` (at most `ticks` rounds): a learner
 * that lost proposals while cut off synchronizes again within the initLimit.
 */
function runUntil(net: ZabNet, done: () => boolean, ticks = 200): void {
  for (let i = 0; i < ticks && !done(); i++) {
    net.tickAll();
    net.stabilize();
  }
}

/** n3 leads n1..n3 with 'a' committed at 1; with `withObserver`, n4 joined as an observer at 2 and is caught up. */
function cluster(withObserver = false): ZabNet {
  const net = new ZabNet(V3);
  expect(net.settle()).toBe('n3');
  net.propose('n3', 'a');
  net.stabilize();
  if (withObserver) {
    expect(expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:observer')))).toBe(2);
    net.stabilize();
    // The driver starts a new member with the member list that names it.
    net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
    for (let i = 0; i < 100 && net.core('n4').status().commitIndex < 2; i++) {
      net.tick('n4');
      net.tick('n3');
      net.stabilize();
    }
  }
  return net;
}

describe('zab dynamic reconfiguration', () => {
  it('adds a member as an observer, which learns without voting, then promotes it to voter', () => {
    const net = cluster(true);
    expect(roles(net, 'n3')).toBe('n1:voter n2:voter n3:voter n4:observer');
    expect(net.core('n4').status()).toMatchObject({ role: 'observer', leader: 'n3', commitIndex: 2, membershipPending: false });
    expect(net.appliedData('n4')).toEqual(['a']);
    expect(expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')))).toBe(3);
    net.stabilize();
    for (const id of ['n1', 'n2', 'n3', 'n4']) expect(net.core(id).status()).toMatchObject({ membershipPending: false, commitIndex: 3 });
    expect(roles(net, 'n4')).toBe('n1:voter n2:voter n3:voter n4:voter');
    // Four voters: a quorum is three, so n3 and n4 alone no longer commit.
    net.isolate('n1');
    net.isolate('n2');
    net.propose('n3', 'b');
    net.stabilize();
    expect(net.core('n3').status().commitIndex).toBe(3);
    net.heal();
    net.isolate('n1');
    runUntil(net, () => net.core('n3').status().commitIndex === 4);
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', commitIndex: 4 });
  });

  it('adding an observer never stalls commits, and it votes only once caught up', () => {
    const net = cluster();
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.propose('n3', 'b');
    net.stabilize();
    expect(net.core('n3').status()).toMatchObject({ commitIndex: 3, membershipPending: false });
    expectRefused(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')), 'not_caught_up', /n4 has not caught up/);
  });

  it('the change and every proposal after it commit only with a quorum of the old and of the new configuration', () => {
    const net = cluster();
    // Old {n1, n2, n3}, new {n2, n3}: n3 with n1 is a quorum of the old, not of the new.
    net.isolate('n2');
    expectOk(net.core('n3').proposeMembership(memberList('n2 n3')));
    net.propose('n3', 'b');
    net.stabilize();
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', commitIndex: 1, lastIndex: 3, membershipPending: true });
    expect(roles(net, 'n3')).toBe('n2:voter n3:voter');
    net.heal();
    runUntil(net, () => net.core('n3').status().commitIndex === 3);
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', commitIndex: 3, membershipPending: false });
    // Activated: n1 is no member, and n3 with n2 commits alone.
    net.isolate('n1');
    net.propose('n3', 'c');
    net.stabilize();
    expect(net.core('n2').status().commitIndex).toBe(4);
  });

  it('removes a follower: its messages are ignored, and it deposes no one', () => {
    const net = cluster();
    expectOk(net.core('n3').proposeMembership(memberList('n2 n3')));
    net.stabilize();
    expect(roles(net, 'n2')).toBe('n2:voter n3:voter');
    expect(Object.keys(net.core('n3').status().progress)).toEqual(['n2']);
    // n1 looks for a leader as long as it likes: nobody answers it, and the leader stays.
    net.tick('n1', 60);
    net.stabilize();
    heartbeats(net, 'n3', 2);
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', term: term(1) });
    expect(net.core('n2').status().leader).toBe('n3');
  });

  it('removes the leader: once the change commits it hands over to a follower of the new configuration', () => {
    const net = cluster();
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    for (let i = 0; i < 100 && net.leaderOf() === null; i++) {
      net.tickAll();
      net.stabilize();
    }
    const leader = net.leaderOf();
    expect(['n1', 'n2']).toContain(leader);
    expect(net.core('n3').status().role).not.toBe('leader');
    net.propose(leader ?? 'n1', 'b');
    net.stabilize();
    for (const id of ['n1', 'n2']) {
      expect(net.core(id).status()).toMatchObject({ commitIndex: 3, membershipPending: false });
      expect(roles(net, id)).toBe('n1:voter n2:voter');
    }
  });

  it('a change in flight survives the death of the leader that proposed it', () => {
    const net = cluster(true);
    // Promote n4; only n1 and n4 acknowledge it before n3 dies.
    net.filter = (m) => !(m.from === 'n3' && m.type === 'commit') && !(m.from === 'n3' && m.to === 'n2');
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    net.crash('n3');
    net.filter = () => true;
    for (let i = 0; i < 200 && net.leaderOf() === null; i++) {
      for (const id of ['n1', 'n2', 'n4']) net.tick(id);
      net.stabilize();
    }
    const leader = net.leaderOf();
    expect(leader).not.toBeNull();
    // The new leader established its epoch with quorums of both: the change is committed.
    for (const id of ['n1', 'n2', 'n4']) expect(net.core(id).status()).toMatchObject({ membershipPending: false });
    expect(roles(net, 'n2')).toBe('n1:voter n2:voter n3:voter n4:voter');
  });

  it('refuses a second change while one is pending, several members at once, a new voter or witness, a lost quorum, saying why', () => {
    const net = cluster();
    const n3 = net.core('n3');
    expectRefused(n3.proposeMembership(memberList('n1 n2 n3 n4:voter')), 'invalid', /n4 is new: add it as an observer/);
    expectRefused(n3.proposeMembership(memberList('n3')), 'too_many_changes', /one member at a time/);
    expectRefused(n3.proposeMembership(memberList('n1 n2 n3 w4:witness')), 'invalid', /w4 is new: add it as an observer/);
    net.isolate('n2');
    heartbeats(net, 'n3', 12);
    expectRefused(n3.proposeMembership(memberList('n2 n3')), 'no_quorum', /a quorum of them is 2/);
    net.heal();
    runUntil(net, () => n3.proposeMembership(memberList('n1 n2 n3 n4:observer')).ok);
    expect(n3.status().membershipPending).toBe(true);
    expectRefused(n3.proposeMembership(memberList('n1 n2 n3 n4:observer n5:observer')), 'config_pending', /one change at a time/);
    expectRefused(net.core('n1').proposeMembership(memberList('n1 n2')), 'not_leader');
  });

  it('a snapshot carries the configuration as of its index, and a node restarted from it knows it', () => {
    const net = cluster();
    expectOk(net.core('n3').proposeMembership(memberList('n2 n3')));
    net.propose('n3', 'b');
    net.stabilize();
    const n2 = net.core('n2');
    expect(n2.membersAt(logIndex(1)).map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    expect(n2.membersAt(logIndex(3)).map((m) => m.id)).toEqual(['n2', 'n3']);
    const disk = net.disk('n2');
    net.crash('n2');
    const restarted = net.start('n2', { ...disk, snapshot: null }, {}, 3);
    expect(roles(net, 'n2')).toBe('n2:voter n3:voter');
    expect(restarted.status().membershipPending).toBe(false);
  });
});

describe('zab election across a change (COMMITPOINT, SEENCONFIG)', () => {
  const record = (index: number, epoch: number, spec: string) => ({ index: logIndex(index), term: term(epoch), kind: 'config' as const, data: encodeConfig(memberList(spec)) });
  const cmd = (index: number, epoch: number) => ({ index: logIndex(index), term: term(epoch), kind: 'command' as const, data: bytes('x') });
  const hard = { acceptedEpoch: 1, currentEpoch: 1 };

  it('a looking member takes a peer’s commit point at a record it holds as committed, and the configuration with it', () => {
    const { core } = lone('n2', { hardState: hard, snapshot: null, entries: [cmd(1, 1), record(2, 1, 'n2 n3')] }, V3);
    expect(core.status()).toMatchObject({ commitIndex: 0, membershipPending: true });
    // Another record at that index (another epoch) is not ours: ignored.
    core.step({ type: 'commitPoint', from: nodeId('n3'), to: nodeId('n2'), index: logIndex(2), indexEpoch: term(2) });
    expect(core.status().commitIndex).toBe(0);
    core.step({ type: 'commitPoint', from: nodeId('n3'), to: nodeId('n2'), index: logIndex(2), indexEpoch: term(1) });
    expect(core.status()).toMatchObject({ commitIndex: 2, membershipPending: false });
    expect(rolesOf(core)).toBe('n2:voter n3:voter');
  });

  it('a member told of a pending change its history lacks counts it as its last seen configuration', () => {
    const { core } = lone('n4', { hardState: null, snapshot: null, entries: [] }, memberList('n1 n2 n3 n4:observer'));
    expect(core.status().role).toBe('observer');
    const config = encodeConfig(memberList('n1 n2 n3 n4:voter'));
    core.step({ type: 'seenConfig', from: nodeId('n3'), to: nodeId('n4'), index: logIndex(5), indexEpoch: term(1), config });
    expect(core.status()).toMatchObject({ role: 'candidate', membershipPending: true });
    expect(rolesOf(core)).toBe('n1:voter n2:voter n3:voter n4:voter');
  });

  it('a member still looking after an election timeout follows a node that says it leads, without a quorum agreeing', () => {
    const { core, drain } = lone('n1', { hardState: hard, snapshot: null, entries: [cmd(1, 1)] }, V3);
    const leading: NotificationMessage = { type: 'notification', from: nodeId('n3'), to: nodeId('n1'), round: 1, state: 'leading', vote: { leader: nodeId('n3'), epoch: term(1), zxidEpoch: term(1), zxidIndex: logIndex(1) } };
    core.step(leading);
    expect(core.status().role).toBe('candidate');
    for (let i = 0; i < 10; i++) core.tick();
    drain();
    core.step(leading);
    expect(core.status().role).toBe('follower');
    expect(drain().filter((m) => m.type === 'followerInfo').map((m) => m.to)).toEqual(['n3']);
  });

  it('a node no configuration counts a voter votes the weakest vote, which no voter adopts', () => {
    const { core, drain } = lone('n4', { hardState: hard, snapshot: null, entries: [cmd(1, 1), cmd(2, 1)] }, memberList('n1 n2 n3 n4:observer'));
    core.tick();
    const votes = drain().filter((m): m is NotificationMessage => m.type === 'notification').map((m) => m.vote);
    expect(votes.length).toBeGreaterThan(0);
    for (const v of votes) expect(v).toEqual({ leader: 'n1', epoch: 0, zxidEpoch: 0, zxidIndex: 0 });
  });
});

describe('zab configurations of a history (reconfig.ts)', () => {
  const config = (index: number, epoch: number, spec: string) => ({ index: logIndex(index), term: term(epoch), kind: 'config' as const, data: encodeConfig(memberList(spec)) });
  const cmd = (index: number, epoch: number) => ({ index: logIndex(index), term: term(epoch), kind: 'command' as const, data: bytes('x') });
  const base: Member[] = V3;

  it('counts the last committed configuration, and the last seen one too while it is pending', () => {
    const log = new MemoryLog(null, [cmd(1, 1), config(2, 1, 'n1 n2 n3 n4:voter'), cmd(3, 1)], 0);
    const configs = new ZabConfigs(base, log);
    expect(countedVoterSets(configView(configs, log)).map((s) => s.join(' '))).toEqual(['n1 n2 n3', 'n1 n2 n3 n4']);
    log.commitTo(2);
    expect(countedVoterSets(configView(configs, log)).map((s) => s.join(' '))).toEqual(['n1 n2 n3 n4']);
  });

  it('a record cut from the history by a TRUNC takes its configuration with it', () => {
    const log = new MemoryLog(null, [cmd(1, 1), config(2, 1, 'n2 n3')], 0);
    log.commitTo(1);
    const configs = new ZabConfigs(base, log);
    expect(configView(configs, log).pendingIndex).toBe(2);
    log.truncateAfter(1);
    log.append([cmd(2, 2)]);
    configs.sync(log);
    expect(configView(configs, log)).toMatchObject({ pendingIndex: null, seen: base });
    expect(nodeId('n1')).toBe('n1');
  });
});
