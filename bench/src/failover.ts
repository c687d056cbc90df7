/**
 * `quorumlite bench failover`: kill -9 of the leader under closed-loop writers, repeated.
 *
 * Stall = from the kill to the completion of the first successful write that was started
 * after it (the definition BENCHMARKS.md uses for etcd and ZooKeeper). After each trial the
 * killed node is restarted and must catch up before the next one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { LocalCluster } from '@quorumlite/cluster';
import { BenchArgsError, parsePositiveInt } from './args';
import { machineMeta } from './runner';

export const FAILOVER_USAGE = `quorumlite bench failover [--trials 10] [--writers 16] [--settle-ms 1500] [--node-args="..."] [--out bench/results]`;

export interface FailoverSettings {
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
  electedMs: number;
  failedWrites: number;
  okWrites: number;
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
    trials: parsePositiveInt(v.trials ?? '10', 'trials'),
    writers: parsePositiveInt(v.writers ?? '16', 'writers'),
    settleMs: parsePositiveInt(v['settle-ms'] ?? '1500', 'settle-ms'),
    nodeArgs: (v['node-args'] ?? '').split(/\s+/).filter(Boolean),
    outDir: v.out ?? path.join('bench', 'results'),
  };
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

interface Op {
  start: number;
  end: number;
  ok: boolean;
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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-failover-'));
  const cluster = await LocalCluster.start({ nodes: 3, dataDir: dir, basePort: 0, nodeArgs: settings.nodeArgs });
  const client = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 2_000, retryBudgetMs: TRIAL_TIMEOUT_MS });
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
  const trials: FailoverTrial[] = [];
  let writers: Promise<void>[] = [];
  try {
    await client.execute('CREATE TABLE f(id INTEGER PRIMARY KEY, k TEXT UNIQUE, w INTEGER)');
    writers = Array.from({ length: settings.writers }, (_, i) => writer(i));
    for (let t = 0; t < settings.trials; t++) {
      await sleep(settings.settleMs);
      const leader = await cluster.waitForLeader();
      ops.length = 0;
      const killAt = performance.now();
      await cluster.kill(leader.id, 'SIGKILL');
      const elected = await cluster.waitForLeader(TRIAL_TIMEOUT_MS, [leader.id]);
      const electedMs = performance.now() - killAt;
      const deadline = performance.now() + TRIAL_TIMEOUT_MS;
      let first: Op | undefined;
      while (!first && performance.now() < deadline) {
        await sleep(10);
        first = ops.filter((o) => o.ok && o.start >= killAt).sort((a, b) => a.end - b.end)[0];
      }
      if (!first) throw new Error(`trial ${t + 1}: no write succeeded within ${TRIAL_TIMEOUT_MS} ms of killing ${leader.id}`);
      const after = ops.filter((o) => o.start >= killAt);
      trials.push({
        killed: leader.id,
        newLeader: elected.id,
        stallMs: first.end - killAt,
        electedMs,
        failedWrites: after.filter((o) => !o.ok).length,
        okWrites: after.filter((o) => o.ok).length,
      });
      log(`trial ${t + 1}: killed ${leader.id}, ${elected.id} leads after ${electedMs.toFixed(0)} ms, writes stalled ${(first.end - killAt).toFixed(0)} ms`);
      await cluster.restart(leader.id);
    }
  } finally {
    stop = true;
    await Promise.allSettled(writers);
    client.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const stalls = trials.map((t) => t.stallMs).sort((a, b) => a - b);
  const summary = {
    trials: trials.length,
    writers: settings.writers,
    stallMsMedian: percentile(stalls, 0.5),
    stallMsMin: stalls[0] ?? NaN,
    stallMsP90: percentile(stalls, 0.9),
    stallMsMax: stalls[stalls.length - 1] ?? NaN,
  };
  fs.mkdirSync(settings.outDir, { recursive: true });
  const file = path.join(settings.outDir, `failover-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine: machineMeta(), settings, summary, trials }, null, 2) + '\n');
  log(
    `failover stall over ${summary.trials} trials, ${summary.writers} writers: median ${summary.stallMsMedian.toFixed(0)} ms, min ${summary.stallMsMin.toFixed(0)}, p90 ${summary.stallMsP90.toFixed(0)}, max ${summary.stallMsMax.toFixed(0)}`,
  );
  log(`wrote ${file}`);
  return 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
