/**
 * Witnesses in Multi-Paxos, one test per rule: an acceptor that promises, accepts and counts
 * toward both quorums but keeps no database; it never runs phase 1, forgets its slots only up
 * to what every data voter durably holds (dataHold), and a data voter that campaigns uses its
 * promise even where it forgot slots, because the data voter holds those itself. One that lacks
 * slots the leader compacted, while it may not forget them, accepts the unchosen slots after.
 */
import { describe, expect, it } from 'vitest';
import { options } from '../common/testkit';
import { logIndex, nodeId, term, type HardState, type Member } from '../contract';
import { PaxosCore } from './core';
import type { PromiseMessage } from './messages';
import { CONFIG_WINDOW_SLOTS_DEFAULT, ballotOf } from './config';
import { PaxosNet, bytes, diskOf, voters } from './testkit';

const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });
const TWO_AND_WITNESS = [...voters('n1', 'n2'), witness('w3')];
const ELECTION_TICKS = 10;

function proposeAll(net: PaxosNet, leader: string, values: readonly string[]): void {
  for (const v of values) net.propose(leader, v);
  net.stabilize();
}

/**
 * Ticks `id` and the witness (whose lease on the last leader runs out meanwhile) until `id`
 * has started phase 1, then lets the network run (bounded). The other data voter stays still.
 */
function campaign(net: PaxosNet, id: string): void {
  for (let i = 0; i < 3 * ELECTION_TICKS && net.core(id).status().role !== 'candidate'; i++) {
    net.tick('w3');
    net.tick(id);
  }
  net.stabilize();
}

/** The witness forgets what its status says every data voter holds, as the replica does. */
function forget(net: PaxosNet, id: string): number {
  const s = net.core(id).status();
  const upTo = Math.min(s.dataVotersHold ?? 0, s.commitIndex);
  net.core(id).compact({ index: logIndex(upTo), term: term(s.term), members: net.members }, 0);
  net.process(id);
  return upTo;
}

/** The leader snapshots at its chosen watermark and its storage drops the slots, as the replica's compaction does. */
function compactLeader(net: PaxosNet, leader: string): number {
  const chosen = net.core(leader).status().commitIndex;
  const meta = { index: logIndex(chosen), term: term(net.core(leader).status().term), members: net.members };
  net.core(leader).compact(meta, 0);
  net.disk(leader).snapshot = meta;
  net.disk(leader).entries = net.disk(leader).entries.filter((e) => e.index > chosen);
  return chosen;
}

/**
 * n2 leads and chooses a, b, c, then dies for good; n1 leads a new ballot with the witness,
 * chooses d, e and compacts; the witness restarts: every slot is on its disk, but its chosen
 * watermark fell back and its right prefix at n1's ballot stops at its first slot of n2's.
 */
function witnessRestartsAfterChangeOfLeader(net: PaxosNet): number {
  net.crash('n1');
  const old = net.settle();
  net.restart('n1');
  proposeAll(net, old, ['a', 'b', 'c']);
  heartbeat(net, old);
  net.crash(old);
  campaign(net, 'n1');
  expect(net.leaderOf()).toBe('n1');
  proposeAll(net, 'n1', ['d', 'e']);
  const compacted = compactLeader(net, 'n1');
  net.crash('w3');
  net.restart('w3');
  net.tickAll(3);
  expect(net.core('n1').status().progress['w3']?.match).toBe(0);
  return compacted;
}

/** A leader chooses a, b, c with the other data voter while the witness is cut off, and compacts them. */
function leaderCompactsWithoutWitness(): { net: PaxosNet; leader: string; other: string; chosen: number } {
  const net = new PaxosNet(TWO_AND_WITNESS);
  const leader = net.settle();
  net.isolate('w3');
  proposeAll(net, leader, ['a', 'b', 'c']);
  const chosen = compactLeader(net, leader);
  return { net, leader, other: leader === 'n1' ? 'n2' : 'n1', chosen };
}

/** One heartbeat round: the leader's dataHold reaches every peer. */
function heartbeat(net: PaxosNet, leader: string): void {
  net.tick(leader);
  net.stabilize();
}

describe('multipaxos witness', () => {
  it('reports its role and never runs phase 1, even with no leader for many timeouts', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    net.crash('n1');
    net.crash('n2');
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) net.tick('w3');
    net.stabilize();
    expect(net.core('w3').status().role).toBe('witness');
    expect(net.sent.filter((m) => m.from === nodeId('w3') && m.type === 'prepare')).toEqual([]);
  });

  it('a data voter wins phase 1 with only the witness’s promise while the other data voter is down', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    net.crash('n2');
    campaign(net, 'n1');
    expect(net.leaderOf()).toBe('n1');
  });

  it('counts toward the phase-2 quorum: one data voter and the witness choose while the other is down', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.crash(other);
    proposeAll(net, leader, ['a', 'b']);
    expect(net.appliedData(leader)).toEqual(['a', 'b']);
    expect(net.core('w3').status().lastIndex).toBe(net.core(leader).status().commitIndex);
  });

  it('the data voter holding the newest slots dies while the other was behind: the survivor and the witness recover every chosen slot', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    net.crash('n2');
    campaign(net, 'n1');
    proposeAll(net, 'n1', ['a', 'b', 'c']);
    expect(net.appliedData('n1')).toEqual(['a', 'b', 'c']);
    // n1, the only data voter holding a, b and c, dies; n2 comes back with none of them.
    net.crash('n1');
    net.restart('n2');
    campaign(net, 'n2');
    expect(net.leaderOf()).toBe('n2');
    proposeAll(net, 'n2', ['d']);
    expect(net.appliedData('n2')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('the witness learns dataHold on heartbeats and forgets slots only below it', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    proposeAll(net, leader, ['a', 'b', 'c']);
    heartbeat(net, leader);
    const chosen = net.core(leader).status().commitIndex;
    expect(net.core(leader).status().dataVotersHold).toBe(chosen);
    expect(net.core('w3').status().dataVotersHold).toBe(chosen);
    expect(forget(net, 'w3')).toBe(chosen);
    expect(net.core('w3').status().firstIndex).toBe(chosen + 1);
  });

  it('dataHold never exceeds what a lagging data voter holds', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    proposeAll(net, leader, ['a']);
    heartbeat(net, leader);
    const held = net.core(other).status().lastIndex;
    expect(net.core('w3').status().dataVotersHold).toBe(held);
    // The other data voter is cut off: what the leader and the witness choose is not on it.
    net.isolate(other);
    proposeAll(net, leader, ['b', 'c']);
    heartbeat(net, leader);
    expect(net.core(leader).status().commitIndex).toBe(held + 2);
    expect(net.core(leader).status().dataVotersHold).toBe(held);
    expect(net.core('w3').status().dataVotersHold).toBe(held);
    expect(forget(net, 'w3')).toBe(held);
    // Once it is back and holds them, the witness may forget them too.
    net.heal();
    net.tickAll(net.resendTicks + 3);
    expect(net.core('w3').status().dataVotersHold).toBe(held + 2);
  });

  it('after a change of leader, dataHold is 0 until every data voter has answered the new ballot', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    proposeAll(net, leader, ['a']);
    net.crash(leader);
    net.isolate(other);
    net.heal();
    campaign(net, other);
    expect(net.leaderOf()).toBe(other);
    // Its promise quorum was itself and the witness: the old leader's hold is unknown.
    expect(net.core(other).status().dataVotersHold).toBe(0);
    heartbeat(net, other);
    expect(net.core('w3').status().dataVotersHold).toBe(0);
  });

  it('phase 1 with a witness that forgot slots: a restarted data voter whose chosen watermark fell back uses its promise', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    proposeAll(net, leader, ['a', 'b', 'c']);
    heartbeat(net, leader);
    const forgotten = forget(net, 'w3');
    expect(forgotten).toBeGreaterThan(0);
    // The other data voter restarts (its chosen watermark is not durable: it starts at 0)
    // and the leader dies: the witness's promise starts after the candidate's first slot.
    net.crash(leader);
    net.crash(other);
    net.restart(other);
    campaign(net, other);
    const promise = net.sent.filter((m) => m.type === 'promise' && m.from === nodeId('w3') && m.to === nodeId(other)).pop();
    expect(promise?.type === 'promise' && !promise.reject && promise.firstSlot).toBe(forgotten + 1);
    expect(net.leaderOf()).toBe(other);
    proposeAll(net, other, ['d']);
    expect(net.appliedData(other)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a witness promise that skips slots the candidate does not hold is not used', () => {
    // A state the rules never produce (the witness forgot slots 1..3 that the data voter lacks):
    // the candidate must not take slots 1..3 as empty, so it does not lead.
    const b = ballotOf(1, 1);
    const net = new PaxosNet(TWO_AND_WITNESS, {}, {
      w3: { hardState: { promised: b }, snapshot: { index: logIndex(3), term: term(b), members: TWO_AND_WITNESS }, entries: [] },
    });
    net.crash('n2');
    for (let i = 0; i < 3; i++) campaign(net, 'n1');
    expect(net.leaderOf()).toBeNull();
    expect(net.sent.some((m) => m.type === 'promise' && m.from === nodeId('w3') && !m.reject)).toBe(true);
  });

  it('a witness far behind the leader’s snapshot takes its position only once every data voter holds it', () => {
    const { net, leader, other, chosen } = leaderCompactsWithoutWitness();
    // Both data voters restart, the other one stays down: the leader's new ballot knows
    // nothing of what the other holds, so the witness, which lacks the snapshot's slots, gets
    // no position — it would forget slots that may be on no live data voter.
    net.crash(other);
    net.crash(leader);
    net.restart(leader);
    net.heal();
    campaign(net, leader);
    expect(net.leaderOf()).toBe(leader);
    net.tick(leader, 3);
    net.stabilize();
    expect(net.sent.filter((m) => m.type === 'snapshot' && m.to === nodeId('w3'))).toEqual([]);
    expect(net.core('w3').status().firstIndex).toBe(1);
    // Meanwhile the leader and the witness choose: the witness accepts the new slots without
    // the ones before it. (The leader booted from its snapshot, whose member list is the
    // configuration as of its slot: it fills the α slots after it with no-ops, and knows which
    // data voters hold what exactly once they are chosen: ConfigWindow.exactFrom.)
    proposeAll(net, leader, ['d']);
    expect(net.core(leader).status().commitIndex).toBe(chosen + CONFIG_WINDOW_SLOTS_DEFAULT);
    // Once the other data voter is back and holds the snapshot's slots, the witness takes it.
    net.restart(other);
    net.tickAll(net.resendTicks + 3);
    expect(net.sent.filter((m) => m.type === 'snapshot' && m.to === nodeId('w3')).length).toBeGreaterThan(0);
    expect(net.core('w3').status().firstIndex).toBe(chosen + 1);
    proposeAll(net, leader, ['e']);
    net.tickAll(2);
    expect(net.core(other).status().commitIndex).toBe(net.core(leader).status().commitIndex);
  });

  it('a witness restarted after a change of leader keeps the cluster choosing while a data voter that never answered the new ballot is down', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const compacted = witnessRestartsAfterChangeOfLeader(net);
    // n2's hold is unknown at n1's ballot: no position for the witness, which forgets nothing.
    proposeAll(net, 'n1', ['f']);
    expect(net.core('n1').status().commitIndex).toBe(compacted + 1);
    expect(net.appliedData('n1')).toContain('f');
    expect(net.sent.filter((m) => m.type === 'snapshot' && m.to === nodeId('w3'))).toEqual([]);
    expect(net.core('w3').status().firstIndex).toBe(1);
    expect(net.core('w3').status().commitIndex).toBe(0);
    // n2 returns and takes the snapshot: the witness gets its position and catches up.
    net.restart('n2');
    net.tickAll(net.resendTicks + 3);
    proposeAll(net, 'n1', ['g']);
    net.tickAll(2);
    expect(net.core('w3').status().firstIndex).toBe(compacted + 1);
    expect(net.core('w3').status().commitIndex).toBe(compacted + 2);
    expect(net.appliedData('n2')).toEqual(['f', 'g']);
  });

  it('an Accept lost on the way to a witness that is sent only unchosen slots is sent again', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const compacted = witnessRestartsAfterChangeOfLeader(net);
    proposeAll(net, 'n1', ['f']);
    expect(net.core('n1').status().progress['w3']?.state).toBe('replicate');
    const dropOneAccept = (): (() => number) => {
      let dropped = 0;
      net.filter = (m) => !(m.type === 'accept' && m.to === nodeId('w3') && m.entries.length > 0 && dropped++ === 0);
      return () => dropped;
    };
    let dropped = dropOneAccept();
    net.propose('n1', 'g');
    net.stabilize();
    expect(dropped()).toBe(1);
    expect(net.core('n1').status().commitIndex).toBe(compacted + 1);
    // The next Accept's answer shows the gap below it.
    proposeAll(net, 'n1', ['h']);
    expect(net.core('n1').status().commitIndex).toBe(compacted + 3);
    // A quiet leader finds it from a heartbeat answer once its resend timeout has passed.
    dropped = dropOneAccept();
    net.propose('n1', 'i');
    net.stabilize();
    expect(dropped()).toBe(1);
    expect(net.core('n1').status().commitIndex).toBe(compacted + 3);
    net.tickAll(net.resendTicks + 3);
    expect(net.core('n1').status().commitIndex).toBe(compacted + 4);
    expect(net.appliedData('n1').slice(-4)).toEqual(['f', 'g', 'h', 'i']);
    expect(net.core('w3').status().firstIndex).toBe(1);
  });

  it('phase 1 takes the slots a witness forgot as chosen, with the candidate’s values, whatever ballot it holds them at', () => {
    // Slot 1 was chosen as v at bc by n2, n3 and w4, and w4 forgot it. n1 holds v at the
    // older b1 (it held v already when it learned the slot chosen, and kept it); w5 holds w,
    // accepted at by between b1 and bc and never chosen. n2 and n3 are down: n1 campaigns with
    // w4 and w5, whose quorum holds v at bc nowhere — the highest ballot reported is w's.
    const members = [...voters('n1', 'n2', 'n3'), witness('w4'), witness('w5')];
    const [b1, by, bc] = [ballotOf(1, 1), ballotOf(2, 2), ballotOf(3, 3)];
    const slot = (ballot: number, value: string) => ({ index: logIndex(1), term: term(ballot), kind: 'command' as const, data: bytes(value) });
    const net = new PaxosNet(members, { electionTimeoutTicks: ELECTION_TICKS }, {
      n1: diskOf(bc, [slot(b1, 'v')]),
      n2: diskOf(bc, [slot(bc, 'v')]),
      n3: diskOf(bc, [slot(bc, 'v')]),
      w4: { hardState: { promised: bc }, snapshot: { index: logIndex(1), term: term(bc), members }, entries: [] },
      w5: diskOf(by, [slot(by, 'w')]),
    });
    net.crash('n2');
    net.crash('n3');
    for (let i = 0; i < 3 * ELECTION_TICKS && net.core('n1').status().role !== 'candidate'; i++) {
      for (const id of ['w4', 'w5', 'n1']) net.tick(id);
    }
    net.stabilize();
    net.tickAll(3);
    expect(net.leaderOf()).toBe('n1');
    expect(net.appliedData('n1')).toEqual(['v']);
  });

  it('a witness that took a snapshot position lends its promise over it to the data voter that survives the leader', () => {
    const { net, leader, other, chosen } = leaderCompactsWithoutWitness();
    // No heartbeat reaches the witness once the snapshot left: it learns who holds the slots it
    // forgets from the snapshot alone.
    const snapshotSent = (): boolean => net.sent.some((m) => m.type === 'snapshot' && m.to === nodeId('w3'));
    net.filter = (m) => !(m.type === 'heartbeat' && m.to === nodeId('w3') && snapshotSent());
    net.heal();
    net.tickAll(net.resendTicks + 3);
    net.stabilize();
    expect(net.core('w3').status().firstIndex).toBe(chosen + 1);
    net.filter = () => true;
    // The leader dies for good; the other data voter restarts, its chosen watermark back at 0.
    net.crash(leader);
    net.crash(other);
    net.restart(other);
    for (let k = 0; k < 5 && net.leaderOf() !== other; k++) campaign(net, other);
    expect(net.leaderOf()).toBe(other);
    proposeAll(net, other, ['d']);
    expect(net.appliedData(other)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('writes the holders a snapshot position names before it takes the position', () => {
    const w = new PaxosCore(options('w3', TWO_AND_WITNESS), { hardState: null, snapshot: null, entries: [] });
    w.ready();
    w.advance();
    const ballot = term(ballotOf(1, 1));
    const snapshot = { index: logIndex(5), term: ballot, members: TWO_AND_WITNESS };
    w.step({ type: 'snapshot', from: nodeId('n1'), to: nodeId('w3'), ballot, snapshot, holders: [nodeId('n1'), nodeId('n2')] });
    // A driver installs a Ready's snapshot before it writes its hard state: the holders go first, alone.
    const first = w.ready();
    expect(first.snapshot).toBeNull();
    expect(JSON.parse(String(first.hardState?.['holders']))).toEqual({ n1: 5, n2: 5 });
    expect(first.messages).toEqual([]);
    w.advance();
    const second = w.ready();
    expect(second.snapshot).toMatchObject({ index: 5 });
    expect(second.messages).toMatchObject([{ type: 'accepted', to: 'n1', prefix: 5 }]);
  });

  it('forgets only what a leader names holders for, and reports a hold only once it is on disk', () => {
    const net = new PaxosNet(TWO_AND_WITNESS);
    const leader = net.settle();
    net.filter = (m) => !(m.type === 'heartbeat' && m.to === nodeId('w3'));
    proposeAll(net, leader, ['a', 'b', 'c']);
    const { term: ballot, commitIndex: chosen } = net.core(leader).status();
    const hold = (holders: string[]) =>
      net.core('w3').step({ type: 'heartbeat', from: nodeId(leader), to: nodeId('w3'), ballot, chosen, readSeq: 0, dataHold: chosen, holders: holders.map(nodeId) });
    // A hold that names no one — a leader of the release before holders — moves nothing.
    hold([]);
    net.process('w3');
    expect(net.core('w3').status().dataVotersHold).toBe(0);
    hold(['n1', 'n2']);
    // Not before the hard state that names them is written.
    expect(net.core('w3').status().dataVotersHold).toBe(0);
    net.process('w3');
    expect(net.core('w3').status().dataVotersHold).toBe(chosen);
    expect(JSON.parse(String(net.disk('w3').hardState?.['holders']))).toEqual({ n1: chosen, n2: chosen });
  });

  describe('lends its promise over the slots it forgot only to the data voters its leader named as holding them', () => {
    const BALLOT = ballotOf(1, 1);
    const position = { index: logIndex(5), term: term(BALLOT), members: TWO_AND_WITNESS };

    /** A witness that forgot slots 1..5, booted from `hardState`; what it answers a Prepare of `from` at slot 1. */
    function answer(hardState: HardState, from: string): PromiseMessage {
      const core = new PaxosCore(options('w3', TWO_AND_WITNESS), { hardState, snapshot: position, entries: [] });
      core.step({ type: 'prepare', from: nodeId(from), to: nodeId('w3'), ballot: term(ballotOf(2, from === 'n1' ? 1 : 2)), fromSlot: logIndex(1), designatedAt: term(0) });
      const promise = core.ready().messages.find((m): m is PromiseMessage => m.type === 'promise');
      if (promise === undefined) throw new Error('no promise');
      return promise;
    }

    it('a holder gets it, anyone else is refused as a candidate behind what it forgot — after a restart too', () => {
      const hard = { promised: BALLOT, holdTo: 5, holders: JSON.stringify({ n1: 5, n2: 4 }) };
      expect(answer(hard, 'n1')).toMatchObject({ reject: false, firstSlot: 6 });
      // n2 was counted only up to slot 4: it may lack slot 5.
      expect(answer(hard, 'n2')).toMatchObject({ reject: true, firstSlot: 6 });
      expect(answer({ ...hard, holders: '{}' }, 'n1')).toMatchObject({ reject: true });
    });

    it('one written before holds were persisted takes its snapshot’s data voters: its configuration could not change then', () => {
      expect(answer({ promised: BALLOT }, 'n1')).toMatchObject({ reject: false });
      expect(answer({ promised: BALLOT }, 'n2')).toMatchObject({ reject: false });
    });

    it('a persisted hold that is not one is refused, naming the field', () => {
      expect(() => answer({ promised: BALLOT, holdTo: -1, holders: '[]' }, 'n1')).toThrow(/holdTo must be a non-negative integer/);
      expect(() => answer({ promised: BALLOT, holdTo: 5, holders: 'n1' }, 'n1')).toThrow(/holders must be a JSON object of member ids to slots/);
      expect(() => answer({ promised: BALLOT, holdTo: 5, holders: '["n1"]' }, 'n1')).toThrow(/holders must be a JSON object/);
      expect(() => answer({ promised: BALLOT, holdTo: 5, holders: '{"n1":-2}' }, 'n1')).toThrow(/holders must be a JSON object/);
    });
  });
});
