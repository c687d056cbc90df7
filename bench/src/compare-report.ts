/**
 * The comparison report: recorded cells in, report.md and a self-contained report.html out
 * (inline SVG, no script, nothing fetched). Every chart carries a one-line reading computed from
 * the same numbers. A cell that failed is shown as failed — in tables, charts and readings —
 * never as zero. Pure.
 */
import type { CellPlan, CompareSettings } from './compare-args';
import { leaderStepsPerEntry, messagesByType, perEntry, type CellCost, type PerEntry, type WindowEvents } from './cost';
import type { FailoverStallSummary, FailoverTrial } from './failover';
import type { RunRow } from './merge';
import { rowFailed } from './report';
import { median, pairedCloseness, pairedRatiosToBest } from './rounds';
import { barChart, escapeXml, lineChart, stripChart, type ChartValue } from './svg';

/** One measurement of an interleaved load cell: `position` 0 ran first of its back-to-back group. */
export interface RoundSample {
  row: RunRow | null;
  failure: string | null;
  position: number;
  /** Elections, leader changes and snapshots in the round's window (absent in results recorded before, or unread). */
  events?: WindowEvents;
}

export type CellResult = (
  | (Extract<CellPlan, { kind: 'load' }> & {
      /** The median round's row (the only one, measured once). */
      row: RunRow | null;
      failure: string | null;
      /** Interleaved: every round of the cell, in round order (absent when run sequentially). */
      rounds?: RoundSample[];
    })
  | (Extract<CellPlan, { kind: 'failover' }> & { trials: FailoverTrial[]; summary: FailoverStallSummary; failure: string | null })
) & {
  /** What the cell cost the cluster, from the nodes' counters (absent in results recorded before they existed). */
  cost?: CellCost | null;
};

export interface CompareMeta {
  startedAt: string;
  finishedAt: string;
  command: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  versions: Record<string, string>;
}

export interface CompareResults {
  meta: CompareMeta;
  settings: CompareSettings;
  cells: CellResult[];
  /** --control: the load cells of a second cluster of the first protocol, measured in the same rotation. */
  controls?: CellResult[];
}

/** The failover target of the protocol issues: median stall under this. */
export const FAILOVER_MEDIAN_MS_TARGET = 150;
/** Every protocol should reach this share of the best throughput of its scenario. */
export const WITHIN_BEST_RATIO_TARGET = 0.9;

type LoadCell = Extract<CellResult, { kind: 'load' }>;
type FailoverCell = Extract<CellResult, { kind: 'failover' }>;

export function cellFailed(cell: CellResult): boolean {
  if (cell.failure !== null) return true;
  return cell.kind === 'load' ? cell.row === null || rowFailed(cell.row) : cell.trials.length === 0;
}

/** Why a cell failed, in a few words, for tables and tooltips. */
export function failureReason(cell: CellResult): string {
  if (cell.failure !== null) return cell.failure;
  if (cell.kind === 'load' && cell.row !== null) {
    const codes = Object.entries(cell.row.errorsByCode).map(([code, n]) => `${code} ${n}`).join(', ');
    return cell.row.ops === 0 ? `no operation completed${codes ? ` (${codes})` : ''}` : `${cell.row.errors} errors${codes ? ` (${codes})` : ''}`;
  }
  return 'no trial completed';
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function loadCells(r: CompareResults): LoadCell[] {
  return r.cells.filter((c): c is LoadCell => c.kind === 'load');
}

function failoverCells(r: CompareResults): FailoverCell[] {
  return r.cells.filter((c): c is FailoverCell => c.kind === 'failover');
}

/** The protocols, topologies, scenarios and levels present, in the order they ran. */
function dimensions(r: CompareResults): { protocols: string[]; topologies: string[]; scenarios: string[]; levels: number[] } {
  const loads = loadCells(r);
  return {
    protocols: unique(r.cells.map((c) => c.protocol)),
    topologies: unique(r.cells.map((c) => c.topology)),
    scenarios: unique(loads.map((c) => c.scenario)),
    levels: unique(loads.map((c) => c.concurrency)).sort((a, b) => a - b),
  };
}

/** The level readings are taken at: 64 when measured, else the highest. */
export function referenceLevel(levels: readonly number[]): number | null {
  if (levels.length === 0) return null;
  return levels.includes(64) ? 64 : Math.max(...levels);
}

function findLoad(r: CompareResults, protocol: string, topology: string, scenario: string, concurrency: number): LoadCell | undefined {
  return loadCells(r).find((c) => c.protocol === protocol && c.topology === topology && c.scenario === scenario && c.concurrency === concurrency);
}

function valueOf(cell: LoadCell | undefined, pick: (row: RunRow) => number): ChartValue {
  if (cell === undefined) return { y: null, failed: false };
  if (cellFailed(cell) || cell.row === null) return { y: null, failed: true };
  return { y: pick(cell.row), failed: false };
}

/** ops/s, or rows/s for a scenario of many statements per operation. */
export const throughputOf = (row: RunRow): number => (row.statementsPerOp > 1 ? row.statementsPerSec : row.opsPerSec);
const throughputUnit = (scenario: string): string => (scenario === 'batch100' ? 'rows/s' : 'ops/s');

/** 'zab leads insert on 3v at C=64 by 7% (1,234 vs raft 1,153 ops/s)'. */
export function throughputReading(r: CompareResults, topology: string, scenario: string, level: number): string {
  const { protocols } = dimensions(r);
  const cells = protocols.map((p) => ({ p, cell: findLoad(r, p, topology, scenario, level) })).filter((x) => x.cell !== undefined);
  const ok = cells.flatMap(({ p, cell }) => (cell && !cellFailed(cell) && cell.row ? [{ p, v: throughputOf(cell.row) }] : [])).sort((a, b) => b.v - a.v);
  const failed = cells.filter(({ cell }) => cell && cellFailed(cell)).map(({ p }) => p);
  const failedNote = failed.length > 0 ? `; ${failed.join(', ')} failed` : '';
  const where = `${scenario} on ${topology} at C=${level}`;
  const unit = throughputUnit(scenario);
  const [best, second] = ok;
  if (best === undefined) return `every run of ${where} failed`;
  if (second === undefined) return `only ${best.p} completed ${where}: ${fmt(best.v)} ${unit}${failedNote}`;
  const lead = second.v > 0 ? (best.v / second.v - 1) * 100 : Infinity;
  return `${best.p} leads ${where} by ${Number.isFinite(lead) ? `${fmt(lead)}%` : 'all'} (${fmt(best.v)} vs ${second.p} ${fmt(second.v)} ${unit})${failedNote}`;
}

/** 'raft has the lowest p99 of insert on 3v at C=64: 4.1 ms (zab 5.3, multipaxos 6.0)'. */
export function latencyReading(r: CompareResults, topology: string, scenario: string, level: number): string {
  const { protocols } = dimensions(r);
  const ok = protocols
    .flatMap((p) => {
      const cell = findLoad(r, p, topology, scenario, level);
      return cell && !cellFailed(cell) && cell.row ? [{ p, v: cell.row.latencyMs.p99 }] : [];
    })
    .sort((a, b) => a.v - b.v);
  const where = `${scenario} on ${topology} at C=${level}`;
  const [best, ...rest] = ok;
  if (best === undefined) return `every run of ${where} failed`;
  const others = rest.length > 0 ? ` (${rest.map((x) => `${x.p} ${fmt(x.v, 1)}`).join(', ')})` : '';
  return `${best.p} has the lowest p99 of ${where}: ${fmt(best.v, 1)} ms${others}`;
}

/** 'raft has the shortest median stall on 3v: 420 ms (zab 610, multipaxos 700); under 150 ms: none'. */
export function failoverReading(r: CompareResults, topology: string): string {
  const cells = failoverCells(r).filter((c) => c.topology === topology);
  const ok = cells.filter((c) => c.trials.length > 0).sort((a, b) => a.summary.stallMsMedian - b.summary.stallMsMedian);
  const failed = cells.filter(cellFailed).map((c) => c.protocol);
  const failedNote = failed.length > 0 ? `; ${failed.join(', ')} failed` : '';
  const [best, ...rest] = ok;
  if (best === undefined) return `every failover run on ${topology} failed`;
  const others = rest.length > 0 ? ` (${rest.map((c) => `${c.protocol} ${fmt(c.summary.stallMsMedian)}`).join(', ')})` : '';
  const met = ok.filter((c) => c.summary.stallMsMedian < FAILOVER_MEDIAN_MS_TARGET).map((c) => c.protocol);
  return `${best.protocol} has the shortest median stall on ${topology}: ${fmt(best.summary.stallMsMedian)} ms${others}; median under ${FAILOVER_MEDIAN_MS_TARGET} ms: ${met.length > 0 ? met.join(', ') : 'none'}${failedNote}`;
}

/** What one committed entry cost in a load cell: null when the cell failed, has no counters or committed nothing. */
function entryCost(cell: LoadCell | undefined): PerEntry | null {
  if (cell === undefined || cellFailed(cell) || !cell.cost) return null;
  return perEntry(cell.cost);
}

function costValue(cell: LoadCell | undefined, pick: (c: PerEntry) => number): ChartValue {
  if (cell === undefined) return { y: null, failed: false };
  if (cellFailed(cell)) return { y: null, failed: true };
  const c = entryCost(cell);
  return { y: c === null ? null : pick(c), failed: false };
}

const COSTS: ReadonlyArray<{ key: keyof PerEntry; title: string; unit: string; what: string; digits: number }> = [
  { key: 'messages', title: 'messages per committed entry', unit: 'messages', what: 'the fewest messages', digits: 2 },
  { key: 'bytes', title: 'bytes on the wire per committed entry', unit: 'bytes', what: 'the fewest bytes on the wire', digits: 0 },
  { key: 'syncs', title: 'storage syncs per committed entry', unit: 'syncs', what: 'the fewest storage syncs', digits: 2 },
];

/** 'zab sends the fewest messages per committed entry of insert on 3v at C=64: 2.1 (raft 3.0, multipaxos 4.2)'. */
export function costReading(r: CompareResults, topology: string, scenario: string, level: number, key: keyof PerEntry): string {
  const { protocols } = dimensions(r);
  const spec = COSTS.find((c) => c.key === key)!;
  const ok = protocols
    .flatMap((p) => {
      const c = entryCost(findLoad(r, p, topology, scenario, level));
      return c === null ? [] : [{ p, v: c[key] }];
    })
    .sort((a, b) => a.v - b.v);
  const where = `${scenario} on ${topology} at C=${level}`;
  const [best, ...rest] = ok;
  if (best === undefined) return `no counters for ${where}`;
  const others = rest.length > 0 ? ` (${rest.map((x) => `${x.p} ${fmt(x.v, spec.digits)}`).join(', ')})` : '';
  return `${best.p} costs ${spec.what} per committed entry of ${where}: ${fmt(best.v, spec.digits)}${others}`;
}

export interface Figure {
  id: string;
  svg: string;
  reading: string;
}

export interface Section {
  title: string;
  figures: Figure[];
}

/** Every chart of the report, grouped: throughput per scenario, latency per scenario, failover. */
export function buildFigures(r: CompareResults): Section[] {
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const level = referenceLevel(levels);
  const sections: Section[] = [];
  const throughput: Figure[] = [];
  const latency: Figure[] = [];
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      if (!protocols.some((p) => levels.some((c) => findLoad(r, p, topology, scenario, c)))) continue;
      throughput.push({
        id: `throughput-${topology}-${scenario}`,
        svg: lineChart({
          title: `${scenario} on ${topology}: throughput vs concurrency`,
          yLabel: throughputUnit(scenario),
          categories: levels.map((c) => `C=${c}`),
          series: protocols.map((p) => ({ name: p, values: levels.map((c) => valueOf(findLoad(r, p, topology, scenario, c), throughputOf)) })),
        }),
        reading: level === null ? '' : throughputReading(r, topology, scenario, level),
      });
      if (level === null) continue;
      const picks: Array<[string, (row: RunRow) => number]> = [
        ['p50', (row) => row.latencyMs.p50],
        ['p99', (row) => row.latencyMs.p99],
        ['p99.9', (row) => row.latencyMs.p999],
      ];
      latency.push({
        id: `latency-${topology}-${scenario}`,
        svg: barChart({
          title: `${scenario} on ${topology}: latency at C=${level}`,
          yLabel: 'ms',
          categories: picks.map(([name]) => name),
          series: protocols.map((p) => ({ name: p, values: picks.map(([, pick]) => valueOf(findLoad(r, p, topology, scenario, level), pick)) })),
        }),
        reading: latencyReading(r, topology, scenario, level),
      });
    }
  }
  const costs: Figure[] = [];
  if (level !== null) {
    for (const topology of topologies) {
      const shown = scenarios.filter((sc) => protocols.some((p) => entryCost(findLoad(r, p, topology, sc, level)) !== null));
      const readingScenario = shown.includes('insert') ? 'insert' : shown[0];
      if (readingScenario === undefined) continue;
      for (const spec of COSTS) {
        costs.push({
          id: `cost-${spec.key}-${topology}`,
          svg: barChart({
            title: `${spec.title} on ${topology} at C=${level}`,
            yLabel: spec.unit,
            categories: shown,
            series: protocols.map((p) => ({ name: p, values: shown.map((sc) => costValue(findLoad(r, p, topology, sc, level), (c) => c[spec.key])) })),
          }),
          reading: costReading(r, topology, readingScenario, level, spec.key),
        });
      }
    }
  }
  if (throughput.length > 0) sections.push({ title: 'Throughput vs concurrency', figures: throughput });
  if (latency.length > 0) sections.push({ title: `Latency percentiles at C=${level ?? '—'}`, figures: latency });
  if (costs.length > 0) sections.push({ title: `Cost per committed entry at C=${level ?? '—'} (from the nodes' counters)`, figures: costs });
  const failover = topologies.flatMap((topology): Figure[] => {
    const cells = failoverCells(r).filter((c) => c.topology === topology);
    if (cells.length === 0) return [];
    return [
      {
        id: `failover-${topology}`,
        svg: stripChart({
          title: `failover on ${topology}: write stall after kill -9 of the leader`,
          yLabel: 'stall ms',
          series: cells.map((c) => ({ name: c.protocol, values: c.trials.map((t) => t.stallMs), failed: cellFailed(c) })),
          guide: { y: FAILOVER_MEDIAN_MS_TARGET, label: `target median < ${FAILOVER_MEDIAN_MS_TARGET} ms` },
        }),
        reading: failoverReading(r, topology),
      },
    ];
  });
  if (failover.length > 0) sections.push({ title: 'Failover stall distribution', figures: failover });
  return sections;
}

function gib(bytes: number): string {
  return `${fmt(bytes / 1024 ** 3, 1)} GiB`;
}

function roundsText(r: CompareResults): string {
  const n = Math.max(...loadCells(r).map((c) => c.rounds?.length ?? 1));
  return n > 1 ? `, ${n} rounds` : '';
}

function headerLines(r: CompareResults): string[] {
  const m = r.meta;
  const s = r.settings;
  return [
    `Command: \`${m.command}\``,
    `Machine: ${m.cores} × ${m.cpuModel}, ${gib(m.memoryBytes)} memory, Node ${m.node}, ${m.platform}`,
    `Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `Run: ${m.startedAt} to ${m.finishedAt}; ${s.durationMs} ms measured per cell after ${s.warmupMs} ms warm-up, ${s.loaders} loader processes, fsync on; a fresh cluster per protocol × topology${(s.clusterWarmupMs ?? 0) > 0 ? `, warmed by ${s.clusterWarmupMs} ms of unmeasured inserts` : ''}, its load scenarios in order on it; ${s.failoverOnFreshCluster === true ? 'then, those clusters stopped, the failover trials on a fresh cluster per protocol' : 'failover last, on the same cluster'} (${s.failoverTrials} trials, ${s.failoverWriters} writers).`,
    interleaved(r)
      ? `Interleaved: a topology's clusters ran together, and every load cell measured the protocols back to back${roundsText(r)}, the order rotated by one each time; a cell shows its median round, and × is paired (a protocol's largest median shortfall, round by round, against any other).`
      : `Sequential: each protocol × topology ran on its own, minutes apart from the others; × compares figures measured at different times.`,
  ];
}

function loadCellText(cell: LoadCell | undefined, ratio: number | null): string {
  if (cell === undefined) return '—';
  if (cellFailed(cell) || cell.row === null) return `FAILED: ${failureReason(cell).replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 80)}`;
  const v = throughputOf(cell.row);
  return `${fmt(v)} · p99 ${fmt(cell.row.latencyMs.p99, 1)} ms${ratio !== null ? ` · ×${ratioDigits(ratio)}` : ''}`;
}

/** Two decimals, or three where two would round a miss up to the target (0.898, not 0.90). */
function ratioDigits(ratio: number): string {
  const two = fmt(ratio, 2);
  return Number(two) >= WITHIN_BEST_RATIO_TARGET && ratio < WITHIN_BEST_RATIO_TARGET ? fmt(ratio, 3) : two;
}

function bestOf(r: CompareResults, protocols: readonly string[], topology: string, scenario: string, c: number): number | null {
  const vs = protocols.flatMap((p) => {
    const cell = findLoad(r, p, topology, scenario, c);
    return cell && !cellFailed(cell) && cell.row ? [throughputOf(cell.row)] : [];
  });
  return vs.length > 0 ? Math.max(...vs) : null;
}

/**
 * A protocol's throughput ÷ the best of its row. Interleaved, paired (pairedRatiosToBest): over
 * the rounds where every protocol of the row measured the cell back to back, its largest median
 * shortfall, round by round, against any other protocol (so drift between rounds cancels, and
 * identical protocols come out at 1 as rounds are added). Sequential: its throughput ÷ the best
 * throughput of the row. Null when it cannot be formed.
 */
export function ratioToBest(r: CompareResults, protocol: string, topology: string, scenario: string, c: number): number | null {
  const { protocols } = dimensions(r);
  const cell = findLoad(r, protocol, topology, scenario, c);
  if (cell === undefined || cellFailed(cell) || cell.row === null) return null;
  const row = protocols.map((p) => findLoad(r, p, topology, scenario, c));
  if (row.every((x) => x?.rounds !== undefined)) return pairedRatiosToBest(completeRounds(row))?.[protocols.indexOf(protocol)] ?? null;
  const best = bestOf(r, protocols, topology, scenario, c);
  return best !== null && best > 0 ? throughputOf(cell.row) / best : null;
}

/**
 * The rounds of a (topology, scenario, C) in which every column measured the cell: one
 * throughput per column, in `columns` order. A column is a protocol's cell or the control's.
 */
function completeRounds(columns: readonly (LoadCell | undefined)[]): number[][] {
  if (!columns.every((x) => x?.rounds !== undefined)) return [];
  const n = Math.min(...columns.map((x) => x!.rounds!.length));
  const complete: number[][] = [];
  for (let k = 0; k < n; k++) {
    const values = columns.map((x) => sampleThroughput(x!.rounds![k]));
    if (values.every((v): v is number => v !== null && v > 0)) complete.push(values);
  }
  return complete;
}

/**
 * A scenario as a whole: each protocol's paired ratio to the best (pairedRatiosToBest) over the
 * complete rounds of every concurrency of the scenario pooled, since a round's ratios do not
 * depend on its level's scale. With 6 rounds and 4 levels that is 24 pairs where a cell has 6,
 * so it tells apart differences a cell cannot; a gap at one level alone shows in the cells.
 * With a control, it is a column too (last), measured the same way: what an identical cluster
 * scores is the resolution of the run. Null when the run has no rounds (sequential).
 */
export function scenarioRatios(r: CompareResults, topology: string, scenario: string): { columns: string[]; ratios: number[]; rounds: number } | null {
  const { protocols, levels } = dimensions(r);
  const withControl = levels.some((c) => findControl(r, topology, scenario, c) !== undefined);
  const columns = withControl ? [...protocols, CONTROL_COLUMN] : protocols;
  const pooled: number[][] = [];
  for (const c of levels) {
    const cells = protocols.map((p) => findLoad(r, p, topology, scenario, c));
    pooled.push(...completeRounds(withControl ? [...cells, findControl(r, topology, scenario, c)] : cells));
  }
  const ratios = pairedRatiosToBest(pooled);
  return ratios === null ? null : { columns, ratios, rounds: pooled.length };
}

/** The control's column name in the per-scenario table. */
export const CONTROL_COLUMN = 'control';

/** The per-scenario table: every level and round of a scenario pooled (scenarioRatios). */
export function scenarioTable(r: CompareResults): string[][] {
  const { topologies, scenarios } = dimensions(r);
  let header: string[] | null = null;
  const body: string[][] = [];
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      const s = scenarioRatios(r, topology, scenario);
      if (s === null) continue;
      header ??= ['topology', 'scenario', 'rounds pooled', ...s.columns.map((c) => (c === CONTROL_COLUMN ? `${r.controls![0]!.protocol} (control)` : c))];
      body.push([topology, scenario, String(s.rounds), ...s.ratios.map((x) => `×${ratioDigits(x)} ${x >= WITHIN_BEST_RATIO_TARGET ? '✓' : '✗'}`)]);
    }
  }
  return header === null ? [] : [header, ...body];
}

/** Protocols (not the control) below the target in a scenario as a whole: 'zab batch100 on 3v (0.87)'. */
export function scenarioMisses(r: CompareResults): string[] {
  const { topologies, scenarios } = dimensions(r);
  const out: string[] = [];
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      const s = scenarioRatios(r, topology, scenario);
      s?.columns.forEach((column, k) => {
        if (column !== CONTROL_COLUMN && s.ratios[k]! < WITHIN_BEST_RATIO_TARGET) out.push(`${column} ${scenario} on ${topology} (${ratioDigits(s.ratios[k]!)})`);
      });
    }
  }
  return out;
}

/**
 * Per cell, how often each column (the protocols, and the control as one more) came out below
 * the target when the control is scored like a protocol: the control is the first protocol
 * again, so its count is how many misses the machine alone makes at this many rounds.
 */
export function cellMissesWithControl(r: CompareResults): { columns: string[]; misses: number[]; cells: number } | null {
  if ((r.controls ?? []).length === 0) return null;
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const misses = [...protocols, CONTROL_COLUMN].map(() => 0);
  let cells = 0;
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      for (const c of levels) {
        const control = findControl(r, topology, scenario, c);
        if (control === undefined) continue;
        const ratios = pairedRatiosToBest(completeRounds([...protocols.map((p) => findLoad(r, p, topology, scenario, c)), control]));
        if (ratios === null) continue;
        cells++;
        ratios.forEach((x, k) => {
          if (x < WITHIN_BEST_RATIO_TARGET) misses[k]!++;
        });
      }
    }
  }
  return { columns: [...protocols, CONTROL_COLUMN], misses, cells };
}

/** A round's throughput, or null when that round failed (or is missing). */
function sampleThroughput(x: RoundSample | undefined): number | null {
  return x !== undefined && x.failure === null && x.row !== null && !rowFailed(x.row) ? throughputOf(x.row) : null;
}

/** The control's cell twin of (topology, scenario, C), or undefined. */
function findControl(r: CompareResults, topology: string, scenario: string, c: number): LoadCell | undefined {
  return (r.controls ?? []).find((x): x is LoadCell => x.kind === 'load' && x.topology === topology && x.scenario === scenario && x.concurrency === c);
}

/**
 * How close two identical clusters came in a cell (pairedCloseness): over the rounds where both
 * measured it, the median of one's throughput ÷ the other's, folded to at most 1. A protocol
 * whose ratio to the best is at least this is within what the machine alone puts between two
 * clusters.
 */
export function controlRatio(r: CompareResults, topology: string, scenario: string, c: number): number | null {
  const control = findControl(r, topology, scenario, c);
  const twin = control === undefined ? undefined : findLoad(r, control.protocol, topology, scenario, c);
  if (control?.rounds === undefined || twin?.rounds === undefined) return null;
  const pairs: [number, number][] = [];
  for (let k = 0; k < Math.min(control.rounds.length, twin.rounds.length); k++) {
    const a = sampleThroughput(control.rounds[k]);
    const b = sampleThroughput(twin.rounds[k]);
    if (a !== null && b !== null) pairs.push([a, b]);
  }
  return pairedCloseness(pairs);
}

/** 'candidacies 2 · leader change 1 · snapshot n1, n3', or '' for a quiet window. */
export function eventsText(e: WindowEvents): string {
  const parts: string[] = [];
  if (e.elections > 0) parts.push(`${e.elections === 1 ? 'candidacy' : 'candidacies'} ${e.elections}`);
  if (e.leaderChanges > 0) parts.push(`leader change${e.leaderChanges === 1 ? '' : 's'} ${e.leaderChanges}`);
  if (e.snapshots.length > 0) parts.push(`snapshot ${e.snapshots.join(', ')}`);
  return parts.join(' · ');
}

/**
 * Rounds of a load cell (every protocol's and the control's) in which something besides the load
 * ran on the cluster — an election, a leader change, a node's snapshot — with that round's
 * throughput beside the cell's median: the usual cause of one round far from the others.
 */
export function eventfulRoundsTable(r: CompareResults): string[][] {
  const rows: string[][] = [['topology', 'scenario', 'C', 'cluster', 'round', 'throughput', 'cell median', 'in the round']];
  const cells = [...r.cells.map((c) => ({ c, name: c.protocol as string })), ...(r.controls ?? []).map((c) => ({ c, name: `${c.protocol} (control)` }))];
  for (const { c, name } of cells) {
    if (c.kind !== 'load' || c.rounds === undefined) continue;
    const mid = c.row !== null && !cellFailed(c) ? throughputOf(c.row) : null;
    c.rounds.forEach((round, k) => {
      const text = round.events === undefined ? '' : eventsText(round.events);
      if (text === '') return;
      const v = sampleThroughput(round);
      rows.push([c.topology, c.scenario, String(c.concurrency), name, String(k + 1), v === null ? 'FAILED' : fmt(v), mid === null ? '—' : fmt(mid), text]);
    });
  }
  return rows;
}

/** 'Scored as one more protocol, the control fell below 0.9 in 2 of 16 cells (raft 3, zab 2, multipaxos 2).' */
function controlMissesLines(r: CompareResults): string[] {
  const m = cellMissesWithControl(r);
  if (m === null || m.cells === 0) return [];
  const control = m.misses[m.misses.length - 1]!;
  const others = m.columns.slice(0, -1).map((c, k) => `${c} ${m.misses[k]!}`).join(', ');
  return [`Scored as one more protocol of each cell (paired ratio to the best of all the columns), the control fell below ${WITHIN_BEST_RATIO_TARGET} in ${control} of ${m.cells} cells, the protocols scored the same way in: ${others}. A protocol that misses no more often than the control is not told apart from it cell by cell at this many rounds.`, ''];
}

/** The A/A table: per cell, the first protocol's two clusters and how close they came. */
export function controlTable(r: CompareResults): string[][] {
  const rows: string[][] = [['topology', 'scenario', 'C', 'cluster', 'control cluster', 'A/A ratio (paired, median over rounds)']];
  for (const control of r.controls ?? []) {
    if (control.kind !== 'load') continue;
    const twin = findLoad(r, control.protocol, control.topology, control.scenario, control.concurrency);
    const ratio = controlRatio(r, control.topology, control.scenario, control.concurrency);
    rows.push([control.topology, control.scenario, String(control.concurrency), loadCellText(twin, null), loadCellText(control, null), ratio === null ? '—' : ratioDigits(ratio)]);
  }
  return rows;
}

/** Whether the load cells were measured interleaved (back to back, protocol order rotated). */
export function interleaved(r: CompareResults): boolean {
  const loads = loadCells(r);
  return loads.length > 0 && loads.every((c) => c.rounds !== undefined);
}

/** The side-by-side table: one row per topology × scenario × C, one column per protocol. */
export function loadTable(r: CompareResults): string[][] {
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const rows: string[][] = [['topology', 'scenario', 'C', ...protocols]];
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      for (const c of levels) {
        const cells = protocols.map((p) => findLoad(r, p, topology, scenario, c));
        if (cells.every((x) => x === undefined)) continue;
        rows.push([topology, scenario, String(c), ...cells.map((cell, k) => loadCellText(cell, ratioToBest(r, protocols[k]!, topology, scenario, c)))]);
      }
    }
  }
  return rows;
}

/** Cores each server process used over the window, at the reference level: where a protocol spends its CPU (n1* led at the start). */
export function cpuTable(r: CompareResults): string[][] {
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const level = referenceLevel(levels);
  const rows: string[][] = [['topology', 'scenario', 'C', ...protocols]];
  if (level === null) return rows;
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      const cells = protocols.map((p) => findLoad(r, p, topology, scenario, level));
      if (cells.every((x) => x === undefined)) continue;
      rows.push([topology, scenario, String(level), ...cells.map(cpuCellText)]);
    }
  }
  return rows;
}

function cpuCellText(cell: LoadCell | undefined): string {
  if (cell === undefined) return '—';
  if (cellFailed(cell) || cell.row === null) return 'FAILED';
  const parts = Object.entries(cell.row.cpu.serverCores).map(([node, cores]) => `${node} ${cores === null ? '—' : fmt(cores, 2)}`);
  return parts.length > 0 ? parts.join(' · ') : '—';
}

/**
 * Per protocol, at the reference level of each topology's first scenario with counters
 * (insert when measured): messages sent per committed entry by type, every node together.
 */
export function messageTypeTable(r: CompareResults): string[][] {
  const rows: string[][] = [['topology', 'scenario', 'protocol', 'messages per committed entry, by type (bytes each)']];
  for (const { topology, scenario, level, cells } of costRows(r)) {
    for (const [p, cell] of cells) {
      const types = cell?.cost ? messagesByType(cell.cost) : [];
      if (types.length === 0) continue;
      rows.push([topology, `${scenario} C=${level}`, p, types.map((t) => `${t.type} ${fmt(t.perEntry, 2)} (${fmt(t.bytesPerEntry / Math.max(t.perEntry, 1e-9))} B)`).join(' · ')]);
    }
  }
  return rows;
}

/** The leader's time per committed entry in each driver step: where a write's time goes on the leader. */
export function leaderStepTable(r: CompareResults): string[][] {
  const rows: string[][] = [['topology', 'scenario', 'protocol', 'leader µs per committed entry, by step']];
  for (const { topology, scenario, level, cells } of costRows(r)) {
    for (const [p, cell] of cells) {
      const steps = cell?.cost ? leaderStepsPerEntry(cell.cost) : null;
      if (steps === null || steps.length === 0) continue;
      rows.push([topology, `${scenario} C=${level}`, p, steps.map((t) => `${t.step} ${fmt(t.ms * 1000)}`).join(' · ')]);
    }
  }
  return rows;
}

function costRows(r: CompareResults): { topology: string; scenario: string; level: number; cells: [string, LoadCell | undefined][] }[] {
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const level = referenceLevel(levels);
  if (level === null) return [];
  return topologies.flatMap((topology) => {
    const withCost = scenarios.filter((sc) => protocols.some((p) => entryCost(findLoad(r, p, topology, sc, level)) !== null));
    const scenario = withCost.includes('insert') ? 'insert' : withCost[0];
    if (scenario === undefined) return [];
    return [{ topology, scenario, level, cells: protocols.map((p): [string, LoadCell | undefined] => [p, findLoad(r, p, topology, scenario, level)]) }];
  });
}

/**
 * The cells where a protocol reached less than WITHIN_BEST_RATIO_TARGET of the best of its
 * row, as 'multipaxos insert on 3v at C=64 (0.42)'; failed cells are listed apart.
 */
export function belowTarget(r: CompareResults): string[] {
  const { protocols, topologies, scenarios, levels } = dimensions(r);
  const out: string[] = [];
  for (const topology of topologies) {
    for (const scenario of scenarios) {
      for (const c of levels) {
        for (const p of protocols) {
          const ratio = ratioToBest(r, p, topology, scenario, c);
          if (ratio === null || ratio >= WITHIN_BEST_RATIO_TARGET) continue;
          const aa = controlRatio(r, topology, scenario, c);
          const noise = aa !== null && ratio >= aa ? `, within the A/A ${ratioDigits(aa)}` : aa !== null ? `, A/A ${ratioDigits(aa)}` : '';
          out.push(`${p} ${scenario} on ${topology} at C=${c} (${ratioDigits(ratio)}${noise})`);
        }
      }
    }
  }
  return out;
}

/**
 * For each protocol × topology whose median stall misses the target, which step costs it: the
 * election — until the new leader took office by its own log, or, in trials recorded without
 * it, until a survivor answered Status as leader (polled, so late by up to 50 ms) — and the
 * time from there to the first write, medians of the trials.
 */
export function failoverMisses(r: CompareResults): string[] {
  return failoverCells(r).flatMap((c) => {
    if (c.trials.length === 0 || !(c.summary.stallMsMedian >= FAILOVER_MEDIAN_MS_TARGET)) return [];
    const logged = c.trials.every((t) => t.inOfficeMs !== undefined);
    const electedOf = (t: FailoverTrial): number => (logged ? t.inOfficeMs! : t.electedMs);
    const elected = medianOf(c.trials.map(electedOf));
    const after = medianOf(c.trials.map((t) => t.stallMs - electedOf(t)));
    const step = elected >= after ? 'the election' : 'the time after it until writes are served';
    const until = logged ? 'until the new leader took office (its log)' : 'until a new leader answered Status';
    return [`${c.protocol} on ${c.topology} misses the ${FAILOVER_MEDIAN_MS_TARGET} ms target with a median stall of ${fmt(c.summary.stallMsMedian)} ms: ${fmt(elected)} ms ${until}, ${fmt(after)} ms from there to the first write; ${step} costs most`];
  });
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? NaN;
}

export function failoverTable(r: CompareResults): string[][] {
  const rows: string[][] = [['topology', 'protocol', 'trials', 'median ms', 'min ms', 'p90 ms', 'max ms', 'elected median ms', 'in office median ms (log)', 'elections per trial', 'result']];
  for (const c of failoverCells(r)) {
    const s = c.summary;
    const has = c.trials.length > 0;
    const elected = has ? medianOf(c.trials.map((t) => t.electedMs)) : undefined;
    const inOffice = c.trials.flatMap((t) => (t.inOfficeMs === undefined ? [] : [t.inOfficeMs]));
    // Candidacies of the surviving nodes per trial: 1 is a clean Raft or Multi-Paxos election, more
    // are split votes or duels; in Zab every survivor goes LOOKING, so one per survivor is clean.
    const counted = c.trials.flatMap((t) => (t.elections === undefined ? [] : [t.elections]));
    const elections = counted.length > 0 ? fmt(counted.reduce((a, b) => a + b, 0) / counted.length, 1) : '—';
    rows.push([c.topology, c.protocol, String(c.trials.length), has ? fmt(s.stallMsMedian) : '—', has ? fmt(s.stallMsMin) : '—', has ? fmt(s.stallMsP90) : '—', has ? fmt(s.stallMsMax) : '—', elected === undefined ? '—' : fmt(elected), inOffice.length > 0 ? fmt(medianOf(inOffice)) : '—', elections, cellFailed(c) ? `FAILED: ${failureReason(c).replace(/\s+/g, ' ').slice(0, 80)}` : 'ok']);
  }
  return rows;
}

function markdownTable(rows: string[][]): string[] {
  const [header, ...body] = rows;
  if (header === undefined) return [];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---|').join('')}`, ...body.map((cells) => `| ${cells.join(' | ')} |`)];
}

export function renderCompareMarkdown(r: CompareResults): string {
  const sections = buildFigures(r);
  const failed = r.cells.filter(cellFailed);
  const lines = [`# quorumlite compare ${r.meta.startedAt}`, '', ...headerLines(r).map((l) => `- ${l}`), ''];
  lines.push('## Readings', '', ...sections.flatMap((s) => s.figures.map((f) => `- ${f.reading}`)), '');
  if (failed.length > 0) lines.push(`**${failed.length} of ${r.cells.length} cells failed**: ${failed.map((c) => `${c.protocol} ${c.topology} ${c.kind === 'load' ? `${c.scenario} C=${c.concurrency}` : 'failover'}`).join(', ')}.`, '');
  lines.push('## Side by side', '', `Throughput (ops/s; rows/s for batch100), p99, and ÷ the best of the row (target ≥ ${WITHIN_BEST_RATIO_TARGET}). A failed cell says FAILED and why.`, '');
  lines.push(...markdownTable(loadTable(r)), '');
  const below = belowTarget(r);
  lines.push(below.length > 0 ? `Below ${WITHIN_BEST_RATIO_TARGET} of the best of their row: ${below.join(', ')}.` : `Every protocol is within ${WITHIN_BEST_RATIO_TARGET} of the best in every measured cell.`, '');
  const perScenario = scenarioTable(r);
  if (perScenario.length > 1) {
    const misses = scenarioMisses(r);
    lines.push(
      '## Per scenario',
      '',
      `Each protocol's paired ratio to the best over every concurrency and round of a scenario pooled (a round's ratios do not depend on its level's scale), so a scenario rests on several times the pairs of one cell.${(r.controls ?? []).length > 0 ? ' The control is scored as one more protocol: it is the first protocol again, so its ratio is what the machine alone costs a column.' : ''}`,
      '',
      ...markdownTable(perScenario),
      '',
      misses.length > 0 ? `Below ${WITHIN_BEST_RATIO_TARGET} in a scenario as a whole: ${misses.join(', ')}.` : `Every protocol is within ${WITHIN_BEST_RATIO_TARGET} of the best in every scenario as a whole.`,
      '',
    );
  }
  if ((r.controls ?? []).length > 0) {
    const ratios = (r.controls ?? []).flatMap((c) => (c.kind === 'load' ? [controlRatio(r, c.topology, c.scenario, c.concurrency)] : [])).filter((x): x is number => x !== null);
    const within = ratios.filter((x) => x >= WITHIN_BEST_RATIO_TARGET).length;
    lines.push(
      '## A/A control',
      '',
      `A second cluster of ${r.controls![0]!.protocol} ran every load cell in the same rotation. Two identical clusters came within ${WITHIN_BEST_RATIO_TARGET} of each other in ${within} of ${ratios.length} cells${ratios.length > 0 ? ` (median ${ratioDigits(median(ratios)!)}, lowest ${ratioDigits(Math.min(...ratios))})` : ''}: a gap between protocols no larger than a cell's A/A gap is not told apart from the machine's.`,
      '',
      ...controlMissesLines(r),
      ...markdownTable(controlTable(r)),
      '',
    );
  }
  const eventful = eventfulRoundsTable(r);
  if (eventful.length > 1) {
    lines.push('## Rounds with other work in them', '', 'An election, a leader change or a node\'s snapshot fell in these rounds of a cell; a round far from its cell\'s median is usually one of them, and the paired median leaves it at the edge.', '', ...markdownTable(eventful), '');
  }
  lines.push('## CPU per node', '', `Cores each node process used over the measured window; * marks the leader.`, '', ...markdownTable(cpuTable(r)), '');
  const types = messageTypeTable(r);
  if (types.length > 1) {
    lines.push('## Where the protocols differ', '', 'From the nodes\' own counters (Status `counters`) read before and after each cell: messages each protocol sends per committed log entry, by type, every node together; and the leader\'s time per committed entry in each driver step (fsync is a wait, the others hold the event loop).', '');
    const steps = leaderStepTable(r);
    lines.push(...markdownTable(types), '', ...(steps.length > 1 ? [...markdownTable(steps), ''] : []));
  }
  if (failoverCells(r).length > 0) {
    lines.push('## Failover', '', `Stall: from kill -9 of the leader to the first successful write started after it (target median < ${FAILOVER_MEDIAN_MS_TARGET} ms).`, '', ...markdownTable(failoverTable(r)), '');
    lines.push(...failoverMisses(r).map((m) => `- ${m}.`), '');
  }
  lines.push('Charts: report.html. Raw cells: cells/*.json. Node logs: logs/<cluster>-<topology>/.', '');
  return lines.join('\n');
}

const STYLE = `body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}figure{display:inline-block;margin:8px;vertical-align:top;width:560px}figcaption{font-size:13px;margin-top:4px}table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}.failed{color:#b00;font-weight:bold}code{background:#f4f4f4;padding:1px 4px}`;

function htmlTable(rows: string[][]): string {
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const td = (text: string): string => `<td${text.startsWith('FAILED') ? ' class="failed"' : ''}>${escapeXml(text)}</td>`;
  return `<table><thead><tr>${header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${body.map((cells) => `<tr>${cells.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

/** A single file that opens offline: inline CSS and SVG, no script. */
export function renderCompareHtml(r: CompareResults): string {
  const sections = buildFigures(r);
  const failed = r.cells.filter(cellFailed);
  const head = headerLines(r).map((l) => `<li>${escapeXml(l).replace(/`([^`]*)`/g, '<code>$1</code>')}</li>`).join('');
  const figures = sections
    .map((s) => `<h2>${escapeXml(s.title)}</h2>${s.figures.map((f) => `<figure id="${escapeXml(f.id)}">${f.svg}<figcaption>${escapeXml(f.reading)}</figcaption></figure>`).join('')}`)
    .join('');
  const eventful = eventfulRoundsTable(r);
  const failedNote = failed.length > 0 ? `<p class="failed">${failed.length} of ${r.cells.length} cells failed (marked ✗ failed in the charts, FAILED in the tables).</p>` : '';
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<title>quorumlite compare ${escapeXml(r.meta.startedAt)}</title><style>${STYLE}</style></head><body>`,
    `<h1>quorumlite compare</h1><ul>${head}</ul>${failedNote}`,
    figures,
    `<h2>Side by side</h2>${htmlTable(loadTable(r))}`,
    scenarioTable(r).length > 1 ? `<h2>Per scenario (every concurrency and round pooled)</h2>${htmlTable(scenarioTable(r))}` : '',
    (r.controls ?? []).length > 0 ? `<h2>A/A control</h2>${htmlTable(controlTable(r))}` : '',
    eventful.length > 1 ? `<h2>Rounds with other work in them</h2>${htmlTable(eventful)}` : '',
    `<h2>CPU per node (cores)</h2>${htmlTable(cpuTable(r))}`,
    messageTypeTable(r).length > 1 ? `<h2>Where the protocols differ</h2>${htmlTable(messageTypeTable(r))}${leaderStepTable(r).length > 1 ? htmlTable(leaderStepTable(r)) : ''}` : '',
    failoverCells(r).length > 0 ? `<h2>Failover</h2>${htmlTable(failoverTable(r))}<ul>${failoverMisses(r).map((m) => `<li>${escapeXml(m)}</li>`).join('')}</ul>` : '',
    '</body></html>\n',
  ].join('');
}
