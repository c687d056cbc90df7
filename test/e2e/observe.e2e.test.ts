/**
 * Observing a real cluster of every protocol: Prometheus metrics scraped over HTTP and checked
 * against Status, and the standard gRPC health service, which must flip to NOT_SERVING when a
 * node loses its leader.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES, PROTOCOLS } from '@quorumlite/consensus';
import { clusterPerTest, waitAllApplied } from './helpers';

type HealthClient = grpc.Client & {
  Check(req: { service: string }, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: { status: string }) => void): void;
};

const healthCtor = (() => {
  const def = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } } };
  return pkg.grpc.health.v1.Health;
})();

async function health(address: string, service: string): Promise<string> {
  const client = new healthCtor(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      client.Check({ service }, { deadline: Date.now() + 3_000 }, (e, res) => (e ? reject(e) : resolve(res?.status ?? ''))),
    );
  } finally {
    client.close();
  }
}

/** The value of `name{labels}` in a Prometheus text exposition (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e: unknown) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.each(PROTOCOL_NAMES)('observing a 3-node %s cluster', (protocol) => {
  const start = clusterPerTest();

  it('serves Prometheus metrics that agree with Status, and health that flips when a node loses its leader', async () => {
    const { cluster, client } = await start(`observe-${protocol}`, { protocol, metrics: true });
    const leader = await cluster.waitForLeader();
    await client.execute('CREATE TABLE m (k TEXT PRIMARY KEY)');
    for (let i = 0; i < 5; i++) await client.execute({ sql: 'INSERT INTO m (k) VALUES (?)', params: [`k${i}`] });
    await expect(client.execute({ sql: 'INSERT INTO m (k) VALUES (?)', params: ['k0'] })).rejects.toThrow(/UNIQUE/);
    await waitAllApplied(cluster, (await client.status(leader.address)).commitIndex);

    for (const node of cluster.nodes) {
      const s = await client.status(node.address);
      const text = await scrape(node.metricsAddress!);
      expect(sample(text, 'quorumlite_node_info', { node_id: node.id, protocol, fencing_name: PROTOCOLS[protocol].fencingName }), node.id).toBe(1);
      expect(sample(text, 'quorumlite_role', { role: s.role }), node.id).toBe(1);
      expect(sample(text, 'quorumlite_leader_known'), node.id).toBe(1);
      expect(sample(text, 'quorumlite_fencing_number'), node.id).toBe(Number(s.term));
      expect(sample(text, 'quorumlite_applied_index'), node.id).toBe(Number(s.appliedIndex));
      expect(sample(text, 'quorumlite_storage_syncs_total'), node.id).toBeGreaterThanOrEqual(s.counters.storageSyncs);
      // A disk with room: every spare segment was made.
      expect(s.counters.logSpareFailures, node.id).toBe(0);
      expect(sample(text, 'quorumlite_log_spare_failures_total'), node.id).toBe(0);
      const sentTypes = s.counters.sent.map((t) => t.type);
      expect(sentTypes.length, node.id).toBeGreaterThan(0);
      for (const type of sentTypes) expect(sample(text, 'quorumlite_messages_sent_total', { type }), `${node.id} ${type}`).toBeGreaterThan(0);
      expect(sample(text, 'quorumlite_driver_step_duration_seconds_count', { step: 'fsync' }), node.id).toBeGreaterThan(0);
      expect(sample(text, 'quorumlite_process_resident_memory_bytes'), node.id).toBeGreaterThan(10_000_000);
      expect(await health(node.address, ''), node.id).toBe('SERVING');
      expect(await health(node.address, 'quorumlite.v1.SqlService'), node.id).toBe('SERVING');
    }
    const leaderText = await scrape(cluster.nodes.find((n) => n.id === leader.id)!.metricsAddress!);
    expect(sample(leaderText, 'quorumlite_role', { role: 'leader' })).toBe(1);
    expect(sample(leaderText, 'quorumlite_proposals_total')).toBeGreaterThanOrEqual(6);
    expect(sample(leaderText, 'quorumlite_commit_latency_seconds_count')).toBeGreaterThanOrEqual(6);
    // Every follower's acknowledgement reaches the leader shortly after it applied: then none lags.
    const leaderMetrics = cluster.nodes.find((n) => n.id === leader.id)!.metricsAddress!;
    for (const peer of cluster.nodes.filter((n) => n.id !== leader.id)) {
      await until(`${peer.id} to lag 0 entries`, 5_000, async () => (sample(await scrape(leaderMetrics), 'quorumlite_peer_lag_entries', { peer: peer.id }) === 0 ? true : undefined));
    }
    // Client calls are counted where they were answered; the refused insert by its SQLite code.
    const all = await Promise.all(cluster.nodes.map((n) => scrape(n.metricsAddress!)));
    const total = (name: string, labels: Record<string, string>): number => all.reduce((sum, t) => sum + (sample(t, name, labels) ?? 0), 0);
    expect(total('quorumlite_client_rpcs_total', { method: 'Execute', code: 'OK' })).toBeGreaterThanOrEqual(6);
    expect(total('quorumlite_sql_errors_total', { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBeGreaterThanOrEqual(1);

    // The leader and one follower go: the last node cannot elect alone and must say it does not serve.
    const last = cluster.nodes.find((n) => n.id !== leader.id)!;
    for (const n of cluster.nodes) if (n.id !== last.id) await cluster.kill(n.id, 'SIGKILL');
    // The kills are one after the other: between them the last node may win an election with the
    // follower still up, and lead until it finds its quorum gone. So wait for all three to agree,
    // then check that they stay so.
    const notServing = async (): Promise<boolean> =>
      (await health(last.address, '')) === 'NOT_SERVING' &&
      (await health(last.address, 'quorumlite.v1.SqlService')) === 'NOT_SERVING' &&
      sample(await scrape(last.metricsAddress!), 'quorumlite_leader_known') === 0;
    await until(`${last.id} to report NOT_SERVING`, 15_000, async () => ((await notServing()) ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await health(last.address, '')).toBe('NOT_SERVING');
    expect(await health(last.address, 'quorumlite.v1.SqlService')).toBe('NOT_SERVING');
    expect(sample(await scrape(last.metricsAddress!), 'quorumlite_leader_known')).toBe(0);
  });
});
