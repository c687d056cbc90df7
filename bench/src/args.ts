/**
 * Command-line parsing for `quorumlite bench` and `quorumlite bench failover`. Pure: argv in,
 * typed settings or a BenchArgsError naming the flag out.
 */
import { PROTOCOL_NAMES, isProtocolName, type ProtocolName } from '@quorumlite/consensus';
import { BenchArgsError, parseDurationMs, parseList, parsePositiveInt, parsePositiveIntList, parseStrict } from './argv';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';
import { parseReference, type ReferenceSystem } from './reference';

export { BenchArgsError, parseDurationMs, parseList, parsePositiveInt, parsePositiveIntList, parseStrict };

export type Baseline = 'echo' | 'stream-echo' | 'sqlite';
const BASELINE_NAMES: readonly Baseline[] = ['echo', 'stream-echo', 'sqlite'];

export interface BenchSettings {
  concurrency: number[];
  durationMs: number;
  warmupMs: number;
  scenarios: ScenarioName[];
  baselines: Baseline[];
  loaders: number;
  outDir: string;
  preloadRows: number;
  /** Each gets its own fresh cluster in the same run, in this order. */
  protocols: ProtocolName[];
  /** Extra flags for every node, e.g. ['--snapshot-every-entries', '100000']; never --protocol. */
  nodeArgs: string[];
  /** The peers measured in the same run on 3-member loopback clusters (their Debian packages). */
  reference: ReferenceSystem[];
  /** Failover trials (kill -9 of the leader under writers) per reference system; 0 for none. */
  referenceTrials: number;
  /** Mutual TLS for the clusters under test: the bench makes their authority and certificates. */
  tls: boolean;
  /** Times every protocol is measured, each round on fresh clusters, the order rotated (medians reported). */
  rounds: number;
  /**
   * With rounds: every protocol's cluster runs for the whole benchmark and each cell measures
   * the protocols back to back, round after round, so a shared machine's drift falls on all alike.
   */
  interleave: boolean;
  quick: boolean;
  help: boolean;
}

export const DEFAULT_SETTINGS: Readonly<BenchSettings> = {
  concurrency: [1, 16, 64, 256],
  durationMs: 10_000,
  warmupMs: 3_000,
  scenarios: ['insert', 'select', 'select-any', 'select-stale', 'batch100'],
  baselines: ['echo', 'stream-echo', 'sqlite'],
  loaders: 2,
  outDir: 'bench/results',
  preloadRows: 10_000,
  protocols: [...PROTOCOL_NAMES],
  nodeArgs: [],
  reference: [],
  referenceTrials: 5,
  tls: false,
  rounds: 1,
  interleave: false,
  quick: false,
  help: false,
};

/** --quick: fewer levels and shorter runs, for a smoke check of the whole pipeline. */
export const QUICK_SETTINGS: Readonly<Partial<BenchSettings>> = {
  concurrency: [1, 64],
  durationMs: 3_000,
  warmupMs: 1_000,
  preloadRows: 2_000,
};

export const BENCH_USAGE = `quorumlite bench [options]
  --concurrency 1,16,64,256   closed-loop clients per level
  --duration 10s              measured time per run (ms, s, m, h)
  --warmup 3s                 unmeasured time before each run
  --scenarios ${SCENARIO_NAMES.join(',')}
  --baselines echo,stream-echo,sqlite
                              ceilings measured in the same run ('none' for none)
  --loaders 2                 loader processes the clients are split across
  --preload-rows 10000        rows loaded before the select scenarios
  --protocols ${PROTOCOL_NAMES.join(',')}
                              a fresh 3-node cluster each, compared side by side
  --node-args="--flag value"  extra flags for every node (split on spaces; note the =; not --protocol)
  --reference zookeeper,etcd  also measure the peers in the same run: 3-member loopback clusters
                              from Debian's zookeeper and etcd-server packages, same scenarios
                              (write, linearizable read, local read) and failover trials
  --reference-trials 5        failover trials per peer (0: none)
  --tls                       mutual TLS for client and peer traffic of every quorumlite cluster
                              (the bench makes a local authority, node and client certificates)
  --rounds 1                  measure every protocol this many times, each round on fresh clusters
                              in a rotated order; the report adds medians and × the best median
  --interleave                with --rounds: one cluster per protocol for the whole run, and every
                              cell measures the protocols back to back, round after round, in a
                              rotated order (a shared machine's drift then falls on all alike;
                              the idle clusters' ticks cost every protocol the same)
  --out bench/results         where <timestamp>.json and .md go
  --quick                     1,64 clients, 3s runs, 1s warm-up (explicit flags still win)`;

export function parseBenchArgs(argv: readonly string[]): BenchSettings {
  const { values } = parseStrict(argv, {
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    scenarios: { type: 'string' },
    baselines: { type: 'string' },
    loaders: { type: 'string' },
    'preload-rows': { type: 'string' },
    protocols: { type: 'string' },
    'node-args': { type: 'string' },
    reference: { type: 'string' },
    'reference-trials': { type: 'string' },
    tls: { type: 'boolean' },
    rounds: { type: 'string' },
    interleave: { type: 'boolean' },
    out: { type: 'string' },
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const quick = values.quick === true;
  const base: BenchSettings = { ...DEFAULT_SETTINGS, ...(quick ? QUICK_SETTINGS : {}), quick };
  const settings: BenchSettings = {
    ...base,
    help: values.help === true,
    concurrency: values.concurrency !== undefined ? parsePositiveIntList(values.concurrency, 'concurrency') : base.concurrency,
    durationMs: values.duration !== undefined ? parseDurationMs(values.duration, 'duration') : base.durationMs,
    warmupMs: values.warmup !== undefined ? parseDurationMs(values.warmup, 'warmup') : base.warmupMs,
    scenarios: values.scenarios !== undefined ? parseScenarios(values.scenarios) : base.scenarios,
    baselines: values.baselines !== undefined ? parseBaselines(values.baselines) : base.baselines,
    loaders: values.loaders !== undefined ? parsePositiveInt(values.loaders, 'loaders') : base.loaders,
    preloadRows: values['preload-rows'] !== undefined ? parsePositiveInt(values['preload-rows'], 'preload-rows') : base.preloadRows,
    protocols: values.protocols !== undefined ? parseProtocols(values.protocols) : base.protocols,
    nodeArgs: values['node-args'] !== undefined ? parseNodeArgs(values['node-args']) : base.nodeArgs,
    reference: values.reference !== undefined ? parseReference(values.reference) : base.reference,
    referenceTrials: values['reference-trials'] !== undefined ? parseCount(values['reference-trials'], 'reference-trials') : base.referenceTrials,
    tls: values.tls === true,
    rounds: values.rounds !== undefined ? parsePositiveInt(values.rounds, 'rounds') : base.rounds,
    interleave: values.interleave === true,
    outDir: values.out ?? base.outDir,
  };
  if (settings.durationMs < 1) throw new BenchArgsError('--duration: must be at least 1ms');
  if (settings.interleave && settings.reference.length > 0) throw new BenchArgsError('--interleave: measures the protocols only; run --reference without it');
  return settings;
}

function parseCount(text: string, flag: string): number {
  return text.trim() === '0' ? 0 : parsePositiveInt(text, flag);
}

function parseScenarios(text: string): ScenarioName[] {
  if (text.trim() === 'none') return [];
  return parseList(text).map((name) => {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new BenchArgsError(`--scenarios: unknown scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')})`);
    }
    return name as ScenarioName;
  });
}

/** 'raft, zab' → ['raft', 'zab'], checked against the consensus registry. */
export function parseProtocols(text: string): ProtocolName[] {
  const names = parseList(text);
  if (names.length === 0) throw new BenchArgsError(`--protocols: give at least one (known: ${PROTOCOL_NAMES.join(', ')})`);
  const seen = new Set<ProtocolName>();
  for (const name of names) {
    if (!isProtocolName(name)) throw new BenchArgsError(`--protocols: unknown protocol '${name}' (known: ${PROTOCOL_NAMES.join(', ')})`);
    if (seen.has(name)) throw new BenchArgsError(`--protocols: '${name}' is listed twice`);
    seen.add(name);
  }
  return [...seen];
}

/**
 * '--a 1  --b' → ['--a', '1', '--b']. The benchmark sets each cluster's protocol itself, so a
 * --protocol here would silently override (or be overridden by) --protocols: refused.
 */
export function parseNodeArgs(text: string): string[] {
  const args = text.split(/\s+/).filter((a) => a.length > 0);
  const clash = args.find((a) => a === '--protocol' || a.startsWith('--protocol='));
  if (clash !== undefined) throw new BenchArgsError(`--node-args: '${clash}' sets the protocol of every node; choose protocols with --protocols instead`);
  return args;
}

function parseBaselines(text: string): Baseline[] {
  if (text.trim() === 'none') return [];
  return parseList(text).map((name) => {
    if (!(BASELINE_NAMES as readonly string[]).includes(name)) {
      throw new BenchArgsError(`--baselines: unknown baseline '${name}' (known: ${BASELINE_NAMES.join(', ')}, none)`);
    }
    return name as Baseline;
  });
}

/** Splits C virtual clients across at most L loaders: 10 over 3 → [4, 3, 3]; 1 over 2 → [1]. */
export function splitConcurrency(concurrency: number, loaders: number): number[] {
  const n = Math.max(1, Math.min(concurrency, loaders));
  const base = Math.floor(concurrency / n);
  const extra = concurrency % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}
