/**
 * `quorumlite bench`: baselines (bare gRPC echo, better-sqlite3 commit ceiling) once, then for
 * each protocol a fresh 3-node cluster measured at every scenario × concurrency, all with the
 * same loader code; writes <timestamp>.json and .md and prints the protocols side by side with
 * the ratios that matter. Never asserts speed: the exit code
 * says only whether the cluster started and every run stayed under the error budget.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_USAGE, BenchArgsError, DEFAULT_SETTINGS, parseBenchArgs, splitConcurrency, type BenchSettings } from './args';
import { coresUsed, snapshotCpu, type CpuSnapshot } from './cpu';
import { PeakRss, RSS_SAMPLE_MS } from './memory';
import { Histogram } from './histogram';
import { BenchChildError, Child, defaultWorkerCommand, type WorkerCommand } from './launcher';
import { sleepUntil, type WorkerResult } from './loop';
import { mergeWorkerResults, type CpuSummary, type RowIdentity, type RunRow } from './merge';
import { groupByProtocol, renderMarkdown, renderSummary, summarize, type ProtocolGroup, type ReportMeta, type Summary } from './report';
import type { ProtocolName } from '@quorumlite/consensus';
import { DEFAULT_TOPOLOGY, topologyNodes, type LocalClusterTls, type Topology } from '@quorumlite/cluster';
import { certFilesOf, makeCerts } from '@quorumlite/transport';
import type { ClusterUnderTest } from './cluster-target';
import { needsPreload, READ_CEILING_READS_PER_OP, statementsPerOp, type ScenarioName } from './scenarios';
import { stallFigures, summarizeStalls, type FailoverStallSummary, type FailoverTrial } from './failover';
import { missingReferences, REFERENCE_SCENARIOS, renderReferenceMarkdown, type ReferenceScenario, type ReferenceSystem, type SideBySideInput } from './reference';
import type { ReferenceOp } from './reference-targets';
import { aggregateRounds, renderRoundsMarkdown, rotateProtocols } from './rounds';

const CHILD_READY_MS = 30_000;
/** What the SQLite read ceiling may take, beyond CHILD_READY_MS, to load each million rows of its table before it is ready. */
const READ_CEILING_LOAD_MS_PER_MILLION_ROWS = 20_000;
/** The loaders' certificate under --tls (role admin: every scenario's calls). */
const BENCH_CLIENT_CERT = 'bench';
/** The failover trials' writers and settle time, as `quorumlite bench failover` defaults them. */
const REFERENCE_FAILOVER_WRITERS = 16;
const REFERENCE_FAILOVER_SETTLE_MS = 1_500;
/** Time between the start line and the start of warm-up, so every loader begins together. */
const START_LEAD_MS = 250;
/** Result deadline beyond warm-up + duration: drain plus process exit slack. */
const RESULT_SLACK_MS = 20_000;

export interface BenchReport {
  meta: ReportMeta;
  settings: BenchSettings;
  runId: string;
  /** Parts of the run that could not be measured (a cluster, a baseline), with the reason. */
  failures: string[];
  baselines: RunRow[];
  /** One group per protocol in --protocols order; `failure` says why its cluster gave no (or fewer) rows. */
  protocols: Array<ProtocolGroup & { failure: string | null }>;
  /** The peers measured in the same run (--reference): their rows are among `baselines`. */
  reference: ReferenceResult[];
  summary: Summary;
}

export interface ReferenceResult {
  system: ReferenceSystem;
  failover: { summary: FailoverStallSummary; trials: FailoverTrial[] } | null;
  /** Why its cluster gave no (or fewer) rows or trials; null when everything ran. */
  failure: string | null;
}

export interface RunBenchOptions {
  worker?: WorkerCommand;
  log?: (line: string) => void;
}

export async function runBench(argv: string[], options: RunBenchOptions = {}): Promise<number> {
  let settings: BenchSettings;
  try {
    settings = parseBenchArgs(argv);
  } catch (e: unknown) {
    if (!(e instanceof BenchArgsError)) throw e;
    process.stderr.write(`${e.message}\n\n${BENCH_USAGE}\n`);
    return 2;
  }
  if (settings.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  // Before minutes of measuring, not after: a peer asked for must be installed.
  const missing = missingReferences(settings.reference, fs.existsSync);
  if (missing !== null) {
    process.stderr.write(`${missing}\n`);
    return 2;
  }
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let session: BenchSession | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping every process this benchmark started`);
    void (session?.cleanup() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const reports: BenchReport[] = [];
    if (settings.interleave) {
      log(`${settings.rounds} rounds interleaved: every cell measures ${settings.protocols.join(', ')} back to back, the order rotated each round`);
      session = new BenchSession(settings, options.worker ?? defaultWorkerCommand(), log);
      reports.push(...(await session.runInterleaved()));
      await session.cleanup();
      for (const [i, report] of reports.entries()) {
        const files = writeReport(settings.outDir, report, `-round${i + 1}`);
        process.stdout.write(`\n${renderSummary(report.summary)}\n\nwrote ${files.json}\n      ${files.md}\n`);
      }
    }
    for (let round = 0; round < (settings.interleave ? 0 : settings.rounds); round++) {
      // Later rounds measure the protocols only: the ceilings and peers are measured once.
      const roundSettings: BenchSettings = { ...settings, protocols: rotateProtocols(settings.protocols, round), ...(round > 0 ? { baselines: [], reference: [] } : {}) };
      if (settings.rounds > 1) log(`round ${round + 1} of ${settings.rounds}: ${roundSettings.protocols.join(', ')}`);
      session = new BenchSession(roundSettings, options.worker ?? defaultWorkerCommand(), log);
      const report = await session.run();
      await session.cleanup();
      const files = writeReport(settings.outDir, report);
      const peers = renderReferenceSection(report);
      process.stdout.write(`\n${renderSummary(report.summary)}\n${peers.length > 0 ? `\n${peers.join('\n')}\n` : ''}\nwrote ${files.json}\n      ${files.md}\n`);
      reports.push(report);
    }
    if (settings.rounds > 1) {
      const files = writeRoundsReport(settings.outDir, reports, settings.protocols);
      process.stdout.write(`\n${files.text}\n\nwrote ${files.json}\n      ${files.md}\n`);
    }
    return reports.some((r) => r.failures.length > 0 || r.summary.failedRows.length > 0) ? 1 : 0;
  } catch (e: unknown) {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    await session?.cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The rounds side by side: <first round's timestamp>-rounds.json and .md. */
export function writeRoundsReport(outDir: string, reports: readonly BenchReport[], protocols: readonly string[]): { json: string; md: string; text: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const first = reports[0];
  if (first === undefined) throw new Error('no rounds to report');
  const stamp = first.meta.startedAt.replace(/[:.]/g, '-');
  const cells = aggregateRounds(reports.map((r) => r.protocols), protocols);
  const text = renderRoundsMarkdown(cells, protocols, reports.length, first.settings.interleave);
  const json = path.join(outDir, `${stamp}-rounds.json`);
  const md = path.join(outDir, `${stamp}-rounds.md`);
  const s = first.settings;
  fs.writeFileSync(json, `${JSON.stringify({ meta: first.meta, settings: s, rounds: reports.map((r) => ({ runId: r.runId, startedAt: r.meta.startedAt, protocols: r.protocols.map((g) => g.protocol) })), cells }, null, 2)}\n`);
  const header = `# quorumlite bench, ${reports.length} rounds\n\nMachine: ${first.meta.cpus} × ${first.meta.cpuModel}, Node ${first.meta.node}, ${first.meta.platform}. Started ${first.meta.startedAt}. C ${s.concurrency.join(',')}, ${s.durationMs} ms measured after ${s.warmupMs} ms warm-up per cell, ${s.loaders} loader processes, fsync on.\n\n`;
  fs.writeFileSync(md, `${header}${text}\n`);
  return { json, md, text };
}

/** Loader k's node for stale reads: the k-th, round the list. */
export function readAddressOf(readAddresses: readonly string[], loader: number): string {
  const address = readAddresses[loader % readAddresses.length];
  if (address === undefined) throw new Error('a quorumlite load target needs at least one read address');
  return address;
}

/** A quorumlite scenario against `cluster`: writes and linearizable reads to any member, stale reads pinned per loader. */
export function quorumliteLoad(cluster: Pick<ClusterUnderTest, 'addresses' | 'readAddresses'>, scenario: ScenarioName): LoadTargetArgs {
  return { kind: 'quorumlite', scenario, addresses: cluster.addresses, readAddresses: cluster.readAddresses };
}

export type LoadTargetArgs =
  | { kind: 'echo' | 'stream-echo'; address: string }
  | { kind: 'quorumlite'; scenario: ScenarioName; addresses: string[]; readAddresses: string[] }
  | { kind: 'reference'; system: ReferenceSystem; op: ReferenceOp; addresses: string[] };

/** What one report gathers: its rows, the failures of its parts, and how to run a part into it. */
interface RunPart {
  meta: ReportMeta;
  rows: RunRow[];
  failures: string[];
  part(what: string, work: () => Promise<RunRow[]>): Promise<string | null>;
}

/** A run's unmeasured lead-in and measured window. */
interface Phase {
  warmupMs: number;
  durationMs: number;
}

function phaseArgs(phase: Phase): string[] {
  return ['--warmup-ms', String(phase.warmupMs), '--duration-ms', String(phase.durationMs)];
}

/** The processes of one benchmark run: loaders, servers and clusters, all stopped by cleanup(). */
export class BenchSession {
  private readonly children = new Set<Child>();
  private readonly stoppers: Array<() => Promise<void>> = [];
  readonly runId = `b${Date.now().toString(36)}`;
  /** How many runs each cell has had (cellRunId). */
  private readonly cellRuns = new Map<string, number>();
  private tmpDir: string | null = null;
  /** --tls: the certificates every cluster of this run uses (made by tlsFor), else null. */
  tls: LocalClusterTls | null = null;

  constructor(
    private readonly settings: BenchSettings,
    private readonly worker: WorkerCommand,
    readonly log: (line: string) => void,
  ) {}

  async run(): Promise<BenchReport> {
    const run = await this.measureCeilings();
    const protocols = this.settings.scenarios.length > 0 ? this.settings.protocols : [];
    const clusterFailures = new Map<string, string | null>();
    for (const protocol of protocols) {
      clusterFailures.set(protocol, await run.part(`${protocol} cluster`, () => this.clusterRows(protocol, path.join(this.tmpDir!, protocol))));
    }
    const reference: ReferenceResult[] = [];
    for (const system of this.settings.reference) {
      let failover: ReferenceResult['failover'] = null;
      const failure = await run.part(`${system} reference`, async () => {
        const measured = await this.referenceRows(system, path.join(this.tmpDir!, system));
        failover = measured.failover;
        return measured.rows;
      });
      reference.push({ system, failover, failure });
    }
    return this.report(run, protocols, clusterFailures, reference);
  }

  /**
   * --interleave: one cluster per protocol, all running for the whole benchmark; every cell
   * (scenario × concurrency) measures the protocols back to back, `rounds` times, the order
   * rotated by one each time. Round r's rows make report r (the ceilings go in the first), and
   * the rounds report takes its medians from them.
   */
  async runInterleaved(): Promise<BenchReport[]> {
    const s = this.settings;
    const first = await this.measureCeilings();
    const rounds: RunPart[] = [first, ...Array.from({ length: s.rounds - 1 }, () => this.newPart())];
    const clusterFailures = new Map<string, string | null>();
    const clusters = new Map<ProtocolName, ClusterUnderTest>();
    const { prepareSchema } = await import('./cluster-target');
    for (const protocol of s.scenarios.length > 0 ? s.protocols : []) {
      clusterFailures.set(
        protocol,
        await first.part(`${protocol} cluster`, async () => {
          const cluster = await this.startCluster(protocol, DEFAULT_TOPOLOGY, path.join(this.tmpDir!, protocol));
          await prepareSchema(cluster.addresses, s.scenarios.some(needsPreload) ? s.preloadRows : 0, this.tls);
          clusters.set(protocol, cluster);
          return [];
        }),
      );
    }
    const running = s.protocols.filter((p) => clusters.has(p));
    for (const scenario of s.scenarios) {
      for (const c of s.concurrency) {
        for (const [round, part] of rounds.entries()) {
          for (const protocol of rotateProtocols(running, round)) {
            const cluster = clusters.get(protocol)!;
            await part.part(`${protocol} ${scenario}@${c}`, async () => [
              await this.loadLevel({ name: scenario, kind: 'quorumlite', protocol }, quorumliteLoad(cluster, scenario), c, cluster.pids(), statementsPerOp(scenario)),
            ]);
          }
        }
      }
    }
    await Promise.all([...clusters.values()].map((cluster) => cluster.stop()));
    return rounds.map((part) => this.report(part, running, clusterFailures, []));
  }

  /** The ceilings of --baselines, measured into a fresh part of a report. */
  private async measureCeilings(): Promise<RunPart> {
    this.tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bench-'));
    const run = this.newPart();
    if (this.settings.baselines.includes('echo')) await run.part('echo baseline', () => this.echoRows('echo'));
    if (this.settings.baselines.includes('stream-echo')) await run.part('stream-echo baseline', () => this.echoRows('stream-echo'));
    if (this.settings.baselines.includes('sqlite')) {
      await run.part('sqlite ceiling', async () => [await this.sqliteRow(1), await this.sqliteRow(100)]);
      for (const size of readCeilingSizes(this.settings)) await run.part(`sqlite read ceiling at ${size} rows`, async () => [await this.sqliteReadRow(size)]);
    }
    return run;
  }

  /** Rows and failures of one report; each part fails on its own: what did run is still reported, and the exit code says it failed. */
  private newPart(): RunPart {
    const rows: RunRow[] = [];
    const failures: string[] = [];
    return {
      meta: machineMeta(),
      rows,
      failures,
      part: async (what, work) => {
        try {
          rows.push(...(await work()));
          return null;
        } catch (e: unknown) {
          const message = `${what}: ${e instanceof Error ? e.message : String(e)}`;
          this.log(message);
          failures.push(message);
          return message;
        }
      },
    };
  }

  private report(run: RunPart, protocols: ProtocolName[], clusterFailures: ReadonlyMap<string, string | null>, reference: ReferenceResult[]): BenchReport {
    const groups = groupByProtocol(run.rows, protocols);
    return {
      meta: run.meta,
      settings: this.settings,
      runId: this.runId,
      failures: run.failures,
      baselines: groups.baselines,
      protocols: groups.protocols.map((g) => ({ ...g, failure: clusterFailures.get(g.protocol) ?? null })),
      reference,
      summary: summarize(run.rows, protocols),
    };
  }

  /** The unary echo (one RPC per op) or the Session stream echo (the pipelining client's ceiling). */
  private async echoRows(kind: 'echo' | 'stream-echo'): Promise<RunRow[]> {
    const server = this.spawn(`${kind}-server`, [`${kind}-server`, '--host', '127.0.0.1', '--port', '0']);
    const port = await server.waitListening(CHILD_READY_MS);
    const rows: RunRow[] = [];
    try {
      for (const c of this.settings.concurrency) {
        rows.push(await this.loadLevel({ name: kind, kind: 'echo', protocol: null }, { kind, address: `127.0.0.1:${port}` }, c, { [kind]: server.pid }, 1));
      }
    } finally {
      await this.stopChild(server);
    }
    return rows;
  }

  private async sqliteRow(rowsPerTxn: number): Promise<RunRow> {
    const dir = fs.mkdtempSync(path.join(this.tmpDir!, `sqlite-${rowsPerTxn}-`));
    const args = ['sqlite-ceiling', '--dir', dir, '--rows-per-txn', String(rowsPerTxn), ...phaseArgs(this.phase())];
    const child = this.spawn(`sqlite-${rowsPerTxn}`, args);
    try {
      const [result, cpu] = await this.runChildren([child], { sqlite: child.pid }, this.phase());
      const identity = { name: `sqlite-${rowsPerTxn}`, kind: 'sqlite' as const, protocol: null, concurrency: 1, durationMs: this.settings.durationMs, statementsPerOp: rowsPerTxn };
      // The ceiling is its own server: its CPU is reported as the server's, not a loader's.
      return this.announce(mergeWorkerResults(identity, result, { ...cpu, loaderCores: null }));
    } finally {
      await this.stopChild(child);
    }
  }

  private async sqliteReadRow(tableRows: number): Promise<RunRow> {
    const dir = fs.mkdtempSync(path.join(this.tmpDir!, `sqlite-reads-${tableRows}-`));
    const child = this.spawn(`sqlite-reads-${tableRows}`, ['sqlite-read-ceiling', '--dir', dir, '--rows', String(tableRows), ...phaseArgs(this.phase())]);
    try {
      // The child loads its table before it is ready: about 2 s a million rows here.
      const [result, cpu] = await this.runChildren([child], { sqlite: child.pid }, this.phase(), CHILD_READY_MS + READ_CEILING_LOAD_MS_PER_MILLION_ROWS * (tableRows / 1e6));
      return this.announce(mergeWorkerResults(readCeilingIdentity(tableRows, this.settings.durationMs), result, { ...cpu, loaderCores: null }));
    } finally {
      await this.stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** One protocol's fresh cluster: started, measured at every scenario × concurrency, stopped, its data removed. */
  private async clusterRows(protocol: ProtocolName, dataDir: string): Promise<RunRow[]> {
    const { prepareSchema } = await import('./cluster-target');
    const cluster = await this.startCluster(protocol, DEFAULT_TOPOLOGY, dataDir);
    const rows: RunRow[] = [];
    try {
      await prepareSchema(cluster.addresses, this.settings.scenarios.some(needsPreload) ? this.settings.preloadRows : 0, this.tls);
      for (const scenario of this.settings.scenarios) {
        for (const c of this.settings.concurrency) {
          rows.push(await this.loadLevel({ name: scenario, kind: 'quorumlite', protocol }, quorumliteLoad(cluster, scenario), c, cluster.pids(), statementsPerOp(scenario)));
        }
      }
    } finally {
      await cluster.stop();
      // Three clusters' preloads and WALs need not pile up on the disk being measured.
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    return rows;
  }

  /**
   * One peer's fresh 3-member cluster: its keys preloaded, every reference scenario at every
   * concurrency through its own client in the same loader processes, then its failover trials.
   */
  private async referenceRows(system: ReferenceSystem, dataDir: string): Promise<{ rows: RunRow[]; failover: ReferenceResult['failover'] }> {
    const { startReferenceCluster } = await import('./reference-clusters');
    const { preloadReference, REFERENCE_OPS } = await import('./reference-targets');
    const cluster = await startReferenceCluster(system, dataDir, this.log);
    this.stoppers.push(() => cluster.stop());
    const rows: RunRow[] = [];
    try {
      await preloadReference(system, cluster.addresses, this.settings.preloadRows);
      for (const op of REFERENCE_OPS) {
        for (const c of this.settings.concurrency) {
          rows.push(await this.loadLevel({ name: `${system}:${op}`, kind: 'reference', protocol: null }, { kind: 'reference', system, op, addresses: cluster.addresses }, c, cluster.pids(), 1));
        }
      }
      if (this.settings.referenceTrials === 0) return { rows, failover: null };
      const { runReferenceFailover } = await import('./reference-failover');
      const settings = { trials: this.settings.referenceTrials, writers: REFERENCE_FAILOVER_WRITERS, settleMs: REFERENCE_FAILOVER_SETTLE_MS, preloadRows: this.settings.preloadRows };
      const trials = await runReferenceFailover(cluster, settings, this.log);
      return { rows, failover: { summary: summarizeStalls(trials, settings.writers), trials } };
    } finally {
      await cluster.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  /** A fresh cluster of `protocol` in `topology`, stopped by cleanup() if the caller does not stop it first. */
  async startCluster(protocol: ProtocolName, topology: Topology, dataDir: string): Promise<ClusterUnderTest> {
    const { startClusterUnderTest } = await import('./cluster-target');
    this.log(`${protocol} cluster: starting ${topology.name} in ${dataDir}`);
    const cluster = await startClusterUnderTest(dataDir, protocol, this.settings.nodeArgs, (stop) => this.stoppers.push(stop), this.log, topology, this.tlsFor(topology));
    this.log(`${protocol} cluster: leader ${cluster.leaderId} of ${cluster.addresses.join(', ')}`);
    return cluster;
  }

  /**
   * --tls: a local authority with a certificate for every node of `topology` and one admin
   * client certificate for the loaders, made once per run in its temp dir (nodes another
   * topology adds get theirs when it first starts). Null without --tls.
   */
  private tlsFor(topology: Topology): LocalClusterTls | null {
    if (!this.settings.tls) return null;
    this.tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bench-'));
    const dir = path.join(this.tmpDir, 'certs');
    const nodes = topologyNodes(topology).map((n) => n.id).filter((id) => !fs.existsSync(certFilesOf(dir, id).cert));
    const clients = fs.existsSync(certFilesOf(dir, BENCH_CLIENT_CERT).cert) ? [] : [{ name: BENCH_CLIENT_CERT, role: 'admin' as const }];
    if (nodes.length > 0 || clients.length > 0) makeCerts(dir, { nodes, clients });
    this.tls = { files: (name) => certFilesOf(dir, name), client: BENCH_CLIENT_CERT };
    return this.tls;
  }

  /** One run of `concurrency` clients against `target`; a loader that fails makes a failed row, not an exception. */
  async loadLevel(run: Pick<RowIdentity, 'name' | 'kind' | 'protocol'>, target: LoadTargetArgs, concurrency: number, servers: Record<string, number>, perOp: number): Promise<RunRow> {
    return this.announce(await this.runLevel(run, target, concurrency, servers, perOp, this.phase()));
  }

  /**
   * Load that is not measured: `concurrency` clients for `ms` against a fresh cluster before its
   * first measured window, so every protocol's first cell meets warm processes and a warm disk
   * (the first tens of seconds of a new cluster ran slower than the rest, in every protocol).
   * Returns its row for the log only.
   */
  async warmUp(run: Pick<RowIdentity, 'name' | 'kind' | 'protocol'>, target: LoadTargetArgs, concurrency: number, servers: Record<string, number>, ms: number): Promise<RunRow> {
    return this.runLevel(run, target, concurrency, servers, 1, { warmupMs: 0, durationMs: ms });
  }

  private phase(): Phase {
    return { warmupMs: this.settings.warmupMs, durationMs: this.settings.durationMs };
  }

  private async runLevel(run: Pick<RowIdentity, 'name' | 'kind' | 'protocol'>, target: LoadTargetArgs, concurrency: number, servers: Record<string, number>, perOp: number, phase: Phase): Promise<RunRow> {
    const shares = splitConcurrency(concurrency, this.settings.loaders);
    const label = `${run.protocol === null ? '' : `${run.protocol}-`}${run.name}@${concurrency}`;
    const runId = this.cellRunId(target, concurrency);
    const children = shares.map((clients, loader) => this.spawn(`${label}#${loader}`, this.loadArgs(target, clients, loader, runId, phase)));
    const identity: RowIdentity = { ...run, concurrency, durationMs: phase.durationMs, statementsPerOp: perOp };
    try {
      const [results, cpu] = await this.runChildren(children, servers, phase);
      return mergeWorkerResults(identity, results, cpu);
    } catch (e: unknown) {
      // A loader that dies or hangs fails this run (and the exit code), not the whole report.
      const message = e instanceof Error ? e.message : String(e);
      return mergeWorkerResults(identity, [failedLoaderResult(message)], { loaderCores: null, serverCores: {} });
    } finally {
      await Promise.all(children.map((child) => this.stopChild(child)));
    }
  }

  /** Waits for every child to be ready, starts them together, samples CPU around the window. */
  private async runChildren(children: Child[], servers: Record<string, number>, phase: Phase, readyMs = CHILD_READY_MS): Promise<[WorkerResult[], CpuSummary]> {
    await Promise.all(children.map((child) => child.waitReady(readyMs)));
    const startAt = Date.now() + START_LEAD_MS;
    for (const child of children) child.start(startAt);
    const loaderPids = children.map((child) => child.pid);
    const allPids = [...loaderPids, ...Object.values(servers)];
    const windowStart = startAt + phase.warmupMs;
    const windowEnd = windowStart + phase.durationMs;
    const sampling = (async (): Promise<[CpuSnapshot, CpuSnapshot]> => {
      await sleepUntil(windowStart);
      const before = snapshotCpu(allPids);
      await sleepUntil(windowEnd);
      return [before, snapshotCpu(allPids)];
    })();
    const peakRss = new PeakRss(servers);
    peakRss.sample();
    const rssTimer = setInterval(() => peakRss.sample(), RSS_SAMPLE_MS);
    const deadline = phase.warmupMs + phase.durationMs + START_LEAD_MS + RESULT_SLACK_MS;
    try {
      const results = (await Promise.all(children.map((child) => child.waitResult(deadline)))).map(asWorkerResult);
      const [before, after] = await sampling;
      peakRss.sample();
      const serverCores: Record<string, number | null> = {};
      for (const [label, pid] of Object.entries(servers)) serverCores[label] = coresUsed(before, after, [pid], phase.durationMs);
      return [results, { loaderCores: coresUsed(before, after, loaderPids, phase.durationMs), serverCores, serverPeakRssMb: peakRss.megabytes() }];
    } finally {
      clearInterval(rssTimer);
    }
  }

  /**
   * The run id of one run of a cell, the prefix of its keys: unique per scenario (insert and
   * batch100 write the same table) and per run (--interleave measures a cell on the same
   * cluster once a round).
   */
  private cellRunId(target: LoadTargetArgs, concurrency: number): string {
    const scenario = target.kind === 'quorumlite' ? target.scenario : target.kind === 'reference' ? `${target.system}-${target.op}` : target.kind;
    const cell = `${this.runId}-${scenario}-c${concurrency}`;
    const runs = (this.cellRuns.get(cell) ?? 0) + 1;
    this.cellRuns.set(cell, runs);
    return runs === 1 ? cell : `${cell}-${runs}`;
  }

  private loadArgs(target: LoadTargetArgs, clients: number, loader: number, runId: string, phase: Phase): string[] {
    const common = ['load', '--clients', String(clients), '--loader', String(loader), '--run-id', runId, ...phaseArgs(phase)];
    switch (target.kind) {
      case 'echo':
      case 'stream-echo':
        return [...common, '--target', target.kind, '--address', target.address];
      case 'quorumlite': {
        const tls = this.tls?.files(this.tls.client);
        const tlsArgs = tls ? ['--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key] : [];
        return [...common, '--target', 'quorumlite', '--scenario', target.scenario, '--addresses', target.addresses.join(','), '--read-address', readAddressOf(target.readAddresses, loader), '--preload-rows', String(this.settings.preloadRows), ...tlsArgs];
      }
      case 'reference':
        return [...common, '--target', 'reference', '--system', target.system, '--op', target.op, '--addresses', target.addresses.join(','), '--preload-rows', String(this.settings.preloadRows)];
    }
  }


  private spawn(name: string, args: string[]): Child {
    const child = new Child(name, this.worker, args, this.log);
    this.children.add(child);
    return child;
  }

  private async stopChild(child: Child): Promise<void> {
    await child.stop();
    this.children.delete(child);
  }

  private announce(row: RunRow): RunRow {
    const errors = `${row.errors > 0 ? ` errors ${row.errors} ${JSON.stringify(row.errorsByCode)}` : ''}${row.abandoned > 0 ? ` abandoned ${row.abandoned} (still in flight after the window)` : ''}`;
    this.log(`${(row.protocol ?? '').padEnd(11)} ${row.name.padEnd(12)} C=${String(row.concurrency).padEnd(4)} ${row.opsPerSec.toFixed(0).padStart(8)} ops/s ${row.statementsPerSec.toFixed(0).padStart(9)} stmts/s  p50 ${row.latencyMs.p50.toFixed(2)} ms  p99 ${row.latencyMs.p99.toFixed(2)} ms${errors}`);
    for (const sample of row.errorSamples) this.log(`    ${sample}`);
    return row;
  }

  /** Stops every child and the cluster; safe to call more than once. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stopChild(child)));
    for (const stop of this.stoppers.splice(0)) {
      try {
        await stop();
      } catch (e: unknown) {
        this.log(`cleanup: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = null;
  }
}

function failedLoaderResult(message: string): WorkerResult {
  return { ops: 0, errors: 1, errorsByCode: { loader_failed: 1 }, errorSamples: [`loader_failed: ${message}`], histogram: new Histogram().toJSON(), windowMs: 0, clients: 0, abandoned: 0 };
}

function asWorkerResult(json: unknown): WorkerResult {
  const r = json as Partial<WorkerResult> | null;
  if (!r || typeof r.ops !== 'number' || typeof r.errors !== 'number' || !r.histogram) {
    throw new BenchChildError(`a loader sent a malformed result: ${JSON.stringify(json).slice(0, 200)}`);
  }
  return r as WorkerResult;
}

export function machineMeta(): ReportMeta {
  const cpus = os.cpus();
  return { startedAt: new Date().toISOString(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** `suffix` tells apart reports of one start time (the rounds of --interleave). */
export function writeReport(outDir: string, report: BenchReport, suffix = ''): { json: string; md: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = `${report.meta.startedAt.replace(/[:.]/g, '-')}${suffix}`;
  const json = path.join(outDir, `${stamp}.json`);
  const md = path.join(outDir, `${stamp}.md`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const s = report.settings;
  const protocols = report.protocols.map((g) => g.protocol);
  const settingsLine = `Settings: ${protocols.length > 0 ? `protocols ${protocols.join(', ')} (${s.interleave ? 'one 3-node cluster each, cells measured back to back' : 'a fresh 3-node cluster each'}), ` : ''}C ${s.concurrency.join(',')}, ${s.durationMs} ms measured after ${s.warmupMs} ms warm-up, ${s.loaders} loader processes, fsync on${s.tls ? ', mutual TLS' : ''}${s.nodeArgs.length > 0 ? `, node args ${s.nodeArgs.join(' ')}` : ''}.${report.failures.map((f) => ` FAILED ${f}.`).join('')}`;
  const peers = renderReferenceSection(report);
  fs.writeFileSync(md, renderMarkdown(report.meta, settingsLine, [...report.baselines, ...report.protocols.flatMap((g) => g.rows)], report.summary) + (peers.length > 0 ? `\n${peers.join('\n')}\n` : ''));
  return { json, md };
}

/**
 * The peers beside each protocol (one table per protocol: its scenario against theirs, with the
 * ratios), then every failover figure of the run's peers. Empty without --reference.
 */
export function renderReferenceSection(report: Pick<BenchReport, 'baselines' | 'protocols' | 'reference'>): string[] {
  if (report.reference.length === 0) return [];
  const systems = report.reference.map((r) => r.system);
  const peerRows: SideBySideInput[] = report.baselines.flatMap((row) => {
    if (row.kind !== 'reference') return [];
    const [system, op] = row.name.split(':') as [string, ReferenceScenario];
    return [{ system, scenario: op, concurrency: row.concurrency, opsPerSec: row.opsPerSec, p99Ms: row.latencyMs.p99 }];
  });
  const lines: string[] = ['## Beside the peers, same run', ''];
  for (const group of report.protocols) {
    const ours: SideBySideInput[] = [];
    for (const [scenario, names] of Object.entries(REFERENCE_SCENARIOS) as Array<[ReferenceScenario, (typeof REFERENCE_SCENARIOS)[ReferenceScenario]]>) {
      for (const row of group.rows.filter((r) => r.name === names.quorumlite)) ours.push({ system: group.protocol, scenario, concurrency: row.concurrency, opsPerSec: row.opsPerSec, p99Ms: row.latencyMs.p99 });
    }
    lines.push(...renderReferenceMarkdown([...ours, ...peerRows], [group.protocol, ...systems]), '');
  }
  lines.push(`Scenarios: ${Object.entries(REFERENCE_SCENARIOS).map(([s, n]) => `${s} = quorumlite ${n.quorumlite}, ZooKeeper ${n.zookeeper}, etcd ${n.etcd}`).join('; ')}.`, '');
  for (const r of report.reference) {
    const figures = r.failover === null ? 'no failover trials' : `stall ${stallFigures(r.failover.summary)}`;
    lines.push(`- ${r.system} failover: ${figures}${r.failure === null ? '' : ` — FAILED: ${r.failure}`}`);
  }
  return lines;
}

/** The run row of the SQLite read ceiling at a table size: READ_CEILING_READS_PER_OP reads an operation. */
export function readCeilingIdentity(tableRows: number, durationMs: number): RowIdentity {
  return { name: `sqlite-reads-${tableRows}`, kind: 'sqlite', protocol: null, concurrency: 1, durationMs, statementsPerOp: READ_CEILING_READS_PER_OP };
}

/**
 * The table sizes the SQLite read ceiling reads at: none when no scenario reads the preloaded
 * rows; the run's preload, and the default one beside it when the run preloads more, so a run
 * at millions of rows shows in itself what SQLite alone loses to the larger table.
 */
export function readCeilingSizes(settings: Pick<BenchSettings, 'scenarios' | 'preloadRows'>): number[] {
  if (!settings.scenarios.some(needsPreload)) return [];
  const fresh = DEFAULT_SETTINGS.preloadRows;
  return settings.preloadRows > fresh ? [fresh, settings.preloadRows] : [settings.preloadRows];
}
