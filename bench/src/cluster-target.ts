/**
 * The cluster under test: a fresh 3-node LocalCluster of one protocol in a temp dir, its schema and preloaded
 * rows. Loaded lazily so the baselines run (and report) even when the cluster cannot start.
 */
import { QuorumliteClient } from '@quorumlite/client';
import type { ProtocolName } from '@quorumlite/consensus';
import { clientTlsOf, DEFAULT_TOPOLOGY, LocalCluster, topologyNodes, type LocalClusterTls, type Topology } from '@quorumlite/cluster';
import { BATCH_ROWS, INSERT_SQL, preloadKey, TABLE_DDL, VALUE_TEXT } from './scenarios';

export interface ClusterUnderTest {
  /** Where clients go: every member that keeps the database (a witness serves no SQL). */
  addresses: string[];
  /**
   * Where loader k sends its stale and session reads: the k-th of these, followers before the
   * elected leader, so every protocol serves them from the same kind of node (a client alone
   * picks one at random, and two loaders on one node halve the figure by chance).
   */
  readAddresses: string[];
  /** The cluster itself, for the failover trials that kill and restart its leader. */
  cluster: LocalCluster;
  leaderId: string;
  /** Server processes to measure CPU of, keyed by node id ('n1*' marks the leader elected at start). */
  pids(): Record<string, number>;
  stop(): Promise<void>;
}

const LEADER_WAIT_MS = 30_000;

export async function startClusterUnderTest(
  dataDir: string,
  protocol: ProtocolName,
  nodeArgs: string[],
  onStarted: (stop: () => Promise<void>) => void,
  log: (line: string) => void,
  topology: Topology = DEFAULT_TOPOLOGY,
  tls: LocalClusterTls | null = null,
): Promise<ClusterUnderTest> {
  let started: LocalCluster | null = null;
  const cluster = await LocalCluster.start({
    nodes: topologyNodes(topology),
    dataDir,
    basePort: 0,
    protocol,
    nodeArgs,
    ...(tls ? { tls } : {}),
    // A node that dies mid-run explains the errors that follow; say so with its last words.
    onNodeExit: (id, code, signal) => log(`cluster: node ${id} exited (code ${code}, signal ${signal})\n${started?.logTail(id, 20) ?? ''}`),
  });
  started = cluster;
  const stop = async (): Promise<void> => {
    await cluster.stop();
  };
  onStarted(stop);
  const leader = await cluster.waitForLeader(LEADER_WAIT_MS);
  const addresses = cluster.nodes.filter((n) => n.role !== 'witness').map((n) => n.address);
  const leaderAddress = cluster.nodes.find((n) => n.id === leader.id)?.address;
  return {
    addresses,
    readAddresses: [...addresses.filter((a) => a !== leaderAddress), ...addresses.filter((a) => a === leaderAddress)],
    cluster,
    leaderId: leader.id,
    pids: () => {
      const out: Record<string, number> = {};
      for (const { id } of cluster.nodes) {
        const pid = cluster.pid(id);
        if (pid !== null) out[id === leader.id ? `${id}*` : id] = pid;
      }
      return out;
    },
    stop,
  };
}

/** Creates the table and loads `rows` rows for the select scenarios, BATCH_ROWS per Execute. */
export async function prepareSchema(addresses: string[], rows: number, tls: LocalClusterTls | null = null): Promise<void> {
  const client = new QuorumliteClient({ addresses, ...(tls ? { tls: clientTlsOf(tls) } : {}) });
  try {
    await client.execute([{ sql: TABLE_DDL }]);
    for (let first = 0; first < rows; first += BATCH_ROWS) {
      const n = Math.min(BATCH_ROWS, rows - first);
      await client.execute(Array.from({ length: n }, (_, i) => ({ sql: INSERT_SQL, params: [preloadKey(first + i), VALUE_TEXT] })));
    }
  } finally {
    client.close();
  }
}
