/**
 * End to end against real node processes (dist/apps/node/main.js): a 3-node cluster in a temp
 * dir, the client writing and reading through it, and a leader killed and restarted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from './cluster';

/** QL_E2E_DIST points the test at another build's dist folder; the default is the repository's. */
const DIST = process.env.QL_E2E_DIST ?? path.resolve(__dirname, '../../../dist');
const NODE_BIN = path.join(DIST, 'apps/node/main.js');

let tmp: string;
let cluster: LocalCluster | undefined;
let client: QuorumliteClient;

beforeAll(async () => {
  if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run npm run build first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cluster-e2e-'));
  cluster = await LocalCluster.start({ nodes: 3, dataDir: tmp, nodeBin: NODE_BIN });
  client = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 5_000, retryBudgetMs: 20_000 });
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function live(): LocalCluster {
  if (!cluster) throw new Error('cluster did not start');
  return cluster;
}

describe('a 3-node cluster', () => {
  it('agrees on one leader', async () => {
    const c = live();
    const leader = await c.waitForLeader();
    const statuses = await Promise.all(c.nodes.map((n) => c.status(n.id)));
    expect(statuses.map((s) => s.nodeId)).toEqual(['n1', 'n2', 'n3']);
    for (const s of statuses) expect(s.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    const leaderStatus = statuses.find((s) => s.nodeId === leader.id)!;
    expect(leaderStatus.role).toBe('leader');
    expect(leaderStatus.leaderAddress).toBe(leader.address);
  });

  it('writes and reads values exactly', async () => {
    await client.execute('CREATE TABLE kv (k TEXT PRIMARY KEY, i INTEGER, r REAL, b BLOB)');
    const w = await client.execute([
      { sql: 'INSERT INTO kv VALUES (?, ?, ?, ?)', params: ['max', 2n ** 63n - 1n, 1.5, new Uint8Array([0, 255])] },
      { sql: 'INSERT INTO kv VALUES (:k, :i, :r, :b)', params: { k: 'nulls', i: null, r: null, b: null } },
    ]);
    expect(w.results.map((r) => r.rowsAffected)).toEqual([1, 1]);
    expect(w.index).toBeGreaterThan(0n);
    const r = await client.query('SELECT k, i, r, b FROM kv ORDER BY k', [], { consistency: 'session', minIndex: w.index });
    expect(r.columns.map((c) => c.name)).toEqual(['k', 'i', 'r', 'b']);
    expect(r.rows).toEqual([
      ['max', 2n ** 63n - 1n, 1.5, new Uint8Array([0, 255])],
      ['nulls', null, null, null],
    ]);
    expect(r.index).toBeGreaterThanOrEqual(w.index);
  });

  it('reports SQL errors with their SQLite code and applies a request id once', async () => {
    const err = await client.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['max'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).code).toBe('sql_error');
    expect((err as QuorumliteError).sqliteCode).toMatch(/^SQLITE_CONSTRAINT/);

    const first = await client.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['once'] }, { requestId: 'e2e-once' });
    const again = await client.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['once'] }, { requestId: 'e2e-once' });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    const count = await client.query('SELECT count(*) FROM kv WHERE k = ?', ['once'], { consistency: 'session', minIndex: first.index });
    expect(count.rows).toEqual([[1n]]);
  });

  it('takes writes sent to a follower', async () => {
    const c = live();
    const leader = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader.id)!;
    const only = new QuorumliteClient({ addresses: [follower.address], timeoutMs: 5_000, retryBudgetMs: 10_000 });
    try {
      const w = await only.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['via-follower'] });
      const r = await only.query('SELECT count(*) FROM kv WHERE k = ?', ['via-follower'], { address: follower.address });
      expect(w.results[0]!.rowsAffected).toBe(1);
      expect(r.rows).toEqual([[1n]]);
    } finally {
      only.close();
    }
  });

  it('elects a new leader when the leader is killed, and the old one catches up after a restart', async () => {
    const c = live();
    const old = await c.waitForLeader();
    await c.kill(old.id);
    expect(c.isRunning(old.id)).toBe(false);
    const next = await c.waitForLeader(20_000, [old.id]);
    expect(next.id).not.toBe(old.id);

    const w = await client.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['after-failover'] });
    await c.restart(old.id);
    const r = await client.query('SELECT k FROM kv WHERE k = ?', ['after-failover'], { consistency: 'session', minIndex: w.index, address: old.address, timeoutMs: 10_000 });
    expect(r.rows).toEqual([['after-failover']]);
  });
});
