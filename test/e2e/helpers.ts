/** Shared pieces of the end-to-end tests: real node processes on loopback. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { QuorumliteClient, QuorumliteError, type SqlValue } from '@quorumlite/client';
import { clientTlsOf, LocalCluster, type LocalClusterOptions } from '@quorumlite/cluster';
import { sqlServiceCtor } from '@quorumlite/proto';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const NODE_BIN = path.resolve(__dirname, '../../dist/apps/node/main.js');

export function assertBuilt(): void {
  if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run \`npm run build\` first`);
}

export async function startCluster(
  name: string,
  options: Partial<LocalClusterOptions> = {},
): Promise<{ cluster: LocalCluster; client: QuorumliteClient; dir: string }> {
  assertBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ql-e2e-${name}-`));
  const cluster = await LocalCluster.start({ nodes: 3, dataDir: dir, basePort: 0, ...options });
  const tls = options.tls ? { tls: clientTlsOf(options.tls) } : {};
  const client = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 5_000, retryBudgetMs: 20_000, ...tls });
  return { cluster, client, dir };
}

export async function stopCluster(ctx: { cluster: LocalCluster; client: QuorumliteClient; dir: string } | undefined): Promise<void> {
  if (!ctx) return;
  ctx.client.close();
  await ctx.cluster.stop();
  fs.rmSync(ctx.dir, { recursive: true, force: true });
}

export type ClusterContext = Awaited<ReturnType<typeof startCluster>>;

/** One cluster for a whole test file: started before its tests, stopped after them. */
export function clusterForFile(name: string, options: Partial<LocalClusterOptions> = {}): () => ClusterContext {
  let ctx: ClusterContext | undefined;
  beforeAll(async () => {
    ctx = await startCluster(name, options);
  }, 60_000);
  afterAll(async () => {
    await stopCluster(ctx);
  }, 30_000);
  return () => {
    if (!ctx) throw new Error('cluster did not start');
    return ctx;
  };
}

/** A cluster per test: the returned start() starts it; it is stopped after each test. */
export function clusterPerTest(): (name: string, options?: Partial<LocalClusterOptions>) => Promise<ClusterContext> {
  let ctx: ClusterContext | undefined;
  afterEach(async () => {
    await stopCluster(ctx);
    ctx = undefined;
  }, 30_000);
  return async (name, options = {}) => {
    ctx = await startCluster(name, options);
    return ctx;
  };
}

/** Waits (bounded) until every running node has applied at least `index`. */
export async function waitAllApplied(cluster: LocalCluster, index: bigint, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of cluster.nodes) {
    if (!cluster.isRunning(node.id)) continue;
    for (;;) {
      let applied = -1n;
      try {
        applied = (await cluster.status(node.id)).appliedIndex;
      } catch {
        // not answering yet
      }
      if (applied >= index) break;
      if (Date.now() > deadline) throw new Error(`node ${node.id} did not apply index ${index} within ${timeoutMs} ms (at ${applied})`);
      await sleep(50);
    }
  }
}

/** The rows every running node holds for `sql`, read from each node's local copy. */
export async function rowsPerNode(cluster: LocalCluster, client: QuorumliteClient, sql: string): Promise<Map<string, SqlValue[][]>> {
  const out = new Map<string, SqlValue[][]>();
  for (const node of cluster.nodes) {
    if (!cluster.isRunning(node.id)) continue;
    const r = await client.query(sql, [], { consistency: 'stale', address: node.address });
    out.set(node.id, r.rows);
  }
  return out;
}

/** Writers inserting unique keys into `w(k, writer)` until stopped, each write with its key as request id. */
export interface WriteLoad {
  readonly acked: Set<string>;
  /** Writes whose outcome is unknown: key and the client's error. */
  readonly failures: string[];
  /** Stops the writers and waits for their last writes. */
  stop(): Promise<void>;
}

export function startWriteLoad(client: QuorumliteClient, writers: number): WriteLoad {
  const acked = new Set<string>();
  const failures: string[] = [];
  let stopping = false;
  const writer = async (id: number): Promise<void> => {
    for (let i = 0; !stopping && i < 100_000; i++) {
      const k = `w${id}-${i}`;
      try {
        await client.execute({ sql: 'INSERT INTO w VALUES (?, ?)', params: [k, id] }, { requestId: k });
        acked.add(k);
      } catch (e: unknown) {
        if (!(e instanceof QuorumliteError)) throw e;
        failures.push(`${k}: ${e.message}`);
      }
    }
  };
  const running = Array.from({ length: writers }, (_, i) => writer(i));
  return {
    acked,
    failures,
    stop: async () => {
      stopping = true;
      await Promise.all(running);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void;

/** A bare gRPC stub, to call one specific node exactly as any gRPC client would. */
export function rawCall(address: string, method: 'Execute' | 'Query' | 'Status', request: unknown): Promise<{ error: grpc.ServiceError | null; response: unknown }> {
  const Ctor = sqlServiceCtor();
  const client = new Ctor(address, grpc.credentials.createInsecure());
  const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  return new Promise((resolve) => {
    fn(request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error, response) => {
      client.close();
      resolve({ error, response });
    });
  });
}

export function qlCode(e: grpc.ServiceError | null): string | undefined {
  const v = e?.metadata?.get('ql-code')[0];
  return v === undefined ? undefined : String(v);
}

/** The error a call that must fail failed with (a QuorumliteError; anything else is thrown). */
export async function failure(p: Promise<unknown>): Promise<QuorumliteError> {
  try {
    await p;
  } catch (e: unknown) {
    if (e instanceof QuorumliteError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}
