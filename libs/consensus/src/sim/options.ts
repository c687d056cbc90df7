/** What a simulation run is configured with; every knob has a default tuned for short runs. */
import type { RewriteModel } from './disk';
import { assertNever, type BaseMessage, type CoreOptions, type ProtocolModule, type ProtocolOptionSpec, type ProtocolOptionValue } from '../contract';

export interface FaultOptions {
  /** Probability that a sent message is dropped. */
  readonly messageLoss: number;
  /** Probability that a sent message is delivered twice. */
  readonly messageDuplicate: number;
  /** Probability that a message takes a long detour (reordering well past normal jitter). */
  readonly messageLongDelay: number;
  readonly messageDelayTicksMin: number;
  readonly messageDelayTicksMax: number;
  readonly messageLongDelayTicksMax: number;
  /** A chaos round runs about every this many ticks and rolls the probabilities below. */
  readonly chaosIntervalTicks: number;
  /** Per chaos round, when the network is whole: start a partition (split/isolate/bridge/one-way). */
  readonly partition: number;
  /** Per chaos round, when the network is partitioned: heal it. */
  readonly heal: number;
  /** Per chaos round: crash one running node (losing its volatile state and unsynced disk writes). */
  readonly crash: number;
  readonly crashedNodesMax: number;
  readonly downTicksMin: number;
  readonly downTicksMax: number;
  /** Per chaos round: ask the current leader to hand leadership to a random peer. */
  readonly transferLeadership: number;
  /**
   * Per chaos round, for a protocol whose module sets `membershipChanges`: the leader proposes
   * one member change — add a node as an observer (a spare, or one removed before), promote an
   * observer, demote a voter to observer, remove a member. 0 draws nothing, so runs without it
   * keep their schedules.
   */
  readonly membershipChange: number;
  /**
   * Per election, with membership changes on: the new leader proposes a change at once, before
   * its first record can commit — the window Ongaro's 2015 rule (no change before a record of
   * the leader's term commits) closes, which chaos rounds alone rarely hit.
   */
  readonly membershipChangeAtElection: number;
  /** Each node's tick period is 1 ± up to this fraction (clock rate skew). */
  readonly tickSkew: number;
  /**
   * Probability that a tick or message reaching a leader is held until the leader's next
   * persist and stepped while it is in flight (between ready() and advance()), with the
   * core's early messages sent at once — what a node does while its disk is slow.
   */
  readonly heldUntilPersist: number;
  /**
   * Per persist that rewrites records (a cut with records after it): probability that the
   * power fails once storage has written them and before the fsync — the point where a
   * storage whose rewrite is not atomic has cut records its node acknowledged and not yet
   * written their replacement. Drawn from its own seeded stream, so a schedule changes only
   * where such a cut happens.
   */
  readonly powerCutDuringRewrite: number;
  /**
   * Per snapshot a data node installs: probability that the power fails once its state
   * machine took the snapshot and before its log is cut after it (libs/replica installs in
   * that order, with a durable marker first: install-marker.ts). Its own seeded stream too.
   */
  readonly powerCutDuringInstall: number;
}

export interface WorkloadOptions {
  /** Mean ticks between client proposals. */
  readonly proposeEveryTicks: number;
  /** Mean ticks between linearizable read requests. */
  readonly readEveryTicks: number;
  /** Probability a client sends to the node it believes leads (else a random node). */
  readonly leaderAffinity: number;
  /** Most proposals awaiting their acknowledgement at once (a client's window). */
  readonly pendingProposalsMax: number;
}

export type CompactionPoint = 'during_apply' | 'after_advance';

export type CoreTuning = Omit<CoreOptions, 'id' | 'members' | 'random'>;

export interface SimOptions<M extends BaseMessage = BaseMessage> {
  readonly protocol: ProtocolModule<M>;
  readonly seed: number;
  /** Voters in the cluster. */
  readonly nodes: number;
  /** Members beyond the voters that replicate and apply but never vote (default 0). */
  readonly observers?: number;
  /**
   * Members beyond the voters and observers that vote but keep no state machine (default 0).
   * A protocol that does not support them yet refuses them in validate(), as Raft does.
   */
  readonly witnesses?: number;
  /**
   * Nodes beyond the members that start only once a membership change adds them (default 0;
   * they matter with FaultOptions.membershipChange).
   */
  readonly spares?: number;
  /**
   * Of the spares, how many (the last ones) are witnesses: started with no state machine, as
   * libs/replica starts a node its settings list as a witness, and only ever a witness or an
   * observer while a member (default 0).
   */
  readonly spareWitnesses?: number;
  /** Events to run with faults before the heal-and-converge phase. */
  readonly steps: number;
  readonly faults?: Partial<FaultOptions>;
  readonly workload?: Partial<WorkloadOptions>;
  /** Overrides; unset fields are drawn from the seed (the protocol's own options, batch limits…). */
  readonly coreOptions?: Partial<CoreTuning>;
  /** The driver snapshots its state machine and calls core.compact after this many applies. */
  readonly compactEveryApplies?: number;
  /**
   * When the driver calls compact(): 'after_advance' (default, what libs/replica does) once
   * the core has been told the Ready is done; 'during_apply' right after applying a Ready's
   * committed records and before advance() (a core may refuse that: it has not applied them yet).
   */
  readonly compactionPoint?: CompactionPoint;
  /** Records the core may keep before a compaction point; drawn from the seed when unset. */
  readonly retainEntries?: number;
  /** Virtual ticks the final fault-free phase may take to converge before liveness fails. */
  readonly livenessTicksMax?: number;
  /** Keep the last trace lines so a failure can print them. */
  readonly verbose?: boolean;
  /**
   * Whether the driver marks an install durably before its state machine takes the snapshot,
   * and withholds the state machine's applied index from a boot that finds the mark (default
   * true, as libs/replica does). false is a mutant the conformance suite must catch.
   */
  readonly marksInstall?: boolean;
  /**
   * Whether the driver's snapshots carry the configuration as of what its state machine applied
   * (default true: the core's membersAt at that index). false gives them the members the node
   * booted with — a driver that ignores membership changes, which the suite must catch.
   */
  readonly snapshotsCarryConfig?: boolean;
  /** How a node's disk carries out a rewrite (sim/disk.ts): 'atomic' (default, as libs/storage does). */
  readonly diskRewrite?: RewriteModel;
}

export const DEFAULT_FAULTS: FaultOptions = {
  messageLoss: 0.05,
  messageDuplicate: 0.03,
  messageLongDelay: 0.05,
  messageDelayTicksMin: 0.05,
  messageDelayTicksMax: 1.5,
  messageLongDelayTicksMax: 12,
  chaosIntervalTicks: 6,
  partition: 0.15,
  heal: 0.35,
  crash: 0.1,
  crashedNodesMax: 2,
  downTicksMin: 2,
  downTicksMax: 40,
  transferLeadership: 0.03,
  membershipChange: 0,
  membershipChangeAtElection: 0,
  tickSkew: 0.1,
  heldUntilPersist: 0.25,
  powerCutDuringRewrite: 0.2,
  powerCutDuringInstall: 0.2,
};

export const NO_FAULTS: FaultOptions = {
  ...DEFAULT_FAULTS,
  messageLoss: 0,
  messageDuplicate: 0,
  messageLongDelay: 0,
  partition: 0,
  heal: 1,
  crash: 0,
  transferLeadership: 0,
  membershipChange: 0,
  membershipChangeAtElection: 0,
  powerCutDuringRewrite: 0,
  powerCutDuringInstall: 0,
};

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  proposeEveryTicks: 1,
  readEveryTicks: 3,
  leaderAffinity: 0.8,
  pendingProposalsMax: 32,
};

/** Core settings drawn from the seed, so the suite covers each of the protocol's own settings and batching variants. */
export function drawCoreTuning(random: () => number, specs: readonly ProtocolOptionSpec[], overrides: Partial<CoreTuning> | undefined): CoreTuning {
  const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)]!;
  const heartbeatTicks = pick([1, 2, 3]);
  const protocolOptions: Record<string, ProtocolOptionValue> = {};
  for (const spec of specs) protocolOptions[spec.key] = drawOption(random, spec);
  const drawn: CoreTuning = {
    electionTimeoutTicks: 10,
    heartbeatTicks,
    protocolOptions,
    entriesPerMessageMax: pick([1, 2, 4, 16, 64]),
    bytesPerMessageMax: pick([64, 512, 1 << 20]),
    inflightMessagesMax: pick([1, 2, 8, 256]),
    uncommittedEntriesMax: pick([8, 64, 1024]),
  };
  return { ...drawn, ...overrides };
}

function drawOption(random: () => number, spec: ProtocolOptionSpec): ProtocolOptionValue {
  switch (spec.kind) {
    case 'bool':
      return random() < 0.5;
    default:
      return assertNever(spec.kind, 'protocol option kind');
  }
}
