/**
 * A secured cluster of every protocol (--tls-cert, --tls-key, --tls-ca on each node): it
 * commits and serves over TLS with identical replicas; plaintext clients and peers get no
 * connection; a peer whose certificate the authority signed but which names no member is
 * refused and logged with the name it presented; each client role may make the calls
 * docs/architecture.md lists and gets PERMISSION_DENIED with a sentence for the others.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { QuorumliteClient } from '@quorumlite/client';
import { clientTlsOf, type LocalClusterTls } from '@quorumlite/cluster';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { certFilesOf, channelCredentials, makeCerts } from '@quorumlite/transport';
import { peerClient, peerMethods, type WireFrame } from '../../libs/transport/src/wire';
import { clusterForFile, failure, rowsPerNode, sleep, waitAllApplied } from './helpers';

const certsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-e2e-tls-certs-'));
makeCerts(certsDir, {
  nodes: ['n1', 'n2', 'n3', 'intruder'],
  clients: [
    { name: 'admin', role: 'admin' },
    { name: 'writer', role: 'write' },
    { name: 'reader', role: 'read' },
  ],
});
const tls: LocalClusterTls = { files: (name) => certFilesOf(certsDir, name), client: 'admin' };
afterAll(() => fs.rmSync(certsDir, { recursive: true, force: true }));

/** Opens a peer stream to `address` with `credentials`, writes one frame, and resolves with how it ended. */
function peerStream(address: string, credentials: grpc.ChannelCredentials, frame: WireFrame): Promise<grpc.ServiceError | null> {
  const method = peerMethods().stream;
  const client = peerClient(address, {}, credentials);
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (err) => {
      client.close();
      resolve(err);
    });
    call.on('error', () => undefined);
    call.write(frame);
    call.end();
  });
}

function clientAs(addresses: string[], name: string | null): QuorumliteClient {
  return new QuorumliteClient({ addresses, timeoutMs: 3_000, retryBudgetMs: 0, ...(name === null ? {} : { tls: clientTlsOf(tls, name) }) });
}

describe.each(PROTOCOL_NAMES)('a TLS %s cluster', (protocol) => {
  const ctx = clusterForFile(`tls-${protocol}`, { protocol, tls });

  it('commits and reads over TLS, replicas identical', async () => {
    const { cluster, client } = ctx();
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    let last = 0n;
    for (let i = 0; i < 20; i++) last = (await client.execute({ sql: 'INSERT INTO t (v) VALUES (?)', params: [`v${i}`] })).index;
    expect((await client.query('SELECT count(*) FROM t')).rows).toEqual([[20n]]);
    await waitAllApplied(cluster, last);
    const rows = [...(await rowsPerNode(cluster, client, 'SELECT id, v FROM t ORDER BY id')).values()];
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toEqual(rows[0]);
  });

  it('a plaintext client and a plaintext peer get no connection', async () => {
    const { cluster } = ctx();
    const plain = clientAs(cluster.addresses(), null);
    try {
      expect((await failure(plain.status(cluster.nodes[0]!.address))).grpcCode).toBe(grpc.status.UNAVAILABLE);
    } finally {
      plain.close();
    }
    const target = cluster.nodes[0]!;
    const err = await peerStream(target.address, grpc.credentials.createInsecure(), { from: 'n2', to: target.id, cluster: 'quorumlite', protocol });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('a peer with a certificate of the authority naming no member is refused and logged with that name', async () => {
    const { cluster } = ctx();
    const target = cluster.nodes[0]!;
    const f = tls.files('intruder');
    const credentials = channelCredentials({ ca: fs.readFileSync(f.ca), cert: fs.readFileSync(f.cert), key: fs.readFileSync(f.key) });
    const err = await peerStream(target.address, credentials, { from: 'n2', to: target.id, cluster: 'quorumlite', protocol });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err?.details).toBe("certificate CN 'intruder' OU 'node' names no current member");
    for (let i = 0; i < 50 && !fs.readFileSync(cluster.logFile(target.id), 'utf8').includes("presented CN 'intruder'"); i++) await sleep(50);
    const logged = fs.readFileSync(cluster.logFile(target.id), 'utf8').split('\n').filter((l) => l.includes("presented CN 'intruder'"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("refused peer stream from 'n2'");
  });

  it('read may Query and Status, write also Execute; a refused call says what role it needs', async () => {
    const { cluster } = ctx();
    const reader = clientAs(cluster.addresses(), 'reader');
    const writer = clientAs(cluster.addresses(), 'writer');
    const unary = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 3_000, retryBudgetMs: 0, pipelining: false, tls: clientTlsOf(tls, 'reader') });
    try {
      await writer.execute('CREATE TABLE IF NOT EXISTS r (v TEXT)');
      await writer.execute("INSERT INTO r VALUES ('w')");
      expect((await reader.query('SELECT v FROM r')).rows).toEqual([['w']]);
      expect((await reader.status()).nodeId).toMatch(/^n[123]$/);
      for (const c of [reader, unary]) {
        const denied = await failure(c.execute("INSERT INTO r VALUES ('r')"));
        expect(denied.grpcCode).toBe(grpc.status.PERMISSION_DENIED);
        expect(denied.code).toBe('permission_denied');
        expect(denied.message).toContain("Execute needs role 'write' or higher; certificate CN 'reader' OU 'read' has role 'read'");
      }
      expect((await writer.query('SELECT count(*) FROM r')).rows).toEqual([[1n]]);
    } finally {
      reader.close();
      writer.close();
      unary.close();
    }
  });

  it('Backup needs role admin: a writer is refused naming it, the admin gets a checked copy', async () => {
    const { cluster, client } = ctx();
    const writer = clientAs(cluster.addresses(), 'writer');
    const file = path.join(certsDir, `${protocol}-backup.sqlite`);
    try {
      const denied = await failure(writer.backup(file, { address: cluster.address('n1') }));
      expect(denied.code).toBe('permission_denied');
      expect(denied.message).toBe("Backup needs role 'admin' or higher; certificate CN 'writer' OU 'write' has role 'write'");
      expect(fs.existsSync(file)).toBe(false);
      const { index } = await client.execute('CREATE TABLE IF NOT EXISTS b (x)');
      await waitAllApplied(cluster, index);
      const copy = await client.backup(file, { address: cluster.address('n1'), timeoutMs: 20_000 });
      expect(copy.bytes).toBe(fs.statSync(file).size);
      expect(copy.appliedIndex).toBeGreaterThanOrEqual(index);
    } finally {
      writer.close();
    }
  });
});
