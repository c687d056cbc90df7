/**
 * `quorumlite bench witness-disk`: what a witness keeps on disk under a long write load.
 *
 * Loads --writes single-row inserts (100-byte values, --concurrency in flight) into a fresh
 * local cluster of one --topology (default 2v1w), polls every node's data directory and every
 * witness's Status while it runs, and reports each node's bytes on disk at the end and at
 * their peak, and for a witness the log records it retains — the figure that shows its disk
 * is bounded by its settings, not by the history.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { LocalCluster, parseTopology, topologyNodes, type Topology } from '@quorumlite/cluster';
import { PROTOCOL_NAMES, type ProtocolName } from '@quorumlite/consensus';
import { BenchArgsError, parseNodeArgs, parsePositiveInt, parseProtocols, parseStrict } from './args';
import { machineMeta } from './runner';

export const WITNESS_DISK_USAGE = `quorumlite bench witness-disk [--protocols ${PROTOCOL_NAMES.join(',')}] [--topology 2v1w] [--writes 100000] [--concurrency 64] [--poll-ms 500] [--node-args="..."] [--out bench/results]`;

export interface WitnessDiskSettings {
  protocols: ProtocolName[];
  topology: Topology;
  writes: number;
  concurrency: number;
  pollMs: number;
  nodeArgs: string[];
  outDir: string;
}

export function parseWitnessDiskArgs(argv: readonly string[]): WitnessDiskSettings {
  const { values: v, positionals } = parseStrict(argv, {
    protocols: { type: 'string' },
    protocol: { type: 'string' },
    topology: { type: 'string' },
    writes: { type: 'string' },
    concurrency: { type: 'string' },
    'poll-ms': { type: 'string' },
    'node-args': { type: 'string' },
    out: { type: 'string' },
  });
  if (positionals.length > 0) throw new BenchArgsError(`unexpected argument '${positionals[0]}'\nusage: ${WITNESS_DISK_USAGE}`);
  if (v.protocol !== undefined && v.protocols !== undefined) throw new BenchArgsError('give --protocol or --protocols, not both');
  let topology: Topology;
  try {
    topology = parseTopology(v.topology ?? '2v1w');
  } catch (e: unknown) {
    throw new BenchArgsError(`--topology: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const protocols = v.protocol ?? v.protocols;
  return {
    protocols: protocols !== undefined ? parseProtocols(protocols) : [...PROTOCOL_NAMES],
    topology,
    writes: parsePositiveInt(v.writes ?? '100000', 'writes'),
    concurrency: parsePositiveInt(v.concurrency ?? '64', 'concurrency'),
    pollMs: parsePositiveInt(v['poll-ms'] ?? '500', 'poll-ms'),
    nodeArgs: parseNodeArgs(v['node-args'] ?? ''),
    outDir: v.out ?? path.join('bench', 'results'),
  };
}

/** One node's figures: bytes of its data directory at the end and at their peak during the load. */
export interface NodeDisk {
  id: string;
  role: string;
  bytesEnd: number;
  bytesPeak: number;
  /** Witnesses only (null on data nodes): log records and log bytes retained, per Status. */
  logRecordsEnd: number | null;
  logRecordsPeak: number | null;
  logBytesEnd: number | null;
  /** Witnesses only: records past its forget point (lastIndex - snapshotIndex), at the end and at their peak. */
  retainedEnd: number | null;
  retainedPeak: number | null;
}

export interface WitnessDiskResult {
  protocol: ProtocolName;
  topology: string;
  writesOk: number;
  writesFailed: number;
  loadMs: number;
  nodes: NodeDisk[];
  failure: string | null;
}

const VALUE_100B = 'v'.repeat(100);
const CREATE_SQL = 'CREATE TABLE IF NOT EXISTS wd(id INTEGER PRIMARY KEY, v TEXT)';
const INSERT_SQL = 'INSERT INTO wd(v) VALUES (?)';
/** After the load: how long the witness gets to hear that the data voters hold everything and forget. */
const SETTLE_MS = 5_000;

/** Bytes of every file under `dir` (0 for one that vanished meanwhile: compaction deletes files). */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += directoryBytes(p);
    else if (e.isFile()) {
      try {
        total += fs.statSync(p).size;
      } catch {
        // Removed between the listing and the stat.
      }
    }
  }
  return total;
}

function emptyDisk(id: string, role: string): NodeDisk {
  const witness = role === 'witness' ? 0 : null;
  return { id, role, bytesEnd: 0, bytesPeak: 0, logRecordsEnd: witness, logRecordsPeak: witness, logBytesEnd: witness, retainedEnd: witness, retainedPeak: witness };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

export function renderWitnessDisk(results: readonly WitnessDiskResult[]): string {
  const lines = ['protocol    node role     disk end    disk peak   witness: log-file records end/peak, log bytes end; records past forget point end/peak'];
  for (const r of results) {
    for (const n of r.nodes) {
      const log = n.logRecordsEnd === null ? '' : `${n.logRecordsEnd}/${n.logRecordsPeak}, ${mb(n.logBytesEnd ?? 0)}; ${n.retainedEnd}/${n.retainedPeak}`;
      lines.push(`${r.protocol.padEnd(11)} ${n.id.padEnd(4)} ${n.role.padEnd(8)} ${mb(n.bytesEnd).padStart(10)}  ${mb(n.bytesPeak).padStart(10)}  ${log}`);
    }
    lines.push(`${r.protocol.padEnd(11)} ${r.writesOk} writes ok, ${r.writesFailed} failed, in ${(r.loadMs / 1000).toFixed(1)} s${r.failure === null ? '' : ` — FAILED: ${r.failure}`}`);
  }
  return lines.join('\n');
}

export async function runWitnessDiskBench(argv: string[], log: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  let settings: WitnessDiskSettings;
  try {
    settings = parseWitnessDiskArgs(argv);
  } catch (e: unknown) {
    if (e instanceof BenchArgsError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const results: WitnessDiskResult[] = [];
  for (const protocol of settings.protocols) {
    log(`${protocol}: ${settings.writes} inserts into a fresh ${settings.topology.name} cluster, ${settings.concurrency} in flight`);
    results.push(await measure(protocol, settings, (line) => log(`${protocol} ${line}`)));
  }
  fs.mkdirSync(settings.outDir, { recursive: true });
  const file = path.join(settings.outDir, `witness-disk-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine: machineMeta(), settings: { ...settings, topology: settings.topology.name }, results }, null, 2) + '\n');
  log(renderWitnessDisk(results));
  log(`wrote ${file}`);
  return results.some((r) => r.failure !== null) ? 1 : 0;
}

async function measure(protocol: ProtocolName, settings: WitnessDiskSettings, log: (line: string) => void): Promise<WitnessDiskResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumlite-witness-disk-${protocol}-`));
  const result: WitnessDiskResult = { protocol, topology: settings.topology.name, writesOk: 0, writesFailed: 0, loadMs: 0, nodes: [], failure: null };
  let cluster: LocalCluster | null = null;
  let client: QuorumliteClient | null = null;
  try {
    cluster = await LocalCluster.start({ nodes: topologyNodes(settings.topology), dataDir: dir, basePort: 0, protocol, nodeArgs: settings.nodeArgs });
    const c = cluster;
    const disks = new Map<string, NodeDisk>(c.nodes.map((n) => [n.id, emptyDisk(n.id, n.role)]));
    const sample = async (): Promise<void> => {
      for (const n of c.nodes) {
        const d = disks.get(n.id)!;
        d.bytesEnd = directoryBytes(n.dataDir);
        d.bytesPeak = Math.max(d.bytesPeak, d.bytesEnd);
        if (n.role !== 'witness') continue;
        const s = await c.status(n.id).catch(() => null);
        if (s === null) continue;
        d.logRecordsEnd = Number(s.logRecords);
        d.logRecordsPeak = Math.max(d.logRecordsPeak ?? 0, d.logRecordsEnd);
        d.logBytesEnd = Number(s.logBytes);
        d.retainedEnd = Number(s.lastIndex - s.snapshotIndex);
        d.retainedPeak = Math.max(d.retainedPeak ?? 0, d.retainedEnd);
      }
    };
    client = new QuorumliteClient({ addresses: c.addresses(), timeoutMs: 10_000, retryBudgetMs: 30_000 });
    const writer = client;
    await writer.execute(CREATE_SQL);
    let next = 0;
    let done = false;
    const poller = (async () => {
      while (!done) {
        await sample();
        await sleep(settings.pollMs);
      }
    })();
    const t0 = performance.now();
    let lastReport = t0;
    const loop = async (): Promise<void> => {
      while (next < settings.writes) {
        next++;
        try {
          await writer.execute({ sql: INSERT_SQL, params: [VALUE_100B] });
          result.writesOk++;
        } catch (e: unknown) {
          if (!(e instanceof QuorumliteError)) throw e;
          result.writesFailed++;
        }
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          log(`${result.writesOk} writes after ${((lastReport - t0) / 1000).toFixed(0)} s`);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: settings.concurrency }, loop));
    } finally {
      result.loadMs = performance.now() - t0;
      // The witness forgets once it hears every data voter holds the records: give it a moment.
      await sleep(SETTLE_MS);
      done = true;
      await poller;
    }
    await sample();
    result.nodes = [...disks.values()];
  } catch (e: unknown) {
    result.failure = e instanceof Error ? e.message : String(e);
    log(result.failure);
  } finally {
    client?.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
