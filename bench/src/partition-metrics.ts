/**
 * The pure half of `quorumlite bench partition`: what each scenario cuts and when, and the
 * figures of a trial computed from what was recorded (writes, probes, Status samples, the
 * nodes' role changes). No I/O, so every rule here has a unit test.
 */
import type { CutMode } from '@quorumlite/chaos';
import { percentile } from './failover';
import { roleChanges } from './node-logs';

export const PARTITION_SCENARIOS = ['leader-refuse', 'leader-blackhole', 'follower-heal', 'shift', 'leader-receive-only', 'leader-send-only'] as const;
export type PartitionScenario = (typeof PARTITION_SCENARIOS)[number];

/** Scenarios whose faults leave the leader with a quorum throughout: an election there is one a prompt heal would have avoided. */
const LEADER_KEEPS_QUORUM: ReadonlySet<PartitionScenario> = new Set(['follower-heal', 'shift']);

/** Two candidacies of different nodes closer than this are one simultaneous-candidate election (the issue saw 2 ms). */
export const SIMULTANEOUS_WINDOW_MS = 10;

/** One change of the cut links, at `atMs` after the trial's first fault. */
export interface FaultStep {
  atMs: number;
  /** Directed links (from → to) cut from this step on; every other link is healed. */
  cuts: [string, string][];
  mode: CutMode;
  /** Nodes cut off, fully or in one direction, from this step on. */
  cutOff: string[];
  /** Nodes whose links come back at this step: each must serve again. */
  healed: string[];
  /** Whether this step cuts something new: write unavailability is measured from it. */
  faults: boolean;
}

function bothWays(node: string, others: readonly string[]): [string, string][] {
  return others.flatMap((o): [string, string][] => [
    [node, o],
    [o, node],
  ]);
}

/**
 * What `scenario` does to a 3-node cluster led by `leader`, as steps `holdMs` apart. The last
 * step heals every link. One-way cuts refuse (the sender sees its stream reset, the receiver
 * hears nothing).
 */
export function planScenario(scenario: PartitionScenario, leader: string, followers: readonly [string, string], holdMs: number): FaultStep[] {
  const [fa, fb] = followers;
  const heal = (atMs: number, healed: string[]): FaultStep => ({ atMs, cuts: [], mode: 'refuse', cutOff: [], healed, faults: false });
  const isolate = (node: string, mode: CutMode, healed: string[] = [], atMs = 0): FaultStep => ({
    atMs,
    cuts: bothWays(
      node,
      [leader, fa, fb].filter((n) => n !== node),
    ),
    mode,
    cutOff: [node],
    healed,
    faults: true,
  });
  switch (scenario) {
    case 'leader-refuse':
      return [isolate(leader, 'refuse'), heal(holdMs, [leader])];
    case 'leader-blackhole':
      return [isolate(leader, 'blackhole'), heal(holdMs, [leader])];
    case 'follower-heal':
      return [isolate(fa, 'refuse'), heal(holdMs, [fa])];
    case 'shift':
      // fb is cut off at the very moment fa's links come back.
      return [isolate(fa, 'refuse'), isolate(fb, 'refuse', [fa], holdMs), heal(2 * holdMs, [fb])];
    case 'leader-receive-only':
      return [{ atMs: 0, cuts: [[leader, fa], [leader, fb]], mode: 'refuse', cutOff: [leader], healed: [], faults: true }, heal(holdMs, [leader])];
    case 'leader-send-only':
      return [{ atMs: 0, cuts: [[fa, leader], [fb, leader]], mode: 'refuse', cutOff: [leader], healed: [], faults: true }, heal(holdMs, [leader])];
    default:
      return assertNever(scenario);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown partition scenario ${String(x)}`);
}

/** One write of a closed-loop writer (times from performance.now()). */
export interface WriteOp {
  node: string;
  startMs: number;
  endMs: number;
  ok: boolean;
}

/** A healed node's probes: when the first write sent to it and the first linearizable read on it succeeded. */
export interface HealProbe {
  node: string;
  healedAtMs: number;
  firstWriteOkMs: number | null;
  firstReadOkMs: number | null;
}

/** One node's Status, as a poll saw it. */
export interface StatusSample {
  atMs: number;
  node: string;
  role: string;
  /** The protocol's fencing number (term, epoch, ballot). */
  fence: bigint;
}

/** A node's log saying it became a candidate. */
export interface Candidacy {
  atMs: number;
  node: string;
  /** The fencing number the node logged with it (term, epoch, ballot); null when the line had none. */
  fence: bigint | null;
}

/** What one trial recorded, times from performance.now(). */
export interface TrialRecord {
  scenario: PartitionScenario;
  /** Wall-clock time of the first fault (ISO), to find the trial in the nodes' logs. */
  faultAt: string;
  leader: string;
  fenceBefore: bigint;
  /** The steps as run: `atMs` absolute. */
  steps: FaultStep[];
  endMs: number;
  ops: readonly WriteOp[];
  probes: readonly HealProbe[];
  samples: readonly StatusSample[];
  /** Null when the nodes' logs hold no role changes (a log level above info). */
  candidacies: readonly Candidacy[] | null;
  /** The election round of a fencing number (ProtocolModule.fenceRound); absent: the number itself. */
  fenceRound?: (fence: bigint) => bigint;
}

export interface PartitionTrial {
  scenario: PartitionScenario;
  /** Wall-clock time of the first fault (ISO), to find the trial in the nodes' logs. */
  faultAt: string;
  leader: string;
  /** The nodes cut off, in the order of the steps. */
  cutOff: string[];
  /** Longest wait, over the steps that cut something, from the step to the first successful write started after it. Null: none succeeded. */
  unavailabilityMs: number | null;
  /** Longest time without any successful write completing, from the first fault to the end of the trial. */
  maxGapMs: number;
  /** Slowest healed node: from its heal to the first write sent to it that succeeded. Null: never within the trial. */
  healWriteMs: number | null;
  /** The same for a linearizable read on it. */
  healReadMs: number | null;
  heals: { node: string; writeMs: number | null; readMs: number | null }[];
  fenceBefore: string;
  fenceAfter: string;
  /** A node led at another fencing number than the leader before the fault. */
  election: boolean;
  /** An election although the leader kept a quorum throughout (a prompt heal would have avoided it). */
  needlessElection: boolean;
  /** Candidacies of connected nodes in the trial; null when the logs do not show candidacy. */
  candidacies: number | null;
  /** Groups of candidacies by different connected nodes within SIMULTANEOUS_WINDOW_MS; null as above. */
  simultaneousCandidates: number | null;
  /** Raises of the highest fencing number seen by more than one (Status polls): the count when candidacy is not in the logs. */
  fenceJumpsOver1: number;
  /** Election rounds above the leader's before the fault in which no node was seen leading: split votes, duelling proposers (leaderlessRounds). */
  leaderlessRounds: number;
  okWrites: number;
  failedWrites: number;
}

/** The nodes cut off at `atMs`, per the steps (sorted by time). */
function cutOffAt(steps: readonly FaultStep[], atMs: number): readonly string[] {
  let current: readonly string[] = [];
  for (const s of steps) if (s.atMs <= atMs) current = s.cutOff;
  return current;
}

/** Longest interval without a successful write completing in [fromMs, toMs]. */
export function longestGapMs(ops: readonly WriteOp[], fromMs: number, toMs: number): number {
  const ends = ops
    .filter((o) => o.ok && o.endMs >= fromMs && o.endMs <= toMs)
    .map((o) => o.endMs)
    .sort((a, b) => a - b);
  let gap = 0;
  let last = fromMs;
  for (const end of ends) {
    gap = Math.max(gap, end - last);
    last = end;
  }
  return Math.max(gap, toMs - last);
}

/** From `atMs` to the completion of the first successful write started at or after it; null if none. */
export function firstWriteAfterMs(ops: readonly WriteOp[], atMs: number): number | null {
  let first: number | null = null;
  for (const o of ops) if (o.ok && o.startMs >= atMs && (first === null || o.endMs < first)) first = o.endMs;
  return first === null ? null : first - atMs;
}

/**
 * Candidacies by different nodes within SIMULTANEOUS_WINDOW_MS of the first of a group count
 * as one simultaneous-candidate election. Only real candidacies count, those at an election
 * round above the one before the fault: a node that only asks first (Raft's pre-candidate,
 * Multi-Paxos's PrePrepare) or looks (a Zab learner going LOOKING, which every one does at once
 * by design) logs its role as candidate at the old round, and competes with no one. A node's
 * candidacy while it is cut off is left out too: it cannot compete with the others' election.
 */
export function simultaneousCandidates(
  candidacies: readonly Candidacy[],
  steps: readonly FaultStep[],
  fenceBefore: bigint,
  round: (fence: bigint) => bigint = (f) => f,
): { candidacies: number; simultaneous: number } {
  const raised = (c: Candidacy): boolean => c.fence === null || round(c.fence) > round(fenceBefore);
  const connected = candidacies.filter((c) => raised(c) && !cutOffAt(steps, c.atMs).includes(c.node)).sort((a, b) => a.atMs - b.atMs);
  let simultaneous = 0;
  let i = 0;
  while (i < connected.length) {
    const first = connected[i]!;
    let j = i + 1;
    while (j < connected.length && connected[j]!.atMs - first.atMs <= SIMULTANEOUS_WINDOW_MS) j++;
    if (new Set(connected.slice(i, j).map((c) => c.node)).size > 1) simultaneous++;
    i = j;
  }
  return { candidacies: connected.length, simultaneous };
}

/** How often the highest election round seen so far (see leaderlessRounds) rose by more than one. */
export function fenceJumpsOver1(samples: readonly StatusSample[], fenceBefore: bigint, round: (fence: bigint) => bigint = (f) => f): number {
  let highest = round(fenceBefore);
  let jumps = 0;
  for (const s of [...samples].sort((a, b) => a.atMs - b.atMs)) {
    const r = round(s.fence);
    if (r <= highest) continue;
    if (r - highest > 1n) jumps++;
    highest = r;
  }
  return jumps;
}

/**
 * Election rounds that elected no one: the rounds the highest fencing number moved through above
 * `fenceBefore` (Raft's terms, Zab's epochs, the rounds of Multi-Paxos ballots), less those in
 * which some node was seen leading. A clean election uses one round; a split vote or duelling
 * proposers waste one each, whatever the nodes' logs say of their candidacies. A leader that
 * lasted less than a poll interval is missed, so this can over-count, never under-count.
 */
export function leaderlessRounds(samples: readonly StatusSample[], fenceBefore: bigint, round: (fence: bigint) => bigint = (f) => f): number {
  const before = round(fenceBefore);
  let top = before;
  const led = new Set<bigint>();
  for (const s of samples) {
    const r = round(s.fence);
    if (r > top) top = r;
    if (s.role === 'leader' && r > before) led.add(r);
  }
  return Number(top - before) - led.size;
}

export function measureTrial(r: TrialRecord): PartitionTrial {
  const firstFaultMs = r.steps[0]?.atMs ?? r.endMs;
  const waits = r.steps.filter((s) => s.faults).map((s) => firstWriteAfterMs(r.ops, s.atMs));
  const heals = r.probes.map((p) => ({
    node: p.node,
    writeMs: p.firstWriteOkMs === null ? null : p.firstWriteOkMs - p.healedAtMs,
    readMs: p.firstReadOkMs === null ? null : p.firstReadOkMs - p.healedAtMs,
  }));
  const leaders = r.samples.filter((s) => s.role === 'leader');
  const election = leaders.some((s) => s.fence !== r.fenceBefore);
  const fenceAfter = r.samples.reduce((m, s) => (s.fence > m ? s.fence : m), r.fenceBefore);
  const candidates = r.candidacies === null ? null : simultaneousCandidates(r.candidacies, r.steps, r.fenceBefore, r.fenceRound);
  const after = r.ops.filter((o) => o.startMs >= firstFaultMs);
  return {
    scenario: r.scenario,
    faultAt: r.faultAt,
    leader: r.leader,
    cutOff: r.steps.flatMap((s) => s.cutOff),
    unavailabilityMs: waits.includes(null) ? null : Math.max(...(waits as number[])),
    maxGapMs: longestGapMs(r.ops, firstFaultMs, r.endMs),
    healWriteMs: slowest(heals.map((h) => h.writeMs)),
    healReadMs: slowest(heals.map((h) => h.readMs)),
    heals,
    fenceBefore: r.fenceBefore.toString(),
    fenceAfter: fenceAfter.toString(),
    election,
    needlessElection: election && LEADER_KEEPS_QUORUM.has(r.scenario),
    candidacies: candidates?.candidacies ?? null,
    simultaneousCandidates: candidates?.simultaneous ?? null,
    fenceJumpsOver1: fenceJumpsOver1(r.samples, r.fenceBefore, r.fenceRound),
    leaderlessRounds: leaderlessRounds(r.samples, r.fenceBefore, r.fenceRound),
    okWrites: after.filter((o) => o.ok).length,
    failedWrites: after.filter((o) => !o.ok).length,
  };
}

/** The largest, or null when any is null (a node that never served is the slowest). */
function slowest(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.includes(null)) return null;
  return Math.max(...(values as number[]));
}

/** Median, p90 and max of the trials that have the figure; `missing` counts those that do not. */
export interface Spread {
  median: number;
  p90: number;
  max: number;
  missing: number;
}

export function spreadOf(values: readonly (number | null)[]): Spread {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), max: sorted[sorted.length - 1] ?? NaN, missing: values.length - sorted.length };
}

export interface ScenarioSummary {
  scenario: PartitionScenario;
  trials: number;
  unavailabilityMs: Spread;
  maxGapMs: Spread;
  /** Null for a scenario with no healed node. */
  healWriteMs: Spread | null;
  healReadMs: Spread | null;
  elections: number;
  needlessElections: number;
  /** Null when no trial's logs showed candidacy. */
  simultaneousCandidates: number | null;
  fenceJumpsOver1: number;
  /** Election rounds that elected no one, over the trials. */
  leaderlessRounds: number;
}

export function summarizeScenario(scenario: PartitionScenario, trials: readonly PartitionTrial[]): ScenarioSummary {
  const mine = trials.filter((t) => t.scenario === scenario);
  const healed = mine.some((t) => t.heals.length > 0);
  const observed = mine.filter((t) => t.simultaneousCandidates !== null);
  return {
    scenario,
    trials: mine.length,
    unavailabilityMs: spreadOf(mine.map((t) => t.unavailabilityMs)),
    maxGapMs: spreadOf(mine.map((t) => t.maxGapMs)),
    healWriteMs: healed ? spreadOf(mine.map((t) => t.healWriteMs)) : null,
    healReadMs: healed ? spreadOf(mine.map((t) => t.healReadMs)) : null,
    elections: mine.filter((t) => t.election).length,
    needlessElections: mine.filter((t) => t.needlessElection).length,
    simultaneousCandidates: observed.length === 0 ? null : observed.reduce((n, t) => n + (t.simultaneousCandidates ?? 0), 0),
    fenceJumpsOver1: mine.reduce((n, t) => n + t.fenceJumpsOver1, 0),
    leaderlessRounds: mine.reduce((n, t) => n + t.leaderlessRounds, 0),
  };
}

/** Across every trial of a protocol: how many runs had an election, and in how many of them connected nodes became candidates of a new round together. */
export interface CandidacyTally {
  protocol: string;
  /** Trials whose logs showed candidacy (info level); the rest cannot say. */
  observedTrials: number;
  /** Observed trials in which some node led at a new fencing number. */
  electionTrials: number;
  /** Observed trials with at least one simultaneous-candidate election: the "none in 100 runs". */
  simultaneousTrials: number;
  /** Every trial of the protocol (logs or not). */
  trials: number;
  /** Trials with an election round that elected no one: elections really contested (split votes, duels). */
  contestedTrials: number;
}

export function candidacyTally(protocol: string, trials: readonly PartitionTrial[]): CandidacyTally {
  const observed = trials.filter((t) => t.simultaneousCandidates !== null);
  return {
    protocol,
    observedTrials: observed.length,
    electionTrials: observed.filter((t) => t.election).length,
    simultaneousTrials: observed.filter((t) => (t.simultaneousCandidates ?? 0) > 0).length,
    trials: trials.length,
    contestedTrials: trials.filter((t) => t.leaderlessRounds > 0).length,
  };
}

/**
 * One line per protocol over the runs of this invocation: contested elections (a round that
 * elected no one), then nodes becoming candidates of a new round together per their logs
 * (simultaneousCandidates: asking first, or looking, is not counted).
 */
export function renderCandidacyTally(tallies: readonly CandidacyTally[]): string {
  return tallies
    .map((t) => {
      const contested = `${t.protocol}: contested elections (a round that elected no one) in ${t.contestedTrials} of ${t.trials} runs${mark(t.contestedTrials === 0)}`;
      const together = t.observedTrials === 0
        ? "candidates together n/a (no trial's logs showed candidacy)"
        : `candidates of a new round together within ${SIMULTANEOUS_WINDOW_MS} ms in ${t.simultaneousTrials} of ${t.observedTrials} runs (${t.electionTrials} with an election)`;
      return `${contested}; ${together}`;
    })
    .join('\n');
}

/** The targets, checked on the medians (the machine's noise would decide a max). */
export const TARGET_UNAVAILABILITY_MS = 500;
export const TARGET_HEAL_MS = 300;

function ms(v: number): string {
  return Number.isNaN(v) ? '-' : v.toFixed(0);
}

function spreadText(s: Spread | null): string {
  if (s === null) return '-';
  const text = `${ms(s.median)}/${ms(s.p90)}/${ms(s.max)}`;
  return s.missing > 0 ? `${text} (${s.missing} never)` : text;
}

function mark(ok: boolean): string {
  return ok ? ' ✓' : ' ✗';
}

const HEADER = ['protocol', 'scenario', 'trials', 'unavail ms med/p90/max', 'max gap ms', 'heal write ms', 'heal read ms', 'elections', 'needless', 'leaderless rounds', 'simult. cand.'];

/** One row per protocol × scenario, columns padded; ✓/✗ mark the targets. */
export function renderPartitionTable(rows: readonly { protocol: string; summary: ScenarioSummary }[]): string {
  const cells = rows.map(({ protocol, summary: s }) => {
    const healOk = s.healWriteMs !== null && s.healWriteMs.missing === 0 && s.healWriteMs.median < TARGET_HEAL_MS;
    return [
      protocol,
      s.scenario,
      String(s.trials),
      spreadText(s.unavailabilityMs) + mark(s.unavailabilityMs.missing === 0 && s.unavailabilityMs.median < TARGET_UNAVAILABILITY_MS),
      spreadText(s.maxGapMs),
      spreadText(s.healWriteMs) + (s.healWriteMs === null ? '' : mark(healOk)),
      spreadText(s.healReadMs),
      String(s.elections),
      LEADER_KEEPS_QUORUM.has(s.scenario) ? String(s.needlessElections) + mark(s.needlessElections === 0) : '-',
      String(s.leaderlessRounds) + mark(s.leaderlessRounds === 0),
      s.simultaneousCandidates === null ? `n/a (fence jumps>1: ${s.fenceJumpsOver1})` : String(s.simultaneousCandidates) + mark(s.simultaneousCandidates === 0),
    ];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [HEADER, ...cells].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/**
 * The candidacies in a node's log text (JSON lines; the replica logs 'role changed' at info
 * level), times moved onto performance.now() by `toLocalMs`.
 */
export function candidaciesInLog(text: string, node: string, toLocalMs: (wallMs: number) => number, fencingName = 'term'): Candidacy[] {
  return roleChanges(text)
    .filter((c) => c.role === 'candidate')
    .map((c) => {
      const fence = c.entry[fencingName];
      // Anything but a whole number (a line another version wrote) is an unknown fence, never a crash.
      const whole = (typeof fence === 'number' && Number.isSafeInteger(fence)) || (typeof fence === 'string' && /^\d+$/.test(fence));
      return { atMs: toLocalMs(c.wallMs), node, fence: whole ? BigInt(fence) : null };
    });
}

/** Whether a node's log shows info lines (its start is one): only then do its role changes appear. */
export function logsRoleChanges(text: string): boolean {
  return text.includes('"msg":"node started"');
}
