/**
 * runChaos: a real cluster behind a proxy mesh, concurrent client workers, the nemesis, then
 * heal, converge, final reads, replica dumps and checks. Everything it starts is stopped in
 * `finally`, whatever happens; on failure the evidence is copied to .chaos/<stamp>-seed<N>/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QuorumliteClient, type SqlValue } from '../../../client/src';
import { LocalCluster } from '../../../cluster/src';
import { HistoryRecorder, countByOutcome, type OpRecord, type Outcome, type WorkloadName } from './history';
import { ProxyMesh } from './network';
import { FAULT_INJECTION_FLAG, FAULTS_BY_NEMESIS, Nemesis, SCHEDULE_HOLD_MS_DEFAULT, SCHEDULE_QUIET_MS_DEFAULT, planSchedule, type FaultKind, type NemesisName, type PlannedFault, type TimelineEntry } from './nemesis';
import { CLIENT_RETRY_BUDGET_MS_DEFAULT, CLIENT_TIMEOUT_MS_DEFAULT, THINK_MS_DEFAULT, runFinalReads, runWorker, uniqueCounter } from './workers';
import { WORKLOADS } from './workloads';
import { writeArtifacts } from './artifacts';
import { HISTORY_CHECKS } from './checks';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  /** Default 'raft'; passed to every node as --protocol. */
  protocol?: string;
  nodes?: number;
  workloads?: readonly WorkloadName[];
  /** Fault families (kill, pause, partition) or exact fault kinds; default: every kind. */
  nemesis?: readonly (NemesisName | FaultKind)[];
  workers?: number;
  nodeBin?: string;
  nodeArgs?: string[];
  /** Where failed runs leave their evidence; default <cwd>/.chaos. */
  artifactsRoot?: string;
  /** Keep artifacts even when the run passes. */
  keepArtifacts?: boolean;
  scheduleQuietMs?: readonly [number, number];
  scheduleHoldMs?: readonly [number, number];
  clientTimeoutMs?: number;
  clientRetryBudgetMs?: number;
  /** How long the cluster gets to elect a leader and apply everything after the heal. */
  convergeTimeoutMs?: number;
  /**
   * Checks on the finished run, default HISTORY_CHECKS (register, bank, append checkers).
   * The harness's own problems and the replica comparison are always checked.
   */
  checks?: readonly ChaosCheck[];
  log?: (line: string) => void;
}

export interface ReplicaDump {
  nodeId: string;
  /** Workload table → rows in the workload's dump order; null when the node could not be read. */
  tables: Record<string, SqlValue[][] | null>;
  appliedIndex: string | null;
}

export interface Verdict {
  name: string;
  /** 'unknown': the checker hit a search limit; reported, but not a failure. */
  valid: boolean | 'unknown';
  reasons: string[];
  /** How long the check took (checkers search; a slow one should be visible). */
  elapsedMs?: number;
}

export interface ChaosRun {
  seed: number;
  options: ChaosOptionsResolved;
  history: OpRecord[];
  timeline: TimelineEntry[];
  plan: PlannedFault[];
  dumps: ReplicaDump[];
  /** Problems of the harness's own phases: a node that never came back, no convergence. */
  problems: string[];
  startedAtMs: number;
  endedAtMs: number;
}

export type ChaosCheck = (run: ChaosRun) => Verdict | Verdict[];

export interface ChaosResult extends ChaosRun {
  valid: boolean;
  verdicts: Verdict[];
  reasons: string[];
  counts: Record<Outcome, number>;
  faultsByKind: Partial<Record<FaultKind, number>>;
  replayCommand: string;
  artifactsDir: string | null;
}

export type ChaosOptionsResolved = Required<Pick<ChaosOptions, 'seed' | 'durationMs' | 'protocol' | 'nodes' | 'workloads' | 'workers' | 'clientTimeoutMs' | 'clientRetryBudgetMs' | 'nodeArgs'>> & {
  faults: FaultKind[];
  nemesis: (NemesisName | FaultKind)[];
};

const WORKERS_DEFAULT = 8;
const CONVERGE_TIMEOUT_MS_DEFAULT = 30_000;
const SETUP_TIMEOUT_MS = 20_000;
const POLL_MS = 100;
/** The process id of the final reads, far above any worker's. */
const FINAL_PROCESS = 1_000_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
  const resolved = {
    seed: o.seed,
    durationMs: o.durationMs,
    protocol: o.protocol ?? 'raft',
    nodes: o.nodes ?? 3,
    workloads: o.workloads ?? (['register', 'bank', 'append'] as const),
    workers: o.workers ?? WORKERS_DEFAULT,
    clientTimeoutMs: o.clientTimeoutMs ?? CLIENT_TIMEOUT_MS_DEFAULT,
    clientRetryBudgetMs: o.clientRetryBudgetMs ?? CLIENT_RETRY_BUDGET_MS_DEFAULT,
    nodeArgs: o.nodeArgs ?? [],
    nemesis,
    faults: faultsOf(nemesis),
  };
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${resolved.seed}`);
  if (!(resolved.durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${resolved.durationMs}`);
  if (resolved.nodes < 3 && resolved.faults.some((f) => f.startsWith('partition'))) throw new RangeError('partitions need at least 3 nodes');
  if (resolved.workloads.length === 0) throw new RangeError('at least one workload is needed');
  return resolved;
}

export function replayCommand(o: ChaosOptionsResolved): string {
  return [
    'npm run chaos --',
    `--protocol ${o.protocol}`,
    `--nemesis ${o.nemesis.join(',')}`,
    `--workload ${o.workloads.join(',')}`,
    `--duration ${Math.round(o.durationMs / 1000)}s`,
    `--seed ${o.seed}`,
    `--nodes ${o.nodes}`,
    `--workers ${o.workers}`,
    ...(o.clientTimeoutMs !== CLIENT_TIMEOUT_MS_DEFAULT ? [`--client-timeout ${o.clientTimeoutMs}ms`] : []),
    ...(o.clientRetryBudgetMs !== CLIENT_RETRY_BUDGET_MS_DEFAULT ? [`--retry-budget ${o.clientRetryBudgetMs}ms`] : []),
    ...(o.nodeArgs.length > 0 ? [`--node-args='${o.nodeArgs.join(' ')}'`] : []),
  ].join(' ');
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const o = resolveOptions(options);
  const log = options.log ?? (() => undefined);
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const artifactsRoot = options.artifactsRoot ?? path.join(process.cwd(), '.chaos');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ql-chaos-seed${o.seed}-`));
  const plan = planSchedule({
    faults: o.faults,
    seed: o.seed,
    durationMs: o.durationMs,
    quietMs: options.scheduleQuietMs ?? SCHEDULE_QUIET_MS_DEFAULT,
    holdMs: options.scheduleHoldMs ?? SCHEDULE_HOLD_MS_DEFAULT,
  });
  let mesh: ProxyMesh | null = null;
  let cluster: LocalCluster | null = null;
  let result: ChaosResult;
  try {
    try {
      mesh = await ProxyMesh.start(ids);
      const started = await LocalCluster.start({
        nodes: o.nodes,
        dataDir,
        protocol: o.protocol,
        peerAddress: mesh.peerAddress,
        ...(options.nodeBin !== undefined ? { nodeBin: options.nodeBin } : {}),
        // The crash faults need the power cut armed; other runs leave it off.
        nodeArgs: o.faults.some((f) => f.startsWith('crash-')) ? [FAULT_INJECTION_FLAG, ...o.nodeArgs] : o.nodeArgs,
      });
      cluster = started;
      log(`cluster up: ${ids.map((id) => `${id}=${started.address(id)}`).join(' ')}; ${plan.length} faults planned over ${o.durationMs} ms`);
      const run = await drive(o, options, plan, started, mesh, log);
      result = summarize(run, judge(run, options.checks ?? HISTORY_CHECKS));
    } finally {
      mesh?.healAll();
      await cluster?.stop();
      await mesh?.close();
    }
    if (!result.valid || options.keepArtifacts) {
      result.artifactsDir = writeArtifacts(result, cluster, artifactsRoot);
      log(`seed ${o.seed}: ${result.valid ? 'valid' : 'INVALID'}; evidence in ${result.artifactsDir}`);
      log(`replay: ${result.replayCommand}`);
    }
    return result;
  } catch (e: unknown) {
    // The harness itself failed (the cluster did not start, setup never succeeded): keep the logs.
    const dir = writeArtifacts(null, cluster, artifactsRoot, { seed: o.seed, replayCommand: replayCommand(o), error: e });
    throw new Error(`chaos run (seed ${o.seed}) failed: ${e instanceof Error ? e.message : String(e)}; logs in ${dir}; replay: ${replayCommand(o)}`, { cause: e });
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function drive(o: ChaosOptionsResolved, options: ChaosOptions, plan: PlannedFault[], cluster: LocalCluster, mesh: ProxyMesh, log: (line: string) => void): Promise<ChaosRun> {
  const admin = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 5_000, retryBudgetMs: SETUP_TIMEOUT_MS });
  const recorder = new HistoryRecorder();
  const nemesis = new Nemesis(cluster, mesh);
  const problems: string[] = [];
  try {
    await admin.execute(o.workloads.flatMap((w) => WORKLOADS[w].setup.map((sql) => ({ sql }))));
    const startedAtMs = performance.now();
    const stopAtMs = startedAtMs + o.durationMs;
    const unique = uniqueCounter();
    const workerOptions = {
      addresses: cluster.addresses(),
      workloads: o.workloads,
      recorder,
      seed: o.seed,
      workerCount: o.workers,
      runId: `s${o.seed}-${Date.now().toString(36)}`,
      clientTimeoutMs: o.clientTimeoutMs,
      clientRetryBudgetMs: o.clientRetryBudgetMs,
      thinkMs: THINK_MS_DEFAULT,
      shouldStop: () => performance.now() >= stopAtMs,
    };
    const workers = Array.from({ length: o.workers }, (_, w) => runWorker(w, workerOptions, unique));
    try {
      await runNemesis(nemesis, plan, startedAtMs, stopAtMs, log);
    } finally {
      await Promise.allSettled(workers);
    }
    const rejected = (await Promise.allSettled(workers)).filter((r) => r.status === 'rejected');
    for (const r of rejected) problems.push(`a worker crashed: ${String((r as PromiseRejectedResult).reason)}`);
    log(`workload done: ${recorder.all().length} operations; healing`);
    const healStartMs = performance.now();
    problems.push(...(await nemesis.healAll()));
    problems.push(...(await converge(cluster, admin, options.convergeTimeoutMs ?? CONVERGE_TIMEOUT_MS_DEFAULT)));
    log(`healed and converged in ${Math.round(performance.now() - healStartMs)} ms`);
    await runFinalReads(admin, recorder, o.workloads, FINAL_PROCESS);
    const dumps = await dumpReplicas(cluster, admin, o.workloads);
    log('final reads and replica dumps taken; checking');
    return { seed: o.seed, options: o, history: recorder.seal(), timeline: nemesis.timeline, plan, dumps, problems, startedAtMs, endedAtMs: performance.now() };
  } finally {
    await nemesis.healAll();
    admin.close();
  }
}

async function runNemesis(nemesis: Nemesis, plan: PlannedFault[], startedAtMs: number, stopAtMs: number, log: (line: string) => void): Promise<void> {
  try {
    for (const fault of plan) {
      await sleep(Math.max(0, startedAtMs + fault.atMs - performance.now()));
      if (performance.now() >= stopAtMs) break;
      const entry = await nemesis.inject(fault);
      log(`+${Math.round(entry.atMs - startedAtMs)} ms ${entry.fault} ${entry.targets.join(',')}${entry.links ? ` [${entry.links.join(' ')}] ${entry.cut}` : ''}${entry.notes.length ? ` (${entry.notes.join('; ')})` : ''}`);
      await sleep(Math.max(0, Math.min(fault.holdMs, stopAtMs - performance.now())));
      await nemesis.heal();
      log(`+${Math.round(performance.now() - startedAtMs)} ms healed ${entry.fault}`);
    }
    await sleep(Math.max(0, stopAtMs - performance.now()));
  } finally {
    await nemesis.heal();
  }
}

/**
 * After the heal: a leader, a linearizable read through it (its commit index now covers every
 * earlier term's entries), then every node applied up to the leader's commit index.
 */
async function converge(cluster: LocalCluster, admin: QuorumliteClient, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let leader: { id: string; address: string };
  try {
    leader = await cluster.waitForLeader(timeoutMs);
    await admin.query('SELECT 1', [], { address: leader.address, timeoutMs: Math.max(1_000, deadline - Date.now()) });
  } catch (e: unknown) {
    return [`no leader served a linearizable read within ${timeoutMs} ms after the heal: ${e instanceof Error ? e.message : String(e)}`];
  }
  const commit = (await cluster.status(leader.id)).commitIndex;
  const problems: string[] = [];
  for (const node of cluster.nodes) {
    let applied = -1n;
    while (Date.now() < deadline) {
      applied = await cluster.status(node.id).then((s) => s.appliedIndex, () => -1n);
      if (applied >= commit) break;
      await sleep(POLL_MS);
    }
    if (applied < commit) problems.push(`node ${node.id} never applied the leader's commit index ${commit} (at ${applied}) within ${timeoutMs} ms after the heal`);
  }
  return problems;
}

async function dumpReplicas(cluster: LocalCluster, admin: QuorumliteClient, workloads: readonly WorkloadName[]): Promise<ReplicaDump[]> {
  const dumps: ReplicaDump[] = [];
  for (const node of cluster.nodes) {
    const tables: Record<string, SqlValue[][] | null> = {};
    for (const w of workloads) {
      tables[w] = await admin
        .query(WORKLOADS[w].dumpSql, [], { consistency: 'stale', address: node.address })
        .then((r) => r.rows, () => null);
    }
    const applied = await cluster.status(node.id).then((s) => s.appliedIndex.toString(), () => null);
    dumps.push({ nodeId: node.id, tables, appliedIndex: applied });
  }
  return dumps;
}

/** Built-in: every replica answered and holds exactly the same rows. */
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

function judge(run: ChaosRun, checks: readonly ChaosCheck[]): Verdict[] {
  const verdicts: Verdict[] = [{ name: 'harness', valid: run.problems.length === 0, reasons: run.problems }, replicasIdentical(run)];
  for (const check of checks) {
    const t0 = performance.now();
    try {
      const v = check(run);
      const elapsedMs = Math.round(performance.now() - t0);
      verdicts.push(...(Array.isArray(v) ? v : [v]).map((x) => ({ ...x, elapsedMs })));
    } catch (e: unknown) {
      verdicts.push({ name: check.name || 'check', valid: false, reasons: [`the check threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`] });
    }
  }
  return verdicts;
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
    replayCommand: replayCommand(run.options),
    artifactsDir: null,
  };
}
