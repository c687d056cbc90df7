import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeId } from '@quorumlite/consensus';
import { makeCerts } from './certs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrpcPeerTransport } from './grpc-transport';
import { Harness, text, waitFor } from './test-kit';
import { peerCertificateRefusal, type TlsMaterial } from './tls';

const members = new Set(['n1', 'n2']);
const isMember = (id: string): boolean => members.has(id);

describe('peerCertificateRefusal', () => {
  it("accepts a member's certificate naming the member the stream speaks for", () => {
    expect(peerCertificateRefusal({ commonName: 'n1', unit: 'node' }, 'n1', isMember)).toBeNull();
  });

  it('refuses no certificate, a client certificate, a non-member, and a member speaking for another', () => {
    expect(peerCertificateRefusal(null, 'n1', isMember)).toMatch(/no certificate signed by the cluster authority/);
    expect(peerCertificateRefusal({ commonName: 'n1', unit: 'write' }, 'n1', isMember)).toMatch(/is not a member's certificate \(OU must be 'node'\)/);
    expect(peerCertificateRefusal({ commonName: 'n3', unit: 'node' }, 'n3', isMember)).toMatch(/certificate CN 'n3' OU 'node' names no current member/);
    expect(peerCertificateRefusal({ commonName: 'n2', unit: 'node' }, 'n1', isMember)).toMatch(/does not name 'n1'/);
  });
});

describe('GrpcPeerTransport with mutual TLS', () => {
  let h: Harness;
  let dir = '';
  const material = (name: string): TlsMaterial => ({
    ca: fs.readFileSync(path.join(dir, 'ca.crt')),
    cert: fs.readFileSync(path.join(dir, `${name}.crt`)),
    key: fs.readFileSync(path.join(dir, `${name}.key`)),
  });

  beforeEach(() => {
    h = new Harness();
    dir = h.tempDir();
    makeCerts(dir, { nodes: ['n1', 'n2', 'n3'], clients: [{ name: 'reader', role: 'read' }] });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('delivers messages between members over TLS', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { tls: material });
    if (!a || !b) throw new Error('cluster');
    a.transport.send(nodeId('n2'), text('over tls'));
    await waitFor('delivery', () => b.recorder.from('n1').includes('over tls'));
  });

  it("refuses, and logs once, a stream whose certificate does not name the member it claims, or is a client's", async () => {
    const [, b] = await h.cluster(['n1', 'n2'], { tls: material });
    if (!b) throw new Error('cluster');
    // n1 is a member; the sender claims to be n1 with the certificate of n3 (signed, not n1), then of a client.
    for (const presented of ['n3', 'reader']) {
      const sender = new GrpcPeerTransport({ self: nodeId('n1'), cluster: 'test', protocol: 'raft', peers: [{ id: nodeId('n2'), address: b.address }], stagingDir: h.tempDir(), log: () => {}, tls: material(presented) });
      h.transports.push(sender);
      sender.start({ onMessages: () => {}, onSnapshot: () => {} });
      for (let i = 0; i < 5; i++) {
        sender.send(nodeId('n2'), text('hello'));
        await new Promise((r) => setTimeout(r, 60));
      }
      await waitFor(`refusal of ${presented}`, () => b.logs.some((l) => l.includes(`presented CN '${presented}'`)));
      await sender.close();
    }
    const refusals = b.logs.filter((l) => l.includes('refused peer stream'));
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatch(/presented CN 'n3' OU 'node'\): certificate CN 'n3' OU 'node' names no current member/);
    expect(refusals[1]).toMatch(/presented CN 'reader' OU 'read'\): certificate CN 'reader' OU 'read' is not a member's certificate/);
    expect(b.recorder.batches).toEqual([]);
  });

  it("refuses a snapshot from a certificate naming no member before staging it, and one from a member's certificate claiming another", async () => {
    const [, b] = await h.cluster(['n1', 'n2', 'n3'], { tls: material });
    if (!b) throw new Error('cluster');
    const file = path.join(h.tempDir(), 'snap.db');
    fs.writeFileSync(file, Buffer.alloc(4096, 7));
    const cases = [
      { self: 'n1', cert: 'reader', why: "certificate CN 'reader' OU 'read' is not a member's certificate" },
      { self: 'n1', cert: 'n3', why: "certificate CN 'n3' OU 'node' does not name 'n1'" },
    ];
    for (const c of cases) {
      const sender = new GrpcPeerTransport({ self: nodeId(c.self), cluster: 'test', protocol: 'raft', peers: [{ id: nodeId('n2'), address: b.address }], stagingDir: h.tempDir(), log: () => {}, tls: material(c.cert) });
      h.transports.push(sender);
      sender.start({ onMessages: () => {}, onSnapshot: () => {} });
      await expect(sender.sendSnapshot(nodeId('n2'), text('meta'), file)).rejects.toThrow(c.why);
      await sender.close();
    }
    expect(b.recorder.snapshots).toEqual([]);
    expect(fs.readdirSync(b.stagingDir)).toEqual([]);
  });

  it('a plaintext peer gets no stream to a TLS node', async () => {
    const [b] = await h.cluster(['n2'], { tls: material });
    if (!b) throw new Error('cluster');
    const states: boolean[] = [];
    const sender = new GrpcPeerTransport({ self: nodeId('n1'), cluster: 'test', protocol: 'raft', peers: [{ id: nodeId('n2'), address: b.address }], stagingDir: h.tempDir(), log: () => {} });
    h.transports.push(sender);
    sender.start({ onMessages: () => {}, onSnapshot: () => {}, onPeerState: (_p, r) => states.push(r) });
    for (let i = 0; i < 5; i++) {
      sender.send(nodeId('n2'), text('hello'));
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(sender.isReachable(nodeId('n2'))).toBe(false);
    expect(b.recorder.batches).toEqual([]);
  });

  it('a server that lets connections without a client certificate in (for bearer tokens) still takes peer streams only from members', async () => {
    const [a, b] = await h.cluster(['n1', 'n2'], { tls: material, clientCertificateOptional: true });
    if (!a || !b) throw new Error('cluster');
    a.transport.send(nodeId('n2'), text('member over tls'));
    await waitFor('delivery', () => b.recorder.from('n1').includes('member over tls'));
    // A certificate naming n1 but signed by another authority: the handshake lets it in, and
    // grpc-js reports no verified certificate for it, so the stream is refused.
    const other = h.tempDir();
    makeCerts(other, { nodes: ['n1'], clients: [] });
    const forged: TlsMaterial = { ca: material('n1').ca, cert: fs.readFileSync(path.join(other, 'n1.crt')), key: fs.readFileSync(path.join(other, 'n1.key')) };
    const sender = new GrpcPeerTransport({ self: nodeId('n1'), cluster: 'test', protocol: 'raft', peers: [{ id: nodeId('n2'), address: b.address }], stagingDir: h.tempDir(), log: () => {}, tls: forged });
    h.transports.push(sender);
    sender.start({ onMessages: () => {}, onSnapshot: () => {} });
    for (let i = 0; i < 5; i++) {
      sender.send(nodeId('n2'), text('forged'));
      await new Promise((r) => setTimeout(r, 60));
    }
    await waitFor('refusal of the forged certificate', () => b.logs.some((l) => l.includes('no certificate signed by the cluster authority')));
    expect(b.recorder.from('n1')).not.toContain('forged');
  });
});
