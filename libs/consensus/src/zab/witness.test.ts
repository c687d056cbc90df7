/**
 * Witnesses in Zab, one test per rule: a follower that votes, acknowledges proposals and counts
 * toward every quorum but keeps no database. FLE prefers a data voter at the same history; a
 * witness with records no data voter has is elected, synchronizes a data voter and hands over;
 * it learns on PING how far every data voter holds the history (dataHold), forgets only up to
 * there, takes a SNAP only at or below it, and never sends one.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry, type Member } from '../contract';
import { encodeConfig } from '../common';
import { decodeMessage, encodeMessage } from './codec';
import type { PingMessage, ZabMessage } from './messages';
import { memberList } from '../common/testkit';
import { ZabNet, diskOf, observer, voters } from './testkit';
import { voteBeats } from './zxid';

const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });
const TWO_AND_WITNESS = [...voters('n1', 'n2'), witness('w3')];

function proposeAll(net: ZabNet, leader: string, values: readonly string[]): void {
  for (const v of values) net.propose(leader, v);
  net.stabilize();
}

/** The witness forgets what its status says every data voter holds, as the replica does. */
function forget(net: ZabNet, id: string): number {
  const s = net.core(id).status();
  const upTo = Math.min(s.dataVotersHold ?? 0, s.commitIndex);
  const t = net.disk(id).entries.find((e) => e.index === upTo)?.term ?? term(0);
  net.core(id).compact({ index: logIndex(upTo), term: t, members: net.members }, 0);
  net.process(id);
  return upTo;
}

/** Ticks everyone until `id` leads (bounded); returns who led on the way. */
function runUntilLeader(net: ZabNet, id: string, ticksMax = 200): Set<string> {
  const leaders = new Set<string>();
  for (let i = 0; i < ticksMax; i++) {
    const l = net.leaderOf();
    if (l !== null) leaders.add(l);
    if (l === id) return leaders;
    net.tickAll();
  }
  throw new Error(`${id} never led; leaders seen: ${[...leaders].join(', ')}`);
}

const snapsTo = (net: ZabNet, to: string): ZabMessage[] => net.sent.filter((m) => m.type === 'sync' && m.mode === 'snap' && m.to === to);

describe('zab witness', () => {
  it('is accepted as a member, reports its role, and counts toward the commit quorum with one data voter down', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    expect(leader).not.toBe('w3');
    expect(net.core('w3').status().role).toBe('witness');
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.crash(other);
    proposeAll(net, leader, ['a']);
    expect(net.appliedData(leader)).toEqual(['a']);
  });

  it('FLE: at the same history a data voter beats a witness, whatever their ids', () => {
    const isWitness = (id: string): boolean => id === 'w3';
    const vote = (leader: string) => ({ leader: nodeId(leader), epoch: term(1), zxidEpoch: term(1), zxidIndex: logIndex(4) });
    expect(voteBeats(vote('n1'), vote('w3'), isWitness)).toBe(true);
    expect(voteBeats(vote('w3'), vote('n1'), isWitness)).toBe(false);
    // A newer history still wins: the witness may hold records no data voter has.
    expect(voteBeats({ ...vote('w3'), zxidIndex: logIndex(5) }, vote('n1'), isWitness)).toBe(true);
    // In a cluster where all hold the same history, the witness (highest id) is never elected.
    const net = new ZabNet(TWO_AND_WITNESS, {}, { n1: diskOf(1, 1, [1, 1]), n2: diskOf(1, 1, [1, 1]), w3: diskOf(1, 1, [1, 1]) });
    net.settle();
    expect(net.sent.some((m) => m.type === 'leaderInfo' && m.from === 'w3')).toBe(false);
  });

  it('holding the newest records, it is elected, brings the data voter up to date and hands over', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.isolate(other);
    proposeAll(net, leader, ['a', 'b', 'c']);
    // The data voter holding a, b and c dies; the other comes back behind. Only w3 has them.
    net.crash(leader);
    net.heal();
    const leaders = runUntilLeader(net, other);
    expect(net.sent.some((m) => m.type === 'leaderInfo' && m.from === 'w3')).toBe(true);
    net.tickAll(3);
    expect(net.leaderOf()).toBe(other);
    expect(leaders.has('w3')).toBe(false); // it handed over as soon as it was established
    expect(net.core('w3').status().role).toBe('witness');
    proposeAll(net, other, ['d']);
    expect(net.appliedData(other)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('after handing over, its first vote is for the data voter it synchronized, not for itself', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.isolate(other);
    proposeAll(net, leader, ['a']);
    net.crash(leader);
    net.heal();
    const from = net.sent.length;
    runUntilLeader(net, other);
    const sinceElected = net.sent.slice(from);
    const handedOver = sinceElected.findIndex((m) => m.type === 'handOver' && m.from === 'w3');
    expect(handedOver).toBeGreaterThanOrEqual(0);
    // HANDOVER tells the followers to vote first for that data voter too.
    const told = sinceElected[handedOver];
    expect(told?.type === 'handOver' ? told.vote.leader : null).toBe(other);
    const next = sinceElected.slice(handedOver).find((m) => m.type === 'notification' && m.from === 'w3');
    expect(next?.type === 'notification' ? next.vote.leader : null).toBe(other);
  });

  it('learns on PING how far every data voter holds the history: 0 until each acknowledged, never beyond what both hold', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    proposeAll(net, leader, ['a']);
    net.tickAll();
    expect(net.core('w3').status().dataVotersHold).toBe(1);
    // The other data voter is cut off: what the leader and the witness commit is not held by both.
    net.isolate(other);
    proposeAll(net, leader, ['b', 'c']);
    net.tick(leader);
    net.stabilize();
    expect(net.core(leader).status().commitIndex).toBe(3);
    expect(net.core(leader).status().dataVotersHold).toBe(1);
    expect(net.core('w3').status().dataVotersHold).toBe(1);
    // A new leader knows nothing of the absent data voter: 0.
    const fresh = new ZabNet(TWO_AND_WITNESS);
    fresh.crash('n2');
    const l = fresh.settle();
    proposeAll(fresh, l, ['x']);
    fresh.tickAll(2);
    expect(fresh.core(l).status().commitIndex).toBe(1);
    expect(fresh.core('w3').status().dataVotersHold).toBe(0);
  });

  it('takes dataHold no further than its own commit point (a PING overtakes proposals still on the way)', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    net.filter = (m) => !(m.type === 'proposal' && m.to === 'w3');
    proposeAll(net, leader, ['a', 'b']);
    net.tick(leader);
    net.stabilize();
    expect(net.sent.some((m) => m.type === 'ping' && m.to === 'w3' && m.dataHold === 2)).toBe(true);
    expect(net.core('w3').status().commitIndex).toBe(0);
    expect(net.core('w3').status().dataVotersHold).toBe(0);
  });

  it('carries dataHold on PING, and the codec refuses a value beyond its commit', () => {
    const ping: PingMessage = { type: 'ping', from: nodeId('n1'), to: nodeId('w3'), epoch: term(2), syncId: 1, lastIndex: logIndex(9), commit: logIndex(9), upToDate: true, readSeq: 0, dataHold: logIndex(7) };
    expect(decodeMessage(encodeMessage(ping))).toEqual(ping);
    expect(() => decodeMessage(encodeMessage({ ...ping, dataHold: logIndex(10) }))).toThrow(/dataHold 10 is beyond its commit 9/);
  });

  it('forgets up to dataHold and, elected, still brings a data voter up to date from what it kept', () => {
    const net = new ZabNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    proposeAll(net, leader, ['a', 'b', 'c']);
    net.tickAll();
    expect(forget(net, 'w3')).toBe(3);
    expect(net.core('w3').status().firstIndex).toBe(4);
    net.isolate(other);
    proposeAll(net, leader, ['d']);
    net.crash(leader);
    net.heal();
    runUntilLeader(net, other);
    expect(net.sent.filter((m) => m.type === 'sync' && m.from === 'w3' && m.to === other).map((m) => (m.type === 'sync' ? m.mode : null))).toEqual(['diff']);
    proposeAll(net, other, ['e']);
    expect(net.appliedData(other)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a witness gets a SNAP only at or below dataHold: never beyond a lagging data voter', () => {
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    const net = new ZabNet(members);
    const leader = net.settle();
    const lagging = ['n1', 'n2', 'n3'].find((id) => id !== leader) as string;
    net.isolate(lagging);
    net.isolate('w5');
    proposeAll(net, leader, ['a', 'b', 'c', 'd']);
    const commit = net.core(leader).status().commitIndex;
    net.core(leader).compact({ index: logIndex(commit), term: net.disk(leader).entries.at(-1)?.term ?? term(0), members }, 0);
    net.process(leader);
    // w5 is back, the data voter still behind: w5 must keep what it has, not take the position.
    net.heal();
    net.isolate(lagging);
    net.tickAll(40);
    expect(snapsTo(net, 'w5')).toEqual([]);
    // The data voter catches up (by SNAP): now w5 may take the position too, and the leader
    // synchronizes it on its next heartbeats rather than wait for w5 to ask again.
    net.heal();
    let ticks = 0;
    for (; ticks < 40 && snapsTo(net, 'w5').length === 0; ticks++) net.tickAll();
    expect(snapsTo(net, lagging).length).toBeGreaterThan(0);
    expect(ticks).toBeLessThan(5);
    net.tickAll(5);
    expect(net.core('w5').status().lastIndex).toBe(net.core(leader).status().lastIndex);
  });

  it('a witness leader sends no SNAP: a learner that needs records it forgot waits for a data voter to lead', () => {
    const members = [...TWO_AND_WITNESS, observer('o4')];
    const net = new ZabNet(members);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.isolate('o4');
    proposeAll(net, leader, ['a', 'b', 'c']);
    net.tickAll();
    forget(net, 'w3');
    net.isolate(other);
    proposeAll(net, leader, ['d']);
    net.crash(leader);
    net.heal();
    runUntilLeader(net, other);
    net.tickAll(20);
    expect(net.sent.filter((m) => m.type === 'sync' && m.from === 'w3' && m.mode === 'snap')).toEqual([]);
    expect(net.appliedData('o4')).toEqual(['a', 'b', 'c', 'd']);
  });
});

/** Compacts `id`'s log to its commit point (a data voter's snapshot). */
function compactToCommit(net: ZabNet, id: string, members: readonly Member[]): void {
  const s = net.core(id).status();
  const t = net.disk(id).entries.find((e) => e.index === s.commitIndex)?.term ?? term(0);
  net.core(id).compact({ index: logIndex(s.commitIndex), term: t, members }, 0);
  net.process(id);
}

describe('a witness behind the leader\'s compaction point while data voters are down', () => {
  // dataHold counted only the current synchronization: a data voter that was down made it 0,
  // no SNAP could go to the witness, and no quorum could ever be established.
  it('2v1w with one data voter down: the witness gets a SNAP, the leader is established and commits', () => {
    const members = [...voters('n1', 'n2'), witness('w3')];
    const net = new ZabNet(members);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.isolate('w3');
    proposeAll(net, leader, ['a', 'b', 'c']);
    net.tickAll(3);
    compactToCommit(net, leader, members);
    compactToCommit(net, other, members);
    net.crash(other);
    net.tickAll(60); // the leader hears from no quorum and looks again
    net.heal();
    let committed = false;
    let proposed = false;
    for (let i = 0; i < 600 && !committed; i++) {
      net.tickAll();
      const l = net.leaderOf();
      if (l !== null && !proposed && net.core(l).propose(new TextEncoder().encode('d')).ok) {
        proposed = true;
        net.stabilize();
      }
      committed = net.appliedData(leader).includes('d');
    }
    expect(committed).toBe(true);
    expect(net.sent.some((m) => m.type === 'sync' && m.to === 'w3' && m.mode === 'snap')).toBe(true);
  });

  it('3v2w with two data voters down: a leader is established with the witnesses', () => {
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    const net = new ZabNet(members);
    const leader = net.settle();
    const [x, y] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    net.isolate('w5');
    proposeAll(net, leader, ['a', 'b', 'c']);
    net.tickAll(3);
    const s = net.core('w4').status();
    net.core('w4').compact({ index: logIndex(Math.min(s.dataVotersHold ?? 0, s.commitIndex)), term: net.disk('w4').entries.at(-1)?.term ?? term(0), members }, 0);
    net.process('w4');
    for (const id of [leader, x, y]) compactToCommit(net, id, members);
    net.isolate(x);
    net.propose(leader, 'd');
    net.stabilize();
    net.tickAll(2);
    net.crash(leader);
    net.crash(y);
    net.heal();
    let established = false;
    for (let i = 0; i < 1500 && !established; i++) {
      net.tickAll();
      established = net.leaderOf() !== null;
    }
    expect(established).toBe(true);
  });

  it('an observer becomes a witness only once every data voter holds every committed record', () => {
    const net = new ZabNet([...TWO_AND_WITNESS, observer('w4')]);
    const leader = net.settle();
    expect(leader).not.toBe('w3');
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.isolate(other);
    proposeAll(net, leader, ['a', 'b']);
    const withWitness = memberList('n1 n2 w3:witness w4:witness');
    // w4 may have taken a SNAP as a position while it observed, forgetting records the
    // isolated data voter lacks: as a witness it could then lead a cluster no one can write to.
    const r = net.core(leader).proposeMembership(withWitness);
    expect(r).toMatchObject({ ok: false, reason: 'not_caught_up' });
    expect(!r.ok && 'message' in r ? r.message : '').toMatch(/w4 would vote as a witness.*a data voter lacks committed records/);
    net.heal();
    for (let i = 0; i < 200 && !net.core(leader).proposeMembership(withWitness).ok; i++) net.tickAll();
    net.stabilize();
    expect(net.core('w4').status()).toMatchObject({ role: 'witness', membershipPending: false });
    expect(net.core(other).status().members?.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'w3:witness', 'w4:witness']);
  });

  it('a leader still synchronizing learns no dataHold: a promotion pending in another history may yet put in force a data voter it does not count', () => {
    // 1..9 committed in epoch 1 by n1, n2, n3 and w5; n1, leading, proposed 10 (promote n6,
    // then caught up to the commit point 5) and crashed before persisting it: only w4 has it.
    const promoted = memberList('n1 n2 n3 w4:witness w5:witness n6:voter');
    const nine = (): ReturnType<typeof diskOf> => diskOf(1, 1, [1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const c10: Entry = { index: logIndex(10), term: term(1), kind: 'config', data: encodeConfig(promoted) };
    const disks = { n1: nine(), n2: nine(), n3: nine(), w5: nine(), w4: { ...nine(), entries: [...nine().entries, c10] }, n6: diskOf(1, 1, [1, 1, 1, 1, 1]) };
    const net = new ZabNet([...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5'), observer('n6')], {}, disks);
    for (const id of ['n1', 'n2', 'n3']) net.start(id, net.disk(id), {}, 9);
    net.crash('n6');
    net.isolate('w4');
    // NEWLEADER is lost: the prospective leader synchronizes its followers but never establishes.
    net.filter = (m) => m.type !== 'newLeader';
    let prospective: string | null = null;
    for (let i = 0; i < 60 && prospective === null; i++) {
      net.tickAll();
      prospective = ['n1', 'n2', 'n3'].find((id) => (net.core(id).status().progress['w5']?.match ?? 0) >= 9) ?? null;
    }
    expect(prospective).not.toBeNull();
    net.tickAll(3);
    expect(net.core(prospective!).status().role).toBe('candidate');
    expect(net.core('w5').status().dataVotersHold ?? 0).toBeLessThanOrEqual(5);
    // w4 comes back with 10 and, the prospective leader cut off, a quorum that never took its
    // epoch commits 10: n6, holding 1..5, is a data voter now.
    net.heal();
    net.isolate(prospective!);
    net.filter = () => true;
    let leader: string | null = null;
    for (let i = 0; i < 300 && leader === null; i++) {
      net.tickAll();
      const l = net.leaderOf();
      if (l !== null && l !== prospective && net.core(l).status().commitIndex >= 10) leader = l;
    }
    expect(leader).not.toBeNull();
    const w5 = net.core('w5').status();
    expect(w5.members?.find((m) => m.id === 'n6')?.role).toBe('voter');
    // What w5 may forget is what every data voter in force holds.
    expect(Math.min(w5.dataVotersHold ?? 0, w5.commitIndex)).toBeLessThanOrEqual(5);
  });
});
