/**
 * runChaos: a real cluster behind a proxy mesh, concurrent client workers, the nemesis, then
 * heal, converge, final reads, replica dumps and checks. Each phase is timed and the whole run
 * has a deadline: past it the run stops waiting and fails naming the phase it was stuck in.
 * Everything it starts is stopped in `finally`, whatever happens; on failure the evidence is
 * copied to .chaos/<stamp>-seed<N>/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QuorumliteClient, type SqlValue } from '@quorumlite/client';
import { LocalCluster, START_TIMEOUT_MS_DEFAULT, topologyNodes, topologySize } from '@quorumlite/cluster';
import { HistoryRecorder, countByOutcome, type WorkloadName } from './history';
import { ProxyMesh } from './network';
import { FAULT_INJECTION_FLAG, FAULTS_BY_NEMESIS, Nemesis, SCHEDULE_HOLD_MS_DEFAULT, SCHEDULE_QUIET_MS_DEFAULT, planSchedule, type FaultKind, type NemesisName, type PlannedFault } from './nemesis';
import { CLIENT_RETRY_BUDGET_MS_DEFAULT, CLIENT_TIMEOUT_MS_DEFAULT, THINK_MS_DEFAULT, runFinalReads, runWorker, uniqueCounter } from './workers';
import { WORKLOADS } from './workloads';
import { writeArtifacts } from './artifacts';
import { faultAvailability } from './availability';
import { HISTORY_CHECKS } from './checks';
import { clientAddresses, keepsData, resolveTopology, witnessReasons, witnessRecordsMax, type WitnessReport } from './roles';
import { DeadlineExceededError, PhaseClock, describePhases, settleWithin, sleepUnlessAborted, type PhaseTiming } from './phases';

import type { ChaosCheck, ChaosOptions, ChaosOptionsResolved, ChaosResult, ChaosRun, ReplicaDump, Verdict } from './types';

export type { ChaosCheck, ChaosOptions, ChaosOptionsResolved, ChaosResult, ChaosRun, ReplicaDump, Verdict } from './types';

const WORKERS_DEFAULT = 8;
const CONVERGE_TIMEOUT_MS_DEFAULT = 30_000;
/** Beyond the fault window and convergence: start, setup, heal, final reads, dumps, checks, stop. */
export const OVERALL_SLACK_MS = 60_000;
const SETUP_TIMEOUT_MS = 20_000;
const POLL_MS = 100;
/** One attempt of the linearizable read that confirms a leader after the heal. */
const CONVERGE_READ_TIMEOUT_MS = 5_000;
/** A replica dump is a local read; a node that cannot answer within these is recorded as unreadable. */
const DUMP_TIMEOUT_MS = 5_000;
const DUMP_RETRY_BUDGET_MS = 5_000;
/** Beyond one operation's client timeout and retry budget, for the workers to finish after the window. */
const DRAIN_SLACK_MS = 5_000;
/** Longer than LocalCluster's SIGTERM grace before its SIGKILL. */
const STOP_BOUND_MS = 15_000;
/** The process id of the final reads, far above any worker's. */
const FINAL_PROCESS = 1_000_000;
/**
 * A witness forgets only when it applies a record, so after the heal the harness writes a few
 * probes (to a table no checker reads), each after a pause that lets the leader's heartbeats
 * tell the witness what the data voters now hold, and reads its Status after each.
 */
const WITNESS_PROBES = 3;
const WITNESS_PROBE_GAP_MS = 1_000;
const WITNESS_PROBE_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS chaos_witness_probe (n INTEGER)';
const WITNESS_PROBE_SQL = 'INSERT INTO chaos_witness_probe (n) VALUES (?)';

export function overallTimeoutMsDefault(durationMs: number, convergeTimeoutMs = CONVERGE_TIMEOUT_MS_DEFAULT): number {
  return durationMs + convergeTimeoutMs + OVERALL_SLACK_MS;
}

function faultsOf(nemesis: readonly (NemesisName | FaultKind)[]): FaultKind[] {
  const out = new Set<FaultKind>();
  for (const n of nemesis) {
    if (n in FAULTS_BY_NEMESIS) for (const f of FAULTS_BY_NEMESIS[n as NemesisName]) out.add(f);
    else out.add(n as FaultKind);
  }
  return [...out];
}

export function resolveOptions(o: ChaosOptions): ChaosOptionsResolved {
  const nemesis = [...(o.nemesis ?? (['kill', 'pause', 'partition', 'crash'] as const))];
  const topology = resolveTopology(o.nodes, o.topology);
  const resolved = {
    seed: o.seed,
    durationMs: o.durationMs,
    protocol: o.protocol ?? 'raft',
    nodes: topologySize(topology),
    topology,
    workloads: o.workloads ?? (['register', 'bank', 'append'] as const),
    workers: o.workers ?? WORKERS_DEFAULT,
    clientTimeoutMs: o.clientTimeoutMs ?? CLIENT_TIMEOUT_MS_DEFAULT,
    clientRetryBudgetMs: o.clientRetryBudgetMs ?? CLIENT_RETRY_BUDGET_MS_DEFAULT,
    leaderWrites: o.leaderWrites ?? 0,
    nodeArgs: o.nodeArgs ?? [],
    overallTimeoutMs: o.overallTimeoutMs ?? overallTimeoutMsDefault(o.durationMs, o.convergeTimeoutMs),
    nemesis,
    faults: faultsOf(nemesis),
  };
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${resolved.seed}`);
  if (!(resolved.durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${resolved.durationMs}`);
  if (!Number.isInteger(resolved.overallTimeoutMs) || resolved.overallTimeoutMs <= 0) throw new RangeError(`overallTimeoutMs must be a positive integer, got ${resolved.overallTimeoutMs}`);
  if (resolved.nodes < 3 && resolved.faults.some((f) => f.startsWith('partition'))) throw new RangeError('partitions need at least 3 nodes');
  if (resolved.workloads.length === 0) throw new RangeError('at least one workload is needed');
  if (!(resolved.leaderWrites >= 0 && resolved.leaderWrites <= 1)) throw new RangeError(`leaderWrites must be a share between 0 and 1, got ${resolved.leaderWrites}`);
  return resolved;
}

export function replayCommand(o: ChaosOptionsResolved): string {
  return [
    'npm run chaos --',
    `--protocol ${o.protocol}`,
    `--nemesis ${o.nemesis.length > 0 ? o.nemesis.join(',') : 'none'}`,
    `--workload ${o.workloads.join(',')}`,
    `--duration ${o.durationMs % 1000 === 0 ? `${o.durationMs / 1000}s` : `${o.durationMs}ms`}`,
    `--seed ${o.seed}`,
    o.topology.witnesses + o.topology.observers > 0 ? `--topology ${o.topology.name}` : `--nodes ${o.nodes}`,
    `--workers ${o.workers}`,
    ...(o.clientTimeoutMs !== CLIENT_TIMEOUT_MS_DEFAULT ? [`--client-timeout ${o.clientTimeoutMs}ms`] : []),
    ...(o.clientRetryBudgetMs !== CLIENT_RETRY_BUDGET_MS_DEFAULT ? [`--retry-budget ${o.clientRetryBudgetMs}ms`] : []),
    ...(o.overallTimeoutMs !== overallTimeoutMsDefault(o.durationMs) ? [`--overall-timeout ${o.overallTimeoutMs}ms`] : []),
    ...(o.leaderWrites > 0 ? [`--leader-writes ${o.leaderWrites}`] : []),
    ...(o.nodeArgs.length > 0 ? [`--node-args='${o.nodeArgs.join(' ')}'`] : []),
  ].join(' ');
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const o = resolveOptions(options);
  const log = options.log ?? (() => undefined);
  const artifactsRoot = options.artifactsRoot ?? path.join(process.cwd(), '.chaos');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ql-chaos-seed${o.seed}-`));
  const plan = planSchedule({
    faults: o.faults,
    seed: o.seed,
    durationMs: o.durationMs,
    quietMs: options.scheduleQuietMs ?? SCHEDULE_QUIET_MS_DEFAULT,
    holdMs: options.scheduleHoldMs ?? SCHEDULE_HOLD_MS_DEFAULT,
  });
  const clock = new PhaseClock(o.overallTimeoutMs, (t) => log(`phase ${t.name}: ${t.ms} ms${t.ended === 'done' ? '' : ` (${t.ended === 'deadline' ? 'stopped at the deadline' : 'failed'})`}`));
  const state = new RunState(plan);
  const live: Live = { mesh: null, cluster: null };
  try {
    let harnessError: unknown = null;
    let stoppedByDeadline = false;
    try {
      await runPhases(o, options, dataDir, clock, live, state, log);
    } catch (e: unknown) {
      if (e instanceof DeadlineExceededError) {
        stoppedByDeadline = true;
        state.problems.push(deadlineProblem(e, clock.timings));
      } else {
        harnessError = e;
      }
    } finally {
      state.problems.push(...(await stopEverything(live, clock)));
    }
    if (harnessError !== null) {
      // The harness itself failed (the cluster did not start, setup never succeeded): keep the logs.
      const dir = writeArtifacts(null, live.cluster, artifactsRoot, { seed: o.seed, replayCommand: replayCommand(o), error: harnessError, phases: clock.timings });
      const message = harnessError instanceof Error ? harnessError.message : String(harnessError);
      throw new Error(`chaos run (seed ${o.seed}) failed: ${message}; phases: ${describePhases(clock.timings)}; logs in ${dir}; replay: ${replayCommand(o)}`, { cause: harnessError });
    }
    const run = state.toRun(o, clock.timings);
    // A run stopped early has no final reads or dumps to check: its verdict is the deadline.
    const verdicts = stoppedByDeadline ? [harnessVerdict(run)] : await checkWithinDeadline(run, options.checks ?? HISTORY_CHECKS, clock);
    const result = summarize({ ...run, phases: [...clock.timings] }, verdicts);
    log(`phases: ${describePhases(result.phases)}`);
    if (!result.valid || options.keepArtifacts) {
      result.artifactsDir = writeArtifacts(result, live.cluster, artifactsRoot);
      log(`seed ${o.seed}: ${result.valid ? 'valid' : 'INVALID'}; evidence in ${result.artifactsDir}`);
      log(`replay: ${result.replayCommand}`);
    }
    return result;
  } finally {
    clock.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** What a run has gathered so far; a run stopped by its deadline still reports all of it. */
class RunState {
  readonly recorder = new HistoryRecorder();
  nemesis: Nemesis | null = null;
  dumps: ReplicaDump[] = [];
  witnesses: WitnessReport[] = [];
  readonly problems: string[] = [];
  readonly createdAtMs = performance.now();
  startedAtMs: number | null = null;

  constructor(readonly plan: PlannedFault[]) {}

  /**
   * A copy: work the deadline stopped waiting for may still complete operations or heal
   * faults afterwards, and must not change a run that is being checked or written out.
   */
  toRun(o: ChaosOptionsResolved, phases: readonly PhaseTiming[]): ChaosRun {
    return {
      seed: o.seed,
      options: o,
      history: this.recorder.seal().map((op) => ({ ...op })),
      timeline: (this.nemesis?.timeline ?? []).map((entry) => ({ ...entry, notes: [...entry.notes] })),
      plan: this.plan,
      dumps: this.dumps,
      witnesses: this.witnesses,
      problems: [...this.problems],
      phases: [...phases],
      startedAtMs: this.startedAtMs ?? this.createdAtMs,
      endedAtMs: performance.now(),
    };
  }
}

interface Live {
  mesh: ProxyMesh | null;
  cluster: LocalCluster | null;
}

function deadlineProblem(e: DeadlineExceededError, timings: readonly PhaseTiming[]): string {
  return `${e.message}; it stopped waiting there (phases: ${describePhases(timings)})`;
}

/** The proxies and the cluster, which must exist before anything else runs. */
async function startCluster(o: ChaosOptionsResolved, options: ChaosOptions, dataDir: string, clock: PhaseClock, live: Live, signal: AbortSignal): Promise<{ mesh: ProxyMesh; cluster: LocalCluster }> {
  const specs = topologyNodes(o.topology);
  const mesh = await ProxyMesh.start(specs.map((n) => n.id));
  if (signal.aborted) {
    await mesh.close();
    throw signal.reason;
  }
  live.mesh = mesh;
  const cluster = await LocalCluster.start({
    nodes: specs,
    dataDir,
    protocol: o.protocol,
    peerAddress: mesh.peerAddress,
    // Also bounds every later restart's wait for Status.
    startTimeoutMs: clock.bound(START_TIMEOUT_MS_DEFAULT),
    ...(options.nodeBin !== undefined ? { nodeBin: options.nodeBin } : {}),
    // The crash faults need the power cut armed; other runs leave it off.
    nodeArgs: o.faults.some((f) => f.startsWith('crash-')) ? [FAULT_INJECTION_FLAG, ...o.nodeArgs] : o.nodeArgs,
  });
  if (signal.aborted) {
    // The run gave up on this start and has already stopped what it knew of.
    await cluster.stop();
    await mesh.close();
    throw signal.reason;
  }
  live.cluster = cluster;
  return { mesh, cluster };
}

/** Every phase up to the replica dumps; checks run after the processes are stopped. */
async function runPhases(o: ChaosOptionsResolved, options: ChaosOptions, dataDir: string, clock: PhaseClock, live: Live, state: RunState, log: (line: string) => void): Promise<void> {
  const { mesh, cluster } = await clock.run('start', (signal) => startCluster(o, options, dataDir, clock, live, signal));
  log(`cluster up: ${cluster.nodes.map((n) => `${n.id}=${n.address}`).join(' ')}; ${state.plan.length} faults planned over ${o.durationMs} ms`);
  // Final reads go through it too: only to nodes that keep the database.
  const admin = new QuorumliteClient({ addresses: clientAddresses(cluster.nodes).reads, timeoutMs: 5_000, retryBudgetMs: SETUP_TIMEOUT_MS });
  const witnesses = cluster.nodes.filter((n) => !keepsData(n)).map((n) => n.id);
  try {
    const setup = [...o.workloads.flatMap((w) => WORKLOADS[w].setup), ...(witnesses.length > 0 ? [WITNESS_PROBE_TABLE_SQL] : [])];
    await clock.run('setup', () => admin.execute(setup.map((sql) => ({ sql }))));
    const nemesis = new Nemesis(cluster, mesh);
    state.nemesis = nemesis;
    const startedAtMs = performance.now();
    state.startedAtMs = startedAtMs;
    const stopAtMs = startedAtMs + o.durationMs;
    const workers = startWorkers(o, cluster, state.recorder, () => performance.now() >= stopAtMs || clock.expired());
    await clock.run('faults', (signal) => runNemesis(nemesis, state.plan, startedAtMs, stopAtMs, signal, log));
    const drainMs = o.clientTimeoutMs + o.clientRetryBudgetMs + DRAIN_SLACK_MS;
    const drained = await clock.run('drain', (signal) => settleWithin(workers, drainMs, signal));
    for (const reason of drained.rejected) state.problems.push(`a worker crashed: ${String(reason)}`);
    if (drained.pending > 0) state.problems.push(`${drained.pending} of ${workers.length} workers were still in an operation ${drainMs} ms after the fault window`);
    log(`workload done: ${state.recorder.all().length} operations; healing`);
    state.problems.push(...(await clock.run('heal', () => nemesis.healAll())));
    state.problems.push(...(await clock.run('converge', (signal) => converge(cluster, witnesses, convergeBudgetMs(clock, options.convergeTimeoutMs ?? CONVERGE_TIMEOUT_MS_DEFAULT), signal))));
    await clock.run('final-reads', (signal) => runFinalReads(admin, state.recorder, o.workloads, FINAL_PROCESS, signal));
    state.dumps = await clock.run('dumps', (signal) => dumpReplicas(cluster, o.workloads, signal));
    log('final reads and replica dumps taken');
    if (witnesses.length > 0) {
      state.witnesses = await clock.run('witness-log', (signal) => witnessLogs(cluster, admin, witnessRecordsMax(o.nodeArgs), signal));
      log(`witness logs: ${state.witnesses.map((w) => `${w.nodeId} ${w.error ?? `${w.retainedRecords} records past its forget point (max ${w.recordsMax}), files ${w.logRecords} records ${w.logBytes} bytes`}`).join('; ')}`);
    }
  } finally {
    admin.close();
  }
}

function startWorkers(o: ChaosOptionsResolved, cluster: LocalCluster, recorder: HistoryRecorder, shouldStop: () => boolean): Promise<void>[] {
  const unique = uniqueCounter();
  const { reads, writes } = clientAddresses(cluster.nodes);
  const workerOptions = {
    addresses: writes,
    readAddresses: reads,
    workloads: o.workloads,
    recorder,
    seed: o.seed,
    workerCount: o.workers,
    runId: `s${o.seed}-${Date.now().toString(36)}`,
    clientTimeoutMs: o.clientTimeoutMs,
    clientRetryBudgetMs: o.clientRetryBudgetMs,
    leaderWrites: o.leaderWrites,
    thinkMs: THINK_MS_DEFAULT,
    shouldStop,
  };
  const workers = Array.from({ length: o.workers }, (_, w) => runWorker(w, workerOptions, unique));
  // A run stopped by its deadline never awaits them; the drain reports their failures otherwise.
  for (const w of workers) w.catch(() => undefined);
  return workers;
}

/**
 * Heals links and stops every process, whatever happened before; bounded, so a process that
 * ignores its signals is killed outright rather than holding the run open.
 */
async function stopEverything(live: Live, clock: PhaseClock): Promise<string[]> {
  const { mesh, cluster } = live;
  if (!mesh && !cluster) return [];
  return clock.measure('stop', async () => {
    mesh?.healAll();
    const stopped = await settleWithin([cluster?.stop() ?? Promise.resolve(), mesh?.close() ?? Promise.resolve()], STOP_BOUND_MS, new AbortController().signal);
    if (stopped.pending === 0) return stopped.rejected.map((e) => `stopping the cluster failed: ${e instanceof Error ? e.message : String(e)}`);
    cluster?.killAllNow();
    mesh?.closeNow();
    return [`the cluster and its proxies did not stop within ${STOP_BOUND_MS} ms; every node was killed outright`];
  });
}

async function runNemesis(nemesis: Nemesis, plan: PlannedFault[], startedAtMs: number, stopAtMs: number, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  try {
    for (const fault of plan) {
      await sleepUnlessAborted(Math.max(0, startedAtMs + fault.atMs - performance.now()), signal);
      if (performance.now() >= stopAtMs || signal.aborted) break;
      const entry = await nemesis.inject(fault);
      log(`+${Math.round(entry.atMs - startedAtMs)} ms ${entry.fault} ${entry.targets.join(',')}${entry.links ? ` [${entry.links.join(' ')}] ${entry.cut}` : ''}${entry.notes.length ? ` (${entry.notes.join('; ')})` : ''}`);
      await sleepUnlessAborted(Math.max(0, Math.min(fault.holdMs, stopAtMs - performance.now())), signal);
      const healStartMs = performance.now();
      await nemesis.heal();
      // A restart's share shows here: how long the node took to answer Status again.
      log(`+${Math.round(performance.now() - startedAtMs)} ms healed ${entry.fault} in ${Math.round(performance.now() - healStartMs)} ms`);
    }
    await sleepUnlessAborted(Math.max(0, stopAtMs - performance.now()), signal);
  } finally {
    // After the deadline the cluster is being stopped: healing now would only restart a node to kill it.
    if (!signal.aborted) await nemesis.heal();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * After the heal: a leader, a linearizable read through it (its commit index now covers every
 * earlier term's entries), then every node applied up to the leader's commit index. Every
 * wait, the read's retries included, ends by `timeoutMs`.
 */
/**
 * Convergence's own time limit. When the run's deadline comes first, convergence must not
 * end by itself at the same moment (a race the deadline should win, so the report names
 * 'converge' as the phase it was stuck in): it is given a little longer, and the deadline
 * stops it.
 */
function convergeBudgetMs(clock: PhaseClock, convergeTimeoutMs: number): number {
  const remaining = clock.remainingMs();
  return convergeTimeoutMs < remaining ? convergeTimeoutMs : remaining + CONVERGE_PAST_DEADLINE_MS;
}

/** How far past the run's deadline convergence's own limit is set, so the deadline always fires first. */
const CONVERGE_PAST_DEADLINE_MS = 1_000;

async function converge(cluster: LocalCluster, witnesses: string[], timeoutMs: number, signal: AbortSignal): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  const left = (): number => Math.max(1, Math.floor(deadline - performance.now()));
  let commit: bigint;
  try {
    // A witness may lead for a moment (it hands over at once) but serves no read: wait for a data node.
    const leader = await cluster.waitForLeader(timeoutMs, witnesses);
    const reader = new QuorumliteClient({ addresses: [leader.address], timeoutMs: Math.min(left(), CONVERGE_READ_TIMEOUT_MS), retryBudgetMs: left() });
    try {
      await reader.query('SELECT 1', [], { address: leader.address });
    } finally {
      reader.close();
    }
    commit = (await cluster.status(leader.id)).commitIndex;
  } catch (e: unknown) {
    return [`no leader served a linearizable read within ${timeoutMs} ms after the heal: ${errorText(e)}`];
  }
  const problems: string[] = [];
  for (const node of cluster.nodes) {
    let applied = -1n;
    while (!signal.aborted) {
      applied = await cluster.status(node.id).then((s) => s.appliedIndex, () => -1n);
      if (applied >= commit || performance.now() >= deadline) break;
      await sleepUnlessAborted(Math.min(POLL_MS, left()), signal);
    }
    if (applied < commit) problems.push(`node ${node.id} never applied the leader's commit index ${commit} (at ${applied}) within ${timeoutMs} ms after the heal`);
  }
  return problems;
}

/**
 * Each data node's workload tables, read locally (a witness has none); a node that does not
 * answer within the dump budget reads as null.
 */
async function dumpReplicas(cluster: LocalCluster, workloads: readonly WorkloadName[], signal: AbortSignal): Promise<ReplicaDump[]> {
  const dataNodes = cluster.nodes.filter(keepsData);
  const client = new QuorumliteClient({ addresses: dataNodes.map((n) => n.address), timeoutMs: DUMP_TIMEOUT_MS, retryBudgetMs: DUMP_RETRY_BUDGET_MS });
  const dumps: ReplicaDump[] = [];
  try {
    for (const node of dataNodes) {
      if (signal.aborted) break;
      const tables: Record<string, SqlValue[][] | null> = {};
      for (const w of workloads) {
        tables[w] = await client
          .query(WORKLOADS[w].dumpSql, [], { consistency: 'stale', address: node.address })
          .then((r) => r.rows, () => null);
      }
      const applied = await cluster.status(node.id).then((s) => s.appliedIndex.toString(), () => null);
      dumps.push({ nodeId: node.id, tables, appliedIndex: applied });
    }
  } finally {
    client.close();
  }
  return dumps;
}

/** Each witness's Status, after each probe write, until every one is within `recordsMax` or the probes are used up. */
async function witnessLogs(cluster: LocalCluster, writer: QuorumliteClient, recordsMax: number, signal: AbortSignal): Promise<WitnessReport[]> {
  const witnesses = cluster.nodes.filter((n) => !keepsData(n));
  let reports: WitnessReport[] = [];
  for (let probe = 0; probe < WITNESS_PROBES && !signal.aborted; probe++) {
    await sleepUnlessAborted(WITNESS_PROBE_GAP_MS, signal);
    const probeError = await writer.execute({ sql: WITNESS_PROBE_SQL, params: [probe] }).then(() => null, (e: unknown) => `probe write failed: ${errorText(e)}`);
    // Forgetting takes the witness a round after it applies the probe.
    await sleepUnlessAborted(WITNESS_PROBE_GAP_MS / 2, signal);
    reports = await Promise.all(witnesses.map((n) => witnessReport(cluster, n.id, recordsMax, probeError)));
    if (witnessReasons(reports).length === 0) break;
  }
  return reports;
}

async function witnessReport(cluster: LocalCluster, id: string, recordsMax: number, probeError: string | null): Promise<WitnessReport> {
  const empty = { nodeId: id, retainedRecords: 0, recordsMax, logRecords: 0, logBytes: 0, lastIndex: 0, snapshotIndex: 0, dataVotersHold: 0 };
  try {
    const s = await cluster.status(id);
    const report = {
      ...empty,
      retainedRecords: Number(s.lastIndex - s.snapshotIndex),
      logRecords: Number(s.logRecords),
      logBytes: Number(s.logBytes),
      lastIndex: Number(s.lastIndex),
      snapshotIndex: Number(s.snapshotIndex),
      dataVotersHold: Number(s.dataVotersHold),
    };
    // A witness over its bound after a failed probe may only have had nothing to apply.
    return { ...report, error: report.retainedRecords > recordsMax ? probeError : null };
  } catch (e: unknown) {
    return { ...empty, error: errorText(e) };
  }
}

/** Built-in: every witness answered and forgot what every data voter holds, down to its bound. */
export function witnessLogBounded(run: ChaosRun): Verdict {
  const reasons = witnessReasons(run.witnesses);
  return { name: 'witness-log-bounded', valid: reasons.length === 0, reasons };
}

/** Built-in: every data node answered and holds exactly the same rows. */
export function replicasIdentical(run: ChaosRun): Verdict {
  const reasons: string[] = [];
  const [first, ...rest] = run.dumps;
  for (const d of run.dumps) for (const [t, rows] of Object.entries(d.tables)) if (rows === null) reasons.push(`node ${d.nodeId}: table ${t} could not be read`);
  if (first) {
    const key = (rows: SqlValue[][] | null | undefined): string => JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const d of rest) {
      for (const t of Object.keys(first.tables)) {
        if (key(d.tables[t]) !== key(first.tables[t])) reasons.push(`table ${t}: node ${d.nodeId} differs from node ${first.nodeId}`);
      }
    }
  }
  return { name: 'replicas-identical', valid: reasons.length === 0, reasons };
}

function harnessVerdict(run: ChaosRun): Verdict {
  return { name: 'harness', valid: run.problems.length === 0, reasons: run.problems };
}

async function checkWithinDeadline(run: ChaosRun, checks: readonly ChaosCheck[], clock: PhaseClock): Promise<Verdict[]> {
  try {
    return await clock.run('checks', async () => judge(run, checks, clock));
  } catch (e: unknown) {
    if (!(e instanceof DeadlineExceededError)) throw e;
    run.problems.push(deadlineProblem(e, clock.timings));
    return [harnessVerdict(run)];
  }
}

/** The checkers are synchronous, so the deadline is looked at between them. */
function judge(run: ChaosRun, checks: readonly ChaosCheck[], clock: PhaseClock): Verdict[] {
  const verdicts: Verdict[] = [replicasIdentical(run), ...(run.options.topology.witnesses > 0 ? [witnessLogBounded(run)] : [])];
  for (const [i, check] of checks.entries()) {
    if (clock.expired()) {
      const skipped = checks.slice(i).map((c) => c.name || 'check');
      run.problems.push(`${new DeadlineExceededError('checks', clock.overallTimeoutMs).message}; not run: ${skipped.join(', ')} (phases: ${describePhases(clock.timings)})`);
      break;
    }
    const t0 = performance.now();
    try {
      const v = check(run);
      const elapsedMs = Math.round(performance.now() - t0);
      verdicts.push(...(Array.isArray(v) ? v : [v]).map((x) => ({ ...x, elapsedMs })));
    } catch (e: unknown) {
      verdicts.push({ name: check.name || 'check', valid: false, reasons: [`the check threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`] });
    }
  }
  return [harnessVerdict(run), ...verdicts];
}

function summarize(run: ChaosRun, verdicts: Verdict[]): ChaosResult {
  const faultsByKind: Partial<Record<FaultKind, number>> = {};
  for (const e of run.timeline) faultsByKind[e.fault] = (faultsByKind[e.fault] ?? 0) + 1;
  const invalid = verdicts.filter((v) => v.valid === false);
  return {
    ...run,
    valid: invalid.length === 0,
    verdicts,
    reasons: invalid.flatMap((v) => v.reasons.map((r) => `${v.name}: ${r}`)),
    counts: countByOutcome(run.history),
    faultsByKind,
    availability: faultAvailability(run.timeline, run.history, run.startedAtMs),
    replayCommand: replayCommand(run.options),
    artifactsDir: null,
  };
}
