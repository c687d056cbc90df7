/**
 * A change of leader after a long run of chosen slots costs a write only for the slots no
 * acceptor knows chosen. Rewriting a slot on disk is an atomic cut-and-append of every record
 * after it, so a new leader that made acceptors write again slots they already held chosen
 * paid for the whole tail after load — many times over, one cut per Accept of a catch-up.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry } from '../contract';
import { ballotOf } from './config';
import type { PaxosMessage } from './messages';
import { PaxosCore } from './core';
import { PaxosNet, bytes, diskOf, voters } from './testkit';
import { options } from '../common/testkit';

const N3 = ['n1', 'n2', 'n3'];
const TAIL_SLOTS = 300;
const ELECTION_TIMEOUT_TICKS = 10;

/** n1 leads and chooses TAIL_SLOTS slots, which every node learns; then n1 dies and n2 restarts (its chosen watermark is not durable). */
function chosenTailOnN1(): { net: PaxosNet; values: string[] } {
  const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TIMEOUT_TICKS });
  net.isolate('n2');
  net.isolate('n3');
  for (let i = 0; i < 40 && net.core('n1').status().role !== 'leader'; i++) net.tick('n1');
  net.heal();
  net.stabilize();
  expect(net.settle()).toBe('n1');
  const values = Array.from({ length: TAIL_SLOTS }, (_, i) => `v${i}`);
  for (const v of values) net.propose('n1', v);
  net.stabilize();
  net.tickAll(2);
  for (const id of N3) expect(net.core(id).status().commitIndex).toBe(TAIL_SLOTS);
  return { net, values };
}

function longChosenTail(): { net: PaxosNet; values: string[] } {
  const { net, values } = chosenTailOnN1();
  net.crash('n1');
  net.crash('n2');
  net.restart('n2');
  expect(net.core('n2').status().commitIndex).toBe(0);
  return { net, values };
}

/** Counts, per node, the records each persist writes over records its disk already held. */
function countRewrites(net: PaxosNet): Map<string, number> {
  const rewritten = new Map<string, number>();
  const lastOnDisk = new Map<string, number>();
  for (const id of N3) lastOnDisk.set(id, net.disk(id).entries.at(-1)?.index ?? 0);
  net.duringPersist = (id, _core, rd): PaxosMessage[] => {
    const before = lastOnDisk.get(id) ?? 0;
    rewritten.set(id, (rewritten.get(id) ?? 0) + rd.entries.filter((e: Entry) => e.index <= before).length);
    lastOnDisk.set(id, net.disk(id).entries.at(-1)?.index ?? 0);
    return [];
  };
  return rewritten;
}

function campaign(net: PaxosNet, id: string): void {
  for (let i = 0; i < 100 && net.core(id).status().role === 'follower'; i++) net.tick(id);
  net.stabilize();
  expect(net.core(id).status().role).toBe('leader');
}

describe('multipaxos: a change of leader writes again only the slots not known chosen', () => {
  it('an acceptor that holds a chosen value at an older ballot keeps it: the new leader catching it up makes it write nothing again', () => {
    const { net, values } = longChosenTail();
    const rewritten = countRewrites(net);
    campaign(net, 'n3');
    net.tickAll(net.resendTicks + 3);
    expect(net.core('n2').status().commitIndex).toBe(TAIL_SLOTS);
    expect(net.core('n3').status().progress['n2']?.match).toBe(TAIL_SLOTS);
    expect(rewritten.get('n2') ?? 0).toBe(0);
    expect(rewritten.get('n3') ?? 0).toBe(0);
    net.propose('n3', 'after');
    net.tickAll(3);
    expect(net.appliedData('n2').slice(-1)).toEqual(['after']);
    expect(net.appliedData('n2').slice(0, TAIL_SLOTS)).toEqual(values);
  });

  it('a candidate behind on what is chosen learns it from the promises and proposes again only the slots after', () => {
    const { net, values } = longChosenTail();
    const rewritten = countRewrites(net);
    // n3 has not heard n1 for a timeout: it no longer refuses another candidate for n1's sake.
    net.tick('n3', ELECTION_TIMEOUT_TICKS);
    expect(net.core('n3').status().role).toBe('follower');
    campaign(net, 'n2');
    // Phase 1 proposed nothing again: every slot it reported was chosen, as n3's promise said.
    expect(net.core('n2').status().commitIndex).toBe(TAIL_SLOTS);
    net.tickAll(net.resendTicks + 3);
    expect(rewritten.get('n2') ?? 0).toBe(0);
    expect(rewritten.get('n3') ?? 0).toBe(0);
    net.propose('n2', 'after');
    net.tickAll(3);
    for (const id of ['n2', 'n3']) expect(net.appliedData(id).slice(-1)).toEqual(['after']);
    expect(net.appliedData('n3').slice(0, TAIL_SLOTS)).toEqual(values);
  });

  it('slots a quorum of the promises accepted at one ballot are chosen: the leader that died before its watermark reached the others leaves nothing to propose again', () => {
    const b1 = ballotOf(1, 1);
    const tail: Entry[] = Array.from({ length: 20 }, (_, i) => ({ index: logIndex(i + 1), term: term(b1), kind: 'command', data: bytes(`v${i}`) }));
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TIMEOUT_TICKS }, { n1: diskOf(b1, tail), n2: diskOf(b1, tail), n3: diskOf(b1, tail) });
    net.crash('n1');
    const rewritten = countRewrites(net);
    campaign(net, 'n2');
    expect(net.core('n2').status().commitIndex).toBe(20);
    net.tickAll(3);
    expect(rewritten.get('n2') ?? 0).toBe(0);
    expect(rewritten.get('n3') ?? 0).toBe(0);
    for (const id of ['n2', 'n3']) expect(net.appliedData(id)).toEqual(tail.map((_, i) => `v${i}`));
  });

  it('an acceptor writes a value it holds again at the new ballot unless the Accept says the slot is chosen', () => {
    // Not chosen: the acceptance at b3 may count toward choosing it at b3, so it must be
    // durable at b3 — an acceptor reporting b1 later could lose it to a value accepted at a
    // ballot between. Chosen: the value is all that matters (handleAccept).
    const [b1, b3] = [ballotOf(1, 1), ballotOf(3, 1)];
    const held: Entry = { index: logIndex(1), term: term(b1), kind: 'command', data: bytes('v') };
    const writtenAt = (chosen: number): number[] => {
      const acceptor = new PaxosCore(options('n2', voters(...N3)), { hardState: { promised: b1 }, snapshot: null, entries: [held] });
      acceptor.step({ type: 'accept', from: nodeId('n1'), to: nodeId('n2'), ballot: term(b3), chosen: logIndex(chosen), entries: [{ ...held, term: term(b3) }] });
      return acceptor.ready().entries.map((e) => e.term);
    };
    expect(writtenAt(0)).toEqual([b3]);
    expect(writtenAt(1)).toEqual([]);
  });
});

describe('multipaxos: a restarted acceptor starts from what its state machine applied', () => {
  it('takes the applied slots as chosen at boot, so a new leader sends it only the slots after them', () => {
    const { net } = chosenTailOnN1();
    net.crash('n1');
    net.crash('n2');
    // n2 applied all but the last 10 slots before it went down.
    const applied = TAIL_SLOTS - 10;
    net.start('n2', net.disk('n2'), {}, applied);
    expect(net.core('n2').status().commitIndex).toBe(applied);
    const sentSlots: number[] = [];
    const filter = net.filter;
    net.filter = (m) => {
      if (m.type === 'accept' && m.to === nodeId('n2')) for (const e of m.entries) sentSlots.push(e.index);
      return filter(m);
    };
    campaign(net, 'n3');
    net.tickAll(3);
    expect(net.core('n2').status().commitIndex).toBe(TAIL_SLOTS);
    // Without the applied index it would be sent (and re-check) every slot from 1.
    expect(Math.min(...sentSlots)).toBeGreaterThan(applied);
  });

  it('stops at a hole or the end of its log, whatever the database says', () => {
    const b = ballotOf(1, 1);
    const slot = (i: number, kind: 'command' | 'noop' = 'command'): Entry => ({ index: logIndex(i), term: term(i === 2 ? 0 : b), kind, data: i === 2 ? new Uint8Array() : bytes(`v${i}`) });
    const disk = diskOf(b, [slot(1), slot(2, 'noop'), slot(3)]);
    const withHole = new PaxosCore(options('n1', voters(...N3)), { ...disk, entries: [...disk.entries], appliedIndex: logIndex(3) });
    expect(withHole.status().commitIndex).toBe(1);
    const short = new PaxosCore(options('n1', voters(...N3)), { ...diskOf(b, [slot(1)]), appliedIndex: logIndex(50) });
    expect(short.status().commitIndex).toBe(1);
  });
});
