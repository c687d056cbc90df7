/**
 * Zab reconfiguration across a member that missed changes: it learns the configuration its peers
 * hold (SEENCONFIG, committed or compacted), so it can reach the members those changes added; a
 * removed follower hears the commit that removes it; quorums of both configurations while a
 * change is pending; the leader a change removes.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { logIndex, term, type ProposeMembershipResult } from '../contract';
import { voters, ZabNet } from './testkit';

const V3 = voters('n1', 'n2', 'n3');

function expectOk(r: ProposeMembershipResult): number {
  expect(r).toMatchObject({ ok: true });
  return r.ok ? r.index : 0;
}

function runUntil(net: ZabNet, done: () => boolean, ticks = 200, ids?: readonly string[]): void {
  for (let i = 0; i < ticks && !done(); i++) {
    if (ids === undefined) net.tickAll();
    else for (const id of ids) net.tick(id);
    net.stabilize();
  }
}

/**
 * n3 leads n1..n3; n1 is cut off while n4 is added as an observer and then promoted to voter
 * (both changes commit with n2 and n3, and n4 for the second). n1 never saw either record.
 */
function promotedWhileN1Away(): ZabNet {
  const net = new ZabNet(V3);
  expect(net.settle()).toBe('n3');
  net.propose('n3', 'a');
  net.stabilize();
  net.isolate('n1');
  expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:observer')));
  net.stabilize();
  net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
  runUntil(net, () => net.core('n4').status().commitIndex >= 2, 100, ['n2', 'n3', 'n4']);
  runUntil(net, () => net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')).ok, 100, ['n2', 'n3', 'n4']);
  runUntil(net, () => !net.core('n3').status().membershipPending && net.core('n4').status().role === 'follower', 100, ['n2', 'n3', 'n4']);
  expect(rolesOf(net.core('n2'))).toBe('n1:voter n2:voter n3:voter n4:voter');
  expect(rolesOf(net.core('n1'))).toBe('n1:voter n2:voter n3:voter');
  return net;
}

/** n3 leads n1..n3 with 'a' committed, and has added n4 as an observer (n4 started, maybe not caught up). */
function withObserverN4(): ZabNet {
    const net = new ZabNet(V3);
    expect(net.settle()).toBe('n3');
    net.propose('n3', 'a');
    net.stabilize();
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:observer')));
    net.stabilize();
    net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
  return net;
}

/** n3 hands leadership to n4 (transferLeadership) while n1 is away. */
function transferToN4(net: ZabNet): void {
    net.core('n3').transferLeadership('n4' as never);
    runUntil(net, () => net.leaderOf() === 'n4', 100, ['n2', 'n3', 'n4']);
    expect(net.leaderOf()).toBe('n4');
}

/** n1 comes back and must follow n4, a member only of configurations it missed. */
function healAndExpectN1FollowsN4(net: ZabNet): void {
    net.heal();
    runUntil(net, () => net.core('n1').status().leader === 'n4', 300);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader: 'n4' });
}

describe('a member that missed the change that added the new leader', () => {
  it('n1 (a voter of every configuration) follows n4 once n4 leads — it must not drop the leader as a non-peer', () => {
    const net = promotedWhileN1Away();
    // n3 hands leadership to n4 (transferLeadership), then n1 comes back.
    transferToN4(net);
    healAndExpectN1FollowsN4(net);
  });

  it('with n3 down, n1, n2 and n4 (3 of 4 voters, all connected) elect a leader and commit', () => {
    const net = promotedWhileN1Away();
    net.crash('n3');
    net.heal();
    runUntil(net, () => {
      const l = net.leaderOf();
      return l !== null && net.core(l).status().commitIndex >= 3 && net.core('n1').status().leader === l;
    }, 400, ['n1', 'n2', 'n4']);
    const l = net.leaderOf();
    expect(l).not.toBeNull();
    net.propose(l ?? 'n2', 'b');
    runUntil(net, () => net.core('n2').status().commitIndex >= 4, 200, ['n1', 'n2', 'n4']);
    expect(net.core('n2').status().commitIndex).toBeGreaterThanOrEqual(4);
  });
});

describe('a voter that missed only the promotion of an observer it knows', () => {
  it('n1 knows n4 as an observer, missed its promotion; n4 leads: n1 must come back as n4\'s follower', () => {
    const net = withObserverN4();
    runUntil(net, () => net.core('n4').status().commitIndex >= 2 && net.core('n1').status().commitIndex >= 2, 100, ['n1', 'n2', 'n3', 'n4']);
    expect(rolesOf(net.core('n1'))).toBe('n1:voter n2:voter n3:voter n4:observer');
    net.isolate('n1');
    runUntil(net, () => net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')).ok, 100, ['n2', 'n3', 'n4']);
    runUntil(net, () => !net.core('n3').status().membershipPending && net.core('n4').status().role === 'follower', 100, ['n2', 'n3', 'n4']);
    transferToN4(net);
    healAndExpectN1FollowsN4(net);
  });
});

describe('a member that missed a change its peers have compacted away', () => {
  it('learns the configuration from their base, announced at the compaction point, and follows the leader the change added', () => {
    const net = promotedWhileN1Away();
    transferToN4(net);
    net.propose('n4', 'b');
    runUntil(net, () => ['n2', 'n3', 'n4'].every((id) => net.core(id).status().commitIndex >= 4), 100, ['n2', 'n3', 'n4']);
    const members = memberList('n1 n2 n3 n4');
    for (const id of ['n2', 'n3', 'n4']) {
      const s = net.core(id).status();
      net.core(id).compact({ index: logIndex(s.commitIndex), term: net.disk(id).entries.at(-1)?.term ?? term(0), members }, 0);
      net.process(id);
      expect(net.core(id).status().firstIndex, id).toBeGreaterThan(4);
    }
    healAndExpectN1FollowsN4(net);
  });
});

describe('a removed follower learns that its removal took effect', () => {
  it('n1, removed by a change that committed while it was connected, knows the change committed', () => {
    const net = new ZabNet(V3);
    expect(net.settle()).toBe('n3');
    net.propose('n3', 'a');
    net.stabilize();
    expectOk(net.core('n3').proposeMembership(memberList('n2 n3')));
    runUntil(net, () => false, 60);
    expect(net.core('n2').status()).toMatchObject({ membershipPending: false, commitIndex: 2 });
    // The leader dropped n1 (STALEEPOCH) in the same step as it committed the record, before any COMMIT reached it.
    expect(net.core('n1').status()).toMatchObject({ membershipPending: false, commitIndex: 2 });
  });
});

describe('a pending change counts both configurations', () => {
  it('a history with an uncommitted promotion elects and establishes only with a quorum of both configurations', () => {
    const net = withObserverN4();
    runUntil(net, () => net.core('n4').status().commitIndex >= 2, 100);
    // Promote n4; n1 and n2 receive the record, nobody learns its commit, then n3 dies and n4 is cut off.
    net.filter = (m) => !(m.from === 'n3' && (m.type === 'commit' || m.type === 'ping'));
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2 n3 n4:voter')));
    net.stabilize();
    net.crash('n3');
    net.isolate('n4');
    net.filter = () => true;
    for (const id of ['n1', 'n2']) expect(net.core(id).status()).toMatchObject({ membershipPending: true });
    // {n1, n2} is a quorum of the old voters but not of the new {n1..n4}: nobody may lead.
    runUntil(net, () => false, 200, ['n1', 'n2']);
    expect(net.leaderOf()).toBeNull();
    expect(['n1', 'n2'].map((id) => net.core(id).status().term)).toEqual([1, 1]);
    // With n4 back, three of the four: a leader, and the change commits.
    net.heal();
    runUntil(net, () => net.leaderOf() !== null && !net.core('n2').status().membershipPending, 300, ['n1', 'n2', 'n4']);
    expect(net.leaderOf()).not.toBeNull();
  });
});

describe('the leader a change removes', () => {
  it('leads on while its removal is pending, takes no proposal once it is committed, then hands over', () => {
    const net = new ZabNet(V3);
    expect(net.settle()).toBe('n3');
    net.propose('n3', 'a');
    net.stabilize();
    net.isolate('n2');
    expectOk(net.core('n3').proposeMembership(memberList('n1 n2')));
    runUntil(net, () => false, 5, ['n1', 'n3']);
    // {n1, n3} is a quorum of the old voters, not of {n1, n2}: pending, and n3 still leads.
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', membershipPending: true, commitIndex: 1 });
    expect(net.core('n3').propose(new TextEncoder().encode('b'))).toMatchObject({ ok: true });
    net.heal();
    runUntil(net, () => !net.core('n3').status().membershipPending || net.core('n3').status().role !== 'leader', 100);
    const s = net.core('n3').status();
    if (s.role === 'leader') expect(net.core('n3').propose(new TextEncoder().encode('c'))).toMatchObject({ ok: false, reason: 'transferring' });
    runUntil(net, () => net.leaderOf() !== null && net.leaderOf() !== 'n3', 200);
    expect(['n1', 'n2']).toContain(net.leaderOf());
    expect(net.core(net.leaderOf() ?? 'n1').status().commitIndex).toBeGreaterThanOrEqual(3);
  });
});
