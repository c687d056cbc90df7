/**
 * Bearer tokens, end to end, for every protocol: tokens made by `quorumlite tokens create` in a
 * file every node reads (--auth-tokens). Each role may make the calls docs/architecture.md lists
 * and is refused the others with a sentence; a call without a token may ask Status only; a write
 * sent to a follower is forwarded with the caller's token and committed; a revoked token is
 * refused once the nodes see the file change, without a restart. Then a TLS cluster with tokens:
 * a client holding only the authority's certificate and a token is served, one with neither a
 * token nor a certificate may ask Status only.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { type LocalClusterTls } from '@quorumlite/cluster';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { certFilesOf, makeCerts } from '@quorumlite/transport';
import { clusterForFile, failure, rowsPerNode, sleep, waitAllApplied } from './helpers';

const CLI = path.resolve(__dirname, '../../dist/apps/cli/main.js');
const run = promisify(execFile);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-e2e-tokens-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A token file per cluster, made by the CLI; the tokens it printed, by role. */
async function tokenFile(name: string): Promise<{ file: string; token: Record<'read' | 'write' | 'admin', string> }> {
  const file = path.join(dir, `${name}.json`);
  const token = { read: '', write: '', admin: '' };
  for (const role of ['read', 'write', 'admin'] as const) {
    const { stdout } = await run(process.execPath, [CLI, 'tokens', 'create', '--file', file, '--name', `app-${role}`, '--role', role]);
    token[role] = stdout.trim();
  }
  return { file, token };
}

describe.each(PROTOCOL_NAMES)('bearer tokens on a %s cluster', (protocol) => {
  let made: Awaited<ReturnType<typeof tokenFile>> | undefined;
  // Registered before the cluster's own hook: the nodes read the file at boot.
  beforeAll(async () => {
    made = await tokenFile(protocol);
  }, 30_000);
  const ctx = clusterForFile(`tokens-${protocol}`, { protocol, nodeArgs: ['--auth-tokens', path.join(dir, `${protocol}.json`)] });
  const as = (role: 'read' | 'write' | 'admin' | null, token?: string): QuorumliteClient =>
    new QuorumliteClient({
      addresses: ctx().cluster.addresses(),
      timeoutMs: 5_000,
      retryBudgetMs: 10_000,
      ...(token !== undefined ? { token } : role !== null ? { token: made!.token[role] } : {}),
    });

  it('the token file was made by the CLI, keeping no token itself', async () => {
    expect(JSON.parse(fs.readFileSync(made!.file, 'utf8')).tokens.map((t: { name: string; role: string }) => `${t.name}:${t.role}`)).toEqual(['app-read:read', 'app-write:write', 'app-admin:admin']);
    expect(fs.readFileSync(made!.file, 'utf8')).not.toContain(made!.token.admin);
    const { stdout } = await run(process.execPath, [CLI, 'tokens', 'list', '--file', made!.file]);
    expect(stdout).toMatch(/app-admin\s+admin/);
  });

  it('without a token only Status answers; every other call is UNAUTHENTICATED with a sentence', async () => {
    const anon = as(null);
    try {
      expect((await anon.status()).nodeId).toMatch(/^n\d$/);
      const e = await failure(anon.execute('CREATE TABLE nope (id INTEGER)'));
      expect(e.grpcCode).toBe(grpc.status.UNAUTHENTICATED);
      expect(e.message).toContain("Execute needs a bearer token (--token) with role 'write' or higher; the call carried none");
      expect((await failure(anon.query('SELECT 1'))).grpcCode).toBe(grpc.status.UNAUTHENTICATED);
      expect((await failure(anon.members())).grpcCode).toBe(grpc.status.UNAUTHENTICATED);
      const unknown = await failure(as(null, `qlt_${'x'.repeat(43)}`).query('SELECT 1'));
      expect(unknown.message).toContain('the bearer token is not one this node accepts: unknown or revoked');
    } finally {
      anon.close();
    }
  });

  it('each role makes its calls; a write sent to every node, followers included, commits with the caller token', async () => {
    const { cluster } = ctx();
    const writer = as('write');
    const reader = as('read');
    const admin = as('admin');
    try {
      await writer.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      let last = 0n;
      for (const node of cluster.nodes) {
        last = (await writer.execute({ sql: 'INSERT INTO t (v) VALUES (?)', params: [node.id] }, { address: node.address })).index;
      }
      expect((await reader.query('SELECT v FROM t ORDER BY id')).rows).toEqual(cluster.nodes.map((n) => [n.id]));
      const denied = await failure(reader.execute("INSERT INTO t (v) VALUES ('r')"));
      expect(denied.grpcCode).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied.message).toContain("Execute needs role 'write' or higher; token 'app-read' has role 'read'");
      expect((await failure(writer.transferLeadership())).message).toContain("TransferLeadership needs role 'admin' or higher; token 'app-write' has role 'write'");
      expect((await admin.members()).members).toHaveLength(3);
      const backup = path.join(dir, `${protocol}.sqlite`);
      expect((await admin.backup(backup, { timeoutMs: 20_000 })).bytes).toBeGreaterThan(0);
      await waitAllApplied(cluster, last);
      const rows = [...(await rowsPerNode(cluster, reader, 'SELECT id, v FROM t ORDER BY id')).values()];
      expect(rows).toHaveLength(3);
      for (const r of rows) expect(r).toEqual(rows[0]);
    } finally {
      for (const c of [writer, reader, admin]) c.close();
    }
  });

  it('the CLI takes the token from --token or QUORUMLITE_TOKEN, and says what is missing without one', async () => {
    const addr = ctx().cluster.addresses().join(',');
    const viaFlag = await run(process.execPath, [CLI, 'exec', '--addr', addr, '--token', made!.token.write, "INSERT INTO t (v) VALUES ('cli')"]);
    expect(viaFlag.stdout).toMatch(/1 row/);
    const viaEnv = await run(process.execPath, [CLI, 'query', '--addr', addr, "SELECT count(*) FROM t WHERE v = 'cli'"], { env: { ...process.env, QUORUMLITE_TOKEN: made!.token.read } });
    expect(viaEnv.stdout).toContain('1');
    const refused = await run(process.execPath, [CLI, 'query', '--addr', addr, '--retry-ms', '0', 'SELECT 1']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain("Query needs a bearer token (--token) with role 'read' or higher");
  });

  it('a revoked token is refused once the nodes see the file change, without a restart', async () => {
    await run(process.execPath, [CLI, 'tokens', 'revoke', '--file', made!.file, '--name', 'app-write']);
    const writer = as('write');
    try {
      let last: QuorumliteError | null = null;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
        last = await writer.execute("INSERT INTO t (v) VALUES ('after revoke')").then(
          () => null,
          (e: unknown) => (e instanceof QuorumliteError ? e : null),
        );
        if (last !== null) break;
      }
      expect(last?.grpcCode).toBe(grpc.status.UNAUTHENTICATED);
      expect(last?.message).toContain('unknown or revoked');
    } finally {
      writer.close();
    }
  });
});

describe('bearer tokens over TLS', () => {
  const certsDir = path.join(dir, 'certs');
  makeCerts(certsDir, { nodes: ['n1', 'n2', 'n3'], clients: [{ name: 'admin', role: 'admin' }] });
  const tls: LocalClusterTls = { files: (name) => certFilesOf(certsDir, name), client: 'admin' };
  let made: Awaited<ReturnType<typeof tokenFile>> | undefined;
  beforeAll(async () => {
    made = await tokenFile('tls');
  }, 30_000);
  const ctx = clusterForFile('tokens-tls', { protocol: 'raft', tls, nodeArgs: ['--auth-tokens', path.join(dir, 'tls.json')] });
  const caOnly = (token?: string): QuorumliteClient =>
    new QuorumliteClient({ addresses: ctx().cluster.addresses(), timeoutMs: 5_000, retryBudgetMs: 10_000, tls: { ca: fs.readFileSync(certFilesOf(certsDir, 'n1').ca) }, ...(token ? { token } : {}) });

  it('a client with the authority and a token, and no certificate of its own, is served by its token role', async () => {
    const { cluster } = ctx();
    const writer = caOnly(made!.token.write);
    try {
      await writer.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      const last = (await writer.execute('INSERT INTO t DEFAULT VALUES', { address: cluster.nodes[2]!.address })).index;
      await waitAllApplied(cluster, last);
      expect((await writer.query('SELECT count(*) FROM t')).rows).toEqual([[1n]]);
      expect((await failure(writer.backup(path.join(dir, 'tls.sqlite')))).grpcCode).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      writer.close();
    }
  });

  it('with neither a token nor a certificate, only Status answers', async () => {
    const anon = caOnly();
    try {
      expect((await anon.status()).nodeId).toMatch(/^n\d$/);
      const e = await failure(anon.query('SELECT 1'));
      expect(e.grpcCode).toBe(grpc.status.UNAUTHENTICATED);
      expect(e.message).toContain('needs a bearer token (--token) or a client certificate signed by the cluster authority');
    } finally {
      anon.close();
    }
  });
});
