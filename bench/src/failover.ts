/**
 * `quorumlite bench failover`: kill -9 of the leader under closed-loop writers, repeated.
 *
 * Stall = from the kill to the completion of the first successful write that was started
 * after it (the definition BENCHMARKS.md uses for etcd and ZooKeeper). After each trial the
 * killed node is restarted and must catch up before the next one. Each protocol of
 * --protocols gets its own fresh cluster and its own trials; one report holds them all.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { LocalCluster } from '@quorumlite/cluster';
import { PROTOCOL_NAMES, type ProtocolName } from '@quorumlite/consensus';
import { BenchArgsError, parseNodeArgs, parsePositiveInt, parseProtocols } from './args';
import { cellCost, electionCost, readCounters } from './cost';
import { fileSize, readFrom, roleTakenInLog } from './node-logs';
import { machineMeta } from './runner';

export const FAILOVER_USAGE = `quorumlite bench failover [--trials 10] [--writers 16] [--settle-ms 1500] [--protocols ${PROTOCOL_NAMES.join(',')}] [--node-args="..."] [--out bench/results]`;

export interface FailoverSettings {
  /** Each gets its own fresh cluster and --trials trials, in this order. */
  protocols: ProtocolName[];
  trials: number;
  writers: number;
  settleMs: number;
  nodeArgs: string[];
  outDir: string;
}

export interface FailoverTrial {
  killed: string;
  newLeader: string;
  stallMs: number;
  /** Until a survivor answered Status as leader (polled every 50 ms, so up to that late). */
  electedMs: number;
  /**
   * Until the new leader's own log says it took office (its "role changed" line), from the
   * wall clock of the kill; absent when no survivor logs role changes.
   */
  inOfficeMs?: number;
  failedWrites: number;
  okWrites: number;
  /**
   * Times the surviving nodes became candidates between the kill and the first write, from
   * their counters: 1 is a clean election, more are split votes or duels (absent: not read).
   */
  elections?: number;
}

/** Most time a trial waits for the first write after the kill before it counts as failed. */
const TRIAL_TIMEOUT_MS = 30_000;

export function parseFailoverArgs(argv: string[]): FailoverSettings {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        protocols: { type: 'string' },
        trials: { type: 'string' },
        writers: { type: 'string' },
        'settle-ms': { type: 'string' },
        'node-args': { type: 'string' },
        out: { type: 'string' },
      },
    });
  } catch (e: unknown) {
    throw new BenchArgsError(`${e instanceof Error ? e.message : String(e)}\nusage: ${FAILOVER_USAGE}`);
  }
  const v = parsed.values;
  return {
    protocols: v.protocols !== undefined ? parseProtocols(v.protocols) : [...PROTOCOL_NAMES],
    trials: parsePositiveInt(v.trials ?? '10', 'trials'),
    writers: parsePositiveInt(v.writers ?? '16', 'writers'),
    settleMs: parsePositiveInt(v['settle-ms'] ?? '1500', 'settle-ms'),
    nodeArgs: parseNodeArgs(v['node-args'] ?? ''),
    outDir: v.out ?? path.join('bench', 'results'),
  };
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** One write of a trial's writers: when it started and ended (performance.now()), and whether it succeeded. */
export interface TrialOp {
  start: number;
  end: number;
  ok: boolean;
}
type Op = TrialOp;

/**
 * The first successful write that started after `killAt` (the stall ends when it does),
 * waiting for one up to `timeoutMs`; undefined if none came.
 */
export async function firstWriteAfter(ops: readonly TrialOp[], killAt: number, timeoutMs: number): Promise<TrialOp | undefined> {
  const deadline = performance.now() + timeoutMs;
  let first: TrialOp | undefined;
  while (!first && performance.now() < deadline) {
    await sleep(10);
    first = ops.filter((o) => o.ok && o.start >= killAt).sort((a, b) => a.end - b.end)[0];
  }
  return first;
}

export interface FailoverStallSummary {
  trials: number;
  writers: number;
  stallMsMedian: number;
  stallMsMin: number;
  stallMsP90: number;
  stallMsMax: number;
}

export interface FailoverProtocolResult {
  protocol: ProtocolName;
  summary: FailoverStallSummary;
  trials: FailoverTrial[];
  /** Why this protocol's trials stopped early (cluster start, a trial with no write); null when all ran. */
  failure: string | null;
}

export function summarizeStalls(trials: readonly FailoverTrial[], writers: number): FailoverStallSummary {
  const stalls = trials.map((t) => t.stallMs).sort((a, b) => a - b);
  return {
    trials: trials.length,
    writers,
    stallMsMedian: percentile(stalls, 0.5),
    stallMsMin: stalls[0] ?? NaN,
    stallMsP90: percentile(stalls, 0.9),
    stallMsMax: stalls[stalls.length - 1] ?? NaN,
  };
}

/** One line per protocol, so the protocols read side by side. */
export function renderFailoverSummary(results: readonly FailoverProtocolResult[]): string {
  const width = Math.max(...results.map((r) => r.protocol.length));
  return results.map(({ protocol, summary, failure }) => `${protocol.padEnd(width)}  stall ${stallFigures(summary)}${failure === null ? '' : ` — FAILED: ${failure}`}`).join('\n');
}

/** 'median 104 ms, min 70, p90 148, max 155 over 10 trials, 16 writers'. */
export function stallFigures(s: FailoverStallSummary): string {
  return s.trials === 0 ? 'no trial completed' : `median ${s.stallMsMedian.toFixed(0)} ms, min ${s.stallMsMin.toFixed(0)}, p90 ${s.stallMsP90.toFixed(0)}, max ${s.stallMsMax.toFixed(0)} over ${s.trials} trials, ${s.writers} writers`;
}

export async function runFailoverBench(argv: string[], log: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  let settings: FailoverSettings;
  try {
    settings = parseFailoverArgs(argv);
  } catch (e: unknown) {
    if (e instanceof BenchArgsError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const results: FailoverProtocolResult[] = [];
  for (const protocol of settings.protocols) {
    const trials: FailoverTrial[] = [];
    let failure: string | null = null;
    log(`${protocol}: starting a fresh 3-node cluster`);
    try {
      await runTrials(protocol, settings, trials, (line) => log(`${protocol} ${line}`));
    } catch (e: unknown) {
      // One protocol failing leaves the others' trials standing; the exit code says it failed.
      failure = e instanceof Error ? e.message : String(e);
      log(`${protocol}: ${failure}`);
    }
    results.push({ protocol, summary: summarizeStalls(trials, settings.writers), trials, failure });
  }
  fs.mkdirSync(settings.outDir, { recursive: true });
  const file = path.join(settings.outDir, `failover-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine: machineMeta(), settings, protocols: results }, null, 2) + '\n');
  log(`failover stall per protocol (kill -9 of the leader to the first successful write started after it):\n${renderFailoverSummary(results)}`);
  log(`wrote ${file}`);
  return results.some((r) => r.failure !== null) ? 1 : 0;
}

/** Trials against one fresh cluster of `protocol`, pushed onto `trials` as they complete. */
async function runTrials(protocol: ProtocolName, settings: FailoverSettings, trials: FailoverTrial[], log: (line: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumlite-failover-${protocol}-`));
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({ nodes: 3, dataDir: dir, basePort: 0, protocol, nodeArgs: settings.nodeArgs });
  } catch (e: unknown) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  try {
    await runFailoverTrials(cluster, cluster.addresses(), settings, trials, log);
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Kill -9 of the leader of a running cluster, `settings.trials` times, under closed-loop
 * writers through `addresses` (the members that serve SQL); each killed node is restarted
 * before the next trial. Trials are pushed onto `trials` as they complete, so a trial that
 * fails leaves the earlier ones standing. Uses its own table, so it may follow other runs.
 */
export async function runFailoverTrials(cluster: LocalCluster, addresses: string[], settings: Pick<FailoverSettings, 'trials' | 'writers' | 'settleMs'>, trials: FailoverTrial[], log: (line: string) => void): Promise<void> {
  const client = new QuorumliteClient({ addresses, timeoutMs: 2_000, retryBudgetMs: TRIAL_TIMEOUT_MS });
  const ops: Op[] = [];
  let stop = false;
  let seq = 0;
  const writer = async (w: number): Promise<void> => {
    while (!stop) {
      const start = performance.now();
      let ok = false;
      try {
        await client.execute({ sql: 'INSERT INTO f(k, w) VALUES (?, ?)', params: [`w${w}-${seq++}`, w] });
        ok = true;
      } catch (e: unknown) {
        if (!(e instanceof QuorumliteError)) throw e;
      }
      ops.push({ start, end: performance.now(), ok });
    }
  };
  let writers: Promise<void>[] = [];
  try {
    await client.execute('CREATE TABLE IF NOT EXISTS f(id INTEGER PRIMARY KEY, k TEXT UNIQUE, w INTEGER)');
    writers = Array.from({ length: settings.writers }, (_, i) => writer(i));
    for (let t = 0; t < settings.trials; t++) {
      await sleep(settings.settleMs);
      const leader = await cluster.waitForLeader();
      const ids = cluster.nodes.map((n) => n.id);
      const countersBefore = await readCounters(ids, (id) => cluster.status(id));
      ops.length = 0;
      const logStarts = ids.map((id) => fileSize(cluster.logFile(id)));
      const killWallMs = Date.now();
      const killAt = performance.now();
      await cluster.kill(leader.id, 'SIGKILL');
      const elected = await cluster.waitForLeader(TRIAL_TIMEOUT_MS, [leader.id]);
      const electedMs = performance.now() - killAt;
      const first = await firstWriteAfter(ops, killAt, TRIAL_TIMEOUT_MS);
      if (!first) throw new Error(`trial ${t + 1}: no write succeeded within ${TRIAL_TIMEOUT_MS} ms of killing ${leader.id}`);
      const after = ops.filter((o) => o.start >= killAt);
      const survivors = ids.filter((id) => id !== leader.id);
      const elections = electionCost(cellCost(countersBefore, await readCounters(survivors, (id) => cluster.status(id)))).elections;
      const tookOffice = survivors.flatMap((id) => {
        const at = roleTakenInLog(readFrom(cluster.logFile(id), logStarts[ids.indexOf(id)]!), 'leader', killWallMs);
        return at === null ? [] : [at - killWallMs];
      });
      const inOfficeMs = tookOffice.length > 0 ? Math.min(...tookOffice) : undefined;
      trials.push({
        killed: leader.id,
        newLeader: elected.id,
        stallMs: first.end - killAt,
        electedMs,
        failedWrites: after.filter((o) => !o.ok).length,
        okWrites: after.filter((o) => o.ok).length,
        elections,
        ...(inOfficeMs !== undefined ? { inOfficeMs } : {}),
      });
      const office = inOfficeMs !== undefined ? `, in office at ${inOfficeMs} ms by its log` : '';
      log(`trial ${t + 1}: killed ${leader.id}, ${elected.id} leads after ${electedMs.toFixed(0)} ms${office} (${elections} candidacies), writes stalled ${(first.end - killAt).toFixed(0)} ms`);
      await cluster.restart(leader.id);
    }
  } finally {
    stop = true;
    await Promise.allSettled(writers);
    client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
