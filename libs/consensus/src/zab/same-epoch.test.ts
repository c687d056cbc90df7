/** Two prospective leaders can never establish one epoch: a learner's second promise of an epoch does not count. */
import { expect, it } from 'vitest';
import type { ZabMessage } from './messages';
import { ZabNet, voters } from './testkit';

type Note = Extract<ZabMessage, { type: 'notification' }>;

it('a learner that acknowledges one epoch to two prospective leaders never lets both establish it', () => {
  const net = new ZabNet(voters('n1', 'n2', 'n3'));
  const stale = (from: string, leader: string): Note | undefined =>
    net.sent.find((m): m is Note => m.type === 'notification' && m.from === from && m.state === 'following' && m.vote.leader === leader);

  // Phase 0: n3 leads with n2 following; then n2 leads with n3 following. The network keeps
  // (delays) one old 'following' notification of each: FLE's out-of-election rule counts
  // leader ids of any round.
  expect(net.settle()).toBe('n3');
  net.crash('n1'); net.restart('n1'); net.settle();
  net.crash('n3'); net.settle(); net.restart('n3'); net.settle();
  net.crash('n1'); net.restart('n1'); net.settle();
  const n2FollowsN3 = stale('n2', 'n3');
  const n3FollowsN2 = stale('n3', 'n2');
  expect(n2FollowsN3).toBeDefined();
  expect(n3FollowsN2).toBeDefined();

  /** A delayed copy of an old message finally arrives. */
  const deliverLate = (m: ZabMessage): void => { net.core(m.to).step(m); net.stabilize(); };
  // a. n2 (the leader) crashes; n1 and n3 elect n3; n3's LEADERINFO to n1 is lost.
  net.crash('n2');
  let drop = (m: ZabMessage): boolean => m.type === 'leaderInfo' && m.from === 'n3';
  net.filter = (m) => !drop(m);
  const liSent = (from: string, epoch: number): boolean => net.sent.some((m) => m.type === 'leaderInfo' && m.from === from && m.to === 'n1' && m.epoch === epoch);
  for (let i = 0; i < 30 && !liSent('n3', 3); i++) net.tickAll();
  // b. n1's link to n3 breaks: n1 looks, n2 restarts (n2-n3 link down), n1+n2 elect n2; its LEADERINFO is lost too.
  drop = (m) => m.type === 'leaderInfo' || ((m.from === 'n2' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n2'));
  net.core('n1').reportUnreachable('n3' as never);
  net.restart('n2');
  for (let i = 0; i < 30 && !liSent('n2', 3); i++) net.tickAll();
  // c. n1 leaves n2 and (by the delayed notification) joins n3, still in discovery: accepts epoch e from n3.
  drop = (m) => (m.from === 'n2' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n2') || (m.from === 'n2' && m.to === 'n1') || (m.from === 'n3' && m.to === 'n1' && (m.type === 'sync' || m.type === 'newLeader' || m.type === 'proposal'));
  net.core('n1').reportUnreachable('n2' as never);
  net.stabilize();
  deliverLate({ ...n2FollowsN3!, to: 'n1' } as never);
  // d. n1 leaves n3 and joins n2 (delayed notification again): n2 counts its ACKEPOCH for the same epoch, establishes, commits "b".
  drop = (m) => (m.from === 'n2' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n2') || (m.from === 'n3' && m.to === 'n1' && m.type !== 'notification') ||
    (m.from === 'n2' && m.to === 'n1' && (m.type === 'commit' || m.type === 'ping'));
  net.core('n1').reportUnreachable('n3' as never);
  net.stabilize();
  deliverLate({ ...n3FollowsN2!, to: 'n1' } as never);
  if (net.core('n2').status().role === 'leader') {
    net.propose('n2', 'b');
    net.stabilize();
  }
  // e. n1 goes back to n3 (in sync stage): TRUNC cuts "b"; n3 establishes the same epoch and commits "c".
  drop = (m) => (m.from === 'n2' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n2') || (m.from === 'n2' && m.to === 'n1');
  net.core('n1').reportUnreachable('n2' as never);
  net.stabilize();
  deliverLate({ ...n2FollowsN3!, to: 'n1' } as never);
  for (let i = 0; i < 3; i++) net.tickAll();
  if (net.core('n3').status().role === 'leader') {
    net.propose('n3', 'c');
    net.stabilize();
  }
  // State-machine safety: no two replicas apply different commands at one index.
  const at = new Map<number, string>();
  for (const id of ['n1', 'n2', 'n3']) {
    for (const e of net.applied.get(id)!) {
      const d = new TextDecoder().decode(e.data);
      expect(at.get(e.index) ?? d, `${id} applied ${d} at ${e.index}`).toBe(d);
      at.set(e.index, d);
    }
  }
});
