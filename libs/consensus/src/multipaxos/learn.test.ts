/**
 * A learner asks what is chosen when it hears no leader ("Paxos Made Simple" §3): a node that
 * missed decisions while it was down learns them from any node that knows them, and acts on
 * what they say — the configuration it is a data voter of, or the one that removed it.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { logIndex, nodeId, term, type Entry, type Member, type ProposeMembershipResult } from '../contract';
import type { AcceptMessage, PaxosMessage, PromiseMessage, TeachMessage } from './messages';
import { ballotOf } from './config';
import { PaxosNet, bytes, diskOf, voters } from './testkit';

/** α in these tests: a record in slot i governs from slot i + 4. */
const ALPHA = 4;
const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });

function expectOk(r: ProposeMembershipResult): number {
  expect(r).toMatchObject({ ok: true });
  return r.ok ? r.index : 0;
}

/** Leader ticks, every message delivered after each. */
function heartbeats(net: PaxosNet, leader: string, ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    net.tick(leader);
    net.stabilize();
  }
}

function lead(net: PaxosNet, id: string): void {
  for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tick(id);
  net.stabilize();
  expect(net.leaderOf()).toBe(id);
}

const cmd = (i: number, b: number, v: string): Entry => ({ index: logIndex(i), term: term(b), kind: 'command', data: bytes(v) });
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

const sentBy = (net: PaxosNet, id: string, from: number, type: PaxosMessage['type']): PaxosMessage[] => net.sent.slice(from).filter((m) => m.from === id && m.type === type);

/**
 * b0 (n1): v in slot 1, accepted by n1, n2. b2 (n3): x, accepted by n3 only. n5 runs phase 1 at
 * B, between b2 and the ballot bc at which v was then chosen, and n2 teaches it v at b0 while it
 * waits for promises.
 */
function candidateTaughtBelowChosenBallot(): { net: PaxosNet; B: number; bc: number; b2: number } {
  const b0 = ballotOf(1, 1);
  const b2 = ballotOf(1, 3);
  const bc = ballotOf(3, 1);
  const net = new PaxosNet(voters('n1', 'n2', 'n3', 'n4', 'n5'), {}, { n5: diskOf(b2, []) });
  for (const id of ['n1', 'n2', 'n3', 'n4']) net.isolate(id);
  const n5 = net.core('n5');
  for (let i = 0; i < 40 && net.sent.every((m) => m.type !== 'prePrepare'); i++) net.tick('n5');
  const pre = net.sent.find((m) => m.type === 'prePrepare')!;
  for (const from of ['n3', 'n4']) n5.step({ type: 'prePromise', from: nodeId(from), to: nodeId('n5'), ballot: pre.ballot, reject: false });
  net.process('n5');
  expect(n5.status().role).toBe('candidate');
  const B = n5.status().term;
  expect(B).toBeGreaterThan(b2);
  expect(B).toBeLessThan(bc);
  n5.step({ type: 'teach', from: nodeId('n2'), to: nodeId('n5'), ballot: term(bc), entries: [cmd(1, b0, 'v')], chosen: logIndex(1) });
  net.process('n5');
  expect(n5.status().commitIndex).toBe(0);
  return { net, B, bc, b2 };
}

describe('multipaxos: a learner that heard no leader asks what is chosen', () => {
  it('a data voter promoted while it was down, whose leader then removed itself and died, learns it leads from the witness', () => {
    const net = new PaxosNet([...voters('n1'), { id: nodeId('n2'), role: 'observer' }, witness('w3')], {}, {}, { configWindowSlots: ALPHA });
    lead(net, 'n1');
    net.propose('n1', 'a');
    net.stabilize();
    heartbeats(net, 'n1', 2);
    expect(net.core('n2').status().commitIndex).toBe(1);
    // n2 is cut off before it hears of either change: n1 and the witness choose both.
    net.isolate('n2');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2:voter w3:witness')));
    net.stabilize();
    expectOk(net.core('n1').proposeMembership(memberList('n2:voter w3:witness')));
    net.stabilize();
    heartbeats(net, 'n1', 1);
    expect(net.core('w3').status().commitIndex).toBe(2 * ALPHA + 1);
    // Removed, n1 hands over to n2, which does not answer; n1 stops leading, then dies.
    for (let i = 0; i < 100 && net.core('n1').status().role === 'leader'; i++) net.tick('n1');
    net.stabilize();
    expect(net.core('n1').status().role).not.toBe('leader');
    net.crash('n1');
    net.heal();
    // n2 still takes itself for an observer: no leader would ever tell it otherwise.
    expect(rolesOf(net.core('n2'))).toMatch(/n2:observer/);
    const before = net.sent.length;
    for (let i = 0; i < 200 && net.leaderOf() === null; i++) net.tickAll();
    expect(sentBy(net, 'n2', before, 'learn').map((m) => m.to)).toContain('w3');
    expect(sentBy(net, 'w3', before, 'teach').length).toBeGreaterThan(0);
    expect(net.leaderOf()).toBe('n2');
    expect(rolesOf(net.core('n2'))).toBe('n2:voter w3:witness');
    net.propose('n2', 'b');
    net.stabilize();
    heartbeats(net, 'n2', 2);
    expect(net.appliedData('n2')).toEqual(['a', 'b']);
  });

  it('a voter removed while it was down learns its removal and stops asking for promises', () => {
    const net = new PaxosNet(voters('n1', 'n2', 'n3'), {}, {}, { configWindowSlots: ALPHA });
    lead(net, 'n1');
    net.propose('n1', 'a');
    net.stabilize();
    net.crash('n3');
    expectOk(net.core('n1').proposeMembership(memberList('n1 n2')));
    net.stabilize();
    heartbeats(net, 'n1', 2);
    net.restart('n3');
    // The members ignore it (they removed it), but answer its question.
    for (let i = 0; i < 60; i++) net.tickAll();
    expect(net.core('n3').status().role).toBe('observer');
    expect(rolesOf(net.core('n3'))).toBe('n1:voter n2:voter');
    const before = net.sent.length;
    for (let i = 0; i < 60; i++) net.tickAll();
    expect(sentBy(net, 'n3', before, 'prePrepare')).toEqual([]);
    expect(sentBy(net, 'n3', before, 'prepare')).toEqual([]);
    expect(net.leaderOf()).toBe('n1');
  });

  it('answers only from slots it holds up to its chosen watermark, and says nothing past its compaction point', () => {
    const net = new PaxosNet(voters('n1', 'n2', 'n3'));
    lead(net, 'n1');
    for (const v of ['a', 'b', 'c']) net.propose('n1', v);
    net.stabilize();
    heartbeats(net, 'n1', 2);
    const ask = (fromSlot: number): TeachMessage[] => {
      const before = net.sent.length;
      net.core('n2').step({ type: 'learn', from: nodeId('n3'), to: nodeId('n2'), ballot: term(0), fromSlot: logIndex(fromSlot) });
      net.process('n2');
      return sentBy(net, 'n2', before, 'teach') as TeachMessage[];
    };
    const [taught] = ask(2);
    expect(taught?.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(taught?.chosen).toBe(3);
    // Nothing chosen from there on, as far as it knows.
    expect(ask(4)).toEqual([]);
    net.core('n2').compact({ index: logIndex(2), term: term(net.core('n2').status().term), members: net.members }, 0);
    net.process('n2');
    expect(ask(1)).toEqual([]);
    expect(ask(3).map((m) => m.entries.map((e) => e.index))).toEqual([[3]]);
  });

  it('a taught value replaces one never chosen, keeps one already held, and a leader ignores what it is taught', () => {
    // n3 accepted a value in slot 2 at an old ballot that was never chosen, then was cut off.
    const stale = { index: logIndex(2), term: term(ballotOf(1, 3)), kind: 'command' as const, data: bytes('stale') };
    const net = new PaxosNet(voters('n1', 'n2', 'n3'), {}, { n3: diskOf(ballotOf(1, 3), [{ ...stale, index: logIndex(1), data: bytes('old') }, stale]) });
    net.isolate('n3');
    lead(net, 'n1');
    for (const v of ['a', 'b', 'c']) net.propose('n1', v);
    net.stabilize();
    heartbeats(net, 'n1', 2);
    expect(net.core('n1').status().commitIndex).toBe(3);
    expect(net.core('n3').status().commitIndex).toBe(0);
    const n1Slots = net.disk('n1').entries.filter((e) => e.index <= 3);
    const teach = (to: string, entries = n1Slots, chosen = 3): TeachMessage => ({ type: 'teach', from: nodeId('n2'), to: nodeId(to), ballot: term(0), entries, chosen: logIndex(chosen) });
    // A gap before the taught slots changes nothing.
    net.core('n3').step(teach('n3', n1Slots.slice(1)));
    expect(net.core('n3').status().commitIndex).toBe(0);
    net.core('n3').step(teach('n3'));
    net.process('n3');
    expect(net.core('n3').status().commitIndex).toBe(3);
    expect(net.appliedData('n3')).toEqual(['a', 'b', 'c']);
    expect(net.disk('n3').entries.map((e) => text(e.data))).toEqual(['a', 'b', 'c']);
    // Slots all chosen already change nothing either; a leader takes nothing it is taught.
    net.core('n3').step(teach('n3'));
    expect(net.core('n3').hasReady()).toBe(false);
    const leaderLast = net.core('n1').status().lastIndex;
    net.core('n1').step(teach('n1', [{ index: logIndex(leaderLast + 1), term: term(1), kind: 'command', data: bytes('z') }], leaderLast + 1));
    expect(net.core('n1').status().lastIndex).toBe(leaderLast);
  });

  it('a slot that holds the taught value already keeps its record and ballot; the watermark stops at the last taught slot', () => {
    const mine = ballotOf(1, 3);
    const theirs = ballotOf(2, 1);
    const net = new PaxosNet(voters('n1', 'n2', 'n3'), {}, { n3: diskOf(mine, [cmd(1, mine, 'a'), cmd(2, mine, 'stale'), cmd(3, mine, 'later')]) });
    const n3 = net.core('n3');
    n3.step({ type: 'teach', from: nodeId('n1'), to: nodeId('n3'), ballot: term(theirs), entries: [cmd(1, theirs, 'a'), cmd(2, theirs, 'b')], chosen: logIndex(5) });
    net.process('n3');
    // Slots 3..5 may be chosen, but not taught: n3's slot 3 is no chosen value it knows.
    expect(n3.status().commitIndex).toBe(2);
    expect(net.disk('n3').entries.map((e) => [e.index, e.term, text(e.data)])).toEqual([[1, mine, 'a'], [2, theirs, 'b'], [3, mine, 'later']]);
  });

  it('refuses a deposed ballot’s Accept that offers another value for a slot it learned chosen, naming a higher ballot', () => {
    const net = new PaxosNet(voters('n1', 'n2', 'n3'));
    lead(net, 'n1');
    net.propose('n1', 'a');
    net.stabilize();
    net.tickAll(2);
    // n1 proposes x in slot 2; its Accepts leave before its own write, and it dies before writing.
    net.propose('n1', 'x');
    const rd = net.core('n1').ready();
    const stale = [...rd.earlyMessages, ...rd.messages].find((m): m is AcceptMessage => m.type === 'accept' && m.to === 'n3');
    expect(stale?.entries.map((e) => text(e.data))).toContain('x');
    net.crash('n1');
    net.restart('n1');
    // n3 hears only learn and teach while n1 and n2 elect n2, which chooses v in slot 2.
    net.filter = (m: PaxosMessage) => (m.from === 'n3' || m.to === 'n3' ? m.type === 'learn' || m.type === 'teach' : true);
    for (let i = 0; i < 100 && net.leaderOf() !== 'n2'; i++) net.tickAll();
    expect(net.leaderOf()).toBe('n2');
    net.propose('n2', 'v');
    net.stabilize();
    net.tickAll(30);
    const n3 = net.core('n3');
    expect(n3.status().commitIndex).toBe(2);
    // Its promise is still the deposed ballot: the delayed Accept passes the ballot check.
    expect(n3.status().term).toBe(stale?.ballot);
    const before = net.sent.length;
    n3.step(stale!);
    net.process('n3');
    expect(net.appliedData('n3')).toEqual(['a', 'v']);
    const answer = net.sent.slice(before).find((m) => m.type === 'accepted' && m.from === 'n3');
    expect(answer).toMatchObject({ reject: true });
    expect(answer!.ballot).toBeGreaterThan(stale!.ballot);
  });

  it('a candidate keeps what it is taught until its phase 1 ends: leading, it proposes what the promises report (futile below the chosen ballot) without a crash', () => {
    const { net, B, bc, b2 } = candidateTaughtBelowChosenBallot();
    const n5 = net.core('n5');
    const promise = (from: string, accepted: Entry[]): PromiseMessage => ({ type: 'promise', from: nodeId(from), to: nodeId('n5'), ballot: term(B), reject: false, chosen: logIndex(0), firstSlot: logIndex(1), accepted });
    n5.step(promise('n3', [cmd(1, b2, 'x')]));
    n5.step(promise('n4', []));
    net.process('n5');
    // The acceptors that chose v promised bc: the first refusal deposes it, and it asks again.
    expect(n5.status().role).toBe('leader');
    n5.step({ type: 'accepted', from: nodeId('n3'), to: nodeId('n5'), ballot: term(bc), reject: true, fromSlot: logIndex(0), toSlot: logIndex(0), prefix: logIndex(0) });
    net.process('n5');
    expect(n5.status().role).not.toBe('leader');
  });

  it('a candidate whose phase 1 ends without leading takes what it was taught meanwhile', () => {
    const { net, bc } = candidateTaughtBelowChosenBallot();
    const n5 = net.core('n5');
    // A higher Prepare ends its phase 1: it promises, and learns v.
    n5.step({ type: 'prepare', from: nodeId('n1'), to: nodeId('n5'), ballot: term(bc + 1024), fromSlot: logIndex(1), designatedAt: term(0) });
    net.process('n5');
    expect(n5.status().role).toBe('follower');
    expect(n5.status().commitIndex).toBe(1);
    expect(net.disk('n5').entries.map((e) => text(e.data))).toEqual(['v']);
  });
});
