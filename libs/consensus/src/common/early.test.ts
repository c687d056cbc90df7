/**
 * takeEarlyMessages, for every registered protocol: what a leader may send while its own
 * persist is in flight, stepped by a driver between ready() and advance().
 */
import { describe, expect, it } from 'vitest';
import type { BaseMessage, ConsensusCore, NodeId, ProtocolModule, Ready } from '../contract';
import { PROTOCOL_NAMES, PROTOCOLS } from '../registry';
import { splitEarly } from './early';
import { TestNet, voters } from './testkit';

const protocols = PROTOCOL_NAMES.map((name) => PROTOCOLS[name] as ProtocolModule);

interface Seen {
  /** Readys during whose persist the leader was stepped. */
  stepped: number;
  /** Messages takeEarlyMessages() let leave. */
  early: number;
  /** Readys that carried a hard state while the core was leader. */
  hardInFlight: number;
}

/**
 * During every Ready of a leader: tick it past a heartbeat interval and step the messages
 * queued for it (in order, while it stays leader), then take its early messages, checking
 * the contract's rules on them.
 */
function stepLeadersDuringPersist<M extends BaseMessage>(net: TestNet<M>, seen: Seen): void {
  net.duringPersist = (id: string, core: ConsensusCore<M>, rd: Ready<M>): M[] => {
    if (core.status().role !== 'leader') return [];
    seen.stepped++;
    if (rd.hardState !== null) seen.hardInFlight++;
    const mine = net.queue.filter((m) => m.to === id);
    net.queue = net.queue.filter((m) => m.to !== id);
    for (let i = 0; i < 3 && core.status().role === 'leader'; i++) core.tick();
    while (mine.length > 0 && core.status().role === 'leader') core.step(mine.shift()!);
    net.queue.push(...mine);
    const early = core.takeEarlyMessages();
    seen.early += early.length;
    if (rd.hardState !== null) expect(early, 'nothing leaves before a new hard state is durable').toEqual([]);
    const waiting = new Set<NodeId>(rd.messages.map((m) => m.to));
    for (const m of early) {
      expect(m.from).toBe(id);
      expect(waiting.has(m.to), `a message to ${m.to} overtook one that waits for the persist`).toBe(false);
    }
    return early;
  };
}

describe.each(protocols)('$name: messages a leader sends while its persist is in flight', (protocol) => {
  it('heartbeats and replication leave during the persist, and the cluster agrees as before', () => {
    const net = new TestNet(protocol.create, voters('n1', 'n2', 'n3'));
    const seen: Seen = { stepped: 0, early: 0, hardInFlight: 0 };
    stepLeadersDuringPersist(net, seen);
    const leader = net.settle();
    for (let i = 0; i < 20; i++) {
      net.propose(leader, `v${i}`);
      net.tickAll();
    }
    net.tickAll(20);
    expect(seen.stepped).toBeGreaterThan(0);
    expect(seen.early).toBeGreaterThan(0);
    const expected = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(expected);
  });

  it('a follower, and a core with no Ready in flight, send nothing early', () => {
    const net = new TestNet(protocol.create, voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    net.tick(leader, 3);
    expect(net.core(leader).takeEarlyMessages()).toEqual([]);
    const f = net.core(follower);
    f.tick();
    if (f.hasReady()) {
      f.ready();
      f.tick();
      expect(f.takeEarlyMessages()).toEqual([]);
      f.advance();
    }
  });
});

describe('splitEarly', () => {
  type Msg = BaseMessage & { readonly type: string };
  const m = (to: string, type: string): Msg => ({ from: 'n1' as NodeId, to: to as NodeId, type, term: 1 }) as unknown as Msg;
  const isEarly = (x: Msg): boolean => x.type === 'append';

  it('keeps per-recipient order: a recipient with a message that must wait gets nothing early', () => {
    const outbox = [m('n2', 'append'), m('n3', 'append'), m('n2', 'vote'), m('n4', 'append')];
    const { early, rest } = splitEarly(outbox, isEarly, new Set(['n4' as NodeId]));
    expect(early.map((x) => `${x.to}:${x.type}`)).toEqual(['n3:append']);
    expect(rest.map((x) => `${x.to}:${x.type}`)).toEqual(['n2:append', 'n2:vote', 'n4:append']);
  });
});
