/**
 * A rolling restart under a write load: every node in turn gets SIGTERM, exits, starts again
 * and catches up. The leader hands its leadership over before it exits, and no write fails —
 * the client retries each one with its request id, so none is applied twice either.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { clusterPerTest, rowsPerNode, sleep, startWriteLoad, waitAllApplied } from './helpers';

const startCluster = clusterPerTest();

/** Every protocol's leader hands over on request (each by its own means). */
const HANDOVER_PROTOCOLS = PROTOCOL_NAMES;

describe.each(HANDOVER_PROTOCOLS)('rolling restart of a 3-node %s cluster', (protocol) => {
  it('fails no write, hands leadership over on SIGTERM, and leaves every replica identical', async () => {
    const { cluster, client } = await startCluster(`rolling-${protocol}`, { protocol });
    await client.execute('CREATE TABLE w(k TEXT PRIMARY KEY, writer INTEGER)');
    const load = startWriteLoad(client, 4);
    const { acked } = load;
    await sleep(500);
    let leaderRestarts = 0;
    for (const node of cluster.nodes) {
      const leader = await cluster.waitForLeader();
      const wasLeader = leader.id === node.id;
      const logBefore = fs.readFileSync(cluster.logFile(node.id), 'utf8').length;
      const ackedBefore = acked.size;
      await cluster.kill(node.id, 'SIGTERM');
      const log = fs.readFileSync(cluster.logFile(node.id), 'utf8').slice(logBefore);
      if (wasLeader) {
        leaderRestarts++;
        expect(log, `${node.id} led when it got SIGTERM`).toMatch(/leadership handed over/);
      }
      expect(log).toMatch(/received SIGTERM, stopping/);
      await cluster.restart(node.id);
      const commit = (await client.status((await cluster.waitForLeader()).address)).commitIndex;
      await waitAllApplied(cluster, commit);
      // Writes went on through the restart.
      const deadline = Date.now() + 10_000;
      while (acked.size === ackedBefore && Date.now() < deadline) await sleep(50);
      expect(acked.size).toBeGreaterThan(ackedBefore);
    }
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(leaderRestarts).toBeGreaterThanOrEqual(1);

    const commit = (await client.status((await cluster.waitForLeader()).address)).commitIndex;
    await waitAllApplied(cluster, commit);
    const rows = await rowsPerNode(cluster, client, 'SELECT k FROM w ORDER BY k');
    expect(rows.size).toBe(3);
    const [first, ...rest] = [...rows.values()];
    for (const other of rest) expect(other).toEqual(first);
    expect(new Set(first!.map((r) => String(r[0])))).toEqual(acked);
  }, 120_000);
});
