/**
 * A learner asks what is chosen when it hears no leader ("Paxos Made Simple" §3): a node that
 * missed decisions while it was down learns them from any node that knows them, and acts on
 * what they say — the configuration it is a data voter of, or the one that removed it.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { logIndex, nodeId, term, type Member, type ProposeMembershipResult } from '../contract';
import type { PaxosMessage, TeachMessage } from './messages';
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

const sentBy = (net: PaxosNet, id: string, from: number, type: PaxosMessage['type']): PaxosMessage[] => net.sent.slice(from).filter((m) => m.from === id && m.type === type);

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
    expect(net.disk('n3').entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['a', 'b', 'c']);
    // Slots all chosen already change nothing either; a leader takes nothing it is taught.
    net.core('n3').step(teach('n3'));
    expect(net.core('n3').hasReady()).toBe(false);
    const leaderLast = net.core('n1').status().lastIndex;
    net.core('n1').step(teach('n1', [{ index: logIndex(leaderLast + 1), term: term(1), kind: 'command', data: bytes('z') }], leaderLast + 1));
    expect(net.core('n1').status().lastIndex).toBe(leaderLast);
  });
});
