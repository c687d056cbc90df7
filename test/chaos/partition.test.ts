/**
 * Real node processes talking through the proxy mesh: every peer link carries traffic, a
 * partition that isolates the leader makes the other side elect a new one, and after the heal
 * the old leader catches up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumliteClient } from '../../libs/client/src';
import { LocalCluster } from '../../libs/cluster/src';
import { ProxyMesh, splitGrudge } from '@quorumlite/chaos';

const NODE_BIN = path.resolve(__dirname, '../../dist/apps/node/main.js');
const IDS = ['n1', 'n2', 'n3'];

let tmp: string;
let mesh: ProxyMesh | undefined;
let cluster: LocalCluster | undefined;
let client: QuorumliteClient | undefined;

beforeAll(async () => {
  if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run \`npx nest build node\` first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-chaos-partition-'));
  mesh = await ProxyMesh.start(IDS);
  cluster = await LocalCluster.start({ nodes: 3, dataDir: tmp, nodeBin: NODE_BIN, peerAddress: mesh.peerAddress });
  client = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 3_000, retryBudgetMs: 15_000 });
});

afterAll(async () => {
  client?.close();
  mesh?.healAll();
  await cluster?.stop();
  await mesh?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function live(): { mesh: ProxyMesh; cluster: LocalCluster; client: QuorumliteClient } {
  if (!mesh || !cluster || !client) throw new Error('setup failed');
  return { mesh, cluster, client };
}

describe('a 3-node cluster behind the proxy mesh', () => {
  it('routes every peer link through its proxy', async () => {
    const { mesh, cluster, client } = live();
    await client.execute('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const w = await client.execute({ sql: 'INSERT INTO t VALUES (1, ?)', params: ['one'] });
    for (const node of cluster.nodes) {
      const r = await client.query('SELECT v FROM t WHERE k = 1', [], { consistency: 'session', minIndex: w.index, address: node.address });
      expect(r.rows).toEqual([['one']]);
    }
    const leader = await cluster.waitForLeader();
    // The leader dialed each follower through the proxy that stands for that link.
    for (const to of IDS.filter((id) => id !== leader.id)) expect(mesh.proxy(leader.id, to).stats.bytesForwarded).toBeGreaterThan(0);
  });

  it('isolating the leader elects another; after the heal the old leader catches up', async () => {
    const { mesh, cluster, client } = live();
    const old = await cluster.waitForLeader();
    mesh.apply(splitGrudge([[old.id], IDS.filter((id) => id !== old.id)]));
    const next = await cluster.waitForLeader(15_000, [old.id]);
    expect(next.id).not.toBe(old.id);
    const w = await client.execute({ sql: 'INSERT INTO t VALUES (2, ?)', params: ['during'] });
    // The isolated node cannot have it.
    const stale = await client.query('SELECT count(*) FROM t WHERE k = 2', [], { consistency: 'stale', address: old.address });
    expect(stale.rows).toEqual([[0n]]);
    mesh.healAll();
    const r = await client.query('SELECT v FROM t WHERE k = 2', [], { consistency: 'session', minIndex: w.index, address: old.address, timeoutMs: 10_000 });
    expect(r.rows).toEqual([['during']]);
  });
});
