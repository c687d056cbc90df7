/**
 * `quorumlite compare`: every protocol × topology × scenario × concurrency of the matrix, with
 * the same loaders as `quorumlite bench`, on a fresh cluster per protocol × topology (its load
 * scenarios run on it in order, since a cluster per scenario would triple the time spent
 * starting clusters; the failover trials then run on a fresh cluster of their own). By default a topology's clusters run together and each load
 * cell measures them back to back (runTopology); --sequential runs one cluster after another
 * (runCluster). Writes raw JSON per cell, report.md and report.html under <out>/<timestamp>/.
 * The exit code says only whether every cell ran; it never judges speed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTopology } from '@quorumlite/cluster';
import type { ProtocolName } from '@quorumlite/consensus';
import { BenchArgsError } from './argv';
import { DEFAULT_SETTINGS, type BenchSettings } from './args';
import { cellEstimateMs, cellFileName, cellLabel, CLUSTER_WARMUP_CONCURRENCY, clusterCells, COMPARE_USAGE, estimateMs, formatDurationMs, loadClusterStartMs, parseCompareArgs, planCells, topologyCells, type CellPlan, type CompareSettings } from './compare-args';
import { cellFailed, throughputOf, renderCompareHtml, renderCompareMarkdown, type CellResult, type CompareMeta, type CompareResults, type RoundSample } from './compare-report';
import { cellCost, readCounters, windowEvents, type CounterReading } from './cost';
import { runFailoverTrials, summarizeStalls, type FailoverTrial } from './failover';
import { defaultWorkerCommand, type WorkerCommand } from './launcher';
import { BenchSession, quorumliteLoad } from './runner';
import { rowFailed } from './report';
import { rotateProtocols } from './rounds';
import { needsPreload, statementsPerOp } from './scenarios';

export interface RunCompareOptions {
  worker?: WorkerCommand;
  /** Where the progress display and logs go (stderr by default). */
  out?: ProgressStream;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export async function runCompare(argv: string[], options: RunCompareOptions = {}): Promise<number> {
  let settings: CompareSettings;
  try {
    settings = parseCompareArgs(argv);
  } catch (e: unknown) {
    if (!(e instanceof BenchArgsError)) throw e;
    process.stderr.write(`${e.message}\n\n${COMPARE_USAGE}\n`);
    return 2;
  }
  if (settings.help) {
    process.stdout.write(`${COMPARE_USAGE}\n`);
    return 0;
  }
  if (settings.report !== null) {
    try {
      const dir = rerenderCompareReport(settings.report);
      process.stdout.write(`wrote ${dir}/report.md\n      ${dir}/report.html\n`);
      return 0;
    } catch (e: unknown) {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  }
  const plan = planCells(settings);
  const progress = new Progress(progressEstimatesMs(settings, plan), options.out ?? process.stderr);
  const meta = compareMeta(argv);
  progress.log(`compare: ${plan.length} cells (${settings.protocols.join(', ')} × ${settings.topologies.join(', ')}), expected duration ${formatDurationMs(estimateMs(settings))}`);
  const session = new BenchSession(benchSettingsOf(settings), options.worker ?? defaultWorkerCommand(), (line) => progress.log(line));
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-compare-'));
  const logsTo = path.join(resultsDirOf(settings.outDir, meta.startedAt), 'logs');
  const onSignal = (signal: NodeJS.Signals): void => {
    progress.log(`${signal}: stopping every process this comparison started`);
    void session.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cells: CellResult[] = [];
  const controls: CellResult[] = [];
  try {
    if (settings.interleave) {
      for (const topology of settings.topologies) {
        const measured = await runTopology(session, settings, topology, tmpDir, logsTo, progress);
        cells.push(...measured.cells);
        controls.push(...measured.controls);
      }
    } else {
      for (const protocol of settings.protocols) {
        for (const topology of settings.topologies) {
          cells.push(...(await runCluster(session, settings, protocol, topology, path.join(tmpDir, `${protocol}-${topology}`), logsTo, progress)));
        }
      }
    }
  } finally {
    progress.finish();
    await session.cleanup();
    fs.rmSync(tmpDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const results: CompareResults = { meta: { ...meta, finishedAt: new Date().toISOString() }, settings, cells, ...(settings.control ? { controls } : {}) };
  const dir = writeCompareResults(settings.outDir, results);
  process.stdout.write(`wrote ${dir}/report.md\n      ${dir}/report.html\n`);
  return cells.some(cellFailed) || controls.some(cellFailed) ? 1 : 0;
}

/**
 * Every load cell of one protocol × topology on one fresh cluster, then its failover trials on
 * another (runFailoverCell); a cluster that will not start fails its cells.
 */
async function runCluster(session: BenchSession, s: CompareSettings, protocol: ProtocolName, topologyName: string, dataDir: string, logsTo: string, progress: Progress): Promise<CellResult[]> {
  const cells = clusterCells(s, protocol, topologyName);
  const loadCells = cells.filter((c) => c.kind === 'load');
  const results: CellResult[] = [];
  if (loadCells.length > 0) {
    let cluster: Started | undefined;
    try {
      progress.begin(`${protocol} ${topologyName}: starting the cluster`);
      cluster = await session.startCluster(protocol, parseTopology(topologyName), dataDir);
      const { prepareSchema } = await import('./cluster-target');
      await prepareSchema(cluster.addresses, s.scenarios.filter((x) => x !== 'failover').some(needsPreload) ? s.preloadRows : 0, session.tls);
      await warmUpCluster(session, s, protocol, topologyName, cluster, progress);
    } catch (e: unknown) {
      const reason = `cluster did not start: ${e instanceof Error ? e.message : String(e)}`;
      progress.log(`${protocol} ${topologyName}: ${reason}`);
      if (cluster !== undefined) await stopCluster(cluster);
      keepNodeLogs(dataDir, logsTo);
      for (const cell of loadCells) results.push(failedCell(cell, reason));
      progress.skip(loadCells.length);
      cluster = undefined;
    }
    if (cluster !== undefined) {
      try {
        for (const cell of loadCells) {
          progress.begin(cellLabel(cell));
          results.push(await runCell(session, s, cell, cluster));
          progress.done();
        }
      } finally {
        await stopCluster(cluster);
        discardClusterData(dataDir, logsTo);
      }
    }
  }
  for (const cell of cells) {
    if (cell.kind !== 'failover') continue;
    results.push(await runFailoverCell(session, s, cell, `${dataDir}-failover`, logsTo, progress));
  }
  return results;
}

/**
 * A failover cell on a fresh cluster of its own, started once the load clusters have stopped, so
 * its trials measure the protocol's failover, not the database, the snapshots or the idle
 * clusters the load cells before it left behind (which change with the scenarios chosen).
 */
async function runFailoverCell(session: BenchSession, s: CompareSettings, cell: Extract<CellPlan, { kind: 'failover' }>, dataDir: string, logsTo: string, progress: Progress): Promise<CellResult> {
  progress.begin(`${cellLabel(cell)} (a fresh cluster)`);
  let cluster: Started | undefined;
  try {
    cluster = await session.startCluster(cell.protocol, parseTopology(cell.topology), dataDir);
    const { prepareSchema } = await import('./cluster-target');
    await prepareSchema(cluster.addresses, 0, session.tls);
  } catch (e: unknown) {
    const reason = `cluster did not start: ${e instanceof Error ? e.message : String(e)}`;
    progress.log(`${cell.protocol} ${cell.topology} failover: ${reason}`);
    if (cluster !== undefined) await stopCluster(cluster);
    keepNodeLogs(dataDir, logsTo);
    progress.done();
    return failedCell(cell, reason);
  }
  try {
    return await runCell(session, s, cell, cluster);
  } finally {
    await stopCluster(cluster);
    discardClusterData(dataDir, logsTo);
    progress.done();
  }
}

/** A load cluster's unmeasured inserts before its first cell (CompareSettings.clusterWarmupMs); its figure is logged, not kept. */
async function warmUpCluster(session: BenchSession, s: CompareSettings, protocol: ProtocolName, where: string, cluster: Started, progress: Progress): Promise<void> {
  if (s.clusterWarmupMs <= 0) return;
  progress.begin(`${protocol} ${where}: warming up, insert C=${CLUSTER_WARMUP_CONCURRENCY} for ${formatDurationMs(s.clusterWarmupMs)} (not measured)`);
  const row = await session.warmUp({ name: 'warm-up', kind: 'quorumlite', protocol }, quorumliteLoad(cluster, 'insert'), CLUSTER_WARMUP_CONCURRENCY, cluster.pids(), s.clusterWarmupMs);
  const errors = row.errors > 0 ? `, ${row.errors} errors (${row.errorSamples.slice(0, 2).join('; ')})` : '';
  progress.log(`${protocol} ${where}: warm-up ran ${Math.round(row.opsPerSec)} inserts/s${errors} (not measured)`);
}

/** A cluster whose data is thrown away: SIGKILL spares the graceful shutdown (about 2.5 s per cluster here). */
async function stopCluster(cluster: Started): Promise<void> {
  const local = cluster.cluster;
  await Promise.all(local.nodes.map((n) => local.kill(n.id, 'SIGKILL')));
  await cluster.stop();
}

/**
 * A cluster's data directory thrown away once its cells ran, its nodes' logs kept under
 * `logsTo/<the directory's name>/` (a few KB each: elections, snapshots, a blocked event loop —
 * what explains a round far from the others). A log that cannot be copied is not worth failing
 * a finished comparison for.
 */
export function discardClusterData(dataDir: string, logsTo: string): void {
  keepNodeLogs(dataDir, logsTo);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

/** The nodes' logs of a cluster's data directory copied to `logsTo/<the directory's name>/` (a cluster that did not start too). */
function keepNodeLogs(dataDir: string, logsTo: string): void {
  const logs = path.join(dataDir, 'logs');
  try {
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(logsTo, path.basename(dataDir)), { recursive: true });
  } catch (e: unknown) {
    process.stderr.write(`compare: could not keep the node logs of ${dataDir}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

type Started = Awaited<ReturnType<BenchSession['startCluster']>>;

/** The control cluster's key beside the protocols' (a second cluster of the first protocol). */
const CONTROL = 'control';

/**
 * Interleaved: a cluster per protocol of one topology (and with --control a second cluster of
 * the first protocol), all started together; every load cell measures them back to back
 * `rounds` times, the order rotated by one at each measurement group, so each runs first,
 * second and last alike. Then, those clusters stopped, each protocol's failover trials on a
 * fresh cluster of its own, one at a time (none for the control). A cluster that will not
 * start fails its cells.
 */
async function runTopology(session: BenchSession, s: CompareSettings, topologyName: string, tmpDir: string, logsTo: string, progress: Progress): Promise<{ cells: CellResult[]; controls: CellResult[] }> {
  const plan = topologyCells(s, topologyName);
  const results: CellResult[] = [];
  const controls: CellResult[] = [];
  const loadPlan = plan.filter((c): c is Extract<CellPlan, { kind: 'load' }> => c.kind === 'load');
  if (loadPlan.length > 0) await runTopologyLoads(session, s, topologyName, loadPlan, tmpDir, logsTo, progress, results, controls);
  for (const cell of plan) {
    if (cell.kind !== 'failover') continue;
    results.push(await runFailoverCell(session, s, cell, path.join(tmpDir, `${cell.protocol}-${topologyName}-failover`), logsTo, progress));
  }
  return { cells: results, controls };
}

/** The load cells of one topology, interleaved over its clusters (runTopology); the clusters stopped after. */
async function runTopologyLoads(
  session: BenchSession,
  s: CompareSettings,
  topologyName: string,
  plan: readonly Extract<CellPlan, { kind: 'load' }>[],
  tmpDir: string,
  logsTo: string,
  progress: Progress,
  results: CellResult[],
  controls: CellResult[],
): Promise<void> {
  const keys: string[] = [...s.protocols, ...(s.control ? [CONTROL] : [])];
  const protocolOf = (key: string): ProtocolName => (key === CONTROL ? s.protocols[0]! : (key as ProtocolName));
  const clusters = new Map<string, Started>();
  const startFailures = new Map<string, string>();
  progress.begin(`${topologyName}: starting ${keys.join(', ')}`);
  const { prepareSchema } = await import('./cluster-target');
  const loads = s.scenarios.filter((x) => x !== 'failover');
  try {
    for (const key of keys) {
      try {
        const cluster = await session.startCluster(protocolOf(key), parseTopology(topologyName), path.join(tmpDir, `${key}-${topologyName}`));
        clusters.set(key, cluster);
        await prepareSchema(cluster.addresses, loads.some(needsPreload) ? s.preloadRows : 0, session.tls);
      } catch (e: unknown) {
        clusters.delete(key);
        const reason = `cluster did not start: ${e instanceof Error ? e.message : String(e)}`;
        progress.log(`${key} ${topologyName}: ${reason}`);
        startFailures.set(key, reason);
      }
    }
    const running = keys.filter((k) => clusters.has(k));
    for (const key of running) await warmUpCluster(session, s, protocolOf(key), key === CONTROL ? `${topologyName} (control)` : topologyName, clusters.get(key)!, progress);
    let group = 0;
    for (let i = 0; i < plan.length; ) {
      // The protocols' cells of one scenario × C sit side by side in the plan.
      const side = plan.slice(i, i + s.protocols.length);
      i += side.length;
      const samples = new Map<string, { sample: RoundSample; cost: CellResult['cost'] }[]>(running.map((k) => [k, []]));
      const cellOf = (key: string): Extract<CellPlan, { kind: 'load' }> => side.find((c) => c.protocol === protocolOf(key))!;
      const measurements = s.rounds * running.length;
      for (let round = 0; round < s.rounds; round++) {
        const order = rotateProtocols(running, group++);
        for (const [position, key] of order.entries()) {
          progress.within((side.length * (round * running.length + position)) / measurements);
          const cell = cellOf(key);
          progress.begin(`${key === CONTROL ? `${cellLabel(cell)} (control)` : cellLabel(cell)}${s.rounds > 1 ? ` · round ${round + 1}/${s.rounds}` : ''}`);
          const measured = await runCellSafely(session, s, cell, clusters.get(key)!);
          const events = measured.cost ? { events: windowEvents(measured.cost) } : {};
          samples.get(key)!.push({ sample: { row: measured.kind === 'load' ? measured.row : null, failure: measured.failure, position, ...events }, cost: measured.cost ?? null });
        }
      }
      for (const cell of side) {
        const failure = startFailures.get(cell.protocol);
        results.push(failure !== undefined ? failedCell(cell, failure) : foldRounds(cell, samples.get(cell.protocol)!));
        progress.done();
      }
      if (s.control) {
        const failure = startFailures.get(CONTROL);
        controls.push(failure !== undefined ? failedCell(cellOf(CONTROL), failure) : foldRounds(cellOf(CONTROL), samples.get(CONTROL)!));
      }
    }
  } finally {
    await Promise.all([...clusters.values()].map(stopCluster));
    for (const key of keys) discardClusterData(path.join(tmpDir, `${key}-${topologyName}`), logsTo);
  }
}

/** A load cell measured once; a loader that throws fails the cell, not the comparison. */
async function runCellSafely(session: BenchSession, s: CompareSettings, cell: CellPlan, cluster: Started): Promise<CellResult> {
  try {
    return await runCell(session, s, cell, cluster);
  } catch (e: unknown) {
    return failedCell(cell, e instanceof Error ? e.message : String(e));
  }
}

/**
 * A cell's rounds in one result: the row (and its cost) of the median round by throughput, every
 * round kept beside it. A round that failed fails the cell, with how many did.
 */
export function foldRounds(cell: Extract<CellPlan, { kind: 'load' }>, measured: readonly { sample: RoundSample; cost: CellResult['cost'] }[]): CellResult {
  const ok = measured.filter((m) => m.sample.failure === null && m.sample.row !== null && !rowFailed(m.sample.row));
  const sorted = [...ok].sort((a, b) => throughputOf(a.sample.row!) - throughputOf(b.sample.row!));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  const bad = measured.filter((m) => !ok.includes(m));
  const reason = bad.map((m) => m.sample.failure ?? (m.sample.row === null ? 'no result' : `${m.sample.row.errors} errors of ${m.sample.row.ops + m.sample.row.errors} operations`))[0];
  const failure = bad.length === 0 ? null : measured.length === 1 ? (bad[0]!.sample.failure ?? null) : `failed in ${bad.length} of ${measured.length} rounds: ${reason}`;
  return { ...cell, row: mid?.sample.row ?? bad[0]?.sample.row ?? null, failure, cost: mid?.cost ?? null, rounds: measured.map((m) => m.sample) };
}

async function runCell(session: BenchSession, s: CompareSettings, cell: CellPlan, cluster: Awaited<ReturnType<BenchSession['startCluster']>>): Promise<CellResult> {
  const local = cluster.cluster;
  const ids = local.nodes.map((n) => n.id);
  const reading = (): Promise<CounterReading> => readCounters(ids, (id) => local.status(id));
  const before = await reading();
  const result = await runCellLoad(session, s, cell, cluster);
  return { ...result, cost: cellCost(before, await reading()) };
}

async function runCellLoad(session: BenchSession, s: CompareSettings, cell: CellPlan, cluster: Awaited<ReturnType<BenchSession['startCluster']>>): Promise<CellResult> {
  switch (cell.kind) {
    case 'load': {
      const row = await session.loadLevel({ name: cell.scenario, kind: 'quorumlite', protocol: cell.protocol }, quorumliteLoad(cluster, cell.scenario), cell.concurrency, cluster.pids(), statementsPerOp(cell.scenario));
      return { ...cell, row, failure: null };
    }
    case 'failover': {
      const trials: FailoverTrial[] = [];
      let failure: string | null = null;
      try {
        await runFailoverTrials(cluster.cluster, cluster.addresses, { trials: cell.trialCount, writers: s.failoverWriters, settleMs: s.failoverSettleMs }, trials, (line) => session.log(`${cell.protocol} ${cell.topology} ${line}`));
      } catch (e: unknown) {
        failure = e instanceof Error ? e.message : String(e);
      }
      return { ...cell, trials, summary: summarizeStalls(trials, s.failoverWriters), failure };
    }
  }
}

/**
 * Each cell's expected time, the first cell of each cluster carrying the cluster's start (when
 * interleaved, the first cell of a topology carries all of its clusters' starts), so the ETA
 * counts them.
 */
export function progressEstimatesMs(s: CompareSettings, plan: readonly CellPlan[]): number[] {
  return plan.map((cell, i) => {
    const prev = plan[i - 1];
    // A failover cell's own cluster is in its estimate; the load clusters ride on the first load cell.
    if (cell.kind === 'failover') return cellEstimateMs(s, cell);
    if (s.interleave) return cellEstimateMs(s, cell) + (prev === undefined || prev.topology !== cell.topology ? (s.protocols.length + (s.control ? 1 : 0)) * loadClusterStartMs(s) : 0);
    const first = prev === undefined || prev.protocol !== cell.protocol || prev.topology !== cell.topology;
    return cellEstimateMs(s, cell) + (first ? loadClusterStartMs(s) : 0);
  });
}

function failedCell(cell: CellPlan, reason: string): CellResult {
  return cell.kind === 'load' ? { ...cell, row: null, failure: reason } : { ...cell, trials: [], summary: summarizeStalls([], 0), failure: reason };
}

function benchSettingsOf(s: CompareSettings): BenchSettings {
  return { ...DEFAULT_SETTINGS, concurrency: s.concurrency, durationMs: s.durationMs, warmupMs: s.warmupMs, loaders: s.loaders, preloadRows: s.preloadRows, protocols: s.protocols, nodeArgs: s.nodeArgs, outDir: s.outDir, baselines: [], scenarios: [] };
}

/** <out>/<timestamp>/, where a comparison started at `startedAt` writes. */
export function resultsDirOf(outDir: string, startedAt: string): string {
  return path.join(outDir, startedAt.replace(/[:.]/g, '-'));
}

/** <out>/<timestamp>/: results.json (everything), cells/<cell>.json (raw, one per cell), report.md, report.html (logs/ beside them: discardClusterData). */
export function writeCompareResults(outDir: string, results: CompareResults): string {
  const dir = resultsDirOf(outDir, results.meta.startedAt);
  fs.mkdirSync(path.join(dir, 'cells'), { recursive: true });
  for (const cell of results.cells) fs.writeFileSync(path.join(dir, 'cells', cellFileName(cell)), `${JSON.stringify(cell, null, 2)}\n`);
  for (const cell of results.controls ?? []) fs.writeFileSync(path.join(dir, 'cells', `control-${cellFileName(cell)}`), `${JSON.stringify(cell, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'report.md'), renderCompareMarkdown(results));
  fs.writeFileSync(path.join(dir, 'report.html'), renderCompareHtml(results));
  return dir;
}

/**
 * `compare --report DIR`: DIR's report.md and report.html rendered again from its results.json
 * (after the report code changed, say); the raw cells are left as they are. Throws a sentence
 * naming the file and what is wrong with it.
 */
export function rerenderCompareReport(dir: string): string {
  const file = path.join(dir, 'results.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    throw new Error(`--report: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let results: CompareResults;
  try {
    results = JSON.parse(text) as CompareResults;
  } catch (e: unknown) {
    throw new Error(`--report: ${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const shape = results as Partial<CompareResults> | null;
  if (shape === null || typeof shape !== 'object' || typeof shape.meta?.startedAt !== 'string' || typeof shape.settings !== 'object' || shape.settings === null || !Array.isArray(shape.cells) || (shape.controls !== undefined && !Array.isArray(shape.controls))) {
    throw new Error(`--report: ${file} is not the results of quorumlite compare (it needs meta.startedAt, settings and cells)`);
  }
  fs.writeFileSync(path.join(dir, 'report.md'), renderCompareMarkdown(results));
  fs.writeFileSync(path.join(dir, 'report.html'), renderCompareHtml(results));
  return dir;
}

/** The machine, the versions and the exact command, for the top of the report. */
export function compareMeta(argv: readonly string[]): Omit<CompareMeta, 'finishedAt'> {
  const cpus = os.cpus();
  return {
    startedAt: new Date().toISOString(),
    command: ['quorumlite', 'compare', ...argv].map(shellQuote).join(' '),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    versions: packageVersions(),
  };
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** quorumlite, its commit and the packages that shape the figures, from the repository the command runs in. */
function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')) as { version?: string; dependencies?: Record<string, string> };
    out.quorumlite = pkg.version ?? 'unknown';
    for (const name of ['@grpc/grpc-js', 'better-sqlite3', '@nestjs/core']) {
      const v = pkg.dependencies?.[name];
      if (v !== undefined) out[name] = v;
    }
  } catch {
    out.quorumlite = 'unknown';
  }
  try {
    out.commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', timeout: 2_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout (an installed package): the version alone names the code.
  }
  return out;
}

/**
 * Current cell, cells done of total and an ETA from the per-cell estimates scaled by how fast
 * the done ones actually went. On a terminal one line is rewritten in place (logs print above
 * it); otherwise each cell start is a plain line.
 */
export class Progress {
  private doneCount = 0;
  private doneEstimateMs = 0;
  /** How much of the cells after the done ones is already measured, in cells (rounds of a group). */
  private partialCells = 0;
  private current = '';
  private readonly startedMs = Date.now();
  private lineShown = false;

  constructor(
    private readonly estimatesMs: readonly number[],
    private readonly out: ProgressStream,
  ) {}

  get total(): number {
    return this.estimatesMs.length;
  }

  begin(label: string): void {
    this.current = label;
    if (this.out.isTTY === true) this.redraw();
    else this.out.write(`${this.statusLine()}\n`);
  }

  done(): void {
    this.skip(1);
  }

  /** Counts cells as done (run or failed without running). */
  skip(n: number): void {
    for (let i = 0; i < n && this.doneCount < this.total; i++) this.doneEstimateMs += this.estimatesMs[this.doneCount++]!;
    this.partialCells = 0;
    if (this.out.isTTY === true) this.redraw();
  }

  /**
   * Part of the next cells measured so far, in cells: a group of cells measured over rounds is
   * done only after its last round, and the ETA should move meanwhile.
   */
  within(cells: number): void {
    this.partialCells = Math.max(0, Math.min(cells, this.total - this.doneCount));
  }

  log(line: string): void {
    if (this.out.isTTY === true && this.lineShown) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
    if (this.out.isTTY === true && this.lineShown) this.redraw();
  }

  finish(): void {
    if (this.out.isTTY === true && this.lineShown) this.out.write('\n');
    this.lineShown = false;
  }

  /** '[7/24] zab 3v insert C=64 · ETA 1m 12s'. */
  statusLine(nowMs: number = Date.now()): string {
    return `[${this.doneCount}/${this.total}] ${this.current} · ETA ${formatDurationMs(this.etaMs(nowMs))}`;
  }

  etaMs(nowMs: number = Date.now()): number {
    let partialMs = 0;
    for (let k = 0; k < Math.ceil(this.partialCells); k++) partialMs += this.estimatesMs[this.doneCount + k]! * Math.min(1, this.partialCells - k);
    const remaining = this.estimatesMs.slice(this.doneCount).reduce((a, b) => a + b, 0) - partialMs;
    const measured = this.doneEstimateMs + partialMs;
    const pace = measured > 0 ? (nowMs - this.startedMs) / measured : 1;
    return remaining * pace;
  }

  private redraw(): void {
    this.out.write(`\r\x1b[2K${this.statusLine()}`);
    this.lineShown = true;
  }
}
