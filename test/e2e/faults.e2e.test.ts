/**
 * Leader failure under a write load, restart and catch-up, and catch-up from a snapshot
 * after the log was compacted while a node was down — for every registered protocol.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { rowsPerNode, sleep, startCluster, startWriteLoad, stopCluster, waitAllApplied } from './helpers';

type Ctx = Awaited<ReturnType<typeof startCluster>>;
let ctx: Ctx | undefined;

afterEach(async () => {
  await stopCluster(ctx);
  ctx = undefined;
}, 30_000);

describe.each(PROTOCOL_NAMES)('faults on a 3-node %s cluster', (protocol) => {
  it('survives kill -9 of the leader under load: no acknowledged write is lost, the node catches up after restart', async () => {
    ctx = await startCluster(`kill-${protocol}`, { protocol });
    const { cluster, client } = ctx;
    await client.execute('CREATE TABLE w(k TEXT PRIMARY KEY, writer INTEGER)');
    const load = startWriteLoad(client, 8);
    const { acked } = load;
    await sleep(1_000);
    const oldLeader = await cluster.waitForLeader();
    const ackedBeforeKill = acked.size;
    await cluster.kill(oldLeader.id, 'SIGKILL');
    const newLeader = await cluster.waitForLeader(15_000, [oldLeader.id]);
    expect(newLeader.id).not.toBe(oldLeader.id);
    const ackedAtElection = acked.size;
    await sleep(1_500);
    expect(acked.size).toBeGreaterThan(ackedAtElection); // writes continue on the new leader
    await cluster.restart(oldLeader.id);
    await sleep(1_000);
    await load.stop();
    expect(ackedBeforeKill).toBeGreaterThan(0);

    const commit = (await client.status(newLeader.address)).commitIndex;
    await waitAllApplied(cluster, commit);
    const rows = await rowsPerNode(cluster, client, 'SELECT k FROM w ORDER BY k');
    expect(rows.size).toBe(3);
    const [first, ...rest] = [...rows.values()];
    for (const other of rest) expect(other).toEqual(first);
    const present = new Set(first!.map((r) => String(r[0])));
    for (const k of acked) expect(present.has(k), `acknowledged write ${k} is missing`).toBe(true);
    // writes whose outcome was unknown may or may not be there, but never twice (primary key)
    expect(present.size).toBeGreaterThanOrEqual(acked.size);
    expect(present.size).toBeLessThanOrEqual(acked.size + load.failures.length);
  }, 120_000);

  it('catches up a node that was down while the log was compacted, from a snapshot', async () => {
    // Two records kept behind each cut, and at most twenty for a lagging peer: the node down
    // since the first records is past that from the leader's second snapshot on (index 40 or more).
    ctx = await startCluster(`snap-${protocol}`, { protocol, nodeArgs: ['--snapshot-every-entries', '20', '--snapshot-retain-entries', '2'] });
    const { cluster, client } = ctx;
    await client.execute('CREATE TABLE s(n INTEGER PRIMARY KEY, pad TEXT)');
    const leader = await cluster.waitForLeader();
    const down = cluster.nodes.find((n) => n.id !== leader.id)!;
    await cluster.kill(down.id, 'SIGKILL');
    for (let i = 0; i < 60; i++) {
      await client.execute(
        Array.from({ length: 5 }, (_, j) => ({ sql: 'INSERT INTO s VALUES (?, ?)', params: [i * 5 + j, 'p'.repeat(100)] })),
      );
    }
    const leaderStatus = await client.status(leader.address);
    expect(leaderStatus.snapshotIndex).toBeGreaterThan(0n);
    await cluster.restart(down.id);
    await waitAllApplied(cluster, leaderStatus.commitIndex);
    const downStatus = await cluster.status(down.id);
    expect(downStatus.snapshotIndex).toBeGreaterThan(0n);
    const rows = await rowsPerNode(cluster, client, 'SELECT n, pad FROM s ORDER BY n');
    expect(rows.get(down.id)).toHaveLength(300);
    expect(rows.get(down.id)).toEqual(rows.get(leader.id));
  }, 120_000);

  it('cuts the log without copying the database, and copies it only for a peer behind the cut', async () => {
    // 20 records kept behind each cut, and up to ten times that for a follower that lags while
    // it answers: a follower a little behind never needs a copy.
    ctx = await startCluster(`snapsize-${protocol}`, { protocol, nodeArgs: ['--snapshot-every-entries', '20', '--snapshot-retain-entries', '20'] });
    const { cluster, client } = ctx;
    await client.execute([{ sql: 'CREATE TABLE big(b BLOB)' }, { sql: 'INSERT INTO big VALUES (randomblob(4000000))' }]);
    // 100 small records against a 4 MB database: five snapshots' worth of records, and not one copy.
    for (let i = 0; i < 100; i++) await client.execute({ sql: 'INSERT INTO big VALUES (?)', params: [`small ${i}`] });
    const status = await client.status((await cluster.waitForLeader()).address);
    await waitAllApplied(cluster, status.commitIndex);
    const deadline = Date.now() + 20_000;
    const snapshotIndexes = async (): Promise<bigint[]> => Promise.all(cluster.nodes.map(async (n) => (await cluster.status(n.id)).snapshotIndex));
    while ((await snapshotIndexes()).some((i) => i < 60n) && Date.now() < deadline) await sleep(100);
    for (const index of await snapshotIndexes()) expect(index).toBeGreaterThanOrEqual(60n);
    for (const n of cluster.nodes) expect(storedSnapshots(n.dataDir), `${n.id} copied its database with no peer behind`).toEqual([]);

    // A node killed and restarted within that bound catches up from the records the leader kept
    // for it (100 records behind, where each cut keeps 20): still no copy.
    const leader = await cluster.waitForLeader();
    const behind = cluster.nodes.find((n) => n.id !== leader.id)!;
    const leaderDir = cluster.nodes.find((n) => n.id === leader.id)!.dataDir;
    await cluster.kill(behind.id, 'SIGKILL');
    for (let i = 0; i < 100; i++) await client.execute({ sql: 'INSERT INTO big VALUES (?)', params: [`held ${i}`] });
    await cluster.restart(behind.id);
    await waitAllApplied(cluster, (await client.status((await cluster.waitForLeader()).address)).commitIndex);
    expect(storedSnapshots(leaderDir), 'the leader copied its database for a follower it kept records for').toEqual([]);

    // One whose log is gone (300 records behind, past the bound) gets a copy the leader makes when it asks.
    await cluster.kill(behind.id, 'SIGKILL');
    for (let i = 0; i < 300; i++) await client.execute({ sql: 'INSERT INTO big VALUES (?)', params: [`after ${i}`] });
    await cluster.restart(behind.id);
    const after = await client.status((await cluster.waitForLeader()).address);
    await waitAllApplied(cluster, after.commitIndex);
    expect(storedSnapshots(leaderDir).length).toBeGreaterThan(0);
    const rows = await rowsPerNode(cluster, client, 'SELECT rowid, length(b), substr(b, 1, 16) FROM big ORDER BY rowid');
    expect(rows.get(behind.id)).toHaveLength(501);
    expect(rows.get(behind.id)).toEqual(rows.get(leader.id));
  }, 120_000);
});

/** The snapshot files a node stored (the store's `.snap` files; staging left out). */
function storedSnapshots(dataDir: string): string[] {
  const dir = path.join(dataDir, 'snapshots');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.snap')) : [];
}
