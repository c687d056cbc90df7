/**
 * `quorumlite bench partition`: network partitions under closed-loop writers, repeated.
 *
 * Each protocol of --protocols gets a fresh local 3-node cluster whose peer links each run
 * through a TCP proxy (libs/chaos ProxyMesh), so a partition is real sockets refused, reset or
 * silently held. --writers writers are spread over the nodes, each sending its writes to its
 * own node (which forwards them to the leader), one at a time, again at once after a failure.
 * Every trial of every scenario (partition-metrics.ts says what each cuts) measures how long
 * writes stopped cluster-wide (writes sent to every node every few ms from each fault on, as
 * well as the writers'), how soon a healed node serves again (writes and linearizable reads
 * sent to it every few ms from its heal on), whether a node led at a new fencing number
 * (Status polls) and whether connected nodes became candidates of a new round together (the nodes' logs).
 * Raw trials and a summary per protocol × scenario go to <out>/partition-<time>/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { ProxyMesh, type Grudge } from '@quorumlite/chaos';
import { LocalCluster } from '@quorumlite/cluster';
import { PROTOCOL_NAMES, PROTOCOLS, type ProtocolName } from '@quorumlite/consensus';
import { BenchArgsError, parseList, parseNodeArgs, parsePositiveInt, parseProtocols, parseStrict } from './args';
import {
  candidaciesInLog,
  candidacyTally,
  firstWriteAfterMs,
  logsRoleChanges,
  measureTrial,
  planScenario,
  renderCandidacyTally,
  renderPartitionTable,
  summarizeScenario,
  PARTITION_SCENARIOS,
  TARGET_HEAL_MS,
  TARGET_UNAVAILABILITY_MS,
  type Candidacy,
  type FaultStep,
  type HealProbe,
  type PartitionScenario,
  type PartitionTrial,
  type ScenarioSummary,
  type StatusSample,
  type WriteOp,
} from './partition-metrics';
import { fileSize, readFrom } from './node-logs';
import { machineMeta } from './runner';

export const PARTITION_USAGE = `quorumlite bench partition [--trials 3] [--writers 6] [--scenarios ${PARTITION_SCENARIOS.join(',')}] [--hold-ms 2000] [--settle-ms 1000] [--protocols ${PROTOCOL_NAMES.join(',')}] [--node-args="..."] [--out bench/results]`;

export interface PartitionSettings {
  /** Each gets its own fresh cluster, in this order. */
  protocols: ProtocolName[];
  scenarios: PartitionScenario[];
  /** Trials of each scenario; the scenarios take turns, trial by trial. */
  trials: number;
  writers: number;
  /** How long each partition lasts (the shift scenario holds two, one after the other). */
  holdMs: number;
  /** Quiet time before each trial, once every node agrees on the leader. */
  settleMs: number;
  nodeArgs: string[];
  outDir: string;
}

const NODE_IDS = ['n1', 'n2', 'n3'] as const;
/** One attempt of a writer's write; the writer itself is the retry loop. */
const WRITE_TIMEOUT_MS = 1_000;
/** A writer whose write failed at once waits this long, so a refusing node is not spun on. */
const WRITER_PAUSE_AFTER_FAILURE_MS = 5;
/** A healed node gets a write and a read this often until each succeeded once: the resolution of the heal figures. */
const PROBE_EVERY_MS = 25;
const PROBE_TIMEOUT_MS = 500;
/** Longest a healed node is probed; a node that does not serve by then counts as never. */
const PROBE_WINDOW_MS = 10_000;
/** Most a trial waits after its last heal for a write to succeed before it fails. */
const TRIAL_TIMEOUT_MS = 30_000;
/** Writes watched after the last heal, so an election the heal sets off shows in the longest gap. */
const TAIL_MS = 1_000;
const STATUS_POLL_MS = 50;
const STEADY_TIMEOUT_MS = 15_000;

function parseScenarios(text: string): PartitionScenario[] {
  const names = parseList(text);
  if (names.length === 0) throw new BenchArgsError('--scenarios: give at least one scenario');
  return names.map((name) => {
    const known = PARTITION_SCENARIOS.find((s) => s === name);
    if (known === undefined) throw new BenchArgsError(`--scenarios: unknown scenario '${name}' (known: ${PARTITION_SCENARIOS.join(', ')})`);
    return known;
  });
}

export function parsePartitionArgs(argv: readonly string[]): PartitionSettings {
  const { values: v, positionals } = parseStrict(argv, {
    protocols: { type: 'string' },
    scenarios: { type: 'string' },
    trials: { type: 'string' },
    writers: { type: 'string' },
    'hold-ms': { type: 'string' },
    'settle-ms': { type: 'string' },
    'node-args': { type: 'string' },
    out: { type: 'string' },
  });
  if (positionals.length > 0) throw new BenchArgsError(`unexpected argument '${positionals[0]}'\nusage: ${PARTITION_USAGE}`);
  return {
    protocols: v.protocols !== undefined ? parseProtocols(v.protocols) : [...PROTOCOL_NAMES],
    scenarios: v.scenarios !== undefined ? parseScenarios(v.scenarios) : [...PARTITION_SCENARIOS],
    trials: parsePositiveInt(v.trials ?? '3', 'trials'),
    writers: parsePositiveInt(v.writers ?? '6', 'writers'),
    holdMs: parsePositiveInt(v['hold-ms'] ?? '2000', 'hold-ms'),
    settleMs: parsePositiveInt(v['settle-ms'] ?? '1000', 'settle-ms'),
    nodeArgs: parseNodeArgs(v['node-args'] ?? ''),
    outDir: v.out ?? path.join('bench', 'results'),
  };
}

export interface PartitionProtocolResult {
  protocol: ProtocolName;
  trials: PartitionTrial[];
  /** Trials that failed (no write after the heal, a node that exited) and why a protocol stopped early. */
  failures: string[];
}

export async function runPartitionBench(argv: string[], log: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  let settings: PartitionSettings;
  try {
    settings = parsePartitionArgs(argv);
  } catch (e: unknown) {
    if (e instanceof BenchArgsError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const machine = machineMeta();
  const dir = path.join(settings.outDir, `partition-${machine.startedAt.replace(/[:.]/g, '-')}`);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const results: PartitionProtocolResult[] = [];
  for (const protocol of settings.protocols) {
    const result: PartitionProtocolResult = { protocol, trials: [], failures: [] };
    results.push(result);
    log(`${protocol}: starting a fresh 3-node cluster behind the proxies`);
    try {
      await runProtocol(protocol, settings, result, dir, (line) => log(`${protocol} ${line}`));
    } catch (e: unknown) {
      // One protocol failing leaves the others' trials standing; the exit code says it failed.
      result.failures.push(e instanceof Error ? e.message : String(e));
      log(`${protocol}: ${result.failures[result.failures.length - 1]}`);
    }
  }
  const rows = results.flatMap((r) => settings.scenarios.map((s) => ({ protocol: r.protocol, summary: summarizeScenario(s, r.trials) })));
  const table = renderPartitionTable(rows);
  const targets = { unavailabilityMsMedianBelow: TARGET_UNAVAILABILITY_MS, healMsMedianBelow: TARGET_HEAL_MS, needlessElections: 0, simultaneousCandidates: 0 };
  fs.writeFileSync(path.join(dir, 'raw.json'), JSON.stringify({ machine, settings, protocols: results }, null, 2) + '\n');
  const tallies = results.map((r) => candidacyTally(r.protocol, r.trials));
  const tally = renderCandidacyTally(tallies);
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ machine, settings, targets, rows: rows.map(summaryRow), simultaneousCandidates: tallies }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'summary.txt'), `${table}\n${tally}\n`);
  log(`partition figures per protocol and scenario (ms as median/p90/max; ✓/✗: the target on the median):\n${table}\n${tally}`);
  for (const r of results) for (const f of r.failures) log(`${r.protocol} FAILED: ${f}`);
  log(`wrote ${dir}`);
  return results.some((r) => r.failures.length > 0) ? 1 : 0;
}

/** NaN (no figure) is written as null: JSON has no NaN. */
function summaryRow(row: { protocol: string; summary: ScenarioSummary }): unknown {
  return JSON.parse(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v)));
}

async function runProtocol(protocol: ProtocolName, settings: PartitionSettings, result: PartitionProtocolResult, outDir: string, log: (line: string) => void): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumlite-partition-${protocol}-`));
  const exited: string[] = [];
  let mesh: ProxyMesh | null = null;
  let cluster: LocalCluster | null = null;
  try {
    mesh = await ProxyMesh.start(NODE_IDS);
    cluster = await LocalCluster.start({
      nodes: NODE_IDS.length,
      dataDir,
      basePort: 0,
      protocol,
      nodeArgs: settings.nodeArgs,
      peerAddress: mesh.peerAddress,
      onNodeExit: (id, code, signal) => exited.push(`node ${id} exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`),
    });
    await runTrials({ protocol, cluster, mesh, settings, exited, log }, result);
  } finally {
    mesh?.healAll();
    await cluster?.stop();
    await mesh?.close();
    // The nodes' logs are the evidence behind the figures (role changes, stream breaks).
    for (const id of NODE_IDS) {
      const from = path.join(dataDir, 'logs', `${id}.log`);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(outDir, 'logs', `${protocol}-${id}.log`));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Rig {
  protocol: ProtocolName;
  cluster: LocalCluster;
  mesh: ProxyMesh;
  settings: PartitionSettings;
  exited: readonly string[];
  log: (line: string) => void;
}

/** What every trial of a protocol shares: the client, and the writers' record of their writes. */
interface Load {
  client: QuorumliteClient;
  ops: WriteOp[];
  nextKey: () => string;
}

async function runTrials(rig: Rig, result: PartitionProtocolResult): Promise<void> {
  const addresses = rig.cluster.addresses();
  const setup = new QuorumliteClient({ addresses, timeoutMs: 2_000, retryBudgetMs: STEADY_TIMEOUT_MS });
  try {
    await setup.execute('CREATE TABLE IF NOT EXISTS p(id INTEGER PRIMARY KEY, k TEXT, w INTEGER)');
  } finally {
    setup.close();
  }
  let seq = 0;
  const load: Load = { client: new QuorumliteClient({ addresses, timeoutMs: WRITE_TIMEOUT_MS, retryBudgetMs: 0 }), ops: [], nextKey: () => `k${seq++}` };
  let stop = false;
  const writer = async (w: number): Promise<void> => {
    const node = NODE_IDS[w % NODE_IDS.length]!;
    const address = rig.cluster.address(node);
    while (!stop) {
      const startMs = performance.now();
      let ok = false;
      try {
        await load.client.execute({ sql: 'INSERT INTO p(k, w) VALUES (?, ?)', params: [load.nextKey(), w] }, { address });
        ok = true;
      } catch (e: unknown) {
        if (!(e instanceof QuorumliteError)) throw e;
      }
      load.ops.push({ node, startMs, endMs: performance.now(), ok });
      if (!ok) await sleep(WRITER_PAUSE_AFTER_FAILURE_MS);
    }
  };
  const writers = Array.from({ length: rig.settings.writers }, (_, w) => writer(w));
  try {
    for (let t = 0; t < rig.settings.trials; t++) {
      for (const scenario of rig.settings.scenarios) {
        if (rig.exited.length > 0) throw new Error(rig.exited.join('; '));
        try {
          const trial = await runTrial(rig, load, scenario);
          result.trials.push(trial);
          rig.log(`${scenario} trial ${t + 1}: ${describeTrial(trial)}`);
        } catch (e: unknown) {
          const why = `${scenario} trial ${t + 1}: ${e instanceof Error ? e.message : String(e)}`;
          result.failures.push(why);
          rig.log(why);
          rig.mesh.healAll();
        }
      }
    }
  } finally {
    stop = true;
    await Promise.allSettled(writers);
    load.client.close();
  }
}

function describeTrial(t: PartitionTrial): string {
  const f = (v: number | null): string => (v === null ? 'never' : `${v.toFixed(0)} ms`);
  const heals = t.heals.map((h) => `${h.node} serves writes after ${f(h.writeMs)}, reads after ${f(h.readMs)}`).join(', ');
  return `leader ${t.leader}, cut off ${t.cutOff.join(' then ')}; writes stopped ${f(t.unavailabilityMs)} (longest gap ${f(t.maxGapMs)})${heals ? `; ${heals}` : ''}; ${t.election ? `election (fence ${t.fenceBefore} → ${t.fenceAfter})` : 'no election'}${t.simultaneousCandidates ? `; ${t.simultaneousCandidates} simultaneous candidacies` : ''}`;
}

async function runTrial(rig: Rig, load: Load, scenario: PartitionScenario): Promise<PartitionTrial> {
  const { cluster, mesh, settings } = rig;
  rig.mesh.healAll();
  await waitSteady(cluster);
  await sleep(settings.settleMs);
  const { leader, fence } = await waitSteady(cluster);
  const followers = NODE_IDS.filter((id) => id !== leader) as [string, string];
  const plan = planScenario(scenario, leader, followers, settings.holdMs);
  const logStarts = NODE_IDS.map((id) => fileSize(cluster.logFile(id)));
  const samples: StatusSample[] = [];
  let polling = true;
  const poller = pollStatus(cluster, samples, () => polling);
  load.ops.length = 0;
  const steps: FaultStep[] = [];
  const probes: Promise<HealProbe>[] = [];
  const availability: Promise<void>[] = [];
  const t0 = performance.now();
  try {
    for (const step of plan) {
      await sleep(t0 + step.atMs - performance.now());
      const atMs = performance.now();
      mesh.apply(grudgeOf(step.cuts), step.mode);
      steps.push({ ...step, atMs });
      if (step.faults) availability.push(probeAvailability(load, cluster, atMs));
      for (const node of step.healed) probes.push(probeHeal(load, cluster, node, atMs));
    }
    const lastMs = steps[steps.length - 1]!.atMs;
    const heals = await Promise.all(probes);
    await Promise.all(availability);
    await waitUntil(() => firstWriteAfterMs(load.ops, lastMs) !== null, lastMs + TRIAL_TIMEOUT_MS, `no write succeeded within ${TRIAL_TIMEOUT_MS} ms of the last heal`);
    await sleep(TAIL_MS);
    const endMs = performance.now();
    const faultAt = new Date(performance.timeOrigin + steps[0]!.atMs).toISOString();
    const fenceRound = PROTOCOLS[rig.protocol].fenceRound;
    const record = { scenario, faultAt, leader, fenceBefore: fence, steps, endMs, ops: [...load.ops], probes: heals, samples, candidacies: readCandidacies(cluster, logStarts, PROTOCOLS[rig.protocol].fencingName) };
    return measureTrial(fenceRound === undefined ? record : { ...record, fenceRound: (f) => BigInt(fenceRound(Number(f))) });
  } finally {
    polling = false;
    await poller;
  }
}

/** The grudge that cuts exactly these directed links. */
function grudgeOf(cuts: readonly [string, string][]): Grudge {
  const grudge: Grudge = new Map();
  for (const [from, to] of cuts) {
    if (!grudge.has(from)) grudge.set(from, new Set());
    grudge.get(from)!.add(to);
  }
  return grudge;
}

/**
 * Runs `attempt` every PROBE_EVERY_MS from now, several in flight, until one succeeded, `stop()`
 * says so or `deadlineMs` passed; resolves with when the first success completed (null: none).
 * An attempt sent during a partition then never holds the figure back to its own timeout.
 */
async function firstSuccessMs(attempt: () => Promise<unknown>, deadlineMs: number, stop: () => boolean = () => false): Promise<number | null> {
  let firstMs: number | null = null;
  const inFlight: Promise<unknown>[] = [];
  while (firstMs === null && !stop() && performance.now() < deadlineMs) {
    inFlight.push(attempt().then(() => (firstMs ??= performance.now()), () => undefined));
    await sleep(PROBE_EVERY_MS);
  }
  await Promise.all(inFlight);
  return firstMs;
}

/** One write sent to `node` only, recorded with the writers' writes. */
async function probeWrite(load: Load, cluster: LocalCluster, node: string): Promise<void> {
  const startMs = performance.now();
  let ok = false;
  try {
    await load.client.execute({ sql: 'INSERT INTO p(k, w) VALUES (?, -1)', params: [load.nextKey()] }, { address: cluster.address(node), timeoutMs: PROBE_TIMEOUT_MS });
    ok = true;
  } finally {
    load.ops.push({ node, startMs, endMs: performance.now(), ok });
  }
}

/** When a healed node first took a write sent to it, and first answered a linearizable read. */
async function probeHeal(load: Load, cluster: LocalCluster, node: string, healedAtMs: number): Promise<HealProbe> {
  const deadlineMs = healedAtMs + PROBE_WINDOW_MS;
  const read = (): Promise<unknown> => load.client.query('SELECT k FROM p WHERE id = 1', [], { address: cluster.address(node), timeoutMs: PROBE_TIMEOUT_MS });
  const [firstWriteOkMs, firstReadOkMs] = await Promise.all([firstSuccessMs(() => probeWrite(load, cluster, node), deadlineMs), firstSuccessMs(read, deadlineMs)]);
  return { node, healedAtMs, firstWriteOkMs, firstReadOkMs };
}

/**
 * Writes to every node from a fault on, until one succeeds anywhere: the writers alone would
 * measure their own timeout, as every one of them may wait on a black-holed leader.
 */
async function probeAvailability(load: Load, cluster: LocalCluster, fromMs: number): Promise<void> {
  let served = false;
  const write = (node: string) => () => probeWrite(load, cluster, node).then(() => (served = true));
  await Promise.all(NODE_IDS.map((node) => firstSuccessMs(write(node), fromMs + PROBE_WINDOW_MS, () => served)));
}

/** Every node's Status every STATUS_POLL_MS while `on()`; an unanswered poll is skipped. */
async function pollStatus(cluster: LocalCluster, samples: StatusSample[], on: () => boolean): Promise<void> {
  while (on()) {
    await Promise.all(
      NODE_IDS.map((id) =>
        cluster.status(id).then(
          (s) => samples.push({ atMs: performance.now(), node: id, role: s.role, fence: s.term }),
          () => undefined,
        ),
      ),
    );
    await sleep(STATUS_POLL_MS);
  }
}

/** Waits until every node answers Status naming one leader, which says it leads; returns it. */
async function waitSteady(cluster: LocalCluster): Promise<{ leader: string; fence: bigint }> {
  const deadline = performance.now() + STEADY_TIMEOUT_MS;
  for (;;) {
    const statuses = await Promise.all(NODE_IDS.map((id) => cluster.status(id).catch(() => null)));
    const leader = statuses.find((s) => s?.role === 'leader');
    if (leader && statuses.every((s) => s !== null && s.leaderId === leader.nodeId)) return { leader: leader.nodeId, fence: leader.term };
    if (performance.now() > deadline) throw new Error(`the nodes did not agree on a leader within ${STEADY_TIMEOUT_MS} ms`);
    await sleep(STATUS_POLL_MS);
  }
}

/** Candidacies in what each node logged since `starts`; null when the nodes log no role changes (a level above info). */
function readCandidacies(cluster: LocalCluster, starts: readonly number[], fencingName: string): Candidacy[] | null {
  if (!NODE_IDS.every((id) => logsRoleChanges(readFrom(cluster.logFile(id), 0)))) return null;
  return NODE_IDS.flatMap((id, i) => candidaciesInLog(readFrom(cluster.logFile(id), starts[i]!), id, (wallMs) => wallMs - performance.timeOrigin, fencingName));
}

async function waitUntil(done: () => boolean, deadlineMs: number, failure: string): Promise<void> {
  while (!done()) {
    if (performance.now() > deadlineMs) throw new Error(failure);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
