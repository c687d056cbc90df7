/**
 * `quorumlite compare`: the matrix (protocols × topologies × scenarios × concurrency), its
 * flags and its expected duration. Pure: argv in, typed settings or a BenchArgsError naming
 * the flag out. A protocol or topology joins the matrix by being registered under its name.
 */
import { PROTOCOL_NAMES, type ProtocolName } from '@quorumlite/consensus';
import { parseTopology, TOPOLOGIES } from '@quorumlite/cluster';
import { parseNodeArgs, parseProtocols } from './args';
import { BenchArgsError, parseDurationMs, parseList, parsePositiveInt, parsePositiveIntList, parseStrict } from './argv';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';

/** Load scenarios run by the loaders, then 'failover': kill -9 of the leader, repeated. */
export const COMPARE_SCENARIOS = [...SCENARIO_NAMES, 'failover'] as const;
export type CompareScenario = ScenarioName | 'failover';

export interface CompareSettings {
  protocols: ProtocolName[];
  /** Topology names (see libs/cluster topology.ts), in run order. */
  topologies: string[];
  scenarios: CompareScenario[];
  concurrency: number[];
  durationMs: number;
  warmupMs: number;
  /**
   * Unmeasured inserts (C=CLUSTER_WARMUP_CONCURRENCY) on each load cluster after it starts and
   * before its first cell; 0 for none. A new cluster's first tens of seconds ran up to half as
   * fast as the rest, in every protocol, which put a slope under the first cell's rounds.
   */
  clusterWarmupMs: number;
  loaders: number;
  preloadRows: number;
  failoverTrials: number;
  failoverWriters: number;
  failoverSettleMs: number;
  /**
   * Not a flag: where this build runs the failover trials, recorded with the results so a report
   * says it of the run it shows. True: on a fresh cluster of their own once the load clusters
   * have stopped. Results written before it (absent) ran them on the load cluster, after its cells.
   */
  failoverOnFreshCluster?: boolean;
  nodeArgs: string[];
  /** Results go to <outDir>/<timestamp>/. */
  outDir: string;
  /**
   * One cluster per protocol of a topology, all running while that topology is measured; each
   * load cell measures the protocols back to back, `rounds` times, the order rotated every
   * time. Off (--sequential): one protocol × topology after another, minutes apart.
   */
  interleave: boolean;
  /** With interleave: how many times each load cell measures every protocol. */
  rounds: number;
  /**
   * With interleave: a second cluster of the first protocol joins each topology's rotation (its
   * load cells only), so the report can say how far two identical clusters land apart — the
   * spread below which a gap between protocols is no difference.
   */
  control: boolean;
  quick: boolean;
  help: boolean;
  /** --report DIR: no measuring; DIR's report.md and report.html rendered again from its results.json. */
  report: string | null;
}

export const COMPARE_DEFAULTS: Readonly<CompareSettings> = {
  protocols: [...PROTOCOL_NAMES],
  topologies: ['3v', '2v1w', '5v'],
  scenarios: [...COMPARE_SCENARIOS],
  concurrency: [1, 16, 64, 256],
  durationMs: 10_000,
  warmupMs: 2_000,
  clusterWarmupMs: 15_000,
  loaders: 2,
  preloadRows: 10_000,
  failoverTrials: 10,
  failoverWriters: 16,
  failoverSettleMs: 1_500,
  failoverOnFreshCluster: true,
  nodeArgs: [],
  outDir: 'bench/results',
  interleave: true,
  rounds: 1,
  control: false,
  quick: false,
  help: false,
  report: null,
};

/**
 * --quick: a tour of every kind of cell (writes, a 90/10 mix with linearizable reads,
 * failover) for every protocol on 3 voters and on 2 voters + a witness, in about 3 minutes on
 * two shared cores. One loader process: a second one's start costs more than its window.
 */
export const COMPARE_QUICK: Readonly<Partial<CompareSettings>> = {
  topologies: ['3v', '2v1w'],
  scenarios: ['insert', 'mixed90', 'failover'],
  concurrency: [16, 64],
  durationMs: 1_200,
  warmupMs: 200,
  clusterWarmupMs: 0,
  loaders: 1,
  preloadRows: 1_000,
  failoverTrials: 2,
  failoverSettleMs: 300,
};

export const COMPARE_USAGE = `quorumlite compare [options]
  --protocols ${PROTOCOL_NAMES.join(',')}
  --topologies ${COMPARE_DEFAULTS.topologies.join(',')}        (known: ${TOPOLOGIES.map((t) => t.name).join(', ')})
  --scenarios ${COMPARE_SCENARIOS.join(',')}
  --concurrency ${COMPARE_DEFAULTS.concurrency.join(',')}      closed-loop clients per level
  --duration 10s              measured time per cell (ms, s, m, h)
  --warmup 2s                 unmeasured time before each cell
  --cluster-warmup 15s        unmeasured inserts on each new load cluster before its first cell (0: none)
  --trials 10                 failover trials per protocol × topology
  --loaders 2                 loader processes the clients are split across
  --preload-rows 10000        rows loaded for the read, mixed and hot-update scenarios
  --node-args="--flag value"  extra flags for every node (not --protocol)
  --out bench/results         results go to <out>/<timestamp>/
  --rounds 1                  times each load cell measures every protocol (paired ratios: median over rounds)
  --sequential                one protocol × topology after another instead of interleaved
  --control                   a second cluster of the first protocol in the rotation: the A/A spread
  --report DIR                measure nothing: render DIR's report.md and report.html again from its results.json
  --quick                     ${COMPARE_QUICK.topologies!.join(',')}; ${COMPARE_QUICK.scenarios!.join(',')}; C ${COMPARE_QUICK.concurrency!.join(',')}; 1.2s cells; 1 loader; 2 trials (explicit flags still win)
Each protocol × topology gets a fresh cluster, used for its load scenarios in order; its failover
trials run last, on a fresh cluster of their own once the load clusters have stopped.
Interleaved (the default): a topology's clusters run together and every load cell measures
the protocols back to back, the order rotated each time, so the machine's drift falls on all alike.`;

export function parseCompareArgs(argv: readonly string[]): CompareSettings {
  const { values, positionals } = parseStrict(argv, {
    protocols: { type: 'string' },
    topologies: { type: 'string' },
    scenarios: { type: 'string' },
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'cluster-warmup': { type: 'string' },
    trials: { type: 'string' },
    loaders: { type: 'string' },
    'preload-rows': { type: 'string' },
    'node-args': { type: 'string' },
    out: { type: 'string' },
    rounds: { type: 'string' },
    sequential: { type: 'boolean' },
    control: { type: 'boolean' },
    quick: { type: 'boolean' },
    report: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length > 0) throw new BenchArgsError(`unexpected argument '${positionals[0]}' (every setting is a --flag)`);
  const quick = values.quick === true;
  const base: CompareSettings = { ...COMPARE_DEFAULTS, ...(quick ? COMPARE_QUICK : {}), quick };
  const settings: CompareSettings = {
    ...base,
    help: values.help === true,
    protocols: values.protocols !== undefined ? parseProtocols(values.protocols) : base.protocols,
    topologies: values.topologies !== undefined ? parseTopologies(values.topologies) : base.topologies,
    scenarios: values.scenarios !== undefined ? parseCompareScenarios(values.scenarios) : base.scenarios,
    concurrency: values.concurrency !== undefined ? parsePositiveIntList(values.concurrency, 'concurrency') : base.concurrency,
    durationMs: values.duration !== undefined ? parseDurationMs(values.duration, 'duration') : base.durationMs,
    warmupMs: values.warmup !== undefined ? parseDurationMs(values.warmup, 'warmup') : base.warmupMs,
    clusterWarmupMs: values['cluster-warmup'] !== undefined ? parseDurationMs(values['cluster-warmup'], 'cluster-warmup') : base.clusterWarmupMs,
    failoverTrials: values.trials !== undefined ? parsePositiveInt(values.trials, 'trials') : base.failoverTrials,
    loaders: values.loaders !== undefined ? parsePositiveInt(values.loaders, 'loaders') : base.loaders,
    preloadRows: values['preload-rows'] !== undefined ? parsePositiveInt(values['preload-rows'], 'preload-rows') : base.preloadRows,
    nodeArgs: values['node-args'] !== undefined ? parseNodeArgs(values['node-args']) : base.nodeArgs,
    outDir: values.out ?? base.outDir,
    interleave: values.sequential !== true,
    rounds: values.rounds !== undefined ? parsePositiveInt(values.rounds, 'rounds') : base.rounds,
    control: values.control === true,
    report: values.report ?? null,
  };
  if (settings.report !== null && (settings.report === '' || Object.keys(values).some((k) => k !== 'report' && k !== 'help'))) throw new BenchArgsError('--report: takes a results directory and no other flag (it measures nothing)');
  if (settings.durationMs < 1) throw new BenchArgsError('--duration: must be at least 1ms');
  if (!settings.interleave && settings.rounds > 1) throw new BenchArgsError('--rounds: needs interleaved cells; leave out --sequential');
  if (!settings.interleave && settings.control) throw new BenchArgsError('--control: needs interleaved cells; leave out --sequential');
  return settings;
}

export function parseTopologies(text: string): string[] {
  const names = uniqueList(text, 'topologies');
  for (const name of names) {
    try {
      parseTopology(name);
    } catch (e: unknown) {
      throw new BenchArgsError(`--topologies: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return names;
}

export function parseCompareScenarios(text: string): CompareScenario[] {
  return uniqueList(text, 'scenarios').map((name) => {
    if (!(COMPARE_SCENARIOS as readonly string[]).includes(name)) {
      throw new BenchArgsError(`--scenarios: unknown scenario '${name}' (known: ${COMPARE_SCENARIOS.join(', ')})`);
    }
    return name as CompareScenario;
  });
}

function uniqueList(text: string, flag: string): string[] {
  const names = parseList(text);
  if (names.length === 0) throw new BenchArgsError(`--${flag}: give at least one`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new BenchArgsError(`--${flag}: '${twice}' is listed twice`);
  return names;
}

/** One cell of the matrix: a load scenario at one concurrency, or one protocol × topology's failover trials. */
export type CellPlan =
  | { kind: 'load'; protocol: ProtocolName; topology: string; scenario: ScenarioName; concurrency: number }
  | { kind: 'failover'; protocol: ProtocolName; topology: string; trialCount: number };

/**
 * The matrix in run order. Sequential: grouped by protocol × topology (one cluster each),
 * failover last in its group. Interleaved: grouped by topology, each load cell's protocols
 * side by side (measured back to back), then each protocol's failover.
 */
export function planCells(s: CompareSettings): CellPlan[] {
  const cells: CellPlan[] = [];
  if (s.interleave) {
    for (const topology of s.topologies) cells.push(...topologyCells(s, topology));
    return cells;
  }
  for (const protocol of s.protocols) {
    for (const topology of s.topologies) cells.push(...clusterCells(s, protocol, topology));
  }
  return cells;
}

/** One topology's cells, interleaved: every (scenario, C) for every protocol, then the failovers. */
export function topologyCells(s: CompareSettings, topology: string): CellPlan[] {
  const perProtocol = s.protocols.map((protocol) => clusterCells(s, protocol, topology));
  const loads = perProtocol[0]?.filter((c) => c.kind === 'load').length ?? 0;
  const cells: CellPlan[] = [];
  for (let i = 0; i < loads; i++) for (const own of perProtocol) cells.push(own[i]!);
  for (const own of perProtocol) cells.push(...own.slice(loads));
  return cells;
}

export function clusterCells(s: CompareSettings, protocol: ProtocolName, topology: string): CellPlan[] {
  const loads = s.scenarios.flatMap((scenario): CellPlan[] =>
    scenario === 'failover' ? [] : s.concurrency.map((concurrency) => ({ kind: 'load', protocol, topology, scenario, concurrency })),
  );
  return s.scenarios.includes('failover') ? [...loads, { kind: 'failover', protocol, topology, trialCount: s.failoverTrials }] : loads;
}

/**
 * Measured on two shared cores: a cluster's start and preload; a cell's loader start, drain
 * and stop (1.4 s per measurement over the 384 of a six-round 3v run with a control); a trial's
 * election and the killed node's restart.
 */
export const CLUSTER_START_MS_EST = 4_000;
export const CELL_OVERHEAD_MS_EST = 1_500;
/** The concurrency of a load cluster's warm-up (clusterWarmupMs). */
export const CLUSTER_WARMUP_CONCURRENCY = 64;

/** A load cluster's expected start: the cluster, its preload, and its warm-up if any. */
export function loadClusterStartMs(s: CompareSettings): number {
  return CLUSTER_START_MS_EST + (s.clusterWarmupMs > 0 ? s.clusterWarmupMs + CELL_OVERHEAD_MS_EST : 0);
}
export const TRIAL_OVERHEAD_MS_EST = 2_500;

/**
 * The expected time of one cell (plus its cluster's start for the first cell of a cluster); the
 * control's runs of a load cell ride on the first protocol's.
 */
export function cellEstimateMs(s: CompareSettings, cell: CellPlan): number {
  switch (cell.kind) {
    case 'load': {
      const runs = s.interleave ? s.rounds * (s.control && cell.protocol === s.protocols[0] ? 2 : 1) : 1;
      return runs * (s.warmupMs + s.durationMs + CELL_OVERHEAD_MS_EST);
    }
    case 'failover':
      // Its own fresh cluster, started for its trials.
      return CLUSTER_START_MS_EST + cell.trialCount * (s.failoverSettleMs + TRIAL_OVERHEAD_MS_EST);
  }
}

/** Whether any load scenario is selected: without one, only the failover cells' own clusters start. */
export function hasLoadCells(s: CompareSettings): boolean {
  return s.scenarios.some((x) => x !== 'failover');
}

export function estimateMs(s: CompareSettings): number {
  const clusters = hasLoadCells(s) ? (s.protocols.length + (s.control ? 1 : 0)) * s.topologies.length : 0;
  return clusters * loadClusterStartMs(s) + planCells(s).reduce((sum, cell) => sum + cellEstimateMs(s, cell), 0);
}

export function cellLabel(cell: CellPlan): string {
  return cell.kind === 'load' ? `${cell.protocol} ${cell.topology} ${cell.scenario} C=${cell.concurrency}` : `${cell.protocol} ${cell.topology} failover ×${cell.trialCount}`;
}

/** A file name for the cell's raw JSON. */
export function cellFileName(cell: CellPlan): string {
  return cell.kind === 'load' ? `${cell.protocol}-${cell.topology}-${cell.scenario}-c${cell.concurrency}.json` : `${cell.protocol}-${cell.topology}-failover.json`;
}

/** '1h 02m', '3m 05s', '42s'. */
export function formatDurationMs(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
