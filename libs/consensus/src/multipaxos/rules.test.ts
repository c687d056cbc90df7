/** One test per rule of Multi-Paxos (Paxos Made Simple §3, Paxos Made Live, Paxos Made Moderately Complex). */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry } from '../contract';
import { ballotOf } from './config';
import type { PaxosMessage } from './messages';
import { PaxosNet, bytes, diskOf, observer, voters } from './testkit';

const slot = (index: number, ballot: number, value: string | null): Entry =>
  value === null
    ? { index: logIndex(index), term: term(ballot), kind: 'noop', data: new Uint8Array(0) }
    : { index: logIndex(index), term: term(ballot), kind: 'command', data: bytes(value) };
const others = (all: readonly string[], leader: string): string[] => all.filter((id) => id !== leader);
const N3 = ['n1', 'n2', 'n3'];

describe('multipaxos: leadership', () => {
  it('elects one leader whose ballot encodes its round and rank, and replicates in slot order', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    for (let i = 0; i < 30; i++) net.propose(leader, `w${i}`);
    net.stabilize();
    net.tickAll(2);
    const want = Array.from({ length: 30 }, (_, i) => `w${i}`);
    for (const id of N3) expect(net.appliedData(id)).toEqual(want);
    expect(net.core(leader).status().term % 1024).toBeGreaterThan(0);
  });

  it('runs phase 1 once per leadership, not per write', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const prepares = net.sent.filter((m) => m.type === 'prepare').length;
    for (let i = 0; i < 20; i++) {
      net.propose(leader, `w${i}`);
      net.stabilize();
    }
    expect(net.sent.filter((m) => m.type === 'prepare').length).toBe(prepares);
  });

  it('a deposed leader steps down at once when a higher ballot answers it', () => {
    const net = new PaxosNet(voters(...N3));
    const old = net.settle();
    net.isolate(old);
    let next: string | null = null;
    for (let i = 0; i < 200 && (next === null || next === old); i++) {
      net.tickAll();
      for (const id of others(N3, old)) if (net.core(id).status().role === 'leader') next = id;
    }
    expect(next).not.toBeNull();
    net.heal();
    // The old leader's next heartbeat is refused with the higher ballot: it follows.
    net.tick(old);
    net.stabilize();
    expect(net.core(old).status().role).not.toBe('leader');
    expect(net.sent.some((m) => m.to === old && (m.type === 'accepted' || m.type === 'heartbeatResponse') && m.ballot > net.core(old).status().term - 1)).toBe(true);
  });
});

describe('multipaxos: phase 1 recovers what may have been chosen', () => {
  it('a value accepted by a minority at an old ballot that could have been chosen is recovered by the next leader', () => {
    // Slot 1 was accepted at ballot b1 by n2 only; n1 and n3 hold nothing. A new leader whose
    // promise quorum includes n2 must propose n2's value again, not a no-op.
    const b1 = ballotOf(1, 1);
    const net = new PaxosNet(voters(...N3), {}, {
      n1: diskOf(b1, []),
      n2: diskOf(b1, [slot(1, b1, 'maybe-chosen')]),
      n3: diskOf(b1, []),
    });
    net.isolate('n1');
    const leader = net.settle();
    net.heal();
    // The Accepts n1 missed were lost in silence: its heartbeat answers say so once its
    // prefix has stood still for a resend timeout.
    net.tickAll(net.resendTicks + 3);
    expect(leader).not.toBe('n1');
    for (const id of N3) expect(net.appliedData(id)).toEqual(['maybe-chosen']);
  });

  it('the value of the highest ballot wins when acceptors disagree on a slot', () => {
    const b1 = ballotOf(1, 1);
    const b2 = ballotOf(2, 2);
    const net = new PaxosNet(voters(...N3), {}, {
      n1: diskOf(b2, [slot(1, b1, 'old')]),
      n2: diskOf(b2, [slot(1, b2, 'newer')]),
      n3: diskOf(b2, [slot(1, b1, 'old')]),
    });
    net.settle();
    net.tickAll(3);
    for (const id of N3) expect(net.appliedData(id)).toEqual(['newer']);
  });

  it('a hole below accepted slots is filled with a no-op', () => {
    const b1 = ballotOf(1, 1);
    const net = new PaxosNet(voters(...N3), {}, {
      n1: diskOf(b1, [slot(1, 0, null), slot(2, b1, 'two')]),
      n2: diskOf(b1, [slot(1, 0, null), slot(2, b1, 'two')]),
      n3: diskOf(b1, []),
    });
    const leader = net.settle();
    net.tickAll(3);
    const applied = net.applied.get(leader)!;
    expect(applied.map((e) => e.kind)).toEqual(['noop', 'command']);
    for (const id of N3) expect(net.appliedData(id)).toEqual(['two']);
  });

  it('a value no quorum could have chosen is superseded safely, and every replica agrees', () => {
    // n3 alone accepted slot 1 at an old ballot; n1 and n2 (a quorum without n3) never saw it.
    const b1 = ballotOf(1, 3);
    const net = new PaxosNet(voters(...N3), {}, { n1: diskOf(b1, []), n2: diskOf(b1, []), n3: diskOf(b1, [slot(1, b1, 'lonely')]) });
    net.isolate('n3');
    const leader = net.settle();
    net.propose(leader, 'fresh');
    net.stabilize();
    net.heal();
    // n3 raised no promise while cut off (it only asked: prePrepare), so it follows the same
    // leader, which sends again what n3 lost once its right prefix stood still for a resend timeout.
    expect(net.settle()).toBe(leader);
    net.tickAll(net.resendTicks + 5);
    const want = net.appliedData(leader);
    expect(want).toContain('fresh');
    for (const id of N3) expect(net.appliedData(id)).toEqual(want);
  });
});

describe('multipaxos: acceptors', () => {
  it('an acceptor accepts a slot whatever it holds before it (slots are independent)', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const [a] = others(N3, leader) as [string];
    const ballot = net.core(leader).status().term;
    net.core(a).step({ type: 'accept', from: nodeId(leader), to: nodeId(a), ballot, chosen: logIndex(0), entries: [slot(5, ballot, 'five')] });
    net.process(a);
    const disk = net.disk(a).entries;
    expect(disk.map((e) => e.term === 0 ? 'hole' : e.index)).toEqual(['hole', 'hole', 'hole', 'hole', 5]);
  });

  it('an acceptor refuses an Accept below its promise and names the higher ballot', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const [a] = others(N3, leader) as [string];
    const promised = net.core(a).status().term;
    net.core(a).step({ type: 'accept', from: nodeId(leader), to: nodeId(a), ballot: term(promised - 1), chosen: logIndex(0), entries: [slot(1, promised - 1, 'stale')] });
    net.process(a);
    const reply = net.sent[net.sent.length - 1];
    expect(reply).toMatchObject({ type: 'accepted', reject: true, ballot: promised });
    expect(net.disk(a).entries.some((e) => e.term === promised - 1)).toBe(false);
  });

  it('a promise is durable before it is sent, so an acceptor that dies after persisting it keeps it', () => {
    const net = new PaxosNet(voters(...N3));
    const promisesBeforeDurable: string[] = [];
    net.filter = (m) => {
      if (m.type === 'promise' && !m.reject && Number(net.disk(m.from).hardState?.['promised'] ?? 0) < m.ballot) promisesBeforeDurable.push(m.from);
      return true;
    };
    const leader = net.settle();
    expect(promisesBeforeDurable).toEqual([]);
    const [a] = others(N3, leader) as [string];
    const promised = net.core(a).status().term;
    net.crash(a);
    const restarted = net.restart(a);
    expect(restarted.status().term).toBe(promised);
  });

  it('an Accept of a deposed leader that arrives after a higher Promise is refused', () => {
    const net = new PaxosNet(voters(...N3));
    const old = net.settle();
    const [a] = others(N3, old) as [string];
    const oldBallot = net.core(old).status().term;
    // a still hears the old leader, so it refuses a higher ballot (a live leader is kept) …
    const higher = ballotOf(100, 1);
    net.core(a).step({ type: 'prepare', from: nodeId(others(N3, old)[1]!), to: nodeId(a), ballot: term(higher), fromSlot: logIndex(1), designatedAt: term(0) });
    net.process(a);
    expect(net.core(a).status().term).toBe(oldBallot);
    // … until its connection to the old leader breaks; then it promises the higher ballot.
    net.core(a).reportUnreachable(nodeId(old));
    net.queue = [];
    net.core(a).step({ type: 'prepare', from: nodeId(others(N3, old)[1]!), to: nodeId(a), ballot: term(higher), fromSlot: logIndex(1), designatedAt: term(0) });
    net.process(a);
    expect(net.core(a).status().term).toBe(higher);
    net.core(a).step({ type: 'accept', from: nodeId(old), to: nodeId(a), ballot: term(oldBallot), chosen: logIndex(0), entries: [slot(1, oldBallot, 'late')] });
    net.process(a);
    expect(net.sent[net.sent.length - 1]).toMatchObject({ type: 'accepted', reject: true, ballot: higher });
    expect(net.disk(a).entries.some((e) => e.term === oldBallot && e.kind === 'command')).toBe(false);
  });
});

describe('multipaxos: duelling proposers', () => {
  it('two proposers whose ballots interleave still choose one value per slot', () => {
    const all = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const net = new PaxosNet(voters(...all));
    const leader = net.settle();
    for (let i = 0; i < 5; i++) net.propose(leader, `before${i}`);
    net.stabilize();
    // The leader dies; two others start phase 1 at once, each ballot overtaking the other's.
    net.crash(leader);
    // Every survivor's transport reports the leader's stream broken: none holds its lease.
    for (const id of others(all, leader)) {
      net.core(id).reportUnreachable(nodeId(leader));
      net.process(id);
    }
    const [p, q] = others(all, leader) as [string, string];
    for (let round = 0; round < 6; round++) {
      for (const id of [p, q]) {
        // Asking now, whatever the timer says: a timeout firing on both at the same moment.
        for (let t = 0; t < 100 && net.core(id).status().role !== 'candidate'; t++) net.core(id).tick();
        net.process(id);
      }
      // Both hear a quorum would promise (prePrepare, prePromise) and prepare; each one's
      // Prepare reaches the acceptors before the other's answers come back, so every promise
      // is overtaken by the next ballot (deliver in reverse sending order).
      net.deliverOnce();
      net.deliverOnce();
      net.queue = net.queue.reverse();
      net.deliverOnce();
      for (const id of [p, q]) if (net.core(id).status().role === 'leader') net.propose(id, `${id}-${round}`);
    }
    const ballots = net.sent.filter((m) => m.type === 'prepare' && (m.from === p || m.from === q)).map((m) => `${m.from}@${m.ballot}`);
    expect(new Set(ballots.map((b) => b.split('@')[0])).size).toBe(2);
    net.settle();
    net.tickAll(5);
    const chosen = new Map<number, string>();
    for (const id of others(all, leader)) {
      for (const e of net.applied.get(id) ?? []) {
        const v = `${e.kind}:${new TextDecoder().decode(e.data)}`;
        expect(chosen.get(e.index) ?? v).toBe(v);
        chosen.set(e.index, v);
      }
    }
    for (let i = 0; i < 5; i++) expect([...chosen.values()]).toContain(`command:before${i}`);
  });
});

describe('multipaxos: learners and catch-up', () => {
  it('observers learn chosen slots and never count toward a quorum', () => {
    const net = new PaxosNet([...voters('n1', 'n2'), observer('o1')]);
    const leader = net.settle();
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData('o1')).toEqual(['a']);
    net.crash(others(['n1', 'n2'], leader)[0]!);
    net.propose(leader, 'b');
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData(leader)).toEqual(['a']);
  });

  it('a learner far behind crosses a compaction by snapshot', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const [lagging] = others(N3, leader) as [string];
    net.crash(lagging);
    for (let i = 0; i < 40; i++) net.propose(leader, `w${i}`);
    net.stabilize();
    net.tickAll(2);
    const applied = net.applied.get(leader)!;
    const last = applied[applied.length - 1]!;
    net.core(leader).compact({ index: last.index, term: last.term, members: net.members }, 0);
    net.restart(lagging);
    net.settle();
    net.tickAll(net.resendTicks + 3);
    expect(net.sent.some((m) => m.type === 'snapshot' && m.to === lagging)).toBe(true);
    expect(net.core(lagging).status().commitIndex).toBe(last.index);
  });
});

describe('multipaxos: reads', () => {
  it('a linearizable read is answered at a chosen watermark covering every acknowledged write', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const follower = others(N3, leader)[0]!;
    const index = net.propose(leader, 'w');
    net.stabilize();
    net.core(leader).readIndex('r1');
    net.core(follower).readIndex('r2');
    net.stabilize();
    net.tickAll(2);
    expect(net.readStates.get(leader)!.find((r) => r.requestId === 'r1')?.index).toBeGreaterThanOrEqual(index);
    expect(net.readStates.get(follower)!.find((r) => r.requestId === 'r2')?.index).toBeGreaterThanOrEqual(index);
  });
});

describe('multipaxos: heartbeats travel apart from Accepts', () => {
  const acceptsTo = (net: PaxosNet, id: string): number => net.sent.filter((m) => m.type === 'accept' && m.to === id).length;

  it('a heartbeat answer that overtook Accepts still on the wire sends none of them again', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const [slow] = others(N3, leader) as [string];
    // Its Accepts are on the wire (held here), its heartbeats and their answers are not.
    const onTheWire: PaxosMessage[] = [];
    net.filter = (m) => {
      if (m.type !== 'accept' || m.to !== slow) return true;
      onTheWire.push(m);
      return false;
    };
    for (let i = 0; i < 3; i++) net.propose(leader, `v${i}`);
    net.stabilize();
    const sent = acceptsTo(net, slow);
    net.tickAll(net.resendTicks - 1);
    expect(acceptsTo(net, slow)).toBe(sent);
    // They arrive: it catches up on what was sent once.
    net.filter = () => true;
    for (const m of onTheWire) net.core(slow).step(m);
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData(slow)).toEqual(['v0', 'v1', 'v2']);
    expect(acceptsTo(net, slow)).toBe(sent);
  });

  it('Accepts lost in silence are sent again once its prefix stood still for a resend timeout', () => {
    const net = new PaxosNet(voters(...N3));
    const leader = net.settle();
    const [deaf] = others(N3, leader) as [string];
    net.filter = (m) => !(m.type === 'accept' && m.to === deaf);
    for (let i = 0; i < 3; i++) net.propose(leader, `v${i}`);
    net.stabilize();
    net.filter = () => true;
    net.tickAll(net.resendTicks + 2);
    expect(net.appliedData(deaf)).toEqual(['v0', 'v1', 'v2']);
  });
});
