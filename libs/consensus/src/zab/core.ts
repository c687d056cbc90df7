/**
 * Zab, ZooKeeper's atomic broadcast (Junqueira, Reed and Serafini, "Zab: High-performance
 * broadcast for primary-backup systems", DSN 2011; ZooKeeper's QuorumPeer, FastLeaderElection,
 * Leader, LearnerHandler, Follower and Observer) as a pure object driven by
 * tick/step/propose/readIndex, whose effects come out of ready() in the order the driver must
 * perform them.
 *
 * A node is LOOKING (Fast Leader Election), FOLLOWING, LEADING or OBSERVING. Leading and
 * following each pass through the paper's phases:
 *   1. discovery — FOLLOWERINFO(acceptedEpoch) from a quorum; the leader picks an epoch above
 *      all of them, LEADERINFO(e); each follower persists acceptedEpoch = e and answers
 *      ACKEPOCH(currentEpoch, last zxid);
 *   2. synchronization — per learner DIFF, TRUNC or SNAP from its last zxid, the missing
 *      proposals, NEWLEADER(e); the learner persists currentEpoch = e and acknowledges; a
 *      quorum of acknowledgements commits the leader's whole initial history; UPTODATE;
 *   3. broadcast — PROPOSAL → ACK (of durable proposals) → COMMIT, in zxid order, batched;
 *      observers receive committed proposals (INFORM).
 * Safety rests on the epochs (a learner never accepts an epoch below its acceptedEpoch, and a
 * quorum persisted the new one before the leader proposes in it); Fast Leader Election only
 * makes it likely that the leader already holds the newest history — a leader that learns of
 * a newer one in ACKEPOCH abdicates, as ZooKeeper's does.
 *
 * A witness is a follower that keeps no database: it votes, acknowledges proposals and counts
 * toward every quorum, and forgets its records up to what every data voter durably holds
 * (`dataHold` on PING). FLE prefers a data voter to a witness with the same history; a witness
 * is elected only when it holds records no reachable data voter has, and then it leads only
 * until a data voter is synchronized with all of them (see maybeHandOver). It never sends a
 * SNAP (it has no data), and takes one only at or below dataHold (see startSync).
 *
 * Leadership transfer (transferLeadership, handOver) stops proposals, waits until the target —
 * a connected, synchronized data voter — acknowledged every record, then stops leading with
 * HANDOVER to the followers: each looks again with its first vote for the target, whose own
 * vote is the same, so the next election agrees on it at once. Only first votes change; FLE's
 * order, discovery and synchronization are as in any election.
 */
import {
  ConsensusError,
  assertNever,
  proposalToken,
  logIndex,
  term as toTerm,
  type ConsensusCore,
  type CoreOptions,
  type Member,
  type MemberSpec,
  type CoreStatus,
  type Entry,
  type LogIndex,
  type NodeId,
  type PersistedState,
  type ProposeMembershipResult,
  type ProposeResult,
  type ReadFailure,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
  type SoftState,
} from '../contract';
import { MemoryLog } from '../common/log';
import { answeredWithinSilenceBound, compactHolding, type CompactionRequest } from '../common/slow-peers';
import {
  COMMITTED_BYTES_PER_READY_MAX,
  COMMITTED_ENTRIES_PER_READY_MAX,
  ForwardedReads,
  READS_PENDING_MAX,
  ReadOnly,
  dataVoters,
  decodeConfig,
  encodeConfig,
  membershipChangeRefusal,
  recipientsOf,
  splitEarly,
  votingMembers,
  witnesses,
  type ConfirmedRead,
  type ReadRequest,
} from '../common';
import { ZAB_ROLES, parseHardState, toHardState, validateOptions, validatePersisted, type ZabHardState } from './config';
import type {
  AckEpochMessage,
  AckMessage,
  CommitMessage,
  CommitPointMessage,
  SeenConfigMessage,
  FollowerInfoMessage,
  HandOverMessage,
  InformMessage,
  LeaderInfoMessage,
  NewLeaderMessage,
  NotificationMessage,
  PeerState,
  PingAckMessage,
  PingMessage,
  ProposalMessage,
  ReadIndexMessage,
  ReadIndexResponseMessage,
  StaleEpochMessage,
  SyncMessage,
  UpToDateMessage,
  Vote,
  ZabMessage,
} from './messages';
import { ZabConfigs, configView, countedVoterSets, membersOfAny, quorumOfAll, quorumValueOfAll, type AnnouncedConfig, type ConfigView } from './reconfig';
import { compareZxid, sameVote, voteBeats, zxid } from './zxid';

/**
 * Ticks a LOOKING node waits, once a quorum agrees with its vote, for a better notification
 * (FastLeaderElection's finalizeWait, 200 ms there; two ticks, 50 ms at the default tick).
 */
export const FINALIZE_TICKS = 2;
/**
 * Leader and learner give discovery plus synchronization this many election timeouts
 * (ZooKeeper's initLimit, which is longer than its syncLimit for the same reason: a large
 * DIFF or SNAP takes longer than a heartbeat).
 */
export const INIT_LIMIT_ELECTIONS = 4;

const EMPTY: readonly never[] = [];
/** Incarnations are drawn from [0, 2^48): two boots of one node colliding is negligible. */
const INCARNATION_RANGE = 2 ** 48;
/** Most proposal messages a learner holds while an earlier one is on the way. */
export const EARLY_PROPOSALS_MAX = 64;

type LeaderStage = 'discovery' | 'sync' | 'broadcast';
type LearnerStage = 'discovery' | 'sync' | 'synced' | 'broadcast';

type Phase =
  | { readonly kind: 'looking' }
  | { readonly kind: 'leading'; stage: LeaderStage; readonly since: number }
  /**
   * `since`: the tick the learner last entered discovery (its synchronization's deadline counts
   * from it). `leaderRound`: the election round the leader decided in, as far as we know (see
   * decide) — a LOOKING notification of the leader from a later round was sent after it gave up.
   */
  | { readonly kind: 'following'; readonly leader: NodeId; readonly leaderRound: number; stage: LearnerStage; since: number };

/** The leader's view of one learner (LearnerHandler). */
interface LearnerHandle {
  readonly id: NodeId;
  /** The tick its FOLLOWERINFO came: not synchronized an initLimit and a sync limit later, it counts for nothing. */
  readonly sinceTick: number;
  /** Counts toward nothing and receives committed records only (INFORM); follows the configurations (refreshLearners). */
  observer: boolean;
  readonly acceptedEpoch: number;
  /** The learner's connection this handle serves (FollowerInfoMessage). */
  readonly incarnation: number;
  readonly attempt: number;
  /** Set once the learner acknowledged the new epoch, with the summary of its history it sent. */
  ackedEpoch: boolean;
  /** Its acknowledgement was of an epoch it had not promised before (see AckEpochMessage). */
  freshAck: boolean;
  lastIndex: number;
  lastEpoch: number;
  /** The current synchronization (0: none yet). */
  syncId: number;
  /** Proposals up to this index go before NEWLEADER in this synchronization. */
  syncLast: number;
  /** The learner acknowledged the SYNC: its proposals may flow. */
  syncAcked: boolean;
  newLeaderSent: boolean;
  newLeaderAcked: boolean;
  upToDateSent: boolean;
  /** Next record to send, and the highest the learner acknowledged as durable. */
  next: number;
  match: number;
  /**
   * Where the current DIFF or TRUNC synchronization starts: the learner holds our records up to
   * here once it takes the SYNC, before it acknowledges anything (0: a SNAP, or none yet).
   */
  syncPoint: number;
  /** Last index of each message in flight (a bounded window, freed by acknowledgements). */
  inflight: number[];
  /** The newest commit point this learner was told. */
  commitSent: number;
  heardAtTick: number;
}

/** Fast Leader Election's bookkeeping for one LOOKING period. */
interface Election {
  /** Votes of this round from LOOKING voters, and every vote of a node already out of the election. */
  readonly received: Map<NodeId, Vote>;
  readonly outOfElection: Map<NodeId, { readonly vote: Vote; readonly round: number; readonly state: PeerState }>;
  /** Tick at which a quorum agreeing with our vote is final, or null. */
  finalizeAtTick: number | null;
  lastSendTick: number;
  /**
   * FOLLOWERINFO of learners that decided for us while we were still LOOKING (one per sender,
   * the latest): served the moment we lead, instead of a heartbeat later when the learner
   * sends it again (ZooKeeper's learner retries its connection until the leader listens).
   */
  readonly followerInfos: Map<NodeId, FollowerInfoMessage>;
  /** The tick this LOOKING period began (see joinsStaleConfigLeader). */
  readonly sinceTick: number;
}

interface HandedOut {
  readonly lastEntry: { readonly index: number; readonly term: number } | null;
  readonly snapshot: SnapshotMeta | null;
  readonly appliedTo: number | null;
  readonly hard: ZabHardState | null;
  /** Recipients of its messages that leave after the persist. */
  readonly lateRecipients: ReadonlySet<NodeId>;
}

export class ZabCore implements ConsensusCore<ZabMessage> {
  private readonly id: NodeId;
  private readonly o: CoreOptions;
  /**
   * Every member that votes and counts toward quorums — data voters and witnesses — of the last
   * committed configuration or the last seen one (reconfig.ts; refreshMembers keeps these).
   */
  private voters: readonly NodeId[] = [];
  /** The voters that keep the database: the only ones a witness hands leadership to. */
  private dataVoters: readonly NodeId[] = [];
  private witnesses: readonly NodeId[] = [];
  private peers: readonly NodeId[] = [];
  private isVoter = false;
  /** This node votes and holds records but keeps no database (see maybeHandOver). */
  private isWitness = false;
  /** The configurations of our history, and the ones that count now (reconfig.ts). */
  private readonly configs: ZabConfigs;
  private view: ConfigView;
  /** A pending reconfiguration a peer told us of, past our history (SeenConfigMessage); cleared once our history reaches it. */
  private announced: AnnouncedConfig | null = null;
  /** PersistedState.appliedIndex: committed, though our commit point starts at 0. */
  private readonly appliedAtBoot: number;
  /** The voters of each configuration that counts: every quorum is a quorum of each. */
  private voterSets: (readonly NodeId[])[] = [];
  /** The highest dataHold this node knows of — sent by a leader it was synchronized with, or its own as leader — capped at its commit point when learned (only grows). */
  private dataVotersHold = 0;
  /**
   * Set when this node just handed leadership over, or heard HANDOVER from its leader: its first
   * vote in the election that follows is this one, for the data voter that took over (see handOver).
   */
  private designatedVote: Vote | null = null;
  /** CoreOptions.rejoining: this voter lost its history and learns as an observer for now. */
  private readonly rejoining: boolean;
  private readonly log: MemoryLog;
  /** The last compact() whose records are not all forgotten yet (a slow learner still needs some). */
  private heldCompaction: CompactionRequest | null = null;

  private acceptedEpoch: number;
  private currentEpoch: number;
  /** The hard state known durable (persisted by an advanced Ready). */
  private durableHard: ZabHardState;
  private prevHard: ZabHardState;
  private prevSoft: SoftState;

  private phase: Phase = { kind: 'looking' };
  private ticks = 0;
  /** Ticks since the leader (learner) or a quorum (leader) was last heard. */
  private silentTicks = 0;
  /**
   * How many silent ticks a follower in broadcast takes for a lost leader: drawn in whole ticks
   * in [electionTimeoutTicks, 1.5 × electionTimeoutTicks) each time it follows a leader (within
   * the contract's [T, 2T); T = 2 leaves a fixed T, T = 3 two values). A fixed limit made every follower give up on the same tick when the
   * leader's event loop was held a little past it (a 315 ms stall under 256 concurrent 100-row
   * batches deposed a live leader four times in six 5-second rounds); with the limits spread, a
   * stall shorter than every follower's draw costs no election. A follower silent for T that
   * hears another voter LOOKING in a new round looks too (corroboratesSilence), so a silent
   * leader is replaced when the first limit runs out. The upper end is 1.5 T, not Raft's 2 T:
   * Zab's election, discovery and synchronization after it take longer than Raft's vote, and
   * with 2 T a black-holed leader's writes stopped 506 ms (median of 8), past the 500 ms the
   * partition benchmark holds every protocol to. A crashed leader is noticed sooner, by its
   * broken streams.
   */
  private followerSilenceTicks: number;
  /**
   * Peers whose connection the driver reported broken (reportUnreachable) and that have sent
   * nothing since: no notification of theirs can arrive during a finalize window (see maybeDecide).
   */
  private readonly unreachable = new Set<NodeId>();

  // Fast Leader Election
  private round = 0;
  private vote: Vote;
  private election: Election | null = null;

  // Leader
  private readonly learners = new Map<NodeId, LearnerHandle>();
  /**
   * When we last heard from a follower whose stream broke (its handle is gone until it
   * connects again): it still counts toward our sync limit until that runs out.
   */
  private readonly departedHeardAtTick = new Map<NodeId, number>();
  /**
   * What a learner whose handle went (its stream broke, or it connected again) held of our
   * log, and when we last heard from it: records after that stay while it comes back and is
   * synchronized again, within the slow-peer bounds (slowLearnerMatches).
   */
  private readonly departedHolds = new Map<NodeId, { readonly held: number; readonly heardAtTick: number }>();
  /** The epoch being established or led; 0 until discovery picks it. */
  private leaderEpoch = 0;
  private proposalsWanted = false;
  /** Numbers the leader's synchronizations, so a learner tells one from the next. */
  private syncSerial = 0;
  private readOnly: ReadOnly;
  /**
   * A leadership transfer under way: proposals stop until `to` acknowledged every record, then
   * we hand over; abandoned after an election timeout, or when `to` is no longer a synchronized
   * follower (tickLeading).
   */
  private transfer: { readonly to: NodeId; readonly sinceTick: number } | null = null;
  private readsAwaitingEstablishment: ReadRequest[] = [];
  private readBroadcastWanted = false;

  // Learner
  /** Drawn at boot: tells this process's connections from an earlier one's. */
  private readonly incarnation: number;
  /** Numbers our connections to a leader (a new one per FOLLOWERINFO that is not a retry). */
  private attempt = 0;
  /** Set when our history disagreed with this leader's SYNC in this epoch: report only our committed prefix to it. */
  private claimCommittedFor: { readonly leader: NodeId; readonly epoch: number } | null = null;
  /** The leader that last refused us, and when. */
  private refusedBy: { readonly leader: NodeId; readonly atTick: number } | null = null;
  /**
   * The highest acceptedEpoch of a voter we stepped down for (handleFollowerInfo): an epoch we
   * choose goes above it even if that voter's FOLLOWERINFO is late, so one step down is enough.
   * Not durable: choosing a higher epoch than needed is always safe.
   */
  private steppedDownFor = 0;
  /** Who we promised acceptedEpoch to (not durable: after a restart, unknown). */
  private acceptedFrom: NodeId | null = null;
  private syncId = 0;
  /** Proposals that arrived ahead of one still on the way, and a NEWLEADER ahead of its proposals. */
  private earlyProposals: (ProposalMessage | InformMessage)[] = [];
  private pendingNewLeader: NewLeaderMessage | null = null;
  /** Since when PINGs disagree with our synchronization and no proposal came (see handlePing). */
  private anomalySinceTick: number | null = null;
  /** Our last index when that began: a proposal arriving since shows the stream is alive. */
  private anomalyLastIndex = 0;
  private prevPingLast = 0;
  /** Learner: set while the answer to LEADERINFO waits for acceptedEpoch to be durable. */
  private followerEpoch = 0;
  private readonly forwardedReads = new ForwardedReads();

  private outbox: ZabMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private handedOut: HandedOut | null = null;

  constructor(options: CoreOptions, persisted: PersistedState) {
    validateOptions(options);
    const hard = parseHardState(persisted.hardState);
    validatePersisted(persisted, hard);
    this.o = options;
    this.id = options.id;
    this.rejoining = options.rejoining === true;
    this.log = new MemoryLog(persisted.snapshot, persisted.entries, 0);
    this.log.checkAll();
    const snapshotMembers = persisted.snapshot?.members ?? [];
    this.configs = new ZabConfigs(snapshotMembers.length > 0 ? snapshotMembers : options.members, this.log);
    // What the driver applied is committed: the configuration there is the last committed one we know.
    this.appliedAtBoot = Math.min(persisted.appliedIndex ?? 0, this.log.lastIndex());
    // And it is in the state machine already: not handed out again (see RaftCore's constructor).
    this.log.restoreApplied(this.appliedAtBoot);
    this.view = configView(this.configs, this.log, this.appliedAtBoot);
    this.applyView();
    this.acceptedEpoch = hard.acceptedEpoch;
    this.currentEpoch = hard.currentEpoch;
    this.durableHard = hard;
    this.prevHard = hard;
    this.readOnly = new ReadOnly(this.id, votingMembers(this.view.committed));
    this.incarnation = Math.floor(options.random() * INCARNATION_RANGE);
    // Drawn when it follows a leader (decide).
    this.followerSilenceTicks = options.electionTimeoutTicks;
    this.vote = this.ownVote();
    this.prevSoft = this.softState();
    // Boot LOOKING, silently: the first tick announces our vote (a core sends nothing before
    // the driver runs it).
    this.startLooking(false);
    this.check();
  }

  // =============================================================================================
  // Driver API

  tick(): void {
    this.ticks++;
    switch (this.phase.kind) {
      case 'looking':
        this.tickLooking();
        break;
      case 'leading':
        this.tickLeading();
        break;
      case 'following':
        this.tickFollowing();
        break;
      default:
        assertNever(this.phase, 'zab phase');
    }
    // Records kept for a slow learner go once it has them, goes silent, or we stop leading.
    this.compactLog();
    this.check();
  }

  step(m: ZabMessage): void {
    if (m.to !== this.id) throw new ConsensusError('bad_message', `zab message: addressed to ${m.to}, not to ${this.id}`);
    if (m.from === this.id) throw new ConsensusError('bad_message', `zab message: from ${m.from}, which is ${this.id} itself`);
    // A member of neither configuration that counts (removed, or added where we have not seen
    // it yet) is ignored: it disturbs nothing (ZooKeeper drops a non-member's connection).
    if (!this.peers.includes(m.from)) return;
    this.unreachable.delete(m.from);
    this.stepMessage(m);
    this.check();
  }

  /**
   * Leader: propose `next` as a reconfig transaction (ZooKeeper's Leader.propose of a reconfig
   * request). Refused, with a reason: while a record is pending (one reconfig in flight at a
   * time, as ZooKeeper refuses a reconfig while lastSeenQuorumVerifier is not yet the active
   * one); one member changing, a new one coming as an observer, one that starts voting caught up,
   * and the next voters that answered lately a quorum of them (membershipChangeRefusal); a
   * witness joining while a data voter lacks committed records. It commits only with quorums of both
   * configurations, and so does every proposal after it until then (leaderProgress).
   */
  proposeMembership(next: readonly MemberSpec[]): ProposeMembershipResult {
    if (!this.isLeading()) return { ok: false, reason: 'not_leader', leader: this.leaderId() };
    if (this.isWitness || this.transfer !== null) return { ok: false, reason: 'transferring' };
    const refused = this.reconfigRefusal(next);
    if (refused !== null) return refused;
    const data = encodeConfig(next);
    const entry: Entry = { index: logIndex(this.log.lastIndex() + 1), term: toTerm(this.leaderEpoch), kind: 'config', data };
    this.log.append([entry]);
    this.proposalsWanted = true;
    this.refreshMembers();
    this.check();
    return { ok: true, index: entry.index, term: entry.term, token: proposalToken(data) };
  }

  /** The configuration as of `index` (what a snapshot taken there carries). */
  membersAt(index: LogIndex): readonly Member[] {
    const first = this.log.firstIndex() - 1;
    const last = this.log.lastIndex();
    if (index < first || index > last) throw new ConsensusError('bad_state', `zab membersAt: index ${index} is outside the history, which holds the configurations of ${first}..${last}`);
    return this.configs.asOf(index);
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.phase.kind !== 'leading' || this.phase.stage !== 'broadcast') return { ok: false, reason: 'not_leader', leader: this.leaderId() };
    // A witness leads only until a data voter holds its records (see maybeHandOver); a leader
    // handing over takes nothing its target would then have to catch up on.
    if (this.isWitness || this.transfer !== null || this.leavingAfterReconfig()) return { ok: false, reason: 'transferring' };
    if (this.log.lastIndex() - this.log.commitIndex() >= this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const entry: Entry = { index: logIndex(this.log.lastIndex() + 1), term: toTerm(this.leaderEpoch), kind: 'command', data };
    this.log.append([entry]);
    // Every proposal between two Readies shares one PROPOSAL message per follower.
    this.proposalsWanted = true;
    this.check();
    return { ok: true, index: entry.index, term: entry.term, token: proposalToken(data) };
  }

  readIndex(requestId: string): void {
    if (this.phase.kind === 'leading') this.handleReadRequest({ requestId, origin: null });
    else if (this.phase.kind === 'following' && this.phase.stage === 'broadcast') this.forwardRead(requestId, this.phase.leader);
    else this.readFailures.push({ requestId, reason: 'not_leader', leader: null });
    this.check();
  }

  hasReady(): boolean {
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.readFailures.length > 0 ||
      this.readBroadcastWanted ||
      (this.proposalsWanted && this.isLeading()) ||
      this.log.hasUnstable() ||
      this.log.hasCutPoint() ||
      this.log.pendingSnapshot() !== null ||
      this.log.hasCommittedToApply() ||
      this.hardChanged(this.hardState()) ||
      this.softChanged(this.softState())
    );
  }

  ready(): Ready<ZabMessage> {
    if (this.proposalsWanted && this.isLeading()) this.sendToAllLearners();
    this.proposalsWanted = false;
    if (this.readBroadcastWanted && this.isLeading()) this.broadcastPing();
    this.readBroadcastWanted = false;
    const hard = this.hardState();
    const soft = this.softState();
    const hardChanged = this.hardChanged(hard);
    const softChanged = this.softChanged(soft);
    const truncateAfter = this.log.takeCutPoint();
    const entries = this.log.unstableEntries();
    const snapshot = this.log.pendingSnapshot();
    const committed = this.log.committedToApply(COMMITTED_ENTRIES_PER_READY_MAX, COMMITTED_BYTES_PER_READY_MAX);
    // A leader's proposals never depend on its own persist: it counts its own copy toward
    // the quorum only once advance() says it is durable (like the Raft core here).
    const early = this.isLeading() && !hardChanged;
    // Nor does anything a leader sends depend on its currentEpoch: it counts its own NEWLEADER
    // acknowledgement only once that is durable (leaderProgress). So when the new currentEpoch
    // is all this Ready persists — the epoch it leads, acceptedEpoch, is durable already —
    // DIFF, TRUNC and NEWLEADER leave during the persist (ZooKeeper's LearnerHandlers, too,
    // send them while Leader.lead records the epoch).
    const establishing =
      this.phase.kind === 'leading' && this.leaderEpoch !== 0 && hardChanged && hard.acceptedEpoch === this.leaderEpoch && this.durableHard.acceptedEpoch === this.leaderEpoch && entries.length === 0 && truncateAfter === null;
    const rd: Ready<ZabMessage> = {
      hardState: hardChanged ? toHardState(hard) : null,
      truncateAfter,
      entries,
      mustSync: entries.length > 0 || hardChanged || truncateAfter !== null,
      snapshot,
      earlyMessages: establishing ? this.outbox : early ? earlyOf(this.outbox) : EMPTY,
      messages: establishing ? EMPTY : early ? lateOf(this.outbox) : this.outbox,
      committed,
      readStates: this.readStates,
      readFailures: this.readFailures,
      softState: softChanged ? soft : null,
    };
    const last = entries[entries.length - 1];
    const lastCommitted = committed[committed.length - 1];
    this.handedOut = {
      lastEntry: last === undefined ? null : { index: last.index, term: last.term },
      snapshot,
      appliedTo: lastCommitted === undefined ? null : lastCommitted.index,
      hard: hardChanged ? hard : null,
      lateRecipients: recipientsOf(rd.messages),
    };
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    if (hardChanged) this.prevHard = hard;
    if (softChanged) this.prevSoft = soft;
    return rd;
  }

  takeEarlyMessages(): ZabMessage[] {
    const h = this.handedOut;
    if (h === null || h.hard !== null || !this.isLeading() || this.hardChanged(this.hardState())) return [];
    const { early, rest } = splitEarly(this.outbox, isLeaderBroadcast, h.lateRecipients);
    this.outbox = rest;
    return early;
  }

  advance(): void {
    const h = this.handedOut;
    if (h === null) throw new Error('zab: advance() called without a ready() to acknowledge');
    this.handedOut = null;
    if (h.snapshot !== null) this.log.snapshotInstalled(h.snapshot);
    if (h.lastEntry !== null) this.log.stableTo(h.lastEntry.index, h.lastEntry.term);
    if (h.appliedTo !== null) this.log.appliedTo(h.appliedTo);
    if (h.hard !== null) this.durableHard = h.hard;
    if (this.phase.kind === 'leading') this.leaderProgress();
    this.maybeHandOver();
    this.check();
  }

  compact(meta: SnapshotMeta, retainEntries: number): void {
    if (!Number.isSafeInteger(retainEntries) || retainEntries < 0) {
      throw new ConsensusError('bad_state', `zab compact: retainEntries must be a non-negative integer, got ${retainEntries}`);
    }
    const applied = this.log.appliedIndex();
    if (meta.index > applied) throw new ConsensusError('bad_state', `zab compact: snapshot index ${meta.index} is beyond the applied index ${applied}`);
    if (meta.index < (this.log.snapshot()?.index ?? 0)) return;
    const t = this.log.term(meta.index);
    if (t !== meta.term) throw new ConsensusError('bad_state', `zab compact: snapshot at ${meta.index} has epoch ${meta.term}, the history has ${String(t)}`);
    this.heldCompaction = { meta, retainEntries };
    this.compactLog();
    this.check();
  }

  /**
   * Forgets the records the last compact() allows (up to meta.index - retainEntries, never
   * past applied or stable ones), except those a slow learner still needs; keeps the request
   * while some are held, so that a later tick forgets them.
   */
  private compactLog(): void {
    const cap = Math.min(this.log.appliedIndex(), this.log.stableIndex());
    const offset = this.log.firstIndex() - 1;
    this.heldCompaction = compactHolding(this.heldCompaction, cap, offset, () => this.slowLearnerMatches(), (meta, to) => {
      this.log.compact(meta, to);
      this.configs.compactTo(this.log.firstIndex() - 1);
    });
  }

  /**
   * Leader: how far every learner we synchronize or broadcast to holds our log (heldBy), if it
   * answered lately (common/slow-peers.ts keeps the records after it, within its bound). Its
   * stream then goes on from records we still hold (sendLearner). A learner whose stream broke,
   * or that connected again, counts with what it held (departedHolds) until its new
   * synchronization starts (startSync forgets that): it comes back to a DIFF from what it holds
   * instead of a SNAP — as ZooKeeper's leader keeps its committed log and transaction log for
   * learners to DIFF from.
   */
  private slowLearnerMatches(): number[] {
    const held: number[] = [];
    if (this.phase.kind !== 'leading') return held;
    const answered = (tick: number): boolean => answeredWithinSilenceBound(this.ticks, tick, this.o.electionTimeoutTicks);
    for (const h of this.learners.values()) {
      const at = this.heldBy(h);
      if (at > 0 && answered(h.heardAtTick)) held.push(at);
    }
    for (const [id, d] of this.departedHolds) {
      // Silent since the break, or since it connected again and last spoke on its new handle.
      if (answered(Math.max(d.heardAtTick, this.learners.get(id)?.heardAtTick ?? -Infinity))) held.push(d.held);
      else this.departedHolds.delete(id);
    }
    return held;
  }

  reportSnapshotFailure(to: NodeId): void {
    // The SNAP did not reach the learner (the driver had no file of that snapshot yet, or the
    // transfer broke): its synchronization is put off as maySnap puts one off — the handle waits
    // with syncId 0 and the next heartbeat starts another (retryDeferredSyncs). The learner, still
    // waiting in its sync stage, takes the new SYNC. Dropping the handle instead left the learner
    // waiting out a sync limit of disagreeing PINGs before it asked again — and a new leader
    // still in its sync stage, which needs that learner's NEWLEADER acknowledgement, with it. A
    // failure that comes after the SNAP was acknowledged changes nothing; one from an earlier
    // transfer (the report names no synchronization) restarts the SNAP in flight: a transfer
    // more, not a wrong state (the learner takes only a newer syncId).
    const h = this.phase.kind === 'leading' ? this.learners.get(to) : undefined;
    if (h !== undefined && h.syncId !== 0 && !h.syncAcked) h.syncId = 0;
    this.check();
  }

  reportUnreachable(to: NodeId): void {
    this.unreachable.add(to);
    const p = this.phase;
    if (p.kind === 'leading') {
      // Its stream broke: what was in flight may be lost. It synchronizes again when it returns.
      const h = this.learners.get(to);
      if (h !== undefined) this.dropLearner(h);
    } else if (p.kind === 'following' && p.leader === to) {
      // ZooKeeper's learner goes LOOKING as soon as its connection to the leader breaks.
      this.startLooking();
    }
    this.check();
  }
  /**
   * Nothing changes: `unreachable` holds the peers that have sent nothing since their stream
   * broke, and what they send clears it — our stream to a peer connecting again says nothing
   * of whether its notifications reach us.
   */
  reportReachable(): void {}


  /**
   * Hand leadership to `to`, a data voter that follows us synchronized and answered within an
   * election timeout; anything else (a witness, an observer, ourselves, a stranger, a follower
   * not synchronized or silent) is ignored. ZooKeeper has no such call: the nearest is a
   * reconfiguration that drops its leader, where Leader.getDesignatedLeader picks the follower
   * that acknowledged the most and COMMITANDACTIVATE names it. Here proposals stop
   * ('transferring') until `to` acknowledged every record we hold, then handOver; a transfer not
   * done within an election timeout is abandoned and proposals resume. A witness hands over by
   * itself, to the first data voter able to take over (maybeHandOver).
   */
  transferLeadership(to: NodeId): void {
    if (!this.isLeading() || this.isWitness || to === this.id || !this.dataVoters.includes(to)) return;
    if (this.transfer?.to === to || !this.isSyncedFollower(to)) return;
    this.transfer = { to, sinceTick: this.ticks };
    this.maybeHandOver();
    this.check();
  }

  status(): CoreStatus {
    const progress: Record<string, { match: LogIndex; next: LogIndex; state: string }> = {};
    if (this.phase.kind === 'leading') {
      for (const h of this.learners.values()) progress[h.id] = { match: logIndex(h.match), next: logIndex(h.next), state: this.learnerState(h) };
    }
    return {
      id: this.id,
      role: this.role(),
      leader: this.leaderId(),
      term: toTerm(this.currentEpoch),
      commitIndex: this.log.commitIndex(),
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      progress,
      dataVotersHold: logIndex(this.phase.kind === 'leading' ? Math.max(this.dataVotersHold, this.computeDataVotersHold()) : this.dataVotersHold),
      // Above currentEpoch while an epoch is being discovered: the promise a lost ACKEPOCH made.
      promisedFence: toTerm(this.acceptedEpoch),
      members: this.view.seen,
      membershipPending: this.view.pendingIndex !== null,
    };
  }

  // =============================================================================================
  // Roles

  private isLeading(): boolean {
    return this.phase.kind === 'leading' && this.phase.stage === 'broadcast';
  }

  private leaderId(): NodeId | null {
    const p = this.phase;
    if (p.kind === 'leading') return p.stage === 'broadcast' ? this.id : null;
    if (p.kind === 'following') return p.stage === 'broadcast' ? p.leader : null;
    return null;
  }

  private role(): Role {
    const p = this.phase;
    switch (p.kind) {
      case 'looking':
        return this.isVoter ? 'candidate' : 'observer';
      case 'leading':
        return p.stage === 'broadcast' ? 'leader' : 'candidate';
      case 'following':
        return this.isWitness ? 'witness' : this.isVoter ? 'follower' : 'observer';
      default:
        return assertNever(p, 'zab phase');
    }
  }

  private peerState(): PeerState {
    switch (this.phase.kind) {
      case 'looking':
        return 'looking';
      case 'leading':
        return 'leading';
      case 'following':
        return this.isVoter ? 'following' : 'observing';
      default:
        return assertNever(this.phase, 'zab phase');
    }
  }

  private learnerState(h: LearnerHandle): string {
    if (h.upToDateSent) return 'broadcast';
    if (h.syncId > 0) return 'sync';
    return 'discovery';
  }

  // =============================================================================================
  // Fast Leader Election (FastLeaderElection.lookForLeader)

  /** Our history's summary, for ourselves — or, just after a hand-over, the vote for the data voter that took over (see handOver). */
  private ownVote(): Vote {
    // The other voters count a rejoining node's notifications as a voter's: it proposes the
    // weakest vote there is, and for another voter (it cannot lead), so no voter adopts it over
    // its own and none ever agrees on the rejoining node — not even in a cluster that never
    // established an epoch, where every vote is as weak.
    // So does a node no configuration of ours counts a voter (an observer, or one a change
    // removed): a member that missed the change may still count it one, and must not adopt its vote.
    if (this.rejoining || !this.isVoter) {
      const other = this.voters.find((v) => v !== this.id) ?? this.id;
      return { leader: other, epoch: toTerm(0), zxidEpoch: toTerm(0), zxidIndex: logIndex(0) };
    }
    return this.designatedVote ?? { leader: this.id, epoch: toTerm(this.currentEpoch), zxidEpoch: this.log.lastTerm(), zxidIndex: this.log.lastIndex() };
  }

  private beats(a: Vote, b: Vote): boolean {
    return voteBeats(a, b, (id) => this.witnesses.includes(id));
  }

  /** Leave whatever we did, start a new election round, and announce our own vote. */
  private startLooking(announce = true): void {
    const was = this.phase;
    if (was.kind === 'leading') this.stopLeading();
    if (was.kind === 'following') this.failForwardedReads();
    this.phase = { kind: 'looking' };
    this.silentTicks = 0;
    this.resetLearnerSync();
    this.followerEpoch = 0;
    this.round++;
    this.vote = this.ownVote();
    this.election = { received: new Map(), outOfElection: new Map(), finalizeAtTick: null, lastSendTick: this.ticks - this.o.heartbeatTicks, followerInfos: new Map(), sinceTick: this.ticks };
    if (this.isVoter) this.election.received.set(this.id, this.vote);
    if (!announce) return;
    this.election.lastSendTick = this.ticks;
    this.sendNotifications(this.voters);
    // A cluster of one voter needs nobody's agreement.
    this.maybeDecide();
  }

  private sendNotifications(to: readonly NodeId[]): void {
    for (const peer of to) if (peer !== this.id) this.sendNotification(peer);
  }

  private sendNotification(to: NodeId): void {
    this.send<NotificationMessage>({ type: 'notification', from: this.id, to, round: this.round, state: this.peerState(), vote: this.vote });
  }

  private tickLooking(): void {
    const e = this.election;
    if (e === null) throw new Error('zab: looking without an election');
    if (e.finalizeAtTick === null) {
      this.maybeDecide(); // a cluster of one voter needs nobody's agreement
      if (this.phase.kind !== 'looking') return;
    }
    if (e.finalizeAtTick !== null && this.ticks >= e.finalizeAtTick) {
      e.finalizeAtTick = null;
      if (this.quorumAgrees(e.received, this.vote)) {
        this.decide(this.vote.leader);
        return;
      }
    }
    // Notifications may be lost, and a voter that answered while LOOKING may have decided since:
    // announce again to every voter (ZooKeeper resends when no notification arrives in time).
    if (this.ticks - e.lastSendTick >= this.o.heartbeatTicks) {
      e.lastSendTick = this.ticks;
      this.sendNotifications(this.voters);
    }
  }

  private handleNotification(n: NotificationMessage): void {
    // Another voter gave up on the leader we follow, and we have not heard it for the shortest
    // sync limit either: the silence is not that voter's alone, so look too, and take its
    // notification as a LOOKING node (below). Else, with each follower's limit drawn in [T, 1.5T),
    // a silent leader would be replaced only when the last follower's limit ran out: a FOLLOWING
    // node answers LOOKING ones with its leader and never joins their election.
    if (this.corroboratesSilence(n)) this.startLooking();
    if (n.state === 'looking') {
      this.sendCommitPoint(n.from);
      this.sendSeenConfig(n.from);
    }
    const senderVotes = this.voters.includes(n.from);
    const p = this.phase;
    if (p.kind !== 'looking') {
      // The node we follow is LOOKING and votes for someone else, or looks in a round after the
      // one it was elected in (it gave up leading us, and counts only votes of its new round):
      // it will not lead us from here. Look again, and take its notification as a LOOKING node.
      // Not our own round: joined out of election, ours is whichever follower's completed the
      // agreement (ZOOKEEPER-1732), and a late LOOKING notification the leader sent before it
      // was elected would make us leave a healthy leader.
      if (p.kind === 'following' && p.leader === n.from && n.state === 'looking' && (n.vote.leader !== n.from || n.round > p.leaderRound)) {
        this.startLooking();
        this.handleNotification(n);
        return;
      }
      // Tell a LOOKING node who leads, so it joins without a new election.
      if (n.state === 'looking') this.sendNotification(n.from);
      return;
    }
    const e = this.election;
    if (e === null) throw new Error('zab: looking without an election');
    if (n.state === 'looking') {
      if (!senderVotes) {
        this.sendNotification(n.from);
        return;
      }
      if (n.round > this.round) {
        // A newer round: join it, starting again from the better of its vote and our own.
        this.round = n.round;
        e.received.clear();
        e.finalizeAtTick = null;
        const own = this.ownVote();
        // A hand-over's designation is the first vote of the round we look in next — this one
        // if we join it — and no later one: that is another election, decided by FLE order.
        this.designatedVote = null;
        this.vote = this.isVoter && !this.beats(n.vote, own) ? own : n.vote;
        if (this.isVoter) e.received.set(this.id, this.vote);
        this.sendNotifications(this.voters);
      } else if (n.round < this.round) {
        // Its round is over: tell it ours, so it catches up.
        this.sendNotification(n.from);
        return;
      } else if (this.beats(n.vote, this.vote)) {
        this.vote = n.vote;
        if (this.isVoter) e.received.set(this.id, this.vote);
        e.finalizeAtTick = null;
        this.sendNotifications(this.voters);
      }
      e.received.set(n.from, n.vote);
      this.maybeDecide();
      return;
    }
    // The sender is already FOLLOWING, LEADING or OBSERVING.
    if (!senderVotes && n.state === 'observing') return;
    if (n.round === this.round && senderVotes) {
      e.received.set(n.from, n.vote);
      // FLE's checkLeader: a voter of our round already follows our own vote, and a quorum
      // agrees on it — if everyone else thinks we lead, we lead (no finalize wait).
      const confirmed = n.vote.leader === this.id ? this.isVoter && sameVote(n.vote, this.vote) : this.leaderConfirmed(e, n.vote.leader);
      if (this.quorumAgrees(e.received, n.vote) && confirmed) {
        this.vote = n.vote;
        this.decide(n.vote.leader);
        return;
      }
    }
    e.outOfElection.set(n.from, { vote: n.vote, round: n.round, state: n.state });
    // Members that joined the leader at different times may hold different rounds and vote
    // details (ZOOKEEPER-1732): out of the election, agreeing on the leader is what counts.
    const agree: NodeId[] = [];
    for (const [id, o] of e.outOfElection) if (o.vote.leader === n.vote.leader) agree.push(id);
    if ((this.hasQuorum(agree) || this.joinsStaleConfigLeader(e, n)) && this.leaderConfirmed(e, n.vote.leader)) {
      // An established leader: follow it without a new election (FLE's outofelection).
      this.round = n.round;
      this.vote = n.vote;
      this.decide(n.vote.leader);
    }
  }

  /**
   * Whether `n` is a voter's new search for a leader while ours has been silent for at least T
   * (see handleNotification). Only a round after the one our leader was elected in counts, and
   * not from that leader: a node booting (its round starts again at 1), a notification of an
   * older round delayed on the wire, or the leader's own from before it was elected says nothing
   * of the leader now. Observers keep their own limit.
   */
  private corroboratesSilence(n: NotificationMessage): boolean {
    const p = this.phase;
    return (
      p.kind === 'following' && p.stage === 'broadcast' && this.isVoter && n.state === 'looking' && n.from !== p.leader &&
      n.round > p.leaderRound && this.voters.includes(n.from) && this.silentTicks >= this.o.electionTimeoutTicks
    );
  }

  /** checkLeader: we never follow a leader we have not heard say that it leads, nor one that just refused us. */
  private leaderConfirmed(e: Election, leader: NodeId): boolean {
    if (leader === this.id) return false;
    const r = this.refusedBy;
    if (r !== null && r.leader === leader && this.ticks - r.atTick < this.o.electionTimeoutTicks) return false;
    return e.outOfElection.get(leader)?.state === 'leading';
  }

  private quorumAgrees(votes: ReadonlyMap<NodeId, Vote>, v: Vote): boolean {
    const agreeing: NodeId[] = [];
    for (const [id, w] of votes) if (sameVote(w, v)) agreeing.push(id);
    return this.hasQuorum(agreeing);
  }

  /**
   * A quorum agrees with our vote: decide now if no better vote can come, else after
   * finalizeWait. None can when every voter has sent its vote of this round (we adopted the
   * best of them, and a voter announces its own history or a better one it heard) or has its
   * connection to us broken: waiting on a dead leader's notification only delays the failover.
   * The window is not a safety rule (a leader that learns of a newer history in ACKEPOCH abdicates).
   */
  private maybeDecide(): void {
    const e = this.election;
    if (e === null || !this.quorumAgrees(e.received, this.vote)) return;
    const settled = this.voters.every((v) => {
      const w = e.received.get(v);
      return w === undefined ? this.unreachable.has(v) : !this.beats(w, this.vote);
    });
    if (settled) {
      this.decide(this.vote.leader);
      return;
    }
    e.finalizeAtTick ??= this.ticks + FINALIZE_TICKS;
  }

  private decide(leader: NodeId): void {
    const early = this.election?.followerInfos;
    // The round the leader leads in: that of its LEADING notification (a node's round stands
    // still while it leads), else ours, in which a quorum just agreed on it.
    const heard = this.election?.outOfElection.get(leader);
    const leaderRound = heard?.state === 'leading' ? heard.round : this.round;
    this.election = null;
    this.designatedVote = null;
    this.silentTicks = 0;
    if (leader === this.id) {
      // Voters that have not seen our removal may agree on us: we are no voter, so look again.
      if (!this.isVoter) {
        this.startLooking();
        return;
      }
      this.startLeading();
      for (const m of early?.values() ?? EMPTY) this.handleFollowerInfo(m);
      return;
    }
    this.phase = { kind: 'following', leader, leaderRound, stage: 'discovery', since: this.ticks };
    this.followerSilenceTicks = this.drawFollowerSilenceTicks();
    this.connect(leader);
  }

  // =============================================================================================
  // Leader: discovery and synchronization (Leader.lead, LearnerHandler.run)

  private startLeading(): void {
    this.phase = { kind: 'leading', stage: 'discovery', since: this.ticks };
    this.forgetAnnouncedConfig();
    this.learners.clear();
    this.departedHeardAtTick.clear();
    this.departedHolds.clear();
    this.leaderEpoch = 0;
    // Our own FOLLOWERINFO: a quorum may be just us.
    this.maybeChooseEpoch();
  }

  private stopLeading(): void {
    for (const r of this.drainLeaderReads()) this.failRead(r, 'not_leader');
    // ZooKeeper's leader closes its learners' connections when it stops: they look again at once.
    for (const h of this.learners.values()) this.sendStaleEpoch(h.id);
    this.learners.clear();
    this.departedHeardAtTick.clear();
    this.departedHolds.clear();
    this.leaderEpoch = 0;
    this.transfer = null;
    this.proposalsWanted = false;
    this.readBroadcastWanted = false;
  }

  private handleFollowerInfo(m: FollowerInfoMessage): void {
    const p = this.phase;
    if (p.kind === 'looking') {
      // We may be about to lead it (FLE's finalize window): tell it our vote; it looks again
      // only if that vote is for another node (handleNotification). Keep its FOLLOWERINFO for
      // the moment we lead (decide).
      this.election?.followerInfos.set(m.from, m);
      this.sendNotification(m.from);
      return;
    }
    if (p.kind !== 'leading') {
      // It follows a node that does not lead: tell it, so it looks again at once (in ZooKeeper
      // its connection to our quorum port would be refused).
      this.sendStaleEpoch(m.from);
      return;
    }
    // A learner that claims a vote our configurations do not give it has not seen a change yet:
    // it is synchronized as an observer (our history, once it holds it, tells it so). A voter
    // that comes as an observer rejoins after losing its data directory (CoreOptions.rejoining):
    // it is synchronized as one, and counts toward nothing, until it comes back as a voter.
    const observer = m.observer || !this.voters.includes(m.from);
    // One that comes as an observer where a pending change makes it a voter has not seen that change: tell it.
    if (m.observer && this.voters.includes(m.from)) this.sendSeenConfig(m.from);
    const known = this.learners.get(m.from);
    if (known !== undefined && known.incarnation === m.incarnation && m.attempt <= known.attempt) {
      // A resent or duplicated FOLLOWERINFO of a connection we serve: answer it again, restart nothing.
      if (m.attempt === known.attempt && this.leaderEpoch !== 0 && !known.ackedEpoch) this.sendLeaderInfo(known);
      return;
    }
    // A (re)connecting learner starts over: a new handle, a new synchronization.
    if (known !== undefined) this.noteDeparted(known);
    const h: LearnerHandle = {
      id: m.from, observer, acceptedEpoch: m.acceptedEpoch, incarnation: m.incarnation, attempt: m.attempt, ackedEpoch: false, freshAck: false, lastIndex: 0, lastEpoch: 0, syncId: 0, syncLast: 0,
      syncAcked: false, newLeaderSent: false, newLeaderAcked: false, upToDateSent: false, next: 0, match: 0, syncPoint: 0, inflight: [], commitSent: 0, heardAtTick: this.ticks, sinceTick: this.ticks,
    };
    this.learners.set(m.from, h);
    if (this.leaderEpoch === 0) {
      this.maybeChooseEpoch();
      return;
    }
    // The epoch is chosen (and durable once we send): tell this learner.
    if (m.acceptedEpoch > this.leaderEpoch) {
      // It promised a newer epoch than ours — one a prospective leader chose (itself, perhaps)
      // in a discovery that never established it — so it cannot follow us: ZooKeeper's learner
      // fails registerWithLeader, and retries, left out until the leader changes. No replica
      // is left out here: we step down, and the next discovery chooses an epoch at least its
      // promise (above every acceptedEpoch of its quorum), which it can follow. Bounded: its
      // acceptedEpoch rises only in a discovery with a quorum, and each step down raises ours.
      // A voter rejoining after a lost disk follows as an observer, fenced at the highest
      // promise of its peers, and is let in the same way; an observer deposes no one (it counts
      // toward nothing): it waits for the next leader.
      this.learners.delete(m.from);
      this.sendStaleEpoch(m.from);
      if (this.voters.includes(m.from)) {
        this.steppedDownFor = Math.max(this.steppedDownFor, m.acceptedEpoch);
        this.startLooking();
      }
      return;
    }
    this.sendLeaderInfo(h);
  }

  /** getEpochToPropose: with FOLLOWERINFO from a quorum, the new epoch is above all their acceptedEpochs. */
  private maybeChooseEpoch(): void {
    const connected = [this.id, ...[...this.learners.values()].filter((h) => !h.observer).map((h) => h.id)];
    if (!this.hasQuorum(connected)) return;
    let max = Math.max(this.acceptedEpoch, this.steppedDownFor);
    for (const h of this.learners.values()) max = Math.max(max, h.acceptedEpoch);
    this.leaderEpoch = max + 1;
    this.acceptedEpoch = this.leaderEpoch;
    // LEADERINFO leaves only after acceptedEpoch is durable (it goes in Ready.messages).
    for (const h of this.learners.values()) this.sendLeaderInfo(h);
    this.maybeEstablishEpoch();
  }

  private sendStaleEpoch(to: NodeId): void {
    this.send<StaleEpochMessage>({ type: 'staleEpoch', from: this.id, to, epoch: toTerm(this.acceptedEpoch), currentEpoch: toTerm(this.currentEpoch) });
  }

  private sendLeaderInfo(h: LearnerHandle): void {
    this.send<LeaderInfoMessage>({ type: 'leaderInfo', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), attempt: h.attempt });
  }

  private handleAckEpoch(m: AckEpochMessage): void {
    const p = this.phase;
    if (p.kind !== 'leading' || m.epoch !== this.leaderEpoch) return;
    const h = this.learners.get(m.from);
    if (h === undefined || m.attempt !== h.attempt || h.ackedEpoch) return; // not this connection's, or a duplicate
    h.heardAtTick = this.ticks;
    const ours = { epoch: this.currentEpoch, last: zxid(this.log.lastTerm(), this.log.lastIndex()) };
    const theirs = { epoch: m.currentEpoch, last: zxid(m.lastEpoch, m.lastIndex) };
    if (!h.observer && p.stage === 'discovery' && (theirs.epoch > ours.epoch || (theirs.epoch === ours.epoch && compareZxid(theirs.last, ours.last) > 0))) {
      // Waitforepochack: a follower is ahead of us. Our history may lack what it holds: abdicate.
      this.startLooking();
      return;
    }
    h.ackedEpoch = true;
    h.freshAck = m.fresh;
    h.lastIndex = m.lastIndex;
    h.lastEpoch = m.lastEpoch;
    // In discovery, every acknowledged learner is synchronized once the epoch is established;
    // an observer once it is broadcasting (its history runs only to the commit point).
    if (p.stage === 'discovery') this.maybeEstablishEpoch();
    else if (!h.observer || p.stage === 'broadcast') this.startSync(h);
  }

  /** With ACKEPOCH from a quorum, the epoch is ours: currentEpoch = e, and every acked learner is synchronized. */
  private maybeEstablishEpoch(): void {
    const p = this.phase;
    if (p.kind !== 'leading' || p.stage !== 'discovery' || this.leaderEpoch === 0) return;
    // Only acknowledgements of an epoch the learner had not promised before count (the paper's
    // e' > f.p); the others are synchronized all the same.
    const acked = [this.id, ...[...this.learners.values()].filter((h) => h.ackedEpoch && h.freshAck && !h.observer).map((h) => h.id)];
    if (!this.hasQuorum(acked)) return;
    p.stage = 'sync';
    this.currentEpoch = this.leaderEpoch;
    for (const h of this.learners.values()) if (h.ackedEpoch && !h.observer) this.startSync(h);
    // A cluster whose quorum is us alone is established at once.
    this.leaderProgress();
  }

  /**
   * LearnerHandler.syncFollower: DIFF when the learner's last zxid is in our history; TRUNC to
   * the last record both hold when it has records we lack; SNAP when what it needs is
   * compacted away. Then the proposals it lacks and NEWLEADER. A learner we may not SNAP (see
   * maySnap) is not synchronized for now: its handle waits with syncId 0 and is tried again on
   * each heartbeat (retryDeferredSyncs), and the learner, hearing syncId 0, asks again too.
   */
  private startSync(h: LearnerHandle): void {
    h.syncId = 0;
    h.syncAcked = false;
    h.newLeaderSent = false;
    h.newLeaderAcked = false;
    h.upToDateSent = false;
    h.inflight = [];
    h.match = 0;
    h.syncPoint = 0;
    h.commitSent = 0;
    const offset = this.log.firstIndex() - 1;
    // An observer's history never runs past what is committed.
    const cap = h.observer ? this.log.commitIndex() : this.log.lastIndex();
    h.syncLast = cap;
    let mode: SyncMessage['mode'] = 'diff';
    let point = h.lastIndex;
    let known = h.lastIndex <= this.log.lastIndex() && this.log.term(h.lastIndex) === h.lastEpoch;
    if (!known) {
      // The learner holds records we do not: cut back to the newest of ours below its last zxid.
      const found = this.log.findConflictByTerm(h.lastIndex <= this.log.lastIndex() ? h.lastIndex - 1 : this.log.lastIndex(), h.lastEpoch);
      mode = 'trunc';
      point = found.index;
      known = found.index === 0 || found.term > 0;
    }
    if (point > cap) {
      mode = 'trunc';
      point = cap;
    }
    if (!known || point < offset) {
      if (!this.maySnap(h)) return;
      const snapshot = this.log.snapshot();
      if (snapshot === null) throw new Error(`zab: ${h.id} needs records before ${this.log.firstIndex()} but there is no snapshot`);
      h.syncId = ++this.syncSerial;
      this.departedHolds.delete(h.id); // it is synchronized from the snapshot now
      this.send<SyncMessage>({
        type: 'sync', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), attempt: h.attempt, syncId: h.syncId, mode: 'snap',
        index: snapshot.index, indexEpoch: snapshot.term, snapshot,
      });
      h.next = snapshot.index + 1;
    } else {
      h.syncId = ++this.syncSerial;
      this.send<SyncMessage>({
        type: 'sync', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), attempt: h.attempt, syncId: h.syncId, mode,
        index: logIndex(point), indexEpoch: this.log.term(point) ?? toTerm(0),
      });
      h.next = point + 1;
      h.syncPoint = point;
      this.departedHolds.delete(h.id); // its new synchronization holds from `point` (heldBy)
      // DIFF and TRUNC travel on the learner's ordered stream, ahead of the proposals and
      // NEWLEADER that follow them (LearnerHandler queues all of them at once): no need to wait
      // for the learner's acknowledgement. A learner that refuses the SYNC ignores the rest.
      h.syncAcked = true;
    }
    this.sendLearner(h);
  }

  /**
   * May `h` be synchronized from our snapshot? Not by a witness: it keeps no database, so its
   * "snapshot" is only the point below which it forgot records (every data voter holds them; an
   * observer that needs them waits for a data voter to lead). And a witness learner takes a
   * SNAP only at or below dataHold: it forgets every record below the snapshot, and a witness
   * elected later holding nothing a lagging data voter lacks could bring no one up to date.
   */
  private maySnap(h: LearnerHandle): boolean {
    if (this.isWitness) return false;
    const snapshot = this.log.snapshot();
    return !(this.witnesses.includes(h.id) && snapshot !== null && snapshot.index > this.computeDataVotersHold());
  }

  /** Learners whose synchronization startSync put off (see maySnap): try again. */
  private retryDeferredSyncs(): void {
    const p = this.phase;
    if (p.kind !== 'leading' || p.stage === 'discovery') return;
    for (const h of this.learners.values()) {
      if (h.ackedEpoch && h.syncId === 0 && (!h.observer || p.stage === 'broadcast')) this.startSync(h);
    }
  }

  /** Send what flow control allows: the proposals before NEWLEADER, NEWLEADER, then broadcast traffic. */
  private sendLearner(h: LearnerHandle): void {
    if (h.syncId === 0 || !h.syncAcked) return;
    if (h.next <= this.log.firstIndex() - 1) {
      // What it needs next was compacted away meanwhile: synchronize it from the snapshot.
      h.lastIndex = 0;
      h.lastEpoch = 0;
      this.startSync(h);
      return;
    }
    const window = this.o.inflightMessagesMax;
    while (h.inflight.length < window) {
      const limit = h.newLeaderSent ? (h.observer ? this.log.commitIndex() : this.log.lastIndex()) : h.syncLast;
      if (h.next > limit) break;
      const entries = this.log.slice(h.next, limit, this.o.entriesPerMessageMax, this.o.bytesPerMessageMax);
      const last = h.next + entries.length - 1;
      const commit = logIndex(Math.min(this.log.commitIndex(), last));
      h.commitSent = Math.max(h.commitSent, commit);
      if (h.observer && h.newLeaderSent) {
        this.send<InformMessage>({ type: 'inform', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), syncId: h.syncId, entries, commit });
      } else {
        this.send<ProposalMessage>({ type: 'proposal', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), syncId: h.syncId, entries, commit });
      }
      h.inflight.push(last);
      h.next = last + 1;
    }
    if (!h.newLeaderSent && h.next > h.syncLast) {
      h.newLeaderSent = true;
      this.send<NewLeaderMessage>({ type: 'newLeader', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), syncId: h.syncId, lastIndex: logIndex(h.syncLast) });
    }
  }

  private sendToAllLearners(): void {
    for (const h of this.learners.values()) {
      this.sendLearner(h);
      // A follower past NEWLEADER with nothing new to receive still hears of a new commit point.
      if (h.newLeaderSent && !h.observer) this.sendCommit(h);
    }
  }

  private sendCommit(h: LearnerHandle): void {
    const index = Math.min(this.log.commitIndex(), h.next - 1);
    if (index <= h.commitSent) return;
    h.commitSent = index;
    this.send<CommitMessage>({ type: 'commit', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), index: logIndex(index) });
  }

  private handleAck(m: AckMessage): void {
    const p = this.phase;
    if (p.kind !== 'leading' || m.epoch !== this.leaderEpoch) return;
    const h = this.learners.get(m.from);
    if (h === undefined || m.syncId !== h.syncId) return;
    h.heardAtTick = this.ticks;
    if (m.newLeader && h.newLeaderSent) h.newLeaderAcked = true;
    this.acknowledged(h, m.index);
  }

  /**
   * Establishment (a quorum acknowledged NEWLEADER: the initial history is committed, send
   * UPTODATE), then the broadcast commit rule: a proposal of our epoch acknowledged by a quorum.
   */
  private leaderProgress(): void {
    const p = this.phase;
    if (p.kind !== 'leading' || p.stage === 'discovery') return;
    const selfDurable = this.durableHard.currentEpoch === this.leaderEpoch && this.log.stableIndex() === this.log.lastIndex();
    if (p.stage === 'sync') {
      const acked = [...this.learners.values()].filter((h) => h.newLeaderAcked && !h.observer).map((h) => h.id);
      if (selfDurable) acked.push(this.id);
      if (!this.hasQuorum(acked)) return;
      p.stage = 'broadcast';
      this.silentTicks = 0;
      // Every record of the initial history is now on a quorum with the new epoch: committed.
      this.log.commitTo(this.log.lastIndex());
      this.refreshMembers();
      this.proposalsWanted = true;
      for (const r of this.readsAwaitingEstablishment.splice(0)) this.registerRead(r);
      for (const h of this.learners.values()) if (h.observer && h.ackedEpoch && h.syncId === 0) this.startSync(h);
    }
    const stable = this.durableHard.currentEpoch === this.leaderEpoch ? this.log.stableIndex() : 0;
    const match = (id: NodeId): number => {
      if (id === this.id) return stable;
      const h = this.learners.get(id);
      return h !== undefined && h.newLeaderAcked ? h.match : 0;
    };
    // tryToCommit: a quorum of every configuration that counts (both while a reconfig is pending).
    const q = quorumValueOfAll(this.voterSets, match);
    if (q > this.log.commitIndex() && this.log.term(q) === this.leaderEpoch) {
      this.log.commitTo(q);
      this.proposalsWanted = true;
      this.refreshMembers();
      if (this.phase.kind !== 'leading') return;
    }
    for (const h of this.learners.values()) {
      if (h.newLeaderAcked && !h.upToDateSent) {
        h.upToDateSent = true;
        this.send<UpToDateMessage>({ type: 'upToDate', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), commit: logIndex(Math.min(this.log.commitIndex(), h.next - 1)) });
      }
    }
  }

  private tickLeading(): void {
    const p = this.phase;
    if (p.kind !== 'leading') return;
    if (p.stage !== 'broadcast') {
      if (this.ticks - p.since >= INIT_LIMIT_ELECTIONS * this.o.electionTimeoutTicks) this.startLooking();
      // No PING before the epoch is chosen: one of epoch 0 is refused by every learner of an
      // earlier epoch (STALEEPOCH), which deposed the prospective leader mid-discovery.
      else if (this.ticks % this.o.heartbeatTicks === 0 && this.leaderEpoch !== 0) this.heartbeat();
      return;
    }
    // syncLimit: a leader that has not heard from a quorum of its followers within a sync limit
    // steps down. A follower counts from its FOLLOWERINFO on, while it synchronizes too, for an
    // initLimit and a sync limit from then (ZooKeeper's LearnerHandler.synced(): the deadline is
    // initLimit + syncLimit from the connection until it is synchronized, then a sync limit from
    // its last packet). Counting only those past NEWLEADER deposed a leader whose quorum was
    // intact when a partition moved from one follower to the other: the healed one, answering
    // every PING while it synchronized again, did not count, the newly cut one fell silent, and
    // an election followed that the heal should have avoided. Commits still count only
    // synchronized copies. A follower whose stream broke counts until its sync limit runs out
    // too, as Raft's CheckQuorum counts a peer heard in its window: the leader drops its handle
    // at the break, and used to step down at its next tick — an instant after such a shift,
    // before the healed follower could even connect again.
    const live = [this.id];
    for (const h of this.learners.values()) {
      if (this.countsTowardSyncLimit(h) && this.ticks - h.heardAtTick < this.o.electionTimeoutTicks) live.push(h.id);
    }
    for (const [id, heard] of this.departedHeardAtTick) {
      if (this.learners.has(id) || this.ticks - heard >= this.o.electionTimeoutTicks) this.departedHeardAtTick.delete(id);
      else live.push(id);
    }
    if (!this.hasQuorum(live)) {
      this.startLooking();
      return;
    }
    // A transfer that took an election timeout has failed, as has one whose target dropped out
    // of synchronization or fell silent: lead on, taking proposals again.
    const t = this.transfer;
    if (t !== null && (this.ticks - t.sinceTick >= this.o.electionTimeoutTicks || !this.isSyncedFollower(t.to))) this.transfer = null;
    if (this.leaveAfterReconfig()) return;
    if (this.ticks % this.o.heartbeatTicks === 0) this.heartbeat();
    this.maybeHandOver();
  }

  /**
   * A follower (not an observer) synchronized, or still within an initLimit and a sync limit of
   * its FOLLOWERINFO. A learner that connects again starts that window again, as a new
   * LearnerHandler in ZooKeeper does; the learner itself gives up synchronizing after an
   * initLimit (tickFollowing), so it cannot hold a leader that commits nothing for long.
   */
  private countsTowardSyncLimit(h: LearnerHandle): boolean {
    return !h.observer && (h.newLeaderAcked || this.ticks - h.sinceTick < (INIT_LIMIT_ELECTIONS + 1) * this.o.electionTimeoutTicks);
  }

  /** The learner's stream broke or its synchronization failed: it counts toward the sync limit as long as it would have. */
  private dropLearner(h: LearnerHandle): void {
    if (this.countsTowardSyncLimit(h)) this.departedHeardAtTick.set(h.id, h.heardAtTick);
    this.noteDeparted(h);
    this.learners.delete(h.id);
  }

  /** A learner's handle goes: what it held of our log keeps records for it while it comes back (departedHolds). */
  private noteDeparted(h: LearnerHandle): void {
    const held = this.heldBy(h);
    if (held > 0) this.departedHolds.set(h.id, { held, heardAtTick: h.heardAtTick });
  }

  /**
   * How far a learner holds our log: what it acknowledged, or the point its DIFF or TRUNC
   * starts from (0: nothing known yet — a SNAP not acknowledged, or no synchronization).
   */
  private heldBy(h: LearnerHandle): number {
    return h.syncId === 0 ? 0 : Math.max(h.match, h.syncPoint);
  }

  private heartbeat(): void {
    this.retryDeferredSyncs();
    this.broadcastPing();
  }

  private broadcastPing(): void {
    const readSeq = this.readOnly.currentSeq();
    const dataHold = this.computeDataVotersHold();
    for (const to of this.peers) {
      // A peer we hold no synchronization for hears syncId 0: if it thinks it follows us, it asks for one.
      const h = this.learners.get(to);
      const sent = h === undefined || h.syncId === 0 || !h.syncAcked ? 0 : h.next - 1;
      const commit = Math.min(this.log.commitIndex(), sent);
      if (h !== undefined) h.commitSent = Math.max(h.commitSent, commit);
      this.send<PingMessage>({
        type: 'ping', from: this.id, to, epoch: toTerm(this.leaderEpoch), syncId: h?.syncId ?? 0,
        lastIndex: logIndex(sent), commit: logIndex(commit), upToDate: h?.upToDateSent === true, readSeq, dataHold: logIndex(Math.min(dataHold, commit)),
      });
      // A NEWLEADER whose acknowledgement never came is sent again.
      if (h !== undefined && h.newLeaderSent && !h.newLeaderAcked) {
        this.send<NewLeaderMessage>({ type: 'newLeader', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), syncId: h.syncId, lastIndex: logIndex(h.syncLast) });
      }
    }
  }

  private handlePingAck(m: PingAckMessage): void {
    const p = this.phase;
    if (p.kind !== 'leading' || m.epoch !== this.leaderEpoch) return;
    const h = this.learners.get(m.from);
    if (h === undefined) return;
    h.heardAtTick = this.ticks;
    // It also acknowledges what is durable there: an ACK lost on the way no longer holds the window shut.
    if (m.syncId === h.syncId && h.syncId !== 0) this.acknowledged(h, m.index);
    if (!h.observer && h.newLeaderAcked && this.isLeading()) this.deliverReads(this.readOnly.ack(m.from, m.readSeq));
  }

  private acknowledged(h: LearnerHandle, index: number): void {
    h.syncAcked = true;
    if (index > h.match) h.match = Math.min(index, h.next - 1);
    while (h.inflight.length > 0 && (h.inflight[0] ?? Infinity) <= index) h.inflight.shift();
    this.leaderProgress();
    this.sendLearner(h);
    this.maybeHandOver();
  }

  /**
   * How far every data voter durably holds the log: what the current synchronization shows
   * (each data voter's acknowledged records, 0 for one not heard from) or what this node
   * learned before — an earlier value of its own as leader, or a PING's dataHold — whichever
   * is higher. A committed record that every data voter holds durably stays held (committed
   * records are never truncated; losing a disk is a declared failure), so what was learned
   * stays true across disconnections and epochs. Counting only the current synchronization,
   * a data voter that was down made it 0: a witness behind the leader's compaction point could
   * then get no SNAP, and 2 data voters + 1 witness stopped committing with one data voter
   * down (found by the review of the witness core).
   */
  private computeDataVotersHold(): number {
    let hold: number = this.log.commitIndex();
    for (const id of this.dataVoters) {
      // Only copies already of our epoch count (our own once it is durable, a learner's once it
      // acknowledged NEWLEADER), as in leaderProgress: before that, a record pending in another
      // history (a data voter's promotion our view lacks) may still win an election and put in
      // force a data voter our view does not count (found by the review of witness changes).
      if (id === this.id) hold = Math.min(hold, this.durableHard.currentEpoch === this.leaderEpoch ? this.log.stableIndex() : 0);
      else {
        const h = this.learners.get(id);
        hold = Math.min(hold, h !== undefined && h.newLeaderAcked ? h.match : 0);
      }
    }
    this.dataVotersHold = Math.max(this.dataVotersHold, hold);
    const own = this.isWitness ? this.log.commitIndex() : Math.min(this.log.commitIndex(), this.log.stableIndex());
    return Math.min(this.dataVotersHold, own);
  }

  /**
   * A witness leads only to bring a data voter up to date (it may hold records no live data
   * voter has, and must not lose them): once established — its whole history committed — and a
   * data voter acknowledged NEWLEADER and every record we hold, it stops leading for that data
   * voter. Accepting no proposals, our history stays put. A leader transferring leadership does
   * the same for its target, once that target holds every record.
   */
  private maybeHandOver(): void {
    if (!this.isLeading()) return;
    if (this.isWitness) {
      for (const h of this.learners.values()) {
        if (this.holdsAll(h)) {
          this.handOver(h.id);
          return;
        }
      }
      return;
    }
    const target = this.transfer === null ? undefined : this.learners.get(this.transfer.to);
    if (target !== undefined && this.holdsAll(target)) this.handOver(target.id);
  }

  /** A data voter synchronized with us that acknowledged, durably, every record we hold. */
  private holdsAll(h: LearnerHandle): boolean {
    return !h.observer && this.dataVoters.includes(h.id) && h.newLeaderAcked && h.match >= this.log.lastIndex();
  }

  /** `id` follows us synchronized (NEWLEADER acknowledged) and answered within an election timeout. */
  private isSyncedFollower(id: NodeId): boolean {
    const h = this.learners.get(id);
    return h !== undefined && !h.observer && h.newLeaderAcked && this.ticks - h.heardAtTick < this.o.electionTimeoutTicks;
  }

  /**
   * Stop leading for `to`, which holds every record we hold (holdsAll): its vote — our epoch,
   * our last zxid, its id — is what we vote first, and what HANDOVER tells every synchronized
   * follower to vote first. In the normal case every voter then starts the next round with the
   * same vote and FLE decides on the first exchange of notifications (no finalize wait once each
   * voter's has arrived), with no tie broken by id. ZooKeeper's followers, told a designated
   * leader by COMMITANDACTIVATE, skip FLE and follow it; here they still run FLE, so a HANDOVER
   * that is lost, late or overtaken leaves an ordinary election (that follower votes for itself,
   * FLE's order decides). Safe either way: a vote only picks who runs discovery, whose epoch
   * above a quorum's acceptedEpoch and abdication on a newer ACKEPOCH history decide as after
   * any election. The followers told go LOOKING on HANDOVER; the others (observers, learners
   * not yet synchronized) get STALEEPOCH as when any leader stops (stopLeading).
   */
  private handOver(to: NodeId): void {
    const vote: Vote = { leader: to, epoch: toTerm(this.currentEpoch), zxidEpoch: this.log.lastTerm(), zxidIndex: this.log.lastIndex() };
    for (const h of [...this.learners.values()]) {
      if (h.observer || !h.newLeaderAcked) continue;
      this.send<HandOverMessage>({ type: 'handOver', from: this.id, to: h.id, epoch: toTerm(this.leaderEpoch), vote });
      this.learners.delete(h.id);
    }
    this.designatedVote = vote;
    this.startLooking();
  }

  // =============================================================================================
  // Learner: discovery, synchronization, broadcast (Learner, Follower, Observer)

  /** A new connection to `leader` (ZooKeeper: connect, then FOLLOWERINFO). */
  private connect(leader: NodeId): void {
    this.attempt++;
    this.sendFollowerInfo(leader);
  }

  private drawFollowerSilenceTicks(): number {
    const r = this.o.random();
    if (!(r >= 0 && r < 1)) throw new ConsensusError('bad_config', `random must return numbers in [0, 1), returned ${String(r)}.`);
    const t = this.o.electionTimeoutTicks;
    return t + Math.floor((r * t) / 2);
  }

  private sendFollowerInfo(leader: NodeId): void {
    this.send<FollowerInfoMessage>({
      type: 'followerInfo', from: this.id, to: leader, epoch: toTerm(this.currentEpoch),
      acceptedEpoch: toTerm(this.acceptedEpoch), observer: !this.isVoter, incarnation: this.incarnation, attempt: this.attempt,
    });
  }

  private tickFollowing(): void {
    const p = this.phase;
    if (p.kind !== 'following') return;
    this.silentTicks++;
    // syncLimit once synchronized. A leader that does not answer FOLLOWERINFO within a sync
    // limit is not coming (it died, or decided otherwise): look again rather than wait out the
    // initLimit, which is for a synchronization that is under way (a large DIFF or SNAP).
    const sinceDiscovery = this.ticks - p.since;
    const expired =
      p.stage === 'broadcast' ? this.silentTicks >= this.followerSilenceTicks
      : p.stage === 'discovery' ? sinceDiscovery >= this.o.electionTimeoutTicks
      : sinceDiscovery >= INIT_LIMIT_ELECTIONS * this.o.electionTimeoutTicks;
    if (expired) {
      this.startLooking();
      return;
    }
    // FOLLOWERINFO may be lost: ask again until the leader answers.
    if (p.stage === 'discovery' && (this.ticks - p.since) % this.o.heartbeatTicks === 0) this.sendFollowerInfo(p.leader);
  }

  /** Messages only our leader may send; anything else is stale or not for us. */
  private fromOurLeader(m: ZabMessage & { readonly epoch: number }): boolean {
    const p = this.phase;
    if (m.epoch < this.acceptedEpoch) {
      // An older epoch's leader: it is deposed, and should learn so.
      this.sendStaleEpoch(m.from);
      return false;
    }
    if (p.kind !== 'following' || p.leader !== m.from) return false;
    if (m.type !== 'leaderInfo' && m.epoch !== this.followerEpoch) {
      // Our leader leads a newer epoch than the one we synchronized in: it was elected again
      // while we did not look (in ZooKeeper our connection would have been closed). Reconnect.
      if (m.epoch > this.followerEpoch && p.stage !== 'discovery') this.resync(m.from);
      return false;
    }
    return true;
  }

  private handleLeaderInfo(m: LeaderInfoMessage): void {
    // The answer to a FOLLOWERINFO of a connection we gave up (kept by a node that was still
    // LOOKING, see decide): not for us, nor is its epoch, chosen from the acceptedEpoch we had
    // then. Taking it would send an ACKEPOCH the leader ignores (its handle is of the old
    // attempt) and leave us in 'sync', no longer sending FOLLOWERINFO; ignored, we resend the
    // current one on our heartbeat and the leader serves that.
    if (m.attempt !== this.attempt) return;
    const p = this.phase;
    if (p.kind === 'following' && p.leader === m.from && m.epoch < this.acceptedEpoch) {
      // Our leader proposes an epoch below one we promised: we cannot follow it (Learner.registerWithLeader).
      this.sendStaleEpoch(m.from);
      this.startLooking();
      return;
    }
    if (!this.fromOurLeader(m) || p.kind !== 'following') return;
    // Only the answer to our FOLLOWERINFO counts; a resent or duplicated one is ignored.
    if (p.stage !== 'discovery') return;
    // Persist acceptedEpoch before answering: ACKEPOCH goes in Ready.messages, after the persist.
    // Fresh unless we promised this epoch before, to a leader other than this one.
    const fresh = m.epoch > this.acceptedEpoch || this.acceptedFrom === m.from;
    this.acceptedEpoch = m.epoch;
    // The promise stays with the leader it was given to: a repeat to another leader of the
    // same epoch is not fresh, and must not make the next one to that leader fresh either.
    if (fresh) this.acceptedFrom = m.from;
    this.followerEpoch = m.epoch;
    p.stage = 'sync';
    this.resetLearnerSync();
    // After a SYNC of this same leader and epoch that our history disagreed with (it is past
    // discovery, having judged our full history), we claim only our committed prefix, which its
    // history holds (and it then cuts the rest).
    const c = this.claimCommittedFor;
    const claimCommitted = c !== null && c.leader === m.from && c.epoch === m.epoch;
    this.claimCommittedFor = null;
    const claim = claimCommitted ? this.log.commitIndex() : this.log.lastIndex();
    this.send<AckEpochMessage>({
      type: 'ackEpoch', from: this.id, to: m.from, epoch: m.epoch, attempt: this.attempt, fresh, currentEpoch: toTerm(this.currentEpoch),
      lastEpoch: this.log.term(claim) ?? toTerm(0), lastIndex: logIndex(claim),
    });
  }

  /** Ask the leader to synchronize us again: FOLLOWERINFO on a new connection, as on a reconnect. */
  private resync(leader: NodeId): void {
    const p = this.phase;
    if (p.kind !== 'following') return;
    p.stage = 'discovery';
    p.since = this.ticks;
    this.resetLearnerSync();
    this.connect(leader);
  }

  private resetLearnerSync(): void {
    this.syncId = 0;
    this.earlyProposals = [];
    this.pendingNewLeader = null;
    this.anomalySinceTick = null;
    this.prevPingLast = 0;
  }

  private handleSync(m: SyncMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch || p.stage !== 'sync' || m.attempt !== this.attempt) return;
    if (m.syncId < this.syncId) return; // an older synchronization
    if (m.syncId === this.syncId) {
      this.ackDurable(m.from); // a duplicate: our acknowledgement may have been lost
      return;
    }
    switch (m.mode) {
      case 'snap': {
        const meta = m.snapshot;
        if (meta === undefined) throw new ConsensusError('bad_message', `zab message: SNAP from ${m.from} carries no snapshot`);
        if (meta.index <= this.log.commitIndex()) {
          // We hold that prefix committed already; a DIFF from our commit point will do.
          this.claimCommittedPrefix(m.from);
          return;
        }
        this.log.restore(meta);
        this.configs.restore(meta.index, meta.term, meta.members);
        break;
      }
      case 'diff':
      case 'trunc': {
        if (m.index < this.log.commitIndex() || this.log.term(m.index) !== m.indexEpoch) {
          // Our record there is not the leader's: fall back to our committed prefix, which every
          // leader's history contains.
          this.claimCommittedPrefix(m.from);
          return;
        }
        this.log.truncateAfter(m.index);
        break;
      }
      default:
        assertNever(m.mode, 'zab sync mode');
    }
    this.syncId = m.syncId;
    this.anomalySinceTick = null;
    this.refreshMembers();
    // After a SNAP the leader streams the proposals once it hears that the SNAP took effect (its
    // bytes travel over their own stream, apart from them); after a DIFF or TRUNC it does not
    // wait, and what of them overtook this SYNC was held for it (see holdAheadOfSync).
    this.drainEarlyProposals();
    if (this.syncId !== m.syncId) return; // a held proposal disagreed with our history: resynchronizing
    this.afterProposals(m.from);
  }

  /**
   * A proposal or NEWLEADER of a synchronization after ours, while we wait for its SYNC: it
   * overtook the SYNC (a network that reorders; the leader sends them in one turn). Hold it
   * for that SYNC, which drops whatever belongs to another synchronization (drainEarlyProposals).
   */
  private holdAheadOfSync(m: ProposalMessage | InformMessage | NewLeaderMessage): void {
    const p = this.phase;
    if (p.kind !== 'following' || p.stage !== 'sync' || m.syncId <= this.syncId) return;
    if (m.type !== 'newLeader') {
      if (m.entries.length > 0 && this.earlyProposals.length < EARLY_PROPOSALS_MAX) this.earlyProposals.push(m);
      return;
    }
    // The newest: the leader synchronizes us next from its latest SYNC, so a reordered older
    // NEWLEADER must not replace a newer one held.
    if (this.pendingNewLeader === null || m.syncId > this.pendingNewLeader.syncId) this.pendingNewLeader = m;
  }

  private claimCommittedPrefix(leader: NodeId): void {
    this.claimCommittedFor = { leader, epoch: this.followerEpoch };
    this.resync(leader);
  }

  private handleProposal(m: ProposalMessage | InformMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch) return;
    if (m.syncId !== this.syncId || this.syncId === 0) {
      this.holdAheadOfSync(m);
      return;
    }
    const first = m.entries[0];
    if (first !== undefined && first.index > this.log.lastIndex() + 1) {
      // Ahead of a proposal still on the way (or lost: PINGs tell, see handlePing). Hold it.
      if (this.earlyProposals.length < EARLY_PROPOSALS_MAX) this.earlyProposals.push(m);
      return;
    }
    if (!this.appendProposals(m)) return;
    this.drainEarlyProposals();
    this.afterProposals(m.from);
  }

  /** Appends what is new in `m` (it starts at or before our last + 1); false after a resync. */
  private appendProposals(m: ProposalMessage | InformMessage): boolean {
    const fresh: Entry[] = [];
    for (const e of m.entries) {
      if (e.index <= this.log.lastIndex()) {
        // Already held: after a SYNC our history is a prefix of the leader's, so it must agree.
        if (e.index > this.log.firstIndex() - 1 && this.log.term(e.index) !== e.term) {
          this.resync(m.from);
          return false;
        }
        continue;
      }
      fresh.push(e);
    }
    if (fresh.length > 0) this.log.append(fresh);
    this.learnCommit(m.commit);
    this.refreshMembers();
    return true;
  }

  private drainEarlyProposals(): void {
    for (let progress = true; progress && this.earlyProposals.length > 0; ) {
      progress = false;
      const held = this.earlyProposals;
      this.earlyProposals = [];
      for (const m of held) {
        if (m.syncId < this.syncId) continue; // an earlier synchronization's
        const first = m.entries[0];
        if (m.syncId > this.syncId || first === undefined || first.index > this.log.lastIndex() + 1) {
          this.earlyProposals.push(m);
          continue;
        }
        if (!this.appendProposals(m)) return;
        progress = true;
      }
    }
  }

  /** After proposals arrived: a NEWLEADER held for them may now be taken; acknowledge. */
  private afterProposals(leader: NodeId): void {
    const p = this.phase;
    if (p.kind !== 'following') return;
    const nl = this.pendingNewLeader;
    if (nl !== null && nl.syncId === this.syncId && this.log.lastIndex() >= nl.lastIndex) {
      this.pendingNewLeader = null;
      this.takeNewLeader(nl);
      return;
    }
    if (p.stage === 'synced' || p.stage === 'broadcast') this.silentTicks = 0;
    // Acknowledged during synchronization too, to keep the leader's window open; the leader
    // counts them toward a quorum only after our NEWLEADER acknowledgement.
    this.ackDurable(leader);
  }

  /** ACK: sent after this Ready's persist, so everything up to our last record is durable then. */
  private ackDurable(leader: NodeId, newLeader = false): void {
    this.send<AckMessage>({ type: 'ack', from: this.id, to: leader, epoch: toTerm(this.followerEpoch), syncId: this.syncId, index: this.log.lastIndex(), newLeader });
  }

  private learnCommit(commit: number): void {
    const p = this.phase;
    // Only a history synchronized with this leader may commit by its word.
    if (p.kind !== 'following' || this.syncId === 0) return;
    this.log.commitTo(Math.min(commit, this.log.lastIndex()));
    this.refreshMembers();
  }

  private handleNewLeader(m: NewLeaderMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch) return;
    if (m.syncId !== this.syncId || this.syncId === 0) {
      this.holdAheadOfSync(m);
      return;
    }
    if (p.stage !== 'sync') {
      // Resent because our acknowledgement was lost: acknowledge again.
      if (p.stage === 'synced' || p.stage === 'broadcast') this.ackDurable(m.from, true);
      return;
    }
    if (this.log.lastIndex() < m.lastIndex) {
      this.pendingNewLeader = m; // some proposals before it are still on the way
      return;
    }
    this.takeNewLeader(m);
  }

  private takeNewLeader(m: NewLeaderMessage): void {
    const p = this.phase;
    if (p.kind !== 'following') return;
    // Our history is the leader's initial history now: it holds every reconfiguration that counts.
    this.forgetAnnouncedConfig();
    // Persisted before the acknowledgement leaves (it goes in Ready.messages).
    this.currentEpoch = m.epoch;
    p.stage = 'synced';
    this.silentTicks = 0;
    this.ackDurable(m.from, true);
  }

  private handleUpToDate(m: UpToDateMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch || p.stage !== 'synced') return;
    p.stage = 'broadcast';
    this.learnCommit(m.commit);
  }

  private handleCommit(m: CommitMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch) return;
    if (p.stage !== 'synced' && p.stage !== 'broadcast') return;
    this.silentTicks = 0;
    this.learnCommit(m.index);
  }

  /**
   * PING: the leader's view of our synchronization. It disagreeing with ours, with no proposal
   * arriving meanwhile, for longer than messages take means something was lost (a SYNC, a
   * proposal): synchronize again. On a FIFO stream that never happens without the stream
   * breaking, which already sends us LOOKING. PINGs travel on a lane of their own (see
   * orderFree in index.ts), so one may overtake proposals still on the wire — a record near
   * the request size limit takes longer than a heartbeat to arrive — and being behind the
   * previous PING is a loss only once proposals stop arriving.
   */
  private handlePing(m: PingMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || m.epoch !== this.followerEpoch || p.stage === 'discovery') return;
    const synced = p.stage === 'synced' || p.stage === 'broadcast';
    // Proposals sent before the previous PING have had a heartbeat to arrive.
    const behind = m.syncId !== this.syncId || m.syncId === 0 || this.prevPingLast > this.log.lastIndex();
    this.prevPingLast = m.syncId === this.syncId ? m.lastIndex : 0;
    if (behind) {
      if (this.anomalySinceTick === null || this.log.lastIndex() > this.anomalyLastIndex) {
        this.anomalySinceTick = this.ticks;
        this.anomalyLastIndex = this.log.lastIndex();
      }
      if (this.ticks - this.anomalySinceTick >= this.anomalyTicks()) {
        this.resync(m.from);
        return;
      }
    } else {
      this.anomalySinceTick = null;
    }
    if (synced && m.upToDate && p.stage === 'synced') p.stage = 'broadcast';
    if (synced) this.silentTicks = 0;
    if (m.syncId === this.syncId && this.syncId !== 0) {
      this.learnCommit(m.commit);
      // Once committed and held by every data voter, records stay held: the value only grows.
      this.dataVotersHold = Math.max(this.dataVotersHold, Math.min(m.dataHold, this.log.commitIndex()));
    }
    this.send<PingAckMessage>({ type: 'pingAck', from: this.id, to: m.from, epoch: m.epoch, syncId: this.syncId, index: this.log.lastIndex(), readSeq: m.readSeq });
  }

  /**
   * How long PINGs may disagree with us, with nothing arriving, before we synchronize again:
   * a sync limit (a proposal that takes longer to arrive than the leader would wait for our
   * acknowledgement is as good as lost).
   */
  /**
   * How long a learner stays behind the previous PING, with no proposal arriving, before it
   * takes a proposal for lost: the initLimit, not the syncLimit. On a stream that did not break
   * nothing is lost, and a record near the request size limit can take longer than a sync
   * limit to cross a loaded machine; resynchronizing then makes the leader send it again by
   * DIFF behind the copy still arriving, and under load that cascade cost writes tens of
   * seconds and leaders. A real loss is rare (the stream broke without either side noticing)
   * and is repaired a few election timeouts later.
   */
  private anomalyTicks(): number {
    return INIT_LIMIT_ELECTIONS * this.o.electionTimeoutTicks;
  }

  /**
   * HANDOVER: our leader stops leading for `vote.leader`, which holds every record it holds.
   * Look again, voting first for it (ourselves, if it is us: our own vote is the same). Taken
   * only from the leader we follow, in the epoch we follow it in (fromOurLeader), and only a
   * vote for a data voter of our current epoch (one that has not taken this leader's NEWLEADER
   * holds an older one) — anything else looks with its own vote.
   *
   * Whatever our stage, we look: our leader has stopped leading (it sends HANDOVER only to
   * followers it counts as synchronized, so one still in discovery or sync hears it only on a
   * handle the leader kept from before our reconnection). Waiting instead would leave us on a
   * leader that no longer answers until initLimit, and a vote picks only who runs discovery:
   * safety does not depend on it.
   */
  private handleHandOver(m: HandOverMessage): void {
    if (!this.fromOurLeader(m)) return;
    const p = this.phase;
    if (p.kind !== 'following' || !this.isVoter) return;
    const v = m.vote;
    const usable = v.leader !== this.id && this.dataVoters.includes(v.leader) && v.epoch === this.currentEpoch;
    this.designatedVote = usable ? v : null;
    this.startLooking();
  }

  /**
   * A newer epoch exists, or the node we follow does not lead: whatever we lead or follow is
   * over, and FLE finds the leader (joining an established one without a new election).
   */
  private handleStaleEpoch(m: StaleEpochMessage): void {
    const p = this.phase;
    if (p.kind === 'following' && p.leader === m.from && p.stage === 'discovery' && m.epoch > this.acceptedEpoch) {
      // Not a refusal: a leader refuses a FOLLOWERINFO for a promise above the epoch it leads
      // (its acceptedEpoch), never below, and one that stops leading also goes LOOKING and tells
      // us so in a notification. This answers a message we sent before we chose it — as the
      // leader of an older epoch (fromOurLeader), held on a link that has just healed. ZooKeeper's
      // learner hears only its new connection to the leader, which carries no such answer.
      return;
    }
    if (p.kind === 'following' && p.leader === m.from) {
      // Our leader refused us (we promised a newer epoch than it leads), or stopped leading.
      // We do not rejoin it for an election timeout: a refusal would only repeat.
      this.refusedBy = { leader: m.from, atTick: this.ticks };
      this.startLooking();
      return;
    }
    // A leader steps down only for an epoch established after ours (a quorum moved on); a
    // lone node's newer promise, or an observer's, deposes nobody (ZooKeeper's leader keeps
    // leading while a quorum answers its pings).
    if (p.kind === 'leading' && this.voters.includes(m.from) && m.currentEpoch > this.leaderEpoch) this.startLooking();
  }

  // =============================================================================================
  // Message dispatch

  private stepMessage(m: ZabMessage): void {
    switch (m.type) {
      case 'notification':
        this.handleNotification(m);
        return;
      case 'followerInfo':
        this.handleFollowerInfo(m);
        return;
      case 'ackEpoch':
        this.handleAckEpoch(m);
        return;
      case 'ack':
        this.handleAck(m);
        return;
      case 'pingAck':
        this.handlePingAck(m);
        return;
      case 'readIndex':
        this.handleForwardedRead(m);
        return;
      case 'leaderInfo':
        this.handleLeaderInfo(m);
        return;
      case 'sync':
        this.handleSync(m);
        return;
      case 'proposal':
      case 'inform':
        this.handleProposal(m);
        return;
      case 'newLeader':
        this.handleNewLeader(m);
        return;
      case 'upToDate':
        this.handleUpToDate(m);
        return;
      case 'commit':
        this.handleCommit(m);
        return;
      case 'ping':
        this.handlePing(m);
        return;
      case 'staleEpoch':
        this.handleStaleEpoch(m);
        return;
      case 'handOver':
        this.handleHandOver(m);
        return;
      case 'commitPoint':
        this.handleCommitPoint(m);
        return;
      case 'seenConfig':
        this.handleSeenConfig(m);
        return;
      case 'readIndexResponse':
        this.handleReadIndexResponse(m);
        return;
      default:
        assertNever(m, 'zab message');
    }
  }

  // =============================================================================================
  // Read barrier: the leader confirms with a quorum round that it still leads, then reads at
  // its commit point (ZooKeeper's sync alone is not linearizable).

  private handleReadRequest(r: ReadRequest): void {
    if (this.readOnly.size() + this.readsAwaitingEstablishment.length >= READS_PENDING_MAX) {
      this.failRead(r, 'dropped');
      return;
    }
    if (!this.isLeading()) {
      // Our commit point covers every committed record only once the epoch is established.
      this.readsAwaitingEstablishment.push(r);
      return;
    }
    this.registerRead(r);
  }

  private registerRead(r: ReadRequest): void {
    this.readOnly.add(r, this.log.commitIndex());
    this.deliverReads(this.readOnly.release());
    if (this.readOnly.size() > 0) this.readBroadcastWanted = true;
  }

  private handleForwardedRead(m: ReadIndexMessage): void {
    const p = this.phase;
    if (p.kind !== 'leading' || m.epoch !== this.leaderEpoch) {
      this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: m.from, epoch: m.epoch, requestId: m.requestId, index: logIndex(0), reject: true });
      return;
    }
    this.handleReadRequest({ requestId: m.requestId, origin: m.from });
  }

  private deliverReads(reads: readonly ConfirmedRead[]): void {
    for (const r of reads) {
      if (r.origin === null) this.readStates.push({ requestId: r.requestId, index: r.index });
      else this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: r.origin, epoch: toTerm(this.leaderEpoch), requestId: r.requestId, index: r.index, reject: false });
    }
  }

  private failRead(r: ReadRequest, reason: ReadFailure['reason']): void {
    if (r.origin === null) this.readFailures.push({ requestId: r.requestId, reason, leader: null });
    else this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: r.origin, epoch: toTerm(this.leaderEpoch), requestId: r.requestId, index: logIndex(0), reject: true });
  }

  private drainLeaderReads(): ReadRequest[] {
    const out = [...this.readOnly.drain(), ...this.readsAwaitingEstablishment];
    this.readsAwaitingEstablishment = [];
    this.readOnly = new ReadOnly(this.id, votingMembers(this.view.committed));
    return out;
  }

  private forwardRead(requestId: string, leader: NodeId): void {
    if (!this.forwardedReads.add(requestId)) {
      this.readFailures.push({ requestId, reason: 'dropped', leader });
      return;
    }
    this.send<ReadIndexMessage>({ type: 'readIndex', from: this.id, to: leader, epoch: toTerm(this.followerEpoch), requestId });
  }

  private handleReadIndexResponse(m: ReadIndexResponseMessage): void {
    if (!this.forwardedReads.settle(m.requestId)) return;
    if (m.reject) this.readFailures.push({ requestId: m.requestId, reason: 'not_leader', leader: null });
    else this.readStates.push({ requestId: m.requestId, index: m.index });
  }

  private failForwardedReads(): void {
    for (const requestId of this.forwardedReads.drain()) this.readFailures.push({ requestId, reason: 'dropped', leader: null });
  }

  // =============================================================================================
  // Dynamic reconfiguration (reconfig.ts; ZooKeeper 3.5 reconfig)

  /**
   * After our history or commit point changed: the configurations that count now, the members
   * and quorums they make, and what the leader does about a change (refreshLearners,
   * leaveAfterReconfig). Committing a config record is its activation (QuorumPeer.processReconfig).
   */
  private refreshMembers(): void {
    this.configs.sync(this.log);
    if (this.announced !== null && this.announcementMoot(this.announced.index, this.announced.epoch)) this.announced = null;
    const v = configView(this.configs, this.log, this.appliedAtBoot, this.announced);
    if (v.committed === this.view.committed && v.seen === this.view.seen && v.pendingIndex === this.view.pendingIndex) return;
    const wereVoters = this.voters;
    const wasVoter = this.isVoter;
    this.view = v;
    this.applyView();
    // Our vote changed while we follow: connect again, so the leader counts us by our new role.
    const p = this.phase;
    if (p.kind === 'following' && this.isVoter !== wasVoter) this.resync(p.leader);
    this.readOnly.setVoters(votingMembers(v.committed));
    if (this.phase.kind === 'leading') {
      this.refreshLearners(wereVoters);
      this.leaveAfterReconfig();
    }
  }

  private applyView(): void {
    const any = membersOfAny(this.view);
    this.voterSets = countedVoterSets(this.view);
    this.voters = votingMembers(any);
    this.dataVoters = dataVoters(any);
    this.witnesses = witnesses(any);
    this.peers = any.filter((m) => m.id !== this.id).map((m) => m.id);
    // A rejoining voter syncs as an observer until the driver builds it again as a voter.
    this.isVoter = this.voters.includes(this.id) && !this.rejoining;
    this.isWitness = this.witnesses.includes(this.id);
  }

  /**
   * Leader: learners follow the configurations. A member of neither is dropped (its connection
   * closed, as ZooKeeper's leader does for a server the new configuration removed); one that
   * votes in either receives proposals, not only committed records, so its acknowledgement can
   * count toward the new configuration's quorum; one that votes in neither is an observer.
   */
  private refreshLearners(wereVoters: readonly NodeId[]): void {
    for (const id of [...this.departedHolds.keys()]) if (!this.peers.includes(id)) this.departedHolds.delete(id);
    for (const h of [...this.learners.values()]) {
      if (!this.peers.includes(h.id)) {
        // The commit that activates its removal reaches it too, before it is dropped (ZooKeeper's
        // COMMITANDACTIVATE goes to every forwarding follower): otherwise it never learns it.
        if (h.newLeaderSent) this.sendCommit(h);
        this.learners.delete(h.id);
        this.sendStaleEpoch(h.id);
        continue;
      }
      // Only a change of its role moves it: a voter rejoining after a lost disk (it comes as an
      // observer) stays an observer until it comes back as a voter.
      const votes = this.voters.includes(h.id);
      if (votes !== wereVoters.includes(h.id)) h.observer = !votes;
    }
  }

  /**
   * The leader is no voter of the committed configuration: it stops taking proposals and hands
   * over to the synchronized follower that holds the most (ZooKeeper's Leader.getDesignatedLeader,
   * named by COMMITANDACTIVATE; here the existing HANDOVER, through a transfer), or, with none
   * synchronized, stops leading. True when it stopped leading.
   */
  private leaveAfterReconfig(): boolean {
    if (!this.leavingAfterReconfig() || this.transfer !== null) return false;
    const committedData = dataVoters(this.view.committed);
    let best: LearnerHandle | null = null;
    for (const h of this.learners.values()) {
      if (committedData.includes(h.id) && this.isSyncedFollower(h.id) && (best === null || h.match > best.match)) best = h;
    }
    if (best === null) {
      this.startLooking();
      return true;
    }
    this.transfer = { to: best.id, sinceTick: this.ticks };
    this.maybeHandOver();
    return !this.isLeading();
  }

  /**
   * A member that missed a reconfiguration counts agreement by configurations the cluster left:
   * the voters it waits for may be removed (they ignore it) or LOOKING for good. ZooKeeper's FLE
   * carries each sender's configuration in its notifications, and a node that hears a newer one
   * adopts it (QuorumPeer.processReconfig from FastLeaderElection). Here, after an election
   * timeout of looking, it follows a node that says it leads (one that leads an older epoch refuses us: STALEEPOCH): following
   * decides nothing — the leader counts our promise and acknowledgements by its own
   * configurations — and its history then brings ours up to date.
   */
  private joinsStaleConfigLeader(e: Election, n: NotificationMessage): boolean {
    return n.state === 'leading' && n.vote.leader === n.from && this.ticks - e.sinceTick >= this.o.electionTimeoutTicks;
  }

  /** To a LOOKING peer: our commit point, once the cluster ever changed members (CommitPointMessage). */
  private sendCommitPoint(to: NodeId): void {
    // What the driver applied before a restart is committed too, though our commit point starts at 0.
    const commit = Math.max(this.log.commitIndex(), Math.min(this.appliedAtBoot, this.log.lastIndex()));
    const epoch = this.log.term(commit);
    if (!this.configs.changedFrom(this.o.members) || epoch === null || commit === 0) return;
    this.send<CommitPointMessage>({ type: 'commitPoint', from: this.id, to, index: logIndex(commit), indexEpoch: epoch });
  }

  /**
   * To a peer that may lack it: the latest configuration our history holds, committed or not
   * (ZooKeeper's notifications carry the sender's configuration whatever its state, and a looking
   * server that sees a newer one takes it: QuorumPeer.processReconfig). A member that missed a
   * committed change could otherwise never reach, or hear, the members it added. The peer ignores
   * one its history already reaches (handleSeenConfig). Compacted into our base, the configuration
   * is announced at the compaction point with the epoch there.
   */
  private sendSeenConfig(to: NodeId): void {
    // From our own history only: a configuration we were merely told of is never relayed, and
    // never silences our own.
    const index = this.configs.latestAtOrBefore(this.log.lastIndex())?.index ?? null;
    const record = index === null ? null : this.log.entry(index);
    if (record !== null && record.kind === 'config') {
      this.send<SeenConfigMessage>({ type: 'seenConfig', from: this.id, to, index: record.index, indexEpoch: record.term, config: record.data });
      return;
    }
    const at = this.log.firstIndex() - 1;
    const epoch = this.log.term(at);
    if (index !== null || at === 0 || epoch === null || !this.configs.changedFrom(this.o.members)) return;
    const base = this.configs.asOf(at).map((m) => ({ id: m.id, role: m.role, address: m.address ?? '' }));
    this.send<SeenConfigMessage>({ type: 'seenConfig', from: this.id, to, index: logIndex(at), indexEpoch: epoch, config: encodeConfig(base) });
  }

  /**
   * A pending reconfiguration past our history: counted as our last seen configuration (every
   * quorum we count must then be one of it too, which only makes us stricter) until our history
   * reaches its index. It may make us a voter: a learner then connects again as one.
   */
  private handleSeenConfig(m: SeenConfigMessage): void {
    // Only before we synchronize with a leader: from then on its history tells us (forgetAnnouncedConfig).
    const p = this.phase;
    if (p.kind === 'leading' || (p.kind === 'following' && p.stage !== 'discovery')) return;
    if (this.announcementMoot(m.index, m.indexEpoch)) return;
    if (this.announced !== null && compareZxid(zxid(this.announced.epoch, this.announced.index), zxid(m.indexEpoch, m.index)) >= 0) return;
    this.announced = { index: m.index, epoch: m.indexEpoch, members: decodeConfig(m.config) };
    this.refreshMembers();
  }

  /**
   * An announced configuration (index, epoch) tells us nothing: we committed or compacted past its
   * index, our history holds that very record, or our history's last zxid is newer (zxid order,
   * epoch first, as ZooKeeper orders configurations by version — a longer tail of an older epoch
   * does not make an announcement of a newer one moot).
   */
  private announcementMoot(index: number, epoch: number): boolean {
    if (index <= Math.max(this.log.commitIndex(), this.log.firstIndex() - 1)) return true;
    if (index <= this.log.lastIndex() && this.log.term(index) === epoch) return true;
    return compareZxid(zxid(this.log.lastTerm(), this.log.lastIndex()), zxid(epoch, index)) > 0;
  }

  /** Leading, or synchronized with a leader: our own history tells the configurations that count. */
  private forgetAnnouncedConfig(): void {
    if (this.announced === null) return;
    this.announced = null;
    this.refreshMembers();
  }

  /** A peer's commit point at a record we hold is ours too (same zxid, same history up to it). */
  private handleCommitPoint(m: CommitPointMessage): void {
    if (this.phase.kind === 'leading' || m.index <= this.log.commitIndex() || m.index > this.log.lastIndex()) return;
    if (this.log.term(m.index) !== m.indexEpoch) return;
    this.log.commitTo(m.index);
    this.refreshMembers();
    this.maybeDecide();
  }

  /** Leading, and the committed configuration no longer counts us a voter. */
  private leavingAfterReconfig(): boolean {
    return this.phase.kind === 'leading' && this.phase.stage === 'broadcast' && !votingMembers(this.view.committed).includes(this.id);
  }

  /** Why `next` may not be proposed now, or null (proposeMembership). */
  private reconfigRefusal(next: readonly MemberSpec[]): ProposeMembershipResult | null {
    if (this.view.pendingIndex !== null) {
      return { ok: false, reason: 'config_pending', message: `the reconfiguration at ${this.view.pendingIndex} has not committed yet: one change at a time.` };
    }
    if (this.log.lastIndex() - this.log.commitIndex() >= this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const current = this.view.committed;
    const refused = membershipChangeRefusal({
      protocol: 'zab',
      roles: ZAB_ROLES,
      current,
      next,
      reachable: (id) => id === this.id || this.answeredLately(id),
      caughtUp: (id) => {
        if (id === this.id) return true;
        const h = this.learners.get(id);
        return h !== undefined && h.newLeaderAcked && h.match >= this.log.commitIndex();
      },
      // An observer may have taken a SNAP as a position (maySnap bars none then).
      dataVotersHoldCommitted: () => this.computeDataVotersHold() >= this.log.commitIndex(),
    });
    return refused === null ? null : { ok: false, ...refused };
  }

  /** Leader: `id` is connected to us, synchronized, and answered within an election timeout. */
  private answeredLately(id: NodeId): boolean {
    const h = this.learners.get(id);
    return h !== undefined && h.newLeaderAcked && this.ticks - h.heardAtTick < this.o.electionTimeoutTicks;
  }

  // =============================================================================================
  // Bookkeeping and invariants

  /** A quorum of every configuration that counts (reconfig.ts). */
  private hasQuorum(ids: readonly NodeId[]): boolean {
    return quorumOfAll(this.voterSets, ids);
  }

  private send<M extends ZabMessage>(m: M): void {
    if (m.to === this.id) throw new Error(`zab: ${this.id} sending a ${m.type} to itself`);
    this.outbox.push(m);
  }

  private hardState(): ZabHardState {
    return { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
  }

  private hardChanged(h: ZabHardState): boolean {
    return h.acceptedEpoch !== this.prevHard.acceptedEpoch || h.currentEpoch !== this.prevHard.currentEpoch;
  }

  private softState(): SoftState {
    return { role: this.role(), leader: this.leaderId(), term: toTerm(this.currentEpoch) };
  }

  private softChanged(s: SoftState): boolean {
    return s.role !== this.prevSoft.role || s.leader !== this.prevSoft.leader || s.term !== this.prevSoft.term;
  }

  private check(): void {
    this.log.check();
    if (this.currentEpoch > this.acceptedEpoch) throw new Error(`zab invariant: currentEpoch ${this.currentEpoch} > acceptedEpoch ${this.acceptedEpoch}`);
    if (this.phase.kind === 'leading' && this.leaderEpoch !== 0) {
      if (this.leaderEpoch !== this.acceptedEpoch) throw new Error(`zab invariant: leading epoch ${this.leaderEpoch} but acceptedEpoch ${this.acceptedEpoch}`);
      if (this.phase.stage === 'broadcast' && this.currentEpoch !== this.leaderEpoch) throw new Error('zab invariant: broadcasting before the epoch is current');
    }
    if (this.transfer !== null && !this.isLeading()) throw new Error('zab invariant: a leadership transfer while not leading');
    if (this.log.lastTerm() > this.acceptedEpoch) throw new Error(`zab invariant: a record of epoch ${this.log.lastTerm()} above acceptedEpoch ${this.acceptedEpoch}`);
  }
}

/** A leader's broadcast traffic, which never depends on the leader's own pending persist. */
function isLeaderBroadcast(m: ZabMessage): boolean {
  return m.type === 'proposal' || m.type === 'inform' || m.type === 'commit' || m.type === 'ping';
}

/**
 * Learners whose every message in this Ready is broadcast traffic: those may go before the
 * persist. A learner that also gets a SYNC or NEWLEADER gets everything after it, in order —
 * its proposals must never overtake the SYNC they follow.
 */
function earlyRecipients(outbox: readonly ZabMessage[]): Set<string> {
  const early = new Set<string>();
  const late = new Set<string>();
  for (const m of outbox) (isLeaderBroadcast(m) ? early : late).add(m.to);
  for (const id of late) early.delete(id);
  return early;
}

function earlyOf(outbox: readonly ZabMessage[]): ZabMessage[] {
  const early = earlyRecipients(outbox);
  return outbox.filter((m) => early.has(m.to));
}

function lateOf(outbox: readonly ZabMessage[]): ZabMessage[] {
  const early = earlyRecipients(outbox);
  return outbox.filter((m) => !early.has(m.to));
}
