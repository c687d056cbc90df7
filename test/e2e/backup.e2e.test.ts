/**
 * Backup and restore on real processes, every protocol: a backup taken from a data node while
 * sequential writes go on holds exactly the writes ordered at or below its applied index; a
 * new cluster started from it (LocalCluster's fromBackup, as `quorumlite cluster --from-backup`
 * passes it) has those rows on every data node and takes writes; its SQL text loads into a
 * fresh SQLite with the same rows; a witness refuses to back up; a damaged file stops a node at
 * boot with a sentence naming it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { QuorumliteClient, SqlValue } from '@quorumlite/client';
import { freePorts, topologyNodes, parseTopology, votersOnly, type LocalNodeSpec } from '@quorumlite/cluster';
import { PROTOCOL_NAMES, PROTOCOLS, type ProtocolModule } from '@quorumlite/consensus';
import { dumpSql } from '@quorumlite/sql';
import { NODE_BIN, sleep, startCluster, stopCluster, waitAllApplied, type ClusterContext } from './helpers';

/** Writes made before the backup starts and after it returned. */
const WRITES_BEFORE = 30;
const WRITES_AFTER = 20;
const NODE_START_TIMEOUT_MS = 20_000;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-e2e-backup-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** 2 data voters and a witness where the protocol takes witnesses, else 3 voters. */
function layoutFor(protocol: string): LocalNodeSpec[] {
  const takesWitness = (PROTOCOLS[protocol as keyof typeof PROTOCOLS] as ProtocolModule).roles.includes('witness');
  return topologyNodes(takesWitness ? parseTopology('2v1w') : votersOnly(3));
}

/** Each data node's rows of `s`, read from its own copy. */
async function dataRows(ctx: ClusterContext): Promise<Map<string, SqlValue[][]>> {
  const out = new Map<string, SqlValue[][]>();
  for (const n of ctx.cluster.nodes.filter((m) => m.role !== 'witness' && ctx.cluster.isRunning(m.id))) {
    out.set(n.id, (await ctx.client.query('SELECT k FROM s ORDER BY k', [], { consistency: 'stale', address: n.address })).rows);
  }
  return out;
}

describe.each(PROTOCOL_NAMES)('backup and restore on %s', (protocol) => {
  const nodes = layoutFor(protocol);
  const dataNodes = nodes.filter((n) => n.role !== 'witness').map((n) => n.id);
  const witness = nodes.find((n) => n.role === 'witness')?.id;
  const file = path.join(scratch, `${protocol}.sqlite`);
  /** Key → the log index its acknowledged insert was ordered at. */
  const indexOf = new Map<number, bigint>();
  let backupIndex = 0n;

  it('a backup taken under sequential writes holds exactly the writes at or below its index; a witness refuses', async () => {
    let ctx: ClusterContext | undefined;
    try {
      ctx = await startCluster(`backup-${protocol}`, { protocol, nodes });
      const { cluster, client } = ctx;
      await client.execute('CREATE TABLE s (k INTEGER PRIMARY KEY)');
      let writing = true;
      const load = (async (c: QuorumliteClient) => {
        for (let k = 1; writing; k++) indexOf.set(k, (await c.execute({ sql: 'INSERT INTO s VALUES (?)', params: [k] })).index);
      })(client);
      const until = async (count: number): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while (indexOf.size < count) {
          if (Date.now() > deadline) throw new Error(`only ${indexOf.size} of ${count} writes acknowledged in 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await until(WRITES_BEFORE);
      // From a follower that keeps data, as an operator would, so the leader's writes go on.
      const leader = await cluster.waitForLeader();
      const from = dataNodes.find((id) => id !== leader.id) ?? dataNodes[0]!;
      const result = await client.backup(file, { address: cluster.address(from), timeoutMs: 30_000 });
      const countAtBackup = indexOf.size;
      await until(countAtBackup + WRITES_AFTER);
      writing = false;
      await load;
      backupIndex = result.appliedIndex;
      expect(result).toMatchObject({ nodeId: from, protocol, bytes: fs.statSync(file).size });

      const expected = [...indexOf].filter(([, index]) => index <= backupIndex).map(([k]) => k);
      expect(expected.length).toBeGreaterThanOrEqual(1);
      expect(expected.length).toBeLessThan(indexOf.size);
      const db = new Database(file, { readonly: true });
      try {
        expect(db.prepare('SELECT k FROM s ORDER BY k').pluck().all()).toEqual(expected);
        expect(db.prepare('SELECT applied_index FROM _quorumlite_meta').pluck().get()).toBe(Number(backupIndex));
      } finally {
        db.close();
      }

      if (witness !== undefined) {
        await expect(client.backup(path.join(scratch, 'from-witness.sqlite'), { address: cluster.address(witness) })).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringContaining(`node ${witness} is a witness: it keeps no database to back up`),
        });
        expect(fs.existsSync(path.join(scratch, 'from-witness.sqlite'))).toBe(false);
      }
    } finally {
      await stopCluster(ctx);
    }
  }, 120_000);

  it('its SQL text loads into a fresh SQLite with the same rows', () => {
    let text = '';
    dumpSql(file, (t) => (text += t));
    const fresh = new Database(':memory:');
    fresh.exec(text);
    expect(fresh.prepare('SELECT k FROM s ORDER BY k').pluck().all()).toEqual([...indexOf].filter(([, i]) => i <= backupIndex).map(([k]) => k));
  });

  it('a new cluster from it starts with exactly those rows on every data node, agrees, and takes writes', async () => {
    let ctx: ClusterContext | undefined;
    try {
      ctx = await startCluster(`restore-${protocol}`, { protocol, nodes, fromBackup: file });
      const expected = [...indexOf].filter(([, index]) => index <= backupIndex).map(([k]) => [BigInt(k)]);
      const before = await dataRows(ctx);
      expect([...before.keys()].sort()).toEqual([...dataNodes].sort());
      for (const [id, rows] of before) expect(rows, `rows on ${id}`).toEqual(expected);

      const w = await ctx.client.execute({ sql: 'INSERT INTO s VALUES (?)', params: [1_000_000] });
      await waitAllApplied(ctx.cluster, w.index);
      for (const [id, rows] of await dataRows(ctx)) expect(rows, `rows on ${id}`).toEqual([...expected, [1_000_000n]]);
      if (protocol === 'raft') await addAfterRestore(ctx, [...expected, [1_000_000n]]);
    } finally {
      await stopCluster(ctx);
    }
  }, 120_000);
});

/**
 * A node added to a restored cluster without the backup would apply the cluster's records to an
 * empty database: its peers refuse it, naming why, and it applies nothing. One started with the
 * backup joins and holds the same rows.
 */
async function addAfterRestore(ctx: ClusterContext, expected: SqlValue[][]): Promise<void> {
  const bare = await ctx.cluster.addNode('n8', undefined, null);
  await ctx.client.changeMembers({ kind: 'add', id: 'n8', address: bare.address, role: 'observer' });
  const backup = 'from the backup with SHA-256 [0-9a-f]{16}…';
  const why = new RegExp(`database began (empty|${backup}), and this node's began (${backup}|empty): every data node of a cluster restored from a backup, and every node added to it later, starts with --from-backup of that same file`);
  const deadline = Date.now() + 20_000;
  while (!why.test(ctx.cluster.logTail('n8', 200))) {
    if (Date.now() > deadline) throw new Error(`n8 was not refused for its origin:\n${ctx.cluster.logTail('n8', 30)}`);
    await sleep(100);
  }
  expect((await ctx.client.status(bare.address)).appliedIndex).toBe(0n);
  await ctx.client.changeMembers({ kind: 'remove', id: 'n8' });
  await ctx.cluster.kill('n8', 'SIGTERM');

  const restored = await ctx.cluster.addNode('n9');
  await ctx.client.changeMembers({ kind: 'add', id: 'n9', address: restored.address, role: 'observer' });
  const w = await ctx.client.execute({ sql: 'INSERT INTO s VALUES (?)', params: [2_000_000] });
  await waitAllApplied(ctx.cluster, w.index);
  const rows = await dataRows(ctx);
  expect([...rows.keys()]).toContain('n9');
  for (const [id, held] of rows) expect(held, `rows on ${id}`).toEqual([...expected, [2_000_000n]]);
}

describe('a damaged backup', () => {
  it('stops a node at boot with a sentence naming the file, and leaves no database behind', async () => {
    const good = path.join(scratch, `${PROTOCOL_NAMES[0]}.sqlite`);
    expect(fs.existsSync(good)).toBe(true);
    const truncated = path.join(scratch, 'truncated.sqlite');
    fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, Math.floor(fs.statSync(good).size / 2)));
    const [port] = await freePorts(1);
    const dataDir = path.join(scratch, 'damaged-node');
    const boot = (from: string) =>
      spawnSync(process.execPath, [NODE_BIN, '--node-id', 'n1', '--listen', `127.0.0.1:${port}`, '--members', `n1=127.0.0.1:${port}`, '--data-dir', dataDir, '--from-backup', from], { encoding: 'utf8', timeout: NODE_START_TIMEOUT_MS });
    const r = boot(truncated);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/failed to start: fromBackup: backup .*truncated\.sqlite is not a usable quorumlite database/);
    expect(fs.existsSync(path.join(dataDir, 'db.sqlite'))).toBe(false);
  }, 30_000);
});
