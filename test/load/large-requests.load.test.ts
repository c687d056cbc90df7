/**
 * Requests at the size limit under a write load, on a cluster whose only setting is a request
 * limit of 16 MiB: a 10 MiB blob and a request just under it are copied, checksummed,
 * replicated and applied by every node while small writes keep coming. Every write is
 * acknowledged, every replica ends with the same rows, byte for byte at the blobs' edges,
 * and the leader that took the first write leads to the end: the default election timeout
 * grows with requestBytesMax (libs/config, ELECTION_TIMEOUT_MS_PER_REQUEST_MIB) so that a
 * node busy with one such request is not taken for dead. Event-loop stalls and role changes
 * seen meanwhile are printed from the nodes' logs (they name the step that held the loop).
 *
 * A load test: it runs alone, after the rest of the suite (vitest.load.config.mts), since
 * other test files' clusters on the same two cores would hold its nodes' loops too.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { QuorumliteClient, type NodeStatus } from '@quorumlite/client';
import { clusterForFile, rowsPerNode, sleep, waitAllApplied, type ClusterContext } from '../e2e/helpers';


const MIB = 1024 * 1024;
/** The limit this cluster runs with (the default is 2 MiB); the request's own framing takes a little of it. */
const REQUEST_BYTES_MAX = 16 * MIB;
const NEAR_MAX_BLOB_BYTES = REQUEST_BYTES_MAX - 64 * 1024;
const BLOB_BYTES = 10 * MIB;
/** Large writes per writer: bounded, so the run stays short and the disk small. */
const LARGE_WRITES_PER_WRITER = 4;
const SMALL_WRITERS = 4;
/** The small-write load stops with the large writers, or after this long at most. */
const LOAD_MS_MAX = 30_000;
/**
 * Each large write's own deadline: generous, because on a machine whose cores are shared by
 * the three nodes and other test files one 16 MiB write takes seconds, more across an election.
 */
const LARGE_WRITE_TIMEOUT_MS = 60_000;
const STATUS_POLL_MS = 100;

/** A blob whose first and last bytes say which write it belongs to. */
function blob(id: number, bytes: number): Uint8Array {
  const b = Buffer.alloc(bytes, id % 251);
  b.writeUInt32BE(id, 0);
  b.writeUInt32BE(id, bytes - 4);
  return b;
}

function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** Every leader@term any node reported until `stop()`, in the order first seen. */
async function watchLeadership(c: () => ClusterContext, stop: () => boolean): Promise<string[]> {
  const { cluster } = c();
  const seen = new Set<string>();
  const deadline = Date.now() + LOAD_MS_MAX + 30_000;
  while (!stop() && Date.now() < deadline) {
    const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id).catch(() => null)));
    for (const s of statuses.filter((x): x is NodeStatus => x !== null)) {
      if (s.leaderId !== '') seen.add(`${s.leaderId}@${s.term}`);
    }
    await sleep(STATUS_POLL_MS);
  }
  return [...seen];
}

describe.each(process.env.LOAD_PROTOCOLS ? process.env.LOAD_PROTOCOLS.split(',') : PROTOCOL_NAMES)('maximum-size requests under a write load on %s', (protocol) => {
  const c = clusterForFile(`large-${protocol}`, { protocol, env: { QUORUMLITE_LIMIT_REQUEST_BYTES_MAX: String(REQUEST_BYTES_MAX) } });

  it('acknowledges every write, keeps its leader, and leaves the same rows on every replica', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    await client.execute('CREATE TABLE small(id INTEGER PRIMARY KEY, v TEXT NOT NULL)');

    let largeDone = false;
    const watching = watchLeadership(c, () => largeDone);
    const loadEnds = Date.now() + LOAD_MS_MAX;
    const largeMs: number[] = [];
    // Large writes retry for as long as one may take: an election in the middle of one costs
    // its whole transfer again.
    const largeClient = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: LARGE_WRITE_TIMEOUT_MS, retryBudgetMs: 2 * LARGE_WRITE_TIMEOUT_MS });
    const largeWriter = async (first: number, bytes: number): Promise<number[]> => {
      const ids: number[] = [];
      for (let i = 0; i < LARGE_WRITES_PER_WRITER; i++) {
        const id = first + i;
        const started = Date.now();
        await largeClient.execute({ sql: 'INSERT INTO big(id, data) VALUES (?, ?)', params: [id, blob(id, bytes)] }, { timeoutMs: LARGE_WRITE_TIMEOUT_MS });
        ids.push(id);
        largeMs.push(Date.now() - started);
      }
      return ids;
    };
    const smallWriter = async (w: number): Promise<number[]> => {
      const ids: number[] = [];
      for (let i = 0; !largeDone && Date.now() < loadEnds; i++) {
        const id = w * 1_000_000 + i;
        await client.execute({ sql: 'INSERT INTO small(id, v) VALUES (?, ?)', params: [id, `w${w}-${i}`] });
        ids.push(id);
      }
      return ids;
    };
    // Settled from the start: a small writer that fails early is reported below, never as an unhandled rejection.
    const smallWriters = Promise.allSettled(Array.from({ length: SMALL_WRITERS }, (_, w) => smallWriter(w + 1)));
    // Every writer is awaited before anything is asserted: a failed one is reported, not left running.
    const largeSettled = await Promise.allSettled([largeWriter(1, BLOB_BYTES), largeWriter(1_001, NEAR_MAX_BLOB_BYTES)]);
    largeClient.close();
    largeDone = true;
    const smallSettled = await smallWriters;
    const leadership = await watching;
    const notes = cluster.nodes.flatMap((n) =>
      fs
        .readFileSync(cluster.logFile(n.id), 'utf8')
        .split('\n')
        .filter((l) => l.includes('event loop blocked') || l.includes('driver waited') || l.includes('role changed') || l.includes('snapshot')),
    );
    // Printed before any failure is reported, so a failed run shows what the nodes went through.
    process.stderr.write(
      `${protocol}: large writes took ${largeMs.join(', ')} ms; leaders seen during the load: ${leadership.join(', ')}\n${notes.join('\n')}\n`,
    );
    const large = largeSettled.map(settledValue);
    const small = smallSettled.flatMap(settledValue).sort((a, b) => a - b);

    expect(large.flat()).toHaveLength(2 * LARGE_WRITES_PER_WRITER);
    expect(small.length).toBeGreaterThan(0);
    expect(leadership, 'one leader, in one term, for the whole load').toHaveLength(1);
    const leader = await cluster.waitForLeader();
    await waitAllApplied(cluster, (await cluster.status(leader.id)).commitIndex);
    const bigRows = await rowsPerNode(cluster, client, 'SELECT id, length(data), hex(substr(data, 1, 4)), hex(substr(data, -4, 4)) FROM big ORDER BY id');
    const expectedBig = large
      .flat()
      .sort((a, b) => a - b)
      .map((id) => {
        const hex = id.toString(16).toUpperCase().padStart(8, '0');
        return [BigInt(id), BigInt(id < 1_001 ? BLOB_BYTES : NEAR_MAX_BLOB_BYTES), hex, hex];
      });
    const smallRows = await rowsPerNode(cluster, client, 'SELECT id FROM small ORDER BY id');
    for (const node of cluster.nodes) {
      expect(bigRows.get(node.id), `big rows on ${node.id}`).toEqual(expectedBig);
      expect(smallRows.get(node.id)?.map((r) => Number(r[0])), `small rows on ${node.id}`).toEqual(small);
    }
  }, 240_000);
});
