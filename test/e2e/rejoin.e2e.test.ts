/**
 * A voter whose data directory is lost comes back with `--rejoin`, for every registered
 * protocol: it follows as an observer until it holds what the newest leader held, then votes
 * and acknowledges again — the cluster commits with it once the other follower is killed.
 * Without `--rejoin`, a voter started on an empty directory stops with a non-zero exit and
 * names the command: its peers know it under another incarnation and refuse its stream (a Raft
 * leader that remembers its acknowledgements may stop it first, for the commit it lacks).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QuorumliteClient } from '@quorumlite/client';
import type { LocalCluster } from '@quorumlite/cluster';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { REJOIN_MARKER_FILE } from '@quorumlite/replica';
import { clusterPerTest, rowsPerNode, sleep, waitAllApplied } from './helpers';

const start = clusterPerTest();

/** Each write's key once it is acknowledged. */
async function writeRows(client: QuorumliteClient, from: number, count: number, acked: Set<string>): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const k = `k${i}`;
    await client.execute({ sql: 'INSERT INTO r VALUES (?, ?)', params: [k, 'v'.repeat(200)] }, { requestId: k });
    acked.add(k);
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      // not answering yet
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Exit codes of nodes that exited on their own, by id. */
const exits = new Map<string, number | null>();

/** Starts `id` on its (emptied) directory without --rejoin: it stops, naming the command. */
async function expectFailStop(cluster: LocalCluster, id: string, protocol: string): Promise<void> {
  exits.delete(id);
  await cluster.restart(id).catch(() => undefined); // it may exit before answering Status
  await waitUntil(`${id} to stop`, 20_000, () => Promise.resolve(!cluster.isRunning(id) && exits.has(id)));
  expect(exits.get(id)).not.toBe(0);
  const refused = `came back with a different data directory`;
  const tail = cluster.logTail(id, 40);
  if (protocol === 'raft') expect(tail).toMatch(new RegExp(`${refused}|started with --rejoin on an empty directory`));
  else expect(tail).toContain(refused);
  expect(tail).toContain('--rejoin');
}

describe.each(PROTOCOL_NAMES)('a %s voter that lost its data directory', (protocol) => {
  it('rejoins with --rejoin, catches up to identical rows, then votes and acknowledges again', async () => {
    // Small snapshot thresholds: the rejoining node is caught up from a snapshot and the log after it.
    const { cluster, client } = await start(`rejoin-${protocol}`, {
      protocol,
      nodeArgs: ['--snapshot-every-entries', '40', '--snapshot-retain-entries', '10'],
      onNodeExit: (id, code) => exits.set(id, code),
    });
    await client.execute('CREATE TABLE r(k TEXT PRIMARY KEY, v TEXT)');
    const acked = new Set<string>();
    await writeRows(client, 0, 120, acked);
    const leader = await cluster.waitForLeader();
    const [victim, other] = cluster.nodes.filter((n) => n.id !== leader.id);
    await cluster.kill(victim!.id, 'SIGKILL');
    fs.rmSync(victim!.dataDir, { recursive: true, force: true });

    await expectFailStop(cluster, victim!.id, protocol);
    // What the refused start wrote (a hard state, perhaps) would make --rejoin refuse the directory.
    fs.rmSync(victim!.dataDir, { recursive: true, force: true });
    // The two others still commit.
    await writeRows(client, 120, 30, acked);

    await cluster.restart(victim!.id, ['--rejoin']);
    // It follows as an observer for at least three election timeouts.
    expect((await cluster.status(victim!.id)).role).toBe('observer');
    // The node drops the marker, syncs its directory, and only then logs "rejoined as a voter":
    // a poll may see it a follower without the marker before that line is written, so the line
    // is part of what it waits for.
    await waitUntil(`${victim!.id} to vote again`, 60_000, async () => {
      const s = await cluster.status(victim!.id);
      return (
        s.role === 'follower' &&
        !fs.existsSync(path.join(victim!.dataDir, REJOIN_MARKER_FILE)) &&
        cluster.logTail(victim!.id, 200).includes('rejoined as a voter')
      );
    });
    const notes = cluster.logTail(victim!.id, 200);
    expect(notes).toContain('rejoin: catching up with the newest leader');
    expect(notes).toContain('rejoined as a voter');

    let commit = (await client.status(leader.address)).commitIndex;
    await waitAllApplied(cluster, commit);
    const rows = await rowsPerNode(cluster, client, 'SELECT k, v FROM r ORDER BY k');
    expect(rows.get(victim!.id)).toHaveLength(150);
    expect(rows.get(victim!.id)).toEqual(rows.get(leader.id));

    // With the other follower gone, every commit needs the rejoined node's acknowledgement.
    await cluster.kill(other!.id, 'SIGKILL');
    await writeRows(client, 150, 30, acked);
    commit = (await client.status((await cluster.waitForLeader()).address)).commitIndex;
    await waitAllApplied(cluster, commit);
    const after = await rowsPerNode(cluster, client, 'SELECT k FROM r ORDER BY k');
    expect(after.size).toBe(2);
    const [first, second] = [...after.values()];
    expect(second).toEqual(first);
    const present = new Set(first!.map((r) => String(r[0])));
    for (const k of acked) expect(present.has(k), `acknowledged write ${k} is missing`).toBe(true);
    expect(present.size).toBe(acked.size);
  }, 180_000);

  it('refuses --rejoin on a data directory that still holds its log', async () => {
    const { cluster, client } = await start(`rejoin-refuse-${protocol}`, { protocol });
    await client.execute('CREATE TABLE r(k TEXT PRIMARY KEY, v TEXT)');
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((n) => n.id !== leader.id)!;
    await waitAllApplied(cluster, (await client.status(leader.address)).commitIndex);
    await cluster.kill(victim.id, 'SIGKILL');
    await expect(cluster.restart(victim.id, ['--rejoin'])).rejects.toThrow(/still holds a log up to index/);
    expect(fs.existsSync(path.join(victim.dataDir, REJOIN_MARKER_FILE))).toBe(false);
  }, 60_000);
});
