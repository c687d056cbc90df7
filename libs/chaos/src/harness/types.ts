/**
 * What a chaos run takes and gives: its options, the finished run the checks read, their
 * verdicts. Apart from the harness code, so checks and artifacts depend on these alone.
 */
import type { SqlValue } from '@quorumlite/client';
import type { OpRecord, Outcome, WorkloadName } from './history';
import type { FaultKind, NemesisName, PlannedFault, TimelineEntry } from './nemesis';
import type { PhaseTiming } from './phases';
import type { FaultAvailability } from './availability';
import type { WitnessReport } from './roles';
import type { Topology } from '@quorumlite/cluster';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  /** Default 'raft'; passed to every node as --protocol. */
  protocol?: string;
  /** N data voters; default 3, or the size of `topology`. */
  nodes?: number;
  /**
   * A shipped topology by name ('3v', '2v1w', '3v2o', '5v', '3v2w'): witnesses and observers
   * join the cluster, may be the nemesis's victims, take writes, and serve no reads (witnesses).
   */
  topology?: string;
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
  /**
   * The share of writes sent with durability 'leader' (default 0): acknowledged before commit,
   * so each is checked as in doubt — the only writes allowed to be lost.
   */
  leaderWrites?: number;
  /** How long the cluster gets to elect a leader and apply everything after the heal. */
  convergeTimeoutMs?: number;
  /**
   * The whole run's deadline, start to stop (default: durationMs + convergeTimeoutMs +
   * OVERALL_SLACK_MS). Past it the run stops waiting, reports the phase it was stuck in and
   * fails; keep it below any outer timeout (a test runner's) so that report is seen.
   */
  overallTimeoutMs?: number;
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
  /** Data nodes only: a witness has no database. */
  dumps: ReplicaDump[];
  /** Each witness's log after the heal. */
  witnesses: WitnessReport[];
  /** Problems of the harness's own phases: a node that never came back, no convergence, the deadline. */
  problems: string[];
  /** How long each phase took, in order, on every run (a slow but valid run shows here too). */
  phases: PhaseTiming[];
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
  /** Per fault: how long writes stopped, and how soon they succeeded after its heal (availability.ts). */
  availability: FaultAvailability[];
  replayCommand: string;
  artifactsDir: string | null;
}

export type ChaosOptionsResolved = Required<Pick<ChaosOptions, 'seed' | 'durationMs' | 'protocol' | 'nodes' | 'workloads' | 'workers' | 'clientTimeoutMs' | 'clientRetryBudgetMs' | 'leaderWrites' | 'nodeArgs' | 'overallTimeoutMs'>> & {
  faults: FaultKind[];
  nemesis: (NemesisName | FaultKind)[];
  /** The cluster's shape; a plain --nodes N run is N data voters. */
  topology: Topology;
};
