/**
 * Prometheus metrics of one node (prom-client), served over HTTP at GET /metrics when
 * --metrics-listen is set. Gauges and counters are read from the replica's Status at scrape
 * time (one reading per scrape, so they agree with each other and with `quorumlite status`);
 * histograms are observed as events happen: client calls, the leader's writes, the driver's
 * steps (apply, fsync, …).
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { ROLES } from '@quorumlite/consensus';
import type { ReplicaStatus } from '@quorumlite/replica';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RpcMethod, RpcObserver } from './grpc/observer';
import { listenHttp } from './http-listen';

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));

/** 100 µs to 10 s: a driver step, a commit or a client call. */
const SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics implements RpcObserver {
  readonly registry = new Registry();
  private current: ReplicaStatus | null = null;
  private readonly rpcs: Counter<'method' | 'code'>;
  private readonly rpcSeconds: Histogram<'method'>;
  private readonly sqlErrors: Counter<'code'>;
  private readonly stepSeconds: Histogram<'step'>;
  private readonly commitSeconds: Histogram;

  constructor(private readonly read: () => ReplicaStatus) {
    const registers = [this.registry];
    const status = (): ReplicaStatus => this.current ?? this.read();
    const gauge = (name: string, help: string, value: (s: ReplicaStatus) => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(value(status())); } });
    };
    /** A monotonic count read from Status: prom-client counters only add, so set = reset + add. */
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], values: (s: ReplicaStatus) => { labels: Record<L, string>; value: number }[]): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const v of values(status())) this.inc(v.labels as Partial<Record<L, string>>, v.value);
        },
      });
    };
    const one = (value: number) => [{ labels: {} as Record<never, string>, value }];

    new Gauge({
      name: 'quorumlite_node_info',
      help: 'The node: its id, protocol and version (always 1)',
      labelNames: ['node_id', 'protocol', 'fencing_name'],
      registers,
      collect() {
        const s = status();
        this.reset();
        this.set({ node_id: s.nodeId, protocol: s.protocol, fencing_name: s.fencingName }, 1);
      },
    });
    new Gauge({
      name: 'quorumlite_role',
      help: 'The node role: 1 for the current one (leader, follower, candidate, observer, witness)',
      labelNames: ['role'],
      registers,
      collect() {
        const s = status();
        for (const role of ROLES) this.set({ role }, s.role === role ? 1 : 0);
      },
    });
    gauge('quorumlite_leader_known', 'Whether this node knows a leader (1) or not (0)', (s) => (s.leaderId ? 1 : 0));
    gauge('quorumlite_fencing_number', "The protocol's fencing number: Raft term, ZAB epoch, Multi-Paxos ballot", (s) => s.term);
    gauge('quorumlite_commit_index', 'Highest log index known committed', (s) => s.commitIndex);
    gauge('quorumlite_applied_index', 'Highest log index applied to this node state', (s) => s.appliedIndex);
    gauge('quorumlite_last_index', 'Last index in this node log', (s) => s.lastIndex);
    gauge('quorumlite_snapshot_index', 'Index of the latest snapshot', (s) => s.snapshotIndex);
    gauge('quorumlite_log_records', 'Records this node log holds on disk', (s) => s.logRecords);
    gauge('quorumlite_log_bytes', 'Bytes of the records this node log holds on disk (preallocated space not counted)', (s) => s.logBytes);
    const peers = (name: string, help: string, value: (s: ReplicaStatus, m: ReplicaStatus['members'][number]) => number | null): void => {
      new Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          const s = status();
          this.reset();
          for (const m of s.members) {
            if (m.id === s.nodeId) continue;
            const v = value(s, m);
            if (v !== null) this.set({ peer: m.id }, v);
          }
        },
      });
    };
    peers('quorumlite_peer_reachable', 'Whether the transport reaches the peer (1) or not (0)', (_s, m) => (m.reachable ? 1 : 0));
    // Only a leader tracks how far each peer holds the log.
    peers('quorumlite_peer_match_index', 'Highest index the leader knows the peer holds (leader only)', (s, m) => (s.role === 'leader' ? m.matchIndex : null));
    peers('quorumlite_peer_lag_entries', 'Entries the peer lacks behind the leader log (leader only)', (s, m) => (s.role === 'leader' ? Math.max(0, s.lastIndex - m.matchIndex) : null));
    const tallies = (pick: (s: ReplicaStatus) => readonly { type: string; count: number; bytes: number }[], field: 'count' | 'bytes') => (s: ReplicaStatus) =>
      pick(s).map((t) => ({ labels: { type: t.type }, value: t[field] }));
    counter('quorumlite_messages_sent_total', 'Peer messages sent, by protocol message type', ['type'], tallies((s) => s.counters.sent, 'count'));
    counter('quorumlite_message_sent_bytes_total', 'Encoded bytes of peer messages sent, by type (a snapshot message counts its file)', ['type'], tallies((s) => s.counters.sent, 'bytes'));
    counter('quorumlite_messages_received_total', 'Peer messages received, by protocol message type', ['type'], tallies((s) => s.counters.received, 'count'));
    counter('quorumlite_message_received_bytes_total', 'Encoded bytes of peer messages received, by type', ['type'], tallies((s) => s.counters.received, 'bytes'));
    counter('quorumlite_storage_syncs_total', 'fsync and fdatasync calls for the log, hard state and compaction point', [], (s) => one(s.counters.storageSyncs));
    counter('quorumlite_log_spare_failures_total', 'Times the log could not prepare its next segment ahead of time (a disk short of room, say): its syncs then commit the file system journal too', [], (s) => one(s.counters.logSpareFailures));
    counter('quorumlite_elections_total', 'Times this node became a candidate', [], (s) => one(s.counters.elections));
    counter('quorumlite_leader_changes_total', 'Times the leader this node knows became another node', [], (s) => one(s.counters.leaderChanges));
    counter('quorumlite_leaderless_seconds_total', 'Time this node knew no leader', [], (s) => one(s.counters.leaderlessMs / 1000));
    counter('quorumlite_proposals_total', 'Client writes this node proposed as leader and answered', [], (s) => one(s.counters.writesAnswered));
    counter('quorumlite_snapshots_total', 'Snapshots completed: taken (database synced, log cut), copied (a file of the database for a peer behind the cut), installed from the leader, sent to a peer', ['kind'], (s) => s.counters.snapshots.map((t) => ({ labels: { kind: t.kind }, value: t.count })));
    counter('quorumlite_snapshot_seconds_total', 'Time the completed snapshots took, by kind (taken: the sync; copied: the copy; installed: file to log cut; sent: until the peer acknowledged)', ['kind'], (s) => s.counters.snapshots.map((t) => ({ labels: { kind: t.kind }, value: t.ms / 1000 })));
    counter('quorumlite_driver_step_seconds_total', "Time in each of the driver's steps and waits", ['step'], (s) => s.counters.steps.map((t) => ({ labels: { step: t.step }, value: t.ms / 1000 })));

    this.rpcs = new Counter({ name: 'quorumlite_client_rpcs_total', help: 'Client calls answered, by method and gRPC status code (a Session call counts as its method)', labelNames: ['method', 'code'], registers });
    this.rpcSeconds = new Histogram({ name: 'quorumlite_client_rpc_duration_seconds', help: 'Time from a client call arriving to its answer', labelNames: ['method'], buckets: SECONDS_BUCKETS, registers });
    this.sqlErrors = new Counter({ name: 'quorumlite_sql_errors_total', help: 'Client calls refused by SQLite, by its error code', labelNames: ['code'], registers });
    this.stepSeconds = new Histogram({ name: 'quorumlite_driver_step_duration_seconds', help: 'Duration of each driver step (apply: SQLite apply latency; fsync: log sync latency)', labelNames: ['step'], buckets: SECONDS_BUCKETS, registers });
    this.commitSeconds = new Histogram({ name: 'quorumlite_commit_latency_seconds', help: "The leader's client writes: from arrival to the answer after commit and apply", buckets: SECONDS_BUCKETS, registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'quorumlite_' });
  }

  done(method: RpcMethod, code: grpc.status, seconds: number, sqliteCode: string | null): void {
    this.rpcs.inc({ method, code: STATUS_NAMES[code] ?? String(code) });
    if (method !== 'Status') this.rpcSeconds.observe({ method }, seconds);
    if (sqliteCode !== null) this.sqlErrors.inc({ code: sqliteCode });
  }

  step(step: string, ms: number): void {
    this.stepSeconds.observe({ step }, ms / 1000);
  }

  writeAnswered(ms: number): void {
    this.commitSeconds.observe(ms / 1000);
  }

  /** The exposition text, every gauge and counter from one Status reading. */
  async render(): Promise<string> {
    this.current = this.read();
    try {
      return await this.registry.metrics();
    } finally {
      this.current = null;
    }
  }
}

/** GET /metrics on `listen` (host:port); anything else is 404. Resolves once it listens. */
export async function serveMetrics(metrics: NodeMetrics, listen: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  return listenHttp(server, listen);
}
