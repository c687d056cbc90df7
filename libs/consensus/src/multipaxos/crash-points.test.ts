/** Multi-Paxos at crash points inside a persist, and the leader lease. */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry } from '../contract';
import { SimDisk, type RewriteModel } from '../sim/disk';
import { ballotOf } from './config';
import { PaxosNet, voters } from './testkit';
import type { PaxosMessage } from './messages';

const N3 = ['n1', 'n2', 'n3'];
const others = (all: readonly string[], x: string): string[] => all.filter((id) => id !== x);

describe('multipaxos: crash points and leases', () => {
  it('control: a freshly elected leader refuses a higher Prepare (lease)', () => {
    const net = new PaxosNet(voters(...N3));
    const L = net.settle();
    const w = net.core(L);
    w.step({ type: 'prepare', from: nodeId(others(N3, L)[0]!), to: nodeId(L), ballot: term(ballotOf(500, 1)), fromSlot: logIndex(1), designatedAt: term(0) });
    net.process(L);
    expect(w.status().role).toBe('leader');
  });

  it('an acceptor that persists a promise and dies before replying keeps it, and is not counted', () => {
    const net = new PaxosNet(voters(...N3));
    const L = net.settle();
    net.propose(L, 'v1');
    net.stabilize();
    const [a, b] = others(N3, L) as [string, string];
    // b campaigns while L is silent; a promises, persists, and dies before the Promise leaves.
    net.crash(L);
    let promiseFromA: PaxosMessage | null = null;
    net.filter = (m) => { if (m.type === 'promise' && m.from === a) { promiseFromA = m; return false; } return true; };
    for (let i = 0; i < 60 && promiseFromA === null; i++) net.tickAll();
    expect(promiseFromA).not.toBeNull();
    const pb = (promiseFromA as unknown as { ballot: number }).ballot;
    expect(net.core(b).status().role).toBe('candidate');
    expect(net.hard(a)?.['promised']).toBe(pb);
    net.crash(a);
    const ra = net.restart(a);
    expect(ra.status().term).toBe(pb);
    // An Accept of the old leader's ballot arrives late: refused with the higher promise.
    const oldBallot = net.core(L).status().term;
    ra.step({ type: 'accept', from: nodeId(L), to: nodeId(a), ballot: term(oldBallot), chosen: logIndex(0), entries: [{ index: logIndex(2), term: term(oldBallot), kind: 'command', data: new Uint8Array([1]) }] });
    net.process(a);
    expect(net.sent[net.sent.length - 1]).toMatchObject({ type: 'accepted', reject: true, ballot: pb });
    expect(net.core(b).status().role).not.toBe('leader');
    net.filter = () => true;
    const L2 = net.settle();
    net.tickAll(3);
    expect(net.appliedData(L2)).toContain('v1');
  });
});

import { PaxosCore } from './core';
import { options } from '../common/testkit';
describe('multipaxos: boot after a torn persist', () => {
  it('a follower accepting at a ballot above its promise, crashing after the log fsync and before the state file, can boot', () => {
    // Ready = { hardState: {promised: b2}, entries: [slot 1 @ b2] }; durable-log.flushNow writes
    // and syncs the segments first, then the state file (writeFileAtomic): a crash in between
    // leaves entries at b2 beside promised b1.
    const b1 = ballotOf(1, 1);
    const b2 = ballotOf(2, 2);
    const persisted = { hardState: { promised: b1 }, snapshot: null, entries: [{ index: logIndex(1), term: term(b2), kind: 'command' as const, data: new Uint8Array([7]) }] };
    expect(() => new PaxosCore(options('n1', voters(...N3)), persisted)).not.toThrow();
  });
});

describe('multipaxos: a power cut inside a rewrite', () => {
  const b1 = ballotOf(1, 1);
  const b2 = ballotOf(2, 1);
  const b3 = ballotOf(3, 3);
  const slot = (i: number, ballot: number, value: string): Entry => ({ index: logIndex(i), term: term(ballot), kind: 'command', data: new TextEncoder().encode(value) });

  /**
   * Acceptor n2 accepted and acknowledged slots 1..3 at b1. A new leader at b2 re-proposes
   * slot 2 after its phase 1: n2 accepts it again, and its Ready hands storage every record
   * from slot 2 on — a cut after slot 1 and records after it. The power fails after storage
   * wrote them and before the fsync; n2 restarts and promises to a candidate at b3. What does
   * its promise report?
   */
  function promiseAfterPowerCut(rewrite: RewriteModel): Entry[] {
    const disk = new SimDisk(rewrite);
    disk.writeHardState({ promised: b1 });
    disk.append([slot(1, b1, 'x1'), slot(2, b1, 'x2'), slot(3, b1, 'x3')]);
    disk.fsync();
    const acceptor = new PaxosCore(options('n2', voters(...N3)), disk.load());
    acceptor.step({ type: 'accept', from: nodeId('n1'), to: nodeId('n2'), ballot: term(b2), chosen: logIndex(0), entries: [slot(2, b2, 'x2')] });
    const rd = acceptor.ready();
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[2, b2], [3, b1]]);
    expect(rd.earlyMessages).toEqual([]);
    disk.persistLog(rd.truncateAfter, rd.entries);
    if (rd.hardState !== null) disk.writeHardState(rd.hardState);
    disk.crash(0);
    const restarted = new PaxosCore(options('n2', voters(...N3)), disk.load());
    restarted.step({ type: 'prepare', from: nodeId('n3'), to: nodeId('n2'), ballot: term(b3), fromSlot: logIndex(1), designatedAt: term(0) });
    const promise = restarted.ready().messages.find((m): m is Extract<PaxosMessage, { type: 'promise' }> => m.type === 'promise');
    expect(promise?.reject).toBe(false);
    return [...(promise?.accepted ?? [])];
  }

  it('still reports every slot it acknowledged, at its old ballot or its new one (storage rewrites atomically)', () => {
    const accepted = promiseAfterPowerCut('atomic');
    expect(accepted.map((e) => [e.index, new TextDecoder().decode(e.data)])).toEqual([[1, 'x1'], [2, 'x2'], [3, 'x3']]);
    expect(accepted.map((e) => e.term)).toEqual([b1, b1, b1]);
  });

  it('why: a storage that made the cut durable before the records forgot slots 2 and 3, which it had acknowledged', () => {
    const accepted = promiseAfterPowerCut('cut_first');
    // Slot 3 was acknowledged at b1 and may be chosen (by n1 and n2): a candidate counting
    // this promise and one from n3, which never saw it, would propose another value there.
    expect(accepted.map((e) => e.index)).toEqual([1]);
  });
});
