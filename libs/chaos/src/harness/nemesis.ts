/**
 * The nemesis: a seeded schedule of faults (pure: the same seed plans the same faults at the
 * same offsets) and an executor that carries each one out against a LocalCluster and its
 * proxy mesh, one fault at a time, healing each before the next.
 *
 * Nothing here knows the consensus protocol: "leader" is whichever node says it leads.
 */
import type { LocalCluster } from '@quorumlite/cluster';
import { seededRandom } from '@quorumlite/consensus/prng';
import { bridgeGrudge, describeGrudge, splitGrudge, type Grudge, type ProxyMesh } from './network';
import type { CutMode } from './proxy';
import { assertNever } from './workloads';

export type NemesisName = 'kill' | 'pause' | 'partition' | 'crash';

export type FaultKind =
  | 'kill-leader'
  | 'kill-follower'
  | 'crash-leader'
  | 'crash-follower'
  | 'pause-leader'
  | 'pause-follower'
  | 'partition-majority'
  | 'partition-leader'
  | 'partition-bridge';

export const FAULTS_BY_NEMESIS: Record<NemesisName, FaultKind[]> = {
  kill: ['kill-leader', 'kill-follower'],
  pause: ['pause-leader', 'pause-follower'],
  partition: ['partition-majority', 'partition-leader', 'partition-bridge'],
  // A power cut: the node loses its unsynced log writes (nodes run with --fault-injection).
  crash: ['crash-leader', 'crash-follower'],
};

/** Node flag that arms the power cut (SIGUSR2) the crash faults use. */
export const FAULT_INJECTION_FLAG = '--fault-injection';

export interface PlannedFault {
  /** Offset from the start of the workload. */
  atMs: number;
  kind: FaultKind;
  /** How long the fault lasts before it is healed. */
  holdMs: number;
  /** Uniform [0, 1) draws that choose targets, fixed by the seed. */
  draws: number[];
}

export interface ScheduleOptions {
  faults: readonly FaultKind[];
  seed: number;
  /** The workload's length; no fault starts after durationMs - holdMs. */
  durationMs: number;
  /** Quiet time before the first fault and between a heal and the next fault. */
  quietMs: readonly [number, number];
  holdMs: readonly [number, number];
}

export const SCHEDULE_QUIET_MS_DEFAULT: readonly [number, number] = [1_000, 3_000];
/** Longer than any election timeout in use (default 12 ticks × 25 ms, randomized up to 2×). */
export const SCHEDULE_HOLD_MS_DEFAULT: readonly [number, number] = [2_000, 5_000];
const DRAWS_PER_FAULT = 4;

function between(random: () => number, [lo, hi]: readonly [number, number]): number {
  return Math.round(lo + random() * (hi - lo));
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Every kind once in a seeded order (so a short run still covers them all), then kinds at
 * random, until the duration is used up.
 */
export function planSchedule(options: ScheduleOptions): PlannedFault[] {
  if (options.faults.length === 0) return [];
  const random = seededRandom(options.seed);
  const plan: PlannedFault[] = [];
  const firstRound = shuffled(options.faults, random);
  let atMs = between(random, options.quietMs);
  for (let i = 0; ; i++) {
    const kind = firstRound[i] ?? options.faults[Math.floor(random() * options.faults.length)]!;
    const holdMs = between(random, options.holdMs);
    if (atMs + holdMs > options.durationMs) break;
    plan.push({ atMs, kind, holdMs, draws: Array.from({ length: DRAWS_PER_FAULT }, () => random()) });
    atMs += holdMs + between(random, options.quietMs);
  }
  return plan;
}

export interface TimelineEntry {
  fault: FaultKind;
  /** performance.now() when the fault was injected and when it was healed (null: never healed). */
  atMs: number;
  healedAtMs: number | null;
  /** When healing began: a restart's wait for the node to answer is healedAtMs - healStartedAtMs. */
  healStartedAtMs: number | null;
  targets: string[];
  /** Partitions: the links cut, as "a<->b", and how (refused connections or a silent blackhole). */
  links?: string[];
  cut?: CutMode;
  /** Anything unexpected while injecting or healing (no leader found, restart failed). */
  notes: string[];
}

/** How long the nemesis looks for a leader to target before it picks any node. */
const LEADER_LOOKUP_MS = 3_000;

type Undo = () => Promise<void>;

export class Nemesis {
  private active: { entry: TimelineEntry; undo: Undo } | null = null;
  readonly timeline: TimelineEntry[] = [];

  constructor(
    private readonly cluster: LocalCluster,
    private readonly mesh: ProxyMesh,
  ) {}

  /** Injects one fault; the previous one must have been healed. */
  async inject(fault: PlannedFault): Promise<TimelineEntry> {
    if (this.active) throw new Error(`fault ${this.active.entry.fault} is still active`);
    const notes: string[] = [];
    const leader = await this.leaderOrNull(notes);
    const running = this.cluster.nodes.map((n) => n.id).filter((id) => this.cluster.isRunning(id));
    const entry: TimelineEntry = { fault: fault.kind, atMs: performance.now(), healedAtMs: null, healStartedAtMs: null, targets: [], notes };
    const undo = await this.apply(fault, entry, leader, running);
    this.timeline.push(entry);
    this.active = { entry, undo };
    return entry;
  }

  /** Heals the active fault, if any. Never throws: a failure to heal is a note and a finding. */
  async heal(): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = null;
    active.entry.healStartedAtMs = performance.now();
    try {
      await active.undo();
    } catch (e: unknown) {
      active.entry.notes.push(`heal failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    active.entry.healedAtMs = performance.now();
  }

  /** Heals everything regardless of bookkeeping: links, paused and dead nodes. */
  async healAll(): Promise<string[]> {
    await this.heal();
    this.mesh.healAll();
    const problems: string[] = [];
    for (const node of this.cluster.nodes) {
      try {
        if (this.cluster.isPaused(node.id)) this.cluster.resume(node.id);
        if (!this.cluster.isRunning(node.id)) await this.cluster.restart(node.id);
      } catch (e: unknown) {
        problems.push(`node ${node.id} did not come back: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return problems;
  }

  private async leaderOrNull(notes: string[]): Promise<string | null> {
    try {
      return (await this.cluster.waitForLeader(LEADER_LOOKUP_MS)).id;
    } catch {
      notes.push(`no leader found within ${LEADER_LOOKUP_MS} ms; targets chosen at random`);
      return null;
    }
  }

  private async apply(fault: PlannedFault, entry: TimelineEntry, leader: string | null, running: string[]): Promise<Undo> {
    const [d0 = 0, d1 = 0, d2 = 0] = fault.draws;
    const mode: CutMode = d2 < 0.5 ? 'refuse' : 'blackhole';
    const choose = (from: string[], draw: number): string => from[Math.floor(draw * from.length)]!;
    const leaderOr = (draw: number): string => (leader !== null && running.includes(leader) ? leader : choose(running, draw));
    const follower = (draw: number): string => {
      const others = running.filter((id) => id !== leader);
      return choose(others.length > 0 ? others : running, draw);
    };
    switch (fault.kind) {
      case 'kill-leader':
        return this.kill(entry, leaderOr(d0));
      case 'kill-follower':
        return this.kill(entry, follower(d0));
      case 'crash-leader':
        return this.kill(entry, leaderOr(d0), 'SIGUSR2');
      case 'crash-follower':
        return this.kill(entry, follower(d0), 'SIGUSR2');
      case 'pause-leader':
        return this.pause(entry, leaderOr(d0));
      case 'pause-follower':
        return this.pause(entry, follower(d0));
      case 'partition-majority': {
        const ids = shuffled(this.cluster.nodes.map((n) => n.id), seededRandom(Math.floor(d0 * 2 ** 32)));
        const minority = ids.slice(0, Math.floor((ids.length - 1) / 2));
        return this.partition(entry, splitGrudge([minority, ids.slice(minority.length)]), minority, mode);
      }
      case 'partition-leader': {
        const isolated = leaderOr(d0);
        return this.partition(entry, splitGrudge([[isolated], this.cluster.nodes.map((n) => n.id).filter((id) => id !== isolated)]), [isolated], mode);
      }
      case 'partition-bridge': {
        const ids = shuffled(this.cluster.nodes.map((n) => n.id), seededRandom(Math.floor(d1 * 2 ** 32)));
        const bridge = ids[0]!;
        const rest = ids.slice(1);
        const half = Math.ceil(rest.length / 2);
        return this.partition(entry, bridgeGrudge(rest.slice(0, half), bridge, rest.slice(half)), [bridge], mode);
      }
      default:
        return assertNever(fault.kind);
    }
  }

  /** SIGKILL, or SIGUSR2: the node cuts its unsynced log tail and SIGKILLs itself. */
  private async kill(entry: TimelineEntry, id: string, signal: 'SIGKILL' | 'SIGUSR2' = 'SIGKILL'): Promise<Undo> {
    entry.targets = [id];
    await this.cluster.kill(id, signal);
    return () => this.cluster.restart(id);
  }

  private async pause(entry: TimelineEntry, id: string): Promise<Undo> {
    entry.targets = [id];
    this.cluster.pause(id);
    return async () => {
      if (this.cluster.isPaused(id)) this.cluster.resume(id);
    };
  }

  private async partition(entry: TimelineEntry, grudge: Grudge, targets: string[], mode: CutMode): Promise<Undo> {
    entry.targets = targets;
    entry.links = describeGrudge(grudge);
    entry.cut = mode;
    this.mesh.apply(grudge, mode);
    return async () => this.mesh.healAll();
  }
}
