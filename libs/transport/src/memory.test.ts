import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeId } from '@quorumlite/consensus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from './memory';
import { Harness, Recorder, text, waitFor } from './test-kit';
import { TransportError } from './types';

const n = nodeId;
const turn = () => new Promise((r) => setImmediate(r));

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  await h.cleanup();
});

function network(ids: string[], limits?: { messagesQueuedMax?: number }) {
  const net = new MemoryNetwork({ stagingDir: h.tempDir(), limits });
  const nodes = ids.map((id) => {
    const transport = net.transport(n(id));
    const recorder = new Recorder();
    transport.start(recorder);
    h.transports.push(transport);
    return { id, transport, recorder };
  });
  return { net, nodes };
}

describe('MemoryNetwork', () => {
  it('delivers per link in order, one batch per turn', async () => {
    const { nodes } = network(['n1', 'n2']);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    for (let i = 0; i < 100; i++) a.transport.send(n('n2'), text(`m${i}`));
    expect(b.recorder.batches).toEqual([]); // nothing before the flush turn
    await turn();
    expect(b.recorder.batches).toHaveLength(1);
    expect(b.recorder.from('n1')).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(a.transport.stats()).toMatchObject({ sentMessages: 100, sentFrames: 1, dropped: 0 });
    expect(b.transport.stats().received).toBe(100);
  });

  it('gives a restarted node a new transport once its old one is closed; the old one stays closed', async () => {
    const { net, nodes } = network(['n1', 'n2']);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    expect(() => net.restart(n('n2'))).toThrow(/memory transport of 'n2' is still open/);
    await b.transport.close();
    const again = net.restart(n('n2'));
    const recorder = new Recorder();
    again.start(recorder);
    h.transports.push(again);
    expect(net.transport(n('n2'))).toBe(again);
    a.transport.send(n('n2'), text('after'));
    b.transport.send(n('n1'), text('from the old one'));
    await turn();
    expect(recorder.from('n1')).toEqual(['after']);
    expect(a.recorder.from('n2')).toEqual([]);
  });

  it('bounds the queue per peer and counts drops', async () => {
    const { nodes } = network(['n1', 'n2'], { messagesQueuedMax: 5 });
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    for (let i = 0; i < 8; i++) a.transport.send(n('n2'), text(`m${i}`));
    await turn();
    expect(a.transport.stats().dropped).toBe(3);
    expect(b.recorder.from('n1')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('partition cuts both directions until heal, and reports peer state', async () => {
    const { net, nodes } = network(['n1', 'n2', 'n3']);
    const [a, b, c] = nodes;
    if (!a || !b || !c) throw new Error('nodes');
    net.partition([n('n1')], [n('n2'), n('n3')]);
    a.transport.send(n('n2'), text('lost'));
    b.transport.send(n('n1'), text('lost'));
    b.transport.send(n('n3'), text('kept'));
    await turn();
    expect(a.recorder.batches).toEqual([]);
    expect(b.recorder.batches).toEqual([]);
    expect(c.recorder.from('n2')).toEqual(['kept']);
    expect(a.transport.isReachable(n('n2'))).toBe(false);
    expect(a.transport.stats().dropped).toBe(1);
    expect(a.recorder.states).toEqual([
      { peer: 'n2', reachable: false },
      { peer: 'n3', reachable: false },
    ]);

    net.heal();
    a.transport.send(n('n2'), text('back'));
    await turn();
    expect(b.recorder.from('n1')).toEqual(['back']);
    expect(a.transport.isReachable(n('n2'))).toBe(true);
    expect(a.recorder.states.slice(2)).toEqual([
      { peer: 'n2', reachable: true },
      { peer: 'n3', reachable: true },
    ]);
  });

  it('drops messages already queued when the link is cut before delivery', async () => {
    const { net, nodes } = network(['n1', 'n2']);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    a.transport.send(n('n2'), text('in flight'));
    net.isolate(n('n2'));
    await turn();
    expect(b.recorder.batches).toEqual([]);
    expect(a.transport.stats().dropped).toBe(1);
  });

  it('copies a snapshot into the staging dir, or rejects when unreachable', async () => {
    const { net, nodes } = network(['n1', 'n2']);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    const file = path.join(h.tempDir(), 'snap.db');
    fs.writeFileSync(file, 'snapshot bytes');
    await a.transport.sendSnapshot(n('n2'), text('meta'), file);
    const staged = b.recorder.snapshots[0];
    expect(staged?.message).toBe('meta');
    expect(fs.readFileSync(staged?.stagedFile ?? '', 'utf8')).toBe('snapshot bytes');

    net.isolate(n('n1'));
    const e = await a.transport.sendSnapshot(n('n2'), text('meta'), file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).code).toBe('unreachable');
  });

  it('a closed transport neither sends nor receives', async () => {
    const { nodes } = network(['n1', 'n2']);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('nodes');
    await b.transport.close();
    a.transport.send(n('n2'), text('x'));
    await waitFor('flush', () => a.transport.stats().dropped === 1, 1_000);
    expect(b.recorder.batches).toEqual([]);
  });
});
