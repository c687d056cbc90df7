import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { nodeId } from '@quorumlite/consensus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcPeerTransport } from './grpc-transport';
import { judgeIncarnation, type Incarnation, type PeerIdentity } from './handshake';
import { bindServer, Harness, text, waitFor, type Node } from './test-kit';
import { TransportError } from './types';
import { peerClient, peerMethods, type WireChunk, type WireSnapshotAck } from './wire';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  await h.cleanup();
});

const n = nodeId;

/** Sends `count` messages named `${prefix}${i}`, `perTurn` per event-loop turn. */
async function sendMany(from: Node, to: string, prefix: string, count: number, perTurn: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    from.transport.send(n(to), text(`${prefix}${i}`));
    if ((i + 1) % perTurn === 0) await new Promise((r) => setImmediate(r));
  }
}

/** Raw test calls give up rather than hang if the server never answers. */
const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + 10_000 });

const names = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** An in-memory identity: `self`, and the incarnations it recorded for its peers. */
function identity(self: Incarnation, recorded: Record<string, string>): PeerIdentity {
  const seen = new Map(Object.entries(recorded));
  return {
    self,
    admit: (member, presented) => {
      const verdict = judgeIncarnation(member, seen.get(member) ?? null, presented);
      if (verdict.kind === 'record') seen.set(member, verdict.id);
      return verdict.kind === 'refuse' ? verdict.why : null;
    },
  };
}

/**
 * n1 sends n2 a first message; n2's server goes down, and once n1 saw n2 unreachable (`whileDown`
 * runs then) it comes back on the same port. n1's link backs off between `minMs` and `maxMs`.
 */
async function restartedAfterBreak(minMs: number, maxMs: number, whileDown: (a: Node) => void = () => undefined): Promise<[Node, Node]> {
  const [a, b] = await h.cluster(['n1', 'n2'], { limits: { reconnectBackoffMsMin: minMs, reconnectBackoffMsMax: maxMs } });
    if (!a || !b) throw new Error('cluster');
    a.transport.send(n('n2'), text('before'));
    await waitFor('first message', () => b.recorder.from('n1').includes('before'));
    b.server.forceShutdown();
    await waitFor('n2 unreachable', () => a.recorder.states.some((s) => s.peer === 'n2' && !s.reachable));
    whileDown(a);
    const restarted = await bindServer(b.port);
    h.servers.push(restarted.server);
    b.transport.addTo(restarted.server);
    return [a, b];
}

describe('GrpcPeerTransport incarnations', () => {
  it('a member that comes back with another data directory is refused, delivers nothing, and is told to stop', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const refusals: string[] = [];
    a.transport.start({ onMessages: () => undefined, onSnapshot: () => undefined, identity: identity({ id: 'new', rejoined: false }, {}), onIdentityRefused: (_p, why) => refusals.push(why) });
    b.transport.start({ onMessages: (f, m) => b.recorder.onMessages(f, m), onSnapshot: () => undefined, identity: identity({ id: 'b', rejoined: false }, { n1: 'old' }) });
    a.transport.send(n('n2'), text('vote'));
    await waitFor('the refusal', () => refusals.length > 0);
    expect(refusals[0]).toContain("member 'n1' came back with a different data directory (incarnation 'new', expected 'old')");
    expect(refusals[0]).toContain('--rejoin');
    expect(b.recorder.from('n1')).toEqual([]);
    // The link stays closed: nothing more goes out, and it does not retry.
    a.transport.send(n('n2'), text('again'));
    await new Promise((r) => setTimeout(r, 200));
    expect(b.recorder.from('n1')).toEqual([]);
    expect(refusals).toHaveLength(1);
  });

  it('a started node announces its incarnation to every peer before it sends anything', async () => {
    const [a, b, c] = await h.cluster(['n1', 'n2', 'n3']);
    if (!a || !b || !c) throw new Error('cluster');
    const admitted: string[] = [];
    for (const node of [b, c]) {
      const book = identity({ id: node.id, rejoined: false }, {});
      node.transport.start({ onMessages: () => undefined, onSnapshot: () => undefined, identity: { self: book.self, admit: (m, p) => (admitted.push(`${node.id}<-${m}:${p?.id}`), book.admit(m, p)) } });
    }
    a.transport.start({ onMessages: () => undefined, onSnapshot: () => undefined, identity: identity({ id: 'i1', rejoined: false }, {}) });
    await waitFor('both peers to admit n1', () => admitted.filter((x) => x.endsWith('<-n1:i1')).length === 2);
    expect(admitted.filter((x) => x.endsWith('<-n1:i1')).sort()).toEqual(['n2<-n1:i1', 'n3<-n1:i1']);
    expect(b.recorder.from('n1')).toEqual([]);
  });

  it('a member that rejoins under a new incarnation is admitted and recorded', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const book = identity({ id: 'b', rejoined: false }, { n1: 'old' });
    a.transport.start({ onMessages: () => undefined, onSnapshot: () => undefined, identity: identity({ id: 'new', rejoined: true }, {}) });
    b.transport.start({ onMessages: (f, m) => b.recorder.onMessages(f, m), onSnapshot: () => undefined, identity: book });
    a.transport.send(n('n2'), text('hello'));
    await waitFor('delivery', () => b.recorder.from('n1').length === 1);
    expect(book.admit('n1', { id: 'new', rejoined: false })).toBeNull();
  });
});

describe('GrpcPeerTransport messaging', () => {
  it('delivers many messages in send order', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    await sendMany(a, 'n2', 'm', 3000, 250);
    await waitFor('3000 messages', () => b.recorder.from('n1').length >= 3000);
    expect(b.recorder.from('n1')).toEqual(names('m', 3000));
    expect(b.transport.stats().received).toBe(3000);
    expect(a.transport.stats()).toMatchObject({ sentMessages: 3000, dropped: 0 });
  });

  it('batches the messages queued in one turn into one frame', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    for (const m of names('x', 500)) a.transport.send(n('n2'), text(m));
    await waitFor('500 messages', () => b.recorder.from('n1').length >= 500);
    expect(a.transport.stats()).toMatchObject({ sentMessages: 500, sentFrames: 1 });
    expect(b.recorder.batches).toHaveLength(1);
    expect(b.recorder.from('n1')).toEqual(names('x', 500));
  });

  it('keeps order through write back-pressure with large messages', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const seen: number[] = [];
    b.transport.start({ onMessages: (_from, ms) => seen.push(...ms.map((m) => Buffer.from(m).readUInt32BE(0))), onSnapshot: () => {} });
    const count = 200;
    for (let i = 0; i < count; i++) {
      const m = Buffer.alloc(64 * 1024, i % 251);
      m.writeUInt32BE(i, 0);
      a.transport.send(n('n2'), m);
      if (i % 2 === 1) await new Promise((r) => setImmediate(r));
    }
    await waitFor(`${count} large messages`, () => seen.length >= count);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(a.transport.stats().dropped).toBe(0);
  });

  it('encodes at most bytesPerTurnMax per event-loop turn, a large message alone in its frame', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { limits: { bytesPerTurnMax: 64 * 1024 } });
    if (!a || !b) throw new Error('cluster');
    a.transport.send(n('n2'), text('heartbeat-before'));
    for (let i = 0; i < 3; i++) a.transport.send(n('n2'), Buffer.alloc(100 * 1024, i));
    a.transport.send(n('n2'), text('heartbeat-after'));
    // The link's flush ran in this turn's check phase, before this callback: the small
    // message and the first large one went out; the rest waits for later turns.
    await new Promise((r) => setImmediate(r));
    expect(a.transport.stats().sentFrames).toBe(2);
    await waitFor('5 messages', () => b.recorder.from('n1').length >= 5);
    const big = 100 * 1024;
    expect(b.recorder.batches.map((x) => x.messages.map((m) => m.length))).toEqual([[16], [big], [big], [big], [15]]);
    expect(a.transport.stats()).toMatchObject({ sentMessages: 5, sentFrames: 5, dropped: 0 });
  });

  it('an order-free message does not wait behind large ordered ones still on the wire', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const seen: string[] = [];
    b.transport.start({ onMessages: (_from, ms) => seen.push(...ms.map((m) => (m.length > 64 ? `big${m[0]}` : Buffer.from(m).toString()))), onSnapshot: () => {} });
    // Both lanes connected first, so the test measures the wire, not connection set-up.
    a.transport.send(n('n2'), text('ordered-hello'));
    a.transport.send(n('n2'), text('free-hello'), true);
    await waitFor('both lanes', () => seen.length >= 2);
    const big = 6 * 1024 * 1024;
    for (let i = 0; i < 4; i++) a.transport.send(n('n2'), Buffer.alloc(big, i));
    a.transport.send(n('n2'), text('ordered-after'));
    a.transport.send(n('n2'), text('heartbeat'), true);
    await waitFor('every message', () => seen.length >= 8);
    const at = (m: string): number => seen.indexOf(m);
    expect(seen.filter((m) => m.startsWith('big') || m === 'ordered-after')).toEqual(['big0', 'big1', 'big2', 'big3', 'ordered-after']);
    expect(at('heartbeat')).toBeLessThan(at('big3'));
  });

  it('keeps per-link order among three nodes sending to each other', async () => {
    const nodes = await h.cluster(['n1', 'n2', 'n3']);
    await Promise.all(nodes.flatMap((from) => nodes.filter((to) => to !== from).map((to) => sendMany(from, to.id, `${from.id}>${to.id}:`, 400, 37))));
    for (const to of nodes) {
      for (const from of nodes.filter((x) => x !== to)) {
        await waitFor(`${from.id}->${to.id}`, () => to.recorder.from(from.id).length >= 400);
        expect(to.recorder.from(from.id)).toEqual(names(`${from.id}>${to.id}:`, 400));
      }
    }
  });

  it('reconnects after the receiving server restarts and reports the peer state', async () => {
    const [a, b] = await restartedAfterBreak(10, 100, (a) => expect(a.transport.isReachable(n('n2'))).toBe(false));
    let i = 0;
    await waitFor('a message after the restart', () => {
      a.transport.send(n('n2'), text(`after${i++}`));
      return b.recorder.from('n1').some((m) => m.startsWith('after'));
    });
    await waitFor('n2 reachable again', () => a.transport.isReachable(n('n2')));
    expect(a.recorder.states.filter((s) => s.peer === 'n2').map((s) => s.reachable)).toEqual([false, true]);
    expect(a.logs.some((l) => l.includes('peer n2: stream broke'))).toBe(true);
  });

  it('a link that broke connects again with nothing to send, and reports the peer reachable', async () => {
    // A node that sends a peer nothing until it hears the peer is reachable (a Raft follower
    // takes no records from a leader it cannot answer) must still hear it.
    const [a, b] = await restartedAfterBreak(10, 50);
    await waitFor('n2 reachable again, n1 having sent nothing', () => a.transport.isReachable(n('n2')));
    expect(a.recorder.states.filter((s) => s.peer === 'n2').map((s) => s.reachable)).toEqual([false, true]);
    expect(b.recorder.from('n1')).toEqual(['before']);
  });

  it('a peer given a new link (removed and added again, or at a new address) is reported reachable', async () => {
    // A core told the old link was unreachable hears the new one is not: a new link reports only changes.
    const [a, b] = await restartedAfterBreak(60_000, 120_000);
    const peers = [a, b].map((x) => ({ id: x.id, address: x.address }));
    a.transport.setPeers(peers.filter((p) => p.id !== b.id));
    a.transport.setPeers(peers);
    expect(a.recorder.states.filter((s) => s.peer === 'n2').map((s) => s.reachable)).toEqual([false, true]);
    expect(a.transport.isReachable(n('n2'))).toBe(true);
    a.transport.send(n('n2'), text('on the new link'));
    await waitFor('a message on the new link', () => b.recorder.from('n1').includes('on the new link'));
  });

  it('a link backing off retries as soon as a frame from its peer says the peer is back', async () => {
    // A backoff far longer than the test waits: only the early retry can reconnect in time.
    const [a, b] = await restartedAfterBreak(60_000, 120_000);
    // n2 speaks first (its own link to n1 never broke): n1 hears it and retries at once.
    b.transport.send(n('n1'), text('n2 is back'));
    await waitFor('n2 heard', () => a.recorder.from('n2').includes('n2 is back'));
    let i = 0;
    await waitFor('a message after the restart', () => {
      a.transport.send(n('n2'), text(`after${i++}`));
      return b.recorder.from('n1').some((m) => m.startsWith('after'));
    });
    // The link marks itself reachable when the server's headers come back, which may be just
    // after the server has taken the first frame.
    await waitFor('n2 reachable again', () => a.transport.isReachable(n('n2')));
  });

  it('refuses a stream from another cluster, of another protocol, for another node, or from a stranger', async () => {
    const [b] = await h.cluster(['n2']);
    if (!b) throw new Error('cluster');
    const cases = [
      { self: 'n1', cluster: 'other', to: 'n2', expected: "stream is for cluster 'other', this node is in cluster 'test'" },
      { self: 'n1', cluster: 'test', protocol: 'zab', to: 'n2', expected: "stream speaks protocol 'zab', this node runs 'raft'" },
      { self: 'n1', cluster: 'test', to: 'n3', expected: "stream is meant for 'n3', this node is 'n2'" },
      { self: 'n9', cluster: 'test', to: 'n2', expected: "sender 'n9' is not a peer of this node" },
    ];
    for (const c of cases) {
      const sender = new GrpcPeerTransport({ self: n(c.self), cluster: c.cluster, protocol: c.protocol ?? 'raft', peers: [{ id: n(c.to), address: b.address }], stagingDir: h.tempDir(), log: () => {} });
      h.transports.push(sender);
      const states: boolean[] = [];
      sender.start({ onMessages: () => {}, onSnapshot: () => {}, onPeerState: (_p, r) => states.push(r) });
      sender.send(n(c.to), text('hello'));
      await waitFor(`refusal: ${c.expected}`, () => b.logs.some((l) => l.includes(c.expected)));
      await waitFor('sender sees the stream break', () => states.includes(false));
      await sender.close();
    }
    expect(b.recorder.batches).toEqual([]);
  });

  it('survives garbage and oversized frames and keeps serving good peers', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { limits: { frameBytesMax: 4096, snapshotChunkBytes: 1024 } });
    if (!a || !b) throw new Error('cluster');
    const method = peerMethods().stream;
    const raw = new grpc.Client(b.address, grpc.credentials.createInsecure());
    h.clients.push(raw);
    const garbage = [Buffer.from([0x0f, 0x01, 0x02]), Buffer.from([0x22, 0x10, 0x01]), crypto.randomBytes(64)];
    for (const bytes of garbage) {
      const status = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = raw.makeClientStreamRequest<Buffer, unknown>(method.path, (x: Buffer) => x, method.responseDeserialize, new grpc.Metadata(), deadline(), (err) => resolve(err));
        call.write(bytes);
        call.end();
      });
      // Random bytes may happen to decode; then the missing header refuses the stream.
      expect(status?.code).toBeDefined();
    }
    const oversized = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), deadline(), (err) => resolve(err));
      call.write({ from: 'n1', to: 'n2', cluster: 'test', protocol: 'raft', messages: [Buffer.alloc(3000), Buffer.alloc(3000)] });
    });
    expect(oversized?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(b.logs.some((l) => l.includes('exceeds frameBytesMax (4096)'))).toBe(true);

    a.transport.send(n('n2'), text('still fine'));
    await waitFor('a good message', () => b.recorder.from('n1').includes('still fine'));
    expect(b.recorder.from('n1')).toEqual(['still fine']);
  });

  it('a handler that throws does not break the stream', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    let calls = 0;
    b.transport.start({ onMessages: () => { calls++; throw new Error('driver bug'); }, onSnapshot: () => {} });
    a.transport.send(n('n2'), text('1'));
    await waitFor('first delivery', () => calls === 1);
    a.transport.send(n('n2'), text('2'));
    await waitFor('second delivery on the same stream', () => calls === 2);
    expect(b.logs.some((l) => l.includes('onMessages') && l.includes('driver bug'))).toBe(true);
  });
});

describe('GrpcPeerTransport queue bounds', () => {
  it('drops and counts messages beyond messagesQueuedMax', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { limits: { messagesQueuedMax: 10 } });
    if (!a || !b) throw new Error('cluster');
    for (const m of names('q', 25)) a.transport.send(n('n2'), text(m));
    expect(a.transport.stats().dropped).toBe(15);
    await waitFor('10 messages', () => b.recorder.from('n1').length >= 10);
    expect(b.recorder.from('n1')).toEqual(names('q', 10));
  });

  it('drops and counts messages beyond bytesQueuedMax or frameBytesMax', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { limits: { bytesQueuedMax: 1000, frameBytesMax: 2048, snapshotChunkBytes: 1024 } });
    if (!a || !b) throw new Error('cluster');
    for (let i = 0; i < 4; i++) a.transport.send(n('n2'), Buffer.alloc(400, i));
    a.transport.send(n('n2'), Buffer.alloc(3000));
    expect(a.transport.stats().dropped).toBe(3);
    a.transport.send(n('n3' as string), text('to a stranger'));
    expect(a.transport.stats().dropped).toBe(4);
    await waitFor('2 messages', () => b.recorder.from('n1').length >= 2);
    expect(b.recorder.batches.flatMap((x) => x.messages).map((m) => m.length)).toEqual([400, 400]);
  });
});

describe('GrpcPeerTransport snapshots', () => {
  it('streams a multi-chunk file, verified and staged for the receiver', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { limits: { snapshotChunkBytes: 64 * 1024 } });
    if (!a || !b) throw new Error('cluster');
    const file = path.join(h.tempDir(), 'snap.db');
    const data = crypto.randomBytes(1024 * 1024 + 123);
    fs.writeFileSync(file, data);
    await a.transport.sendSnapshot(n('n2'), text('meta@42'), file);
    expect(b.recorder.snapshots).toHaveLength(1);
    const got = b.recorder.snapshots[0];
    expect(got?.from).toBe('n1');
    expect(got?.message).toBe('meta@42');
    expect(path.dirname(got?.stagedFile ?? '')).toBe(b.stagingDir);
    expect(fs.readFileSync(got?.stagedFile ?? '').equals(data)).toBe(true);
  });

  it('sends an empty snapshot file', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const file = path.join(h.tempDir(), 'empty.db');
    fs.writeFileSync(file, '');
    await a.transport.sendSnapshot(n('n2'), text('meta@0'), file);
    expect(fs.statSync(b.recorder.snapshots[0]?.stagedFile ?? '').size).toBe(0);
  });

  /** Sends chunks by hand, bypassing the sender's own CRC, as a faulty or hostile peer could. */
  /** Sends `chunks`, then ends the call — or, with `cancelWhen`, cancels it once that holds. */
  async function rawSnapshot(to: Node, chunks: WireChunk[], cancelWhen?: () => boolean): Promise<WireSnapshotAck | grpc.ServiceError> {
    const method = peerMethods().installSnapshot;
    const raw = peerClient(to.address, {});
    h.clients.push(raw);
    return new Promise((resolve) => {
      const call = raw.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), deadline(), (err, ack) =>
        resolve(err ?? ack ?? {}),
      );
      for (const c of chunks) call.write(c);
      if (cancelWhen) void waitFor('the moment to cancel', cancelWhen).finally(() => call.cancel());
      else call.end();
    });
  }

  const header = { from: 'n1', to: 'n2', cluster: 'test', protocol: 'raft', message: text('meta') };

  it('rejects a snapshot whose CRC or size does not match, and deletes the partial file', async () => {
    const [, b] = await h.cluster(['n1', 'n2']);
    if (!b) throw new Error('cluster');
    const data = crypto.randomBytes(10_000);
    const crc = zlib.crc32(data);
    const badCrc = await rawSnapshot(b, [header, { data }, { done: true, crc32: (crc + 1) >>> 0, size: String(data.length) }]);
    expect(badCrc).toMatchObject({ accepted: false, error: expect.stringContaining('CRC-32 mismatch') });
    const badSize = await rawSnapshot(b, [header, { data }, { done: true, crc32: crc, size: '9999' }]);
    expect(badSize).toMatchObject({ accepted: false, error: expect.stringContaining('size mismatch') });
    const noEnd = await rawSnapshot(b, [header, { data }]);
    expect(noEnd).toMatchObject({ accepted: false, error: expect.stringContaining('ended before its last chunk') });
    const wrongTo = await rawSnapshot(b, [{ ...header, to: 'n3' }, { done: true, crc32: 0, size: '0' }]);
    expect(wrongTo).toMatchObject({ accepted: false, error: expect.stringContaining("meant for 'n3'") });
    expect(b.recorder.snapshots).toEqual([]);
    expect(fs.readdirSync(b.stagingDir)).toEqual([]);
  });

  it('deletes the partial file when the sender cancels mid-transfer', async () => {
    const [, b] = await h.cluster(['n1', 'n2']);
    if (!b) throw new Error('cluster');
    // Cancelled once the receiver holds a partial file (a fixed delay raced the connection on a loaded machine).
    await rawSnapshot(b, [header, { data: crypto.randomBytes(5000) }], () => fs.readdirSync(b.stagingDir).length > 0);
    await waitFor('the partial file is removed', () => b.logs.some((l) => l.includes('refused snapshot')));
    expect(fs.readdirSync(b.stagingDir)).toEqual([]);
    expect(b.recorder.snapshots).toEqual([]);
  });

  it('rejects with TransportError when the peer is down or the transport is closed', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    const file = path.join(h.tempDir(), 'snap.db');
    fs.writeFileSync(file, 'x');
    b.server.forceShutdown();
    const down = await a.transport.sendSnapshot(n('n2'), text('m'), file).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TransportError);
    expect((down as TransportError).code).toBe('unreachable');
    const missing = await a.transport.sendSnapshot(n('n2'), text('m'), path.join(h.tempDir(), 'nope')).catch((e: unknown) => e);
    expect((missing as TransportError).code).toBe('bad_frame');
    await a.transport.close();
    const closed = await a.transport.sendSnapshot(n('n2'), text('m'), file).catch((e: unknown) => e);
    expect((closed as TransportError).code).toBe('closed');
  });
});

describe('GrpcPeerTransport close', () => {
  it('ends outbound streams cleanly and drops later sends', async () => {
    const [a, b] = await h.cluster(['n1', 'n2']);
    if (!a || !b) throw new Error('cluster');
    a.transport.send(n('n2'), text('hi'));
    await waitFor('delivery', () => b.recorder.from('n1').length === 1);
    await a.transport.close();
    a.transport.send(n('n2'), text('late'));
    expect(a.transport.stats().dropped).toBe(1);
  });
});
