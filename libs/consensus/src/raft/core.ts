/**
 * The Raft state machine (Ongaro's thesis; etcd-io/raft raft.go + rawnode.go): a pure object
 * driven by tick/step/propose/readIndex, whose effects come out of ready() in the order the
 * driver must perform them. No I/O, no clock, no randomness of its own.
 */
import {
  proposalToken,
  ConsensusError,
  assertNever,
  logIndex,
  term as toTerm,
  type ConsensusCore,
  type CoreOptions,
  type CoreStatus,
  type Entry,
  type LogIndex,
  type Member,
  type MemberSpec,
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
import { RAFT_ROLES, parseHardState, raftOptions, recoverHardState, toHardState, validateOptions, validatePersisted, type RaftHardState, type RaftOptions } from './config';
import { MemoryLog } from '../common/log';
import { answeredWithinSilenceBound, compactHolding, type CompactionRequest } from '../common/slow-peers';
import type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  RaftMessage,
  ReadIndexResponseMessage,
  ResignMessage,
  SnapshotMessage,
  VoteRequestMessage,
  VoteResponseMessage,
} from './messages';
import { COMMITTED_BYTES_PER_READY_MAX, COMMITTED_ENTRIES_PER_READY_MAX, dataVoters, decodeConfig, encodeConfig, membershipChangeRefusal, fastElectionDelayTicks, fastElectionJitterTicks, witnesses, ForwardedReads, Progress, quorumValue, READS_PENDING_MAX, ReadOnly, recipientsOf, splitEarly, voteResult, votingMembers, type ConfirmedRead, type ReadRequest, type VoteResult } from '../common';

type State = 'follower' | 'preCandidate' | 'candidate' | 'leader';

const EMPTY = new Uint8Array(0);

/** What the last ready() handed out, so advance() acknowledges exactly that. */
interface HandedOut {
  readonly lastEntry: { readonly index: number; readonly term: number } | null;
  readonly snapshot: SnapshotMeta | null;
  readonly appliedTo: number | null;
  /** It carried a new term or vote: nothing leaves early until advance() says it is durable. */
  readonly hardChanged: boolean;
  /** Recipients of its messages that leave after the persist. */
  readonly lateRecipients: ReadonlySet<NodeId>;
}

/** A leader's replication traffic, which never depends on the leader's own pending persist. */
function isLeaderReplication(m: RaftMessage): boolean {
  return m.type === 'append' || m.type === 'heartbeat';
}

/**
 * A witness leader steps down after this many election timeouts without a data voter it can
 * bring up to date (none answers, or every one that does is below the records it forgot and
 * would need a snapshot, which a witness has none of). Leading longer serves nobody: it
 * cannot take writes, and it holds off, with its heartbeats, the elections through which a
 * data voter could lead once one comes back. Three gives a data voter that restarts or whose
 * link flaps a few election timeouts to answer before the cluster goes leaderless.
 */
export const WITNESS_HAND_OVER_ELECTIONS_MAX = 3;

/**
 * Thesis §4.1: a server accepts a leader's records from a sender outside its configuration (a
 * server added, or one behind the change that added the leader, could otherwise never catch
 * up), and the answer to a read it forwarded. Everything else from outside — votes, answers —
 * is ignored (§4.2.3): a removed server gets no vote and does not raise our term.
 */
function fromLeaderOutsideConfig(m: RaftMessage): boolean {
  return m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'readIndexResponse';
}

export class RaftCore implements ConsensusCore<RaftMessage> {
  private readonly id: NodeId;
  private readonly o: CoreOptions;
  private readonly raftOptions: RaftOptions;
  /**
   * The configuration in effect (thesis §4.1): the latest `config` record in the log, committed
   * or not; without one, the snapshot's members, or the members we booted with. Every field
   * below down to isWitness is derived from it (useConfig).
   */
  private config: readonly Member[] = [];
  /** Where `config` comes from: its record's index (or the snapshot's index, or 0 at boot). */
  private configIndex = 0;
  /** Whether we vote in the configuration before `config` (what may decide until `config` commits). */
  private votedBefore = false;
  /** The log was searched for config records up to here (refreshConfig). */
  private configScannedTo = 0;
  /** Every member that votes and counts toward quorums: data voters and witnesses. */
  private voters: readonly NodeId[] = [];
  /** The voters that keep the database: the only ones a witness hands leadership to. */
  private dataVoters: readonly NodeId[] = [];
  /** The voters that keep no database. */
  private witnesses: readonly NodeId[] = [];
  /**
   * The configuration before `config`: a new leader that lacks `config`'s record may take it
   * back until `config` commits, so until then a leader keeps replicating to its members
   * (peersBefore), counts its data voters toward dataHold (computeDataVotersHold) and sends its
   * witnesses no snapshot past that (sendSnapshot).
   */
  private configBefore: readonly Member[] = [];
  private peersBefore: readonly NodeId[] = [];
  /** Every member but us, voters and observers alike (the leader replicates to all). */
  private peers: readonly NodeId[] = [];
  private isVoter = false;
  /** CoreOptions.rejoining: this voter lost its log and follows as an observer for now. */
  private readonly rejoining: boolean;
  /** This node votes and holds records but keeps no database (see handOverFromWitness). */
  private isWitness = false;
  /** Follower: the highest dataHold a leader sent us (a witness's driver forgets records up to it). */
  private dataVotersHold = 0;
  private readonly log: MemoryLog;

  private term: number;
  private vote: NodeId | null;
  private state: State = 'follower';
  private leader: NodeId | null = null;
  /**
   * Peers the driver reported unreachable (reportUnreachable) and not reachable since
   * (reportReachable): what we send them is lost. With PreVote, a leader among them gets no lease
   * from us and its messages do not restart our election clock (unanswerableLeader).
   */
  private readonly unanswerable = new Set<NodeId>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Pre-vote rounds since we last followed a leader or stood as a real candidate (winsPreVoteTie). */
  private preVoteRounds = 0;
  /** This pre-vote round we granted a tied rival that outranks us (losesPreVoteTie). */
  private yieldedThisRound = false;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  /** Ticks since this node became leader: the clock of Progress.heardAtTick. */
  private leaderTicks = 0;
  /** Ticks this node spent not leading: the clock of heldPreVote. */
  private electionTicks = 0;
  /**
   * The last pre-vote our leader's lease made us drop, and when: answered after all if that
   * leader's link breaks within an election timeout (leaderLost). A survivor that saw the
   * break first asks at once; one that had not seen it yet would otherwise leave it a vote
   * short of a quorum of three until its next timeout.
   */
  private heldPreVote: { readonly m: VoteRequestMessage; readonly at: number; readonly leader: NodeId } | null = null;
  private transferee: NodeId | null = null;
  /** Witness leader: ticks in a row with no data voter to hand leadership to. */
  private handOverStalledTicks = 0;
  /** The last compact() whose records are not all forgotten yet (a slow peer still needs some). */
  private heldCompaction: CompactionRequest | null = null;

  private readOnly: ReadOnly;
  /** Leader: reads that arrived before an entry of our term committed (§6.4 step 1). */
  private readsAwaitingCommit: ReadRequest[] = [];
  private readBroadcastWanted = false;
  /** New records or a new commit index to send: one broadcast at the next ready(). */
  private appendWanted = false;
  /** Follower: reads forwarded to the leader, by request id (with a count for duplicates). */
  private readonly forwardedReads = new ForwardedReads();

  private outbox: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private prevHard: RaftHardState;
  private prevSoft: SoftState;
  private handedOut: HandedOut | null = null;

  constructor(options: CoreOptions, persisted: PersistedState) {
    validateOptions(options);
    const stored = parseHardState(persisted.hardState);
    const hard = recoverHardState(persisted, stored, options.id);
    validatePersisted(persisted, hard);
    this.o = options;
    this.raftOptions = raftOptions(options.protocolOptions);
    this.id = options.id;
    this.rejoining = options.rejoining === true;
    this.log = new MemoryLog(persisted.snapshot, persisted.entries, hard.commit);
    this.log.checkAll();
    // What the state machine applied was committed, and is in it already: not handed out again.
    // Otherwise a restarted node re-reads its whole log since the snapshot (the database skips
    // each record, but decodes it and looks up its request id: ~100k records after a long run
    // of small writes, seconds of a blocked loop while it should be voting).
    if (persisted.appliedIndex !== undefined) this.log.restoreApplied(persisted.appliedIndex);
    this.readOnly = new ReadOnly(this.id, []);
    // A node that restarts knows the latest configuration its log (or snapshot) holds.
    this.scanConfig();
    this.term = hard.term;
    this.vote = hard.vote;
    // A recovered term (recoverHardState) differs from what is stored: the first Ready writes it.
    this.prevHard = stored;
    this.becomeFollower(this.term, null);
    this.prevSoft = this.softState();
    this.check();
  }

  // =============================================================================================
  // Driver API

  tick(): void {
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
    // Records kept for a slow peer go once it has them, goes silent, or we stop leading.
    this.compactLog();
    this.stepDownIfRemoved();
    this.check();
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id) throw new ConsensusError('bad_message', `raft message: addressed to ${m.to}, not to ${this.id}`);
    if (m.from === this.id) throw new ConsensusError('bad_message', `raft message: from ${m.from}, which is this node`);
    // Dropped, not answered: a read a non-member forwards here (a removed follower that still
    // takes us for its leader) times out at its sender, whose driver retries elsewhere.
    if (!this.peers.includes(m.from) && !fromLeaderOutsideConfig(m) && !this.answersReplicationBefore(m)) return;
    this.stepMessage(m);
    this.stepDownIfRemoved();
    this.check();
  }

  /** Leader: an answer from a member of the configuration before ours, which it still replicates to. */
  private answersReplicationBefore(m: RaftMessage): boolean {
    return this.state === 'leader' && (m.type === 'appendResponse' || m.type === 'heartbeatResponse') && this.replicatedBefore().includes(m.from);
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.state !== 'leader') return { ok: false, reason: 'not_leader', leader: this.leader };
    // A witness leads only until a data voter holds its records (see handOverFromWitness).
    if (this.transferee !== null || this.isWitness) return { ok: false, reason: 'transferring' };
    if (this.log.lastIndex() - this.log.commitIndex() >= this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const entry = this.appendEntry('command', data);
    // Many proposals between two Readies share one append message per peer.
    this.appendWanted = true;
    this.check();
    return { ok: true, index: entry.index, term: entry.term, token: proposalToken(data) };
  }

  /**
   * Thesis §4.1–4.2 (one server at a time): the next configuration goes into the log as a
   * `config` record and takes effect here at once, before it commits (refreshConfig).
   */
  proposeMembership(next: readonly MemberSpec[]): ProposeMembershipResult {
    if (this.state !== 'leader') return { ok: false, reason: 'not_leader', leader: this.leader };
    if (this.isWitness) {
      return { ok: false, reason: 'witness_leader', message: `${this.id} is a witness: it leads only to hand over to a data voter; propose the change at the next leader.` };
    }
    if (this.transferee !== null) return { ok: false, reason: 'transferring' };
    if (this.configIndex > this.log.commitIndex()) {
      return { ok: false, reason: 'config_pending', message: `the change at index ${this.configIndex} is not committed yet: one change at a time.` };
    }
    // Ongaro's 2015 correction to §4.1 (raft-dev, "bug in single-server membership changes"):
    // until a record of our term commits, a change a previous leader began may still commit,
    // and a second one beside it could break the overlap of quorums.
    if (!this.committedEntryInCurrentTerm()) {
      return { ok: false, reason: 'config_pending', message: 'this leader has not committed a record of its term yet: a change its predecessor began may still be in flight.' };
    }
    if (this.log.lastIndex() - this.log.commitIndex() >= this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const refused = membershipChangeRefusal({
      protocol: 'raft',
      roles: RAFT_ROLES,
      current: this.config,
      next,
      reachable: (id) => id === this.id || this.answeredLately(id),
      caughtUp: (id) => id === this.id || (this.progress.get(id)?.match ?? 0) >= this.log.commitIndex(),
      dataVotersHoldCommitted: () => this.computeDataVotersHold() >= this.log.commitIndex(),
    });
    if (refused !== null) return { ok: false, ...refused };
    const data = encodeConfig(next);
    const entry = this.appendEntry('config', data);
    this.appendWanted = true;
    this.check();
    return { ok: true, index: entry.index, term: entry.term, token: proposalToken(data) };
  }

  /** Leader: `id` answered within the last election timeout (what "reachable" means to a change). */
  private answeredLately(id: NodeId): boolean {
    const pr = this.progress.get(id);
    return pr !== undefined && this.leaderTicks - pr.heardAtTick < this.o.electionTimeoutTicks;
  }

  readIndex(requestId: string): void {
    switch (this.state) {
      case 'leader':
        this.handleReadRequest({ requestId, origin: null });
        break;
      case 'follower':
        this.forwardRead(requestId);
        break;
      case 'preCandidate':
      case 'candidate':
        this.readFailures.push({ requestId, reason: 'not_leader', leader: null });
        break;
      default:
        assertNever(this.state, 'raft state');
    }
    this.check();
  }

  hasReady(): boolean {
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.readFailures.length > 0 ||
      this.readBroadcastWanted ||
      (this.appendWanted && this.state === 'leader') ||
      this.log.hasUnstable() ||
      this.log.pendingSnapshot() !== null ||
      this.log.hasCommittedToApply() ||
      this.hardChanged(this.hardState()) ||
      this.softChanged(this.softState())
    );
  }

  ready(): Ready<RaftMessage> {
    if (this.appendWanted && this.state === 'leader') this.bcastAppendFill();
    this.appendWanted = false;
    if (this.readBroadcastWanted && this.state === 'leader') this.bcastHeartbeat();
    const hard = this.hardState();
    const soft = this.softState();
    const hardChanged = this.hardChanged(hard);
    const softChanged = this.softChanged(soft);
    const entries = this.log.unstableEntries();
    const snapshot = this.log.pendingSnapshot();
    const committed = this.log.committedToApply(COMMITTED_ENTRIES_PER_READY_MAX, COMMITTED_BYTES_PER_READY_MAX);
    const mustSync = entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
    // A leader whose term and vote are already durable may replicate records while it
    // persists them itself: it counts its own copy toward commit only after advance().
    const early = this.state === 'leader' && !hardChanged;
    const earlyMessages = early ? this.outbox.filter(isLeaderReplication) : [];
    const rd: Ready<RaftMessage> = {
      hardState: hardChanged ? toHardState(hard) : null,
      // A conflicting suffix is replaced by `entries` (storage truncates from entries[0]).
      truncateAfter: null,
      entries,
      mustSync,
      snapshot,
      earlyMessages,
      messages: early ? this.outbox.filter((m) => !isLeaderReplication(m)) : this.outbox,
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
      hardChanged,
      lateRecipients: recipientsOf(rd.messages),
    };
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    this.readBroadcastWanted = false;
    if (hardChanged) this.prevHard = hard;
    if (softChanged) this.prevSoft = soft;
    return rd;
  }

  takeEarlyMessages(): RaftMessage[] {
    const h = this.handedOut;
    if (h === null || h.hardChanged || this.state !== 'leader' || this.hardChanged(this.hardState())) return [];
    const { early, rest } = splitEarly(this.outbox, isLeaderReplication, h.lateRecipients);
    this.outbox = rest;
    return early;
  }

  advance(): void {
    const h = this.handedOut;
    if (h === null) throw new Error('raft: advance() called without a ready() to acknowledge');
    this.handedOut = null;
    if (h.snapshot !== null) this.log.snapshotInstalled(h.snapshot);
    if (h.lastEntry !== null) this.log.stableTo(h.lastEntry.index, h.lastEntry.term);
    if (h.appliedTo !== null) this.log.appliedTo(h.appliedTo);
    if (this.state === 'leader') {
      // Our own copy counts toward the quorum only once it is durable.
      this.selfProgress().maybeUpdate(this.log.stableIndex());
      if (this.maybeCommit()) this.onCommitAdvanced();
    }
    this.stepDownIfRemoved();
    this.check();
  }

  compact(meta: SnapshotMeta, retainEntries: number): void {
    if (!Number.isSafeInteger(retainEntries) || retainEntries < 0) {
      throw new ConsensusError('bad_state', `raft compact: retainEntries must be a non-negative integer, got ${retainEntries}`);
    }
    const applied = this.log.appliedIndex();
    if (meta.index > applied) throw new ConsensusError('bad_state', `raft compact: snapshot index ${meta.index} is beyond the applied index ${applied}`);
    if (meta.index < (this.log.snapshot()?.index ?? 0)) return; // older than the one we have
    const t = this.log.term(meta.index);
    if (t !== meta.term) throw new ConsensusError('bad_state', `raft compact: snapshot at ${meta.index} has term ${meta.term}, the log has ${String(t)}`);
    // A snapshot carries the configuration as of its index: a peer that installs it, or this
    // node booted from it, knows the members the records it replaces had made.
    this.heldCompaction = { meta: { ...meta, members: this.configAt(meta.index) }, retainEntries };
    this.compactLog();
    this.check();
  }

  /**
   * Forgets the records the last compact() allows (up to meta.index - retainEntries, never
   * past applied or stable ones), except those a slow peer still needs; keeps the request
   * while some are held, so that a later tick forgets them.
   */
  private compactLog(): void {
    const cap = Math.min(this.log.appliedIndex(), this.log.stableIndex());
    const offset = this.log.firstIndex() - 1;
    this.heldCompaction = compactHolding(this.heldCompaction, cap, offset, () => this.slowPeerMatches(), (meta, to) => this.log.compact(meta, to));
  }

  /**
   * Leader: the match index of every peer we replicate to by appends (not a snapshot) that
   * answered lately (common/slow-peers.ts). A probing one counts: it probes after its link
   * broke or it refused an append, and a follower that restarts, or whose link flaps, should
   * come back to appends, not to a whole-database transfer.
   */
  private slowPeerMatches(): number[] {
    const held: number[] = [];
    if (this.state !== 'leader') return held;
    for (const [id, pr] of this.progress) {
      if (id !== this.id && pr.state !== 'snapshot' && answeredWithinSilenceBound(this.leaderTicks, pr.heardAtTick, this.o.electionTimeoutTicks)) held.push(pr.match);
    }
    return held;
  }

  reportSnapshotFailure(to: NodeId): void {
    const pr = this.state === 'leader' ? this.progress.get(to) : undefined;
    if (pr?.state === 'snapshot') this.abandonSnapshot(pr);
    this.check();
  }

  reportUnreachable(to: NodeId): void {
    this.unanswerable.add(to);
    const pr = this.state === 'leader' ? this.progress.get(to) : undefined;
    if (pr?.state === 'replicate') pr.becomeProbe();
    if (this.state === 'follower' && to === this.leader) this.leaderLost(to);
    this.check();
  }

  reportReachable(to: NodeId): void {
    this.unanswerable.delete(to);
    this.check();
  }

  /**
   * `from` leads, and we cannot answer it: our answers are lost, so it cannot count us toward
   * any quorum — neither to commit nor to confirm a read — and the lease we would give it
   * (thesis §4.2.3: ignore candidates while a live leader is heard) protects nothing. Its
   * heartbeats are still answered (fromUnanswerableLeader) but, with PreVote, its messages do
   * not restart our election clock, and its lease does not refuse a pre-vote or vote: a leader that can send
   * but not receive (its followers' links to it cut) is replaced within a few ticks of the
   * cut (leaderLost's delay), as a dead one is, instead of after its CheckQuorum and then
   * another election timeout. Without PreVote this is off: campaigning with a real vote, a
   * follower cut off from a leader the others still answer would raise the term at each of
   * its timeouts and depose that leader once its link is back.
   */
  private unanswerableLeader(from: NodeId): boolean {
    return this.raftOptions.preVote && this.unanswerable.has(from);
  }

  /**
   * The connection to our leader broke (its process died, or the link did): stop honouring
   * its lease and campaign within a few ticks instead of a whole election timeout. Safe —
   * an election is always safe — and not disruptive: with PreVote, voters that still hear
   * from a live leader refuse, and a stagger by rank (fastElectionDelayTicks) keeps two
   * followers that lost the leader together from campaigning in the same tick and splitting
   * the vote. A witness keeps its extra election timeout (drawElectionTimeout), so that a data
   * voter that lost the leader too campaigns and wins first, with no hand-over.
   */
  private leaderLost(lost: NodeId): void {
    this.leader = null;
    const held = this.heldPreVote;
    this.heldPreVote = null;
    // Dropped for this very leader, lately, for a term still ahead of ours.
    const answered = held !== null && held.leader === lost && held.m.from !== lost && held.m.term > this.term && this.electionTicks - held.at <= this.o.electionTimeoutTicks;
    if (answered) this.stepMessage(held.m);
    // Without PreVote a candidate's real vote request resets the next survivor's timer (a
    // higher term), so a stale first-ranked survivor would cost a whole timeout every time:
    // then the old random jitter, over the same span, is the better bet.
    const delay = this.raftOptions.preVote
      ? fastElectionDelayTicks(this.dataVoters, this.id, lost, this.o.random)
      : fastElectionJitterTicks(this.o.random);
    const witnessDelay = this.isWitness ? this.o.electionTimeoutTicks : 0;
    // Having just answered another survivor's pre-vote, we do not stand against it at once: in five
    // voters the others may grant both, and two candidates of one term split the vote.
    if (delay + witnessDelay === 0 && !answered && this.mayCampaign()) {
      this.electionElapsed = 0;
      this.hup(false);
      return;
    }
    // A delay of d ticks: the d-th tick from now finds the timeout reached (tickElection).
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - Math.max(1, delay + witnessDelay));
  }

  transferLeadership(to: NodeId): void {
    // Only a data voter can take over: a witness keeps no database to serve from.
    if (this.state !== 'leader' || !this.dataVoters.includes(to)) return;
    if (this.transferee !== null) {
      if (this.transferee === to) return;
      this.transferee = null;
    }
    if (to === this.id) return;
    // The transfer must finish within one election timeout, or it is abandoned (tickLeader).
    this.electionElapsed = 0;
    this.transferee = to;
    if (this.peerProgress(to).match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    this.check();
  }

  status(): CoreStatus {
    const progress: Record<string, { match: LogIndex; next: LogIndex; state: string }> = {};
    if (this.state === 'leader') for (const [id, pr] of this.progress) progress[id] = pr.view();
    return {
      id: this.id,
      role: this.role(),
      leader: this.leader,
      term: toTerm(this.term),
      commitIndex: this.log.commitIndex(),
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      progress,
      dataVotersHold: logIndex(this.state === 'leader' ? this.computeDataVotersHold() : this.dataVotersHold),
      promisedFence: toTerm(this.term),
      members: this.config,
      membershipPending: this.configIndex > this.log.commitIndex(),
    };
  }

  // =============================================================================================
  // Membership (thesis §4.1–4.2; etcd-io/raft's single ConfChange)

  /**
   * §4.1: a server uses the latest configuration in its log, committed or not. Called after
   * every change of the log: records after `rewrittenAfter` may have been replaced (a follower's
   * conflicting suffix), so they are searched again; if the record in effect was among them,
   * the configuration falls back to the latest one before it.
   */
  private refreshConfig(rewrittenAfter: number): void {
    const last = this.log.lastIndex();
    this.configScannedTo = Math.min(this.configScannedTo, rewrittenAfter, last);
    if (this.configIndex > this.configScannedTo) {
      this.scanConfig();
      return;
    }
    let found: Entry | null = null;
    let before: Entry | null = null;
    for (let i = Math.max(this.configScannedTo + 1, this.log.firstIndex()); i <= last; i++) {
      const e = this.log.entry(i);
      if (e?.kind !== 'config') continue;
      before = found;
      found = e;
    }
    this.configScannedTo = last;
    if (found === null) return;
    const prior = before === null ? this.config : decodeConfig(before.data);
    this.useConfig(found.index, decodeConfig(found.data), prior);
  }

  /** The latest configuration in the whole log; else the snapshot's; else the boot members. */
  private scanConfig(): void {
    const last = this.log.lastIndex();
    this.configScannedTo = last;
    let found: Entry | null = null;
    for (let i = last; i >= this.log.firstIndex(); i--) {
      const e = this.log.entry(i);
      if (e?.kind !== 'config') continue;
      if (found !== null) {
        this.useConfig(found.index, decodeConfig(found.data), decodeConfig(e.data));
        return;
      }
      found = e;
    }
    const base = this.baseConfig();
    if (found !== null) this.useConfig(found.index, decodeConfig(found.data), base);
    else this.useConfig(this.log.snapshot()?.index ?? 0, base, base);
  }

  /** The configuration below every record in the log: the snapshot's, or the boot members. */
  private baseConfig(): readonly Member[] {
    const snapshot = this.log.snapshot();
    return snapshot !== null && snapshot.members.length > 0 ? snapshot.members : this.o.members;
  }

  membersAt(index: LogIndex): readonly Member[] {
    const first = this.log.firstIndex() - 1;
    const last = this.log.lastIndex();
    if (!Number.isSafeInteger(index) || index < first || index > last) {
      throw new ConsensusError('bad_state', `raft membersAt: index ${index} is outside the log, which holds the configurations of ${first}..${last}`);
    }
    return this.configAt(index);
  }

  /** The configuration as of `index` (≤ last index): what a snapshot there carries. */
  private configAt(index: number): readonly Member[] {
    if (this.configIndex <= index) return this.config;
    for (let i = index; i >= this.log.firstIndex(); i--) {
      const e = this.log.entry(i);
      if (e?.kind === 'config') return decodeConfig(e.data);
    }
    return this.baseConfig();
  }

  private useConfig(index: number, members: readonly Member[], prior: readonly Member[]): void {
    this.configIndex = index;
    this.config = members;
    this.votedBefore = votingMembers(prior).includes(this.id);
    this.voters = votingMembers(members);
    this.dataVoters = dataVoters(members);
    this.configBefore = prior;
    this.peersBefore = prior.filter((m) => m.id !== this.id && !members.some((n) => n.id === m.id)).map((m) => m.id);
    this.witnesses = witnesses(members);
    this.peers = members.filter((m) => m.id !== this.id).map((m) => m.id);
    // A peer that left forgets its broken link: added again, it comes on a new one (which the
    // driver reports reachable), and a stale note would cost us its records as leader.
    for (const id of this.unanswerable) if (!this.peers.includes(id) && !this.peersBefore.includes(id)) this.unanswerable.delete(id);
    // A rejoining voter follows as an observer until the driver builds it again as a voter.
    this.isVoter = this.voters.includes(this.id) && !this.rejoining;
    const wasWitness = this.isWitness;
    this.isWitness = this.witnesses.includes(this.id);
    // A witness's election timeout is one longer (drawElectionTimeout); 0: not drawn yet (boot).
    if (wasWitness !== this.isWitness && this.randomizedElectionTimeout !== 0) this.drawElectionTimeout();
    this.readOnly.setVoters(this.voters);
    if (this.transferee !== null && !this.dataVoters.includes(this.transferee)) this.transferee = null;
    if (this.state === 'leader') this.trackMembers();
  }

  /** Leader: progress for every member of the configuration (and ourselves, and peersBefore until it commits), none for others. */
  private trackMembers(): void {
    const keep = new Set<NodeId>([this.id, ...this.config.map((m) => m.id), ...this.replicatedBefore()]);
    for (const id of [...this.progress.keys()]) if (!keep.has(id)) this.progress.delete(id);
    // A new member starts as any peer does after an election: probed at our last record.
    for (const id of keep) if (!this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.o.inflightMessagesMax));
  }

  /** Leader: the members of the configuration before ours that it still replicates to (ours is not committed). */
  private replicatedBefore(): readonly NodeId[] {
    return this.configIndex > this.log.commitIndex() ? this.peersBefore : [];
  }

  /** Leader: every peer it sends records to. */
  private replicaPeers(): readonly NodeId[] {
    const before = this.replicatedBefore();
    return before.length === 0 ? this.peers : [...this.peers, ...before];
  }

  /**
   * §4.2.2: a leader that is no voter of the configuration it manages (removed, or made an
   * observer) keeps replicating — without counting itself — until that configuration commits,
   * then steps down; it tells the followers the commit on its way out, and never campaigns again.
   */
  private stepDownIfRemoved(): void {
    if (this.state !== 'leader' || this.isVoter || this.configIndex > this.log.commitIndex()) return;
    this.bcastAppend();
    this.becomeFollower(this.term, null);
  }

  // =============================================================================================
  // Roles and timers

  private role(): Role {
    switch (this.state) {
      case 'leader':
        return 'leader';
      case 'candidate':
      case 'preCandidate':
        return 'candidate';
      case 'follower':
        return this.isWitness ? 'witness' : this.isVoter ? 'follower' : 'observer';
      default:
        return assertNever(this.state, 'raft state');
    }
  }

  private tickElection(): void {
    this.electionTicks++;
    this.electionElapsed++;
    if (this.mayCampaign() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.leaderTicks++;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.retryLostSnapshots();
    if (this.electionElapsed >= this.o.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.raftOptions.checkQuorum && !this.quorumActive()) {
        this.resign();
        return;
      }
      for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      this.transferee = null; // a transfer that took an election timeout has failed
    }
    if (this.isWitness && !this.witnessKeepsLeading()) return;
    if (this.heartbeatElapsed >= this.o.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** A snapshot nobody answered nor reported failed within an election timeout is resent. */
  private retryLostSnapshots(): void {
    for (const pr of this.progress.values()) {
      if (pr.state !== 'snapshot') continue;
      pr.snapshotElapsedTicks++;
      if (pr.snapshotElapsedTicks >= this.o.electionTimeoutTicks) this.abandonSnapshot(pr);
    }
  }

  private abandonSnapshot(pr: Progress): void {
    pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for a heartbeat answer before probing again (etcd MsgSnapStatus).
    pr.probeSent = true;
  }

  /**
   * CheckQuorum (thesis §6.2, etcd's round): a majority of voters (counting us) was heard from
   * this election timeout. Looked at once per round, so a silence of followers stalled on a
   * shared disk for a little over one timeout deposes no leader unless it spans a whole round.
   */
  private quorumActive(): boolean {
    const active = (id: NodeId): number => (id === this.id || this.peerProgress(id).recentActive ? 1 : 0);
    return quorumValue(this.voters, active) === 1;
  }

  /**
   * CheckQuorum failed: step down, and tell the peers that may still hear us — a leader that can
   * send but not receive. One data voter is asked to campaign at once (TimeoutNow, as in a
   * transfer: the others' lease does not stop its vote request): a transfer's target if one is
   * under way, else the one that held the most of our log, preferring those that answered within
   * the last election timeout, then the latest answer. The others only drop our lease (resign),
   * keeping their election clocks, so two never campaign together and one that cannot win costs
   * no more than our silence would have. Only liveness hangs on it: a lost message leaves a
   * follower on its election timeout. Both carry the term we led: at a node of a later term they
   * are stale and dropped; at one of ours, only we could have sent them (one leader per term),
   * and a follower takes a resign only from the leader it follows.
   */
  private resign(): void {
    const resigned = toTerm(this.term);
    // A transfer under way keeps its target: a second successor would split the vote.
    const successor = this.transferee ?? this.successor();
    this.becomeFollower(this.term, null);
    for (const to of this.peers) {
      if (to === successor) this.send({ type: 'timeoutNow', from: this.id, to, term: resigned });
      else this.send<ResignMessage>({ type: 'resign', from: this.id, to, term: resigned });
    }
  }

  /** The data voter a resigning leader asks to campaign (resign): none if it has no other. */
  private successor(): NodeId | null {
    const rank = (id: NodeId): [number, number, number] => {
      const pr = this.peerProgress(id);
      return [this.answeredLately(id) ? 1 : 0, pr.match, pr.heardAtTick];
    };
    const better = (a: NodeId, b: NodeId): boolean => {
      const [x, y] = [rank(a), rank(b)];
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
      return false;
    };
    return this.dataVoters.filter((id) => id !== this.id).reduce<NodeId | null>((best, id) => (best === null || better(id, best) ? id : best), null);
  }

  private drawElectionTimeout(): void {
    const r = this.o.random();
    if (!(r >= 0 && r < 1)) throw new ConsensusError('bad_config', `random must return numbers in [0, 1), returned ${String(r)}.`);
    const t = this.o.electionTimeoutTicks;
    // A witness campaigns one election timeout after a data voter would: a data voter whose
    // log is up to date wins first, and the witness is elected only when none can be.
    this.randomizedElectionTimeout = t + Math.floor(r * t) + (this.isWitness ? t : 0);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.drawElectionTimeout();
    this.transferee = null;
    this.votes.clear();
    this.progress.clear();
    this.readBroadcastWanted = false;
    this.failForwardedReads();
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    const dropped = this.state === 'leader' ? this.drainLeaderReads() : [];
    this.reset(term);
    this.state = 'follower';
    this.leader = leader;
    if (leader !== null) this.preVoteRounds = 0;
    for (const r of dropped) this.failRead(r, 'dropped');
  }

  private becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('raft: leader cannot become a pre-candidate');
    // A pre-vote changes neither term nor vote: a partitioned node cannot inflate terms.
    this.state = 'preCandidate';
    this.votes.clear();
    this.leader = null;
    this.failForwardedReads();
  }

  private becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('raft: leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
    this.preVoteRounds = 0;
  }

  private becomeLeader(): void {
    if (this.state !== 'candidate') throw new Error(`raft: only a candidate can become leader, not a ${this.state}`);
    this.reset(this.term);
    this.state = 'leader';
    this.leader = this.id;
    const next = this.log.lastIndex() + 1;
    this.leaderTicks = 0;
    for (const m of this.config) this.progress.set(m.id, new Progress(next, this.o.inflightMessagesMax));
    // One that is no voter of its latest configuration, elected to commit it (mayCampaign), tracks itself too.
    this.trackMembers();
    const self = this.selfProgress();
    self.maybeUpdate(this.log.stableIndex());
    self.recentActive = true;
    this.readOnly = new ReadOnly(this.id, this.voters);
    this.readsAwaitingCommit = [];
    // A noop of our term lets us commit (and serve reads) without waiting for a client write.
    this.appendEntry('noop', EMPTY);
    this.handOverStalledTicks = 0;
  }

  /**
   * A witness leads only to bring a data voter up to date (it may hold records no live data
   * voter has): it hands leadership to the data voter that holds the most among those that
   * answered it lately, through the usual transfer (append until it matches, then
   * TimeoutNow), retried every election timeout. It waits for answers rather than pick at
   * election: a data voter that is down would hold the transfer for a whole election timeout.
   */
  private handOverFromWitness(): void {
    if (this.state !== 'leader') return;
    // A target found below the records we forgot can never be brought up to date by us.
    if (this.transferee !== null && this.needsSnapshot(this.peerProgress(this.transferee))) this.transferee = null;
    if (this.transferee !== null) return;
    let best: NodeId | null = null;
    for (const id of this.dataVoters) {
      const pr = this.peerProgress(id);
      if (!pr.recentActive || this.needsSnapshot(pr)) continue;
      if (best === null || pr.match > this.peerProgress(best).match) best = id;
    }
    if (best !== null) this.transferLeadership(best);
  }

  /**
   * Witness leader, each tick: hands over if it can; after WITNESS_HAND_OVER_ELECTIONS_MAX
   * election timeouts with no data voter to hand over to, steps down — as CheckQuorum gives
   * up, which is always safe — keeping its term and its witness's long election timeout, so
   * that a data voter that can lead campaigns first. Returns whether it still leads.
   */
  private witnessKeepsLeading(): boolean {
    this.handOverFromWitness();
    this.handOverStalledTicks = this.transferee === null ? this.handOverStalledTicks + 1 : 0;
    if (this.handOverStalledTicks < WITNESS_HAND_OVER_ELECTIONS_MAX * this.o.electionTimeoutTicks) return true;
    this.becomeFollower(this.term, null);
    return false;
  }

  /** The peer's next record lies below our log: only a snapshot could bring it up to date. */
  private needsSnapshot(pr: Progress): boolean {
    return this.log.term(pr.next - 1) === null;
  }

  /**
   * Leader: the highest index every data voter holds durably (our own copy once persisted), capped
   * at the commit index. Until our configuration commits, the one before it may still be the one
   * in force (a new leader without our record takes it back), so its data voters count as well —
   * one being removed included (we replicate to it until then: peersBefore).
   */
  private computeDataVotersHold(): number {
    let hold: number = this.log.commitIndex();
    for (const id of this.dataVoters) hold = Math.min(hold, this.peerProgress(id).match);
    if (this.configIndex > this.log.commitIndex()) for (const id of dataVoters(this.configBefore)) hold = Math.min(hold, this.peerProgress(id).match);
    return hold;
  }

  /**
   * §4.1: a voter campaigns; so does a server that is no voter of its latest configuration
   * while that configuration is uncommitted and it voted in the one before, as it may be needed
   * to commit it (a leader that demoted itself, then lost its leadership, may hold the only
   * copy). It then does not count its own vote (poll counts the voters of `config` only), and
   * campaigns by pre-vote (hup), so that, removed without learning it, it raises no term.
   */
  private mayCampaign(): boolean {
    if (this.rejoining) return false;
    return this.isVoter || (this.votedBefore && this.configIndex > this.log.commitIndex());
  }

  private hup(transfer: boolean): void {
    if (this.state === 'leader' || !this.mayCampaign()) return;
    // A non-voter campaigns by pre-vote whatever the option says: removed by a change that
    // committed without it learning so (it crashed first), it hears from no one again — the
    // members ignore it — and campaigning by vote it raised its term at every timeout, until
    // a re-add made it ignore the leader's lower term, or answer it and depose the leader.
    // A pre-vote raises no term, and when it is needed (it holds the only copy) it wins.
    const preVote = (this.raftOptions.preVote || !this.isVoter) && !transfer;
    this.campaign(preVote ? 'preVote' : 'vote', transfer);
  }

  private campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    if (kind === 'preVote') {
      this.becomePreCandidate();
      this.preVoteRounds++;
      this.yieldedThisRound = false;
    }
    else this.becomeCandidate();
    const voteTerm = kind === 'preVote' ? this.term + 1 : this.term;
    if (this.poll(this.id, true) === 'won') {
      this.electionWon(kind);
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.voters) {
      if (to === this.id) continue;
      this.send<VoteRequestMessage>({ type: kind, from: this.id, to, term: toTerm(voteTerm), lastIndex, lastTerm, transfer });
    }
  }

  private electionWon(kind: 'preVote' | 'vote'): void {
    if (kind === 'preVote') {
      if (this.yieldedThisRound) {
        // A tied rival that outranks us stands this round (losesPreVoteTie); we wait a whole
        // timeout for its vote request, and ask again after it (no longer a first round).
        this.becomeFollower(this.term, null);
        return;
      }
      this.campaign('vote', false);
      return;
    }
    this.becomeLeader();
    this.bcastAppend();
  }

  private poll(from: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    return voteResult(this.voters, this.votes);
  }

  // =============================================================================================
  // Message dispatch

  private stepMessage(m: RaftMessage): void {
    if (m.term > this.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerStaleTerm(m);
      return;
    }
    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.state) {
      case 'follower':
        this.stepFollower(m);
        return;
      case 'preCandidate':
      case 'candidate':
        this.stepCandidate(m);
        return;
      case 'leader':
        this.stepLeader(m);
        return;
      default:
        assertNever(this.state, 'raft state');
    }
  }

  /** §5.1 step down on a higher term, with the lease and pre-vote exceptions. Returns whether to go on. */
  private acceptHigherTerm(m: RaftMessage): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      // Leader lease (thesis §4.2.3): while we hear from a leader, a disruptive candidate is ignored.
      const leaseApplies = this.raftOptions.checkQuorum || m.type === 'preVote';
      const inLease = leaseApplies && this.leader !== null && !this.unanswerableLeader(this.leader) && this.electionElapsed < this.o.electionTimeoutTicks;
      if (inLease && !m.transfer) {
        // Only a follower's, for the leader it follows (a leader's own lease is no link that breaks).
        if (m.type === 'preVote' && this.state !== 'leader' && this.leader !== null) this.heldPreVote = { m, at: this.electionTicks, leader: this.leader };
        return false;
      }
    }
    if (m.type === 'preVote') return true; // never change our term for a pre-vote
    if (m.type === 'preVoteResponse' && !m.reject) return true; // granted for our future term
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    // Figure 3.1: only a leader's message or a granted vote restarts a follower's election clock.
    // A witness campaigns an election timeout after a data voter would (drawElectionTimeout): if
    // a vote it refuses (the candidate's log is behind) restarted its clock, a data voter behind
    // it, campaigning again and again, would keep the one up-to-date voter from ever campaigning.
    const keepsClock = this.isWitness && this.state !== 'leader' && m.type === 'vote' && !this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const [elapsed, timeout] = [this.electionElapsed, this.randomizedElectionTimeout];
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    if (keepsClock) [this.electionElapsed, this.randomizedElectionTimeout] = [elapsed, timeout];
    return true;
  }

  private answerStaleTerm(m: RaftMessage): void {
    // A witness answers whatever the options say: without CheckQuorum or PreVote a node whose term
    // ran ahead of the leader's (a removed member that never learned it, campaigning) raises the
    // leader's term by campaigning itself, and a witness campaigns an election timeout late, after
    // every vote it grants that member — never, were it not for this answer.
    if ((this.raftOptions.checkQuorum || this.raftOptions.preVote || this.isWitness) && (m.type === 'append' || m.type === 'heartbeat')) {
      // A deposed leader cut off from the cluster learns our term (and steps down) from this.
      this.send<AppendResponseMessage>({
        type: 'appendResponse', from: this.id, to: m.from, term: toTerm(this.term),
        index: logIndex(0), reject: false, hintIndex: logIndex(0), hintTerm: toTerm(0), lost: false,
      });
    } else if (m.type === 'preVote') {
      this.send<VoteResponseMessage>({ type: 'preVoteResponse', from: this.id, to: m.from, term: toTerm(this.term), reject: true });
    }
  }

  private handleVoteRequest(m: VoteRequestMessage): void {
    const respType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    const canVote =
      // §4.1: a vote request is answered whatever our own latest configuration says — a voter
      // promoted or demoted by a record we lack or have not committed may still be needed; the
      // candidate counts only the voters of its own configuration. A rejoining node votes never.
      !this.rejoining &&
      (this.vote === m.from || (this.vote === null && this.leader === null) || (m.type === 'preVote' && m.term > this.term));
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm) && !this.winsPreVoteTie(m)) {
      // Granting a tied rival that outranks us, we yield this round: should a quorum grant us
      // too (the rival's refusal alone denies it only in a cluster of three), we do not stand
      // for real against it, which could split the vote of the others.
      if (this.losesPreVoteTie(m)) this.yieldedThisRound = true;
      this.send<VoteResponseMessage>({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
      return;
    }
    this.send<VoteResponseMessage>({ type: respType, from: this.id, to: m.from, term: toTerm(this.term), reject: true });
  }

  /**
   * A pre-candidate in its first pre-vote round since it last followed a leader, asked for a
   * pre-vote by a rival pre-candidate of the same term whose log is exactly as new as its own:
   * the one ranked first wins the tie, the other is refused. A pre-vote binds no one, so both
   * used to grant each other's: two followers that lost a silent leader in the same tick became
   * candidates of one term, each voted for itself, and the round elected no one (a split vote,
   * and another election timeout without a leader). Refusing a pre-vote is always safe; the one
   * refused keeps its own timer and votes for the winner's real request. A rival with a newer
   * log is granted (it would win anyway: we cannot win its vote); one with an older log was
   * refused already. Only the first round: a node ranked first that cannot win (cut off from a
   * quorum the rival can reach) would otherwise refuse that rival at every timeout, for ever.
   * Rank: data voters before witnesses (a witness that wins hands over again), each by id, so
   * that every node ranks alike whatever order its member list was given in.
   */
  private winsPreVoteTie(m: VoteRequestMessage): boolean {
    return this.preVoteTie(m) && electionRankBefore(this.id, m.from, this.dataVoters, this.voters);
  }

  /** The other side of winsPreVoteTie: a tied rival that outranks us. */
  private losesPreVoteTie(m: VoteRequestMessage): boolean {
    return this.preVoteTie(m) && electionRankBefore(m.from, this.id, this.dataVoters, this.voters);
  }

  private preVoteTie(m: VoteRequestMessage): boolean {
    if (m.type !== 'preVote' || this.state !== 'preCandidate' || this.preVoteRounds !== 1 || m.term !== this.term + 1) return false;
    return m.lastTerm === this.log.lastTerm() && m.lastIndex === this.log.lastIndex();
  }

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        if (this.unanswerableLeader(m.from)) {
          this.leader = m.from;
          this.fromUnanswerableLeader(m);
          return;
        }
        this.electionElapsed = 0;
        this.leader = m.from;
        this.preVoteRounds = 0;
        this.handleFromLeader(m);
        return;
      case 'timeoutNow':
        this.hup(true);
        return;
      case 'resign':
        // Our leader stepped down for want of a quorum: its lease is void, and the successor it
        // named campaigns (resign). Our election clock runs on from its last heartbeat.
        if (m.from === this.leader) this.leader = null;
        return;
      case 'readIndex':
        this.rejectForwardedRead(m.from, m.requestId);
        return;
      case 'readIndexResponse':
        this.handleReadIndexResponse(m);
        return;
      case 'appendResponse':
      case 'heartbeatResponse':
      case 'voteResponse':
      case 'preVoteResponse':
        return; // answers to a role we no longer have
      case 'vote':
      case 'preVote':
        throw new Error('raft: vote requests are handled before role dispatch');
      default:
        assertNever(m, 'raft message');
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        if (this.state === 'preCandidate' && this.unanswerableLeader(m.from)) {
          // A pre-candidate asking because it cannot answer this leader goes on asking:
          // following it again would restart the clock and cost a whole timeout.
          this.fromUnanswerableLeader(m);
          return;
        }
        // Someone won this term: follow them.
        this.becomeFollower(m.term, m.from);
        this.handleFromLeader(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse':
        this.handleVoteResponse(m);
        return;
      case 'readIndex':
        this.rejectForwardedRead(m.from, m.requestId);
        return;
      case 'timeoutNow':
      case 'resign':
      case 'appendResponse':
      case 'heartbeatResponse':
      case 'readIndexResponse':
        return;
      case 'vote':
      case 'preVote':
        throw new Error('raft: vote requests are handled before role dispatch');
      default:
        assertNever(m, 'raft message');
    }
  }

  private stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case 'appendResponse':
        this.handleAppendResponse(m, this.peerProgress(m.from));
        return;
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m, this.peerProgress(m.from));
        return;
      case 'readIndex':
        this.handleReadRequest({ requestId: m.requestId, origin: m.from });
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        throw new Error(`raft: two leaders in term ${this.term} (${this.id} and ${m.from})`);
      case 'timeoutNow':
      case 'resign':
      case 'voteResponse':
      case 'preVoteResponse':
      case 'readIndexResponse':
        return;
      case 'vote':
      case 'preVote':
        throw new Error('raft: vote requests are handled before role dispatch');
      default:
        assertNever(m, 'raft message');
    }
  }

  private handleVoteResponse(m: VoteResponseMessage): void {
    const expected = this.state === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
    if (m.type !== expected) return; // a late answer to the other phase
    const result = this.poll(m.from, !m.reject);
    if (result === 'won') this.electionWon(this.state === 'preCandidate' ? 'preVote' : 'vote');
    else if (result === 'lost') this.becomeFollower(this.term, null);
  }

  // =============================================================================================
  // Follower side of replication

  /**
   * A follower's or pre-candidate's leader of its own term that it cannot answer (see
   * unanswerableLeader): its heartbeat is taken and answered — the leader of our own term,
   * whose commit index any role may take, a pre-vote having changed neither term nor vote; the
   * answer is what tells the transport whether the link is back (it reconnects to send), and
   * without it a node that answers nothing would never find the link back, asking forever of
   * voters that still answer the leader and leave a pre-vote unanswered inside its lease. Its
   * records and snapshots are not taken: no answer of ours can count toward committing them,
   * and taking them while the survivors elect a successor moves their logs under the election —
   * one that took the last append refused the vote of the other, which had not (split elections
   * when the leader could send and not receive). It sends them again once we answer.
   */
  private fromUnanswerableLeader(m: AppendMessage | HeartbeatMessage | SnapshotMessage): void {
    if (m.type === 'heartbeat') this.handleFromLeader(m);
  }

  private handleFromLeader(m: AppendMessage | HeartbeatMessage | SnapshotMessage): void {
    switch (m.type) {
      case 'append':
        this.handleAppend(m);
        return;
      case 'heartbeat':
        if (this.rejoining && m.commit > this.log.lastIndex()) {
          // The leader thinks we hold what we acknowledged before our disk was lost: say we do not.
          this.replyAppend(m.from, m.commit, true, this.log.lastIndex(), this.log.lastTerm());
          return;
        }
        this.log.commitTo(m.commit);
        // Once committed and held by every data voter, records stay held: the value only grows.
        this.dataVotersHold = Math.max(this.dataVotersHold, Math.min(m.dataHold, this.log.commitIndex()));
        this.send<HeartbeatResponseMessage>({ type: 'heartbeatResponse', from: this.id, to: m.from, term: toTerm(this.term), readSeq: m.readSeq });
        return;
      case 'snapshot':
        this.handleSnapshot(m);
        return;
      default:
        assertNever(m, 'raft message');
    }
  }

  private replyAppend(to: NodeId, index: number, reject = false, hintIndex = 0, hintTerm = 0): void {
    this.send<AppendResponseMessage>({
      type: 'appendResponse', from: this.id, to, term: toTerm(this.term),
      index: logIndex(index), reject, hintIndex: logIndex(hintIndex), hintTerm: toTerm(hintTerm),
      // A rejoining node may lack records it acknowledged before it lost its disk.
      lost: reject && this.rejoining,
    });
  }

  /** §5.3 consistency check; on a mismatch, hint where our logs may agree (fast backtracking). */
  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.commitIndex()) {
      this.replyAppend(m.from, this.log.commitIndex());
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.refreshConfig(m.prevIndex);
      this.replyAppend(m.from, lastNew);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.replyAppend(m.from, m.prevIndex, true, hint.index, hint.term);
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const meta = m.snapshot;
    if (meta.index <= this.log.commitIndex()) {
      this.replyAppend(m.from, this.log.commitIndex());
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already hold that prefix: just learn that it is committed.
      this.log.commitTo(meta.index);
      this.replyAppend(m.from, this.log.commitIndex());
      return;
    }
    this.log.restore(meta);
    // The snapshot's members are the configuration as of its index (compact()).
    this.scanConfig();
    this.replyAppend(m.from, this.log.lastIndex());
  }

  // =============================================================================================
  // Leader side of replication

  private selfProgress(): Progress {
    return this.peerProgress(this.id);
  }

  private peerProgress(id: NodeId): Progress {
    const pr = this.progress.get(id);
    if (pr === undefined) throw new Error(`raft: leader ${this.id} has no progress for ${id}`);
    return pr;
  }

  private appendEntry(kind: Entry['kind'], data: Uint8Array): Entry {
    const entry: Entry = { index: logIndex(this.log.lastIndex() + 1), term: toTerm(this.term), kind, data };
    this.log.append([entry]);
    this.refreshConfig(entry.index - 1);
    return entry;
  }

  private bcastAppend(): void {
    for (const to of this.replicaPeers()) this.sendAppend(to, true);
  }

  /** Like bcastAppend, then keeps sending while records remain and the window allows. */
  private bcastAppendFill(): void {
    for (const to of this.replicaPeers()) {
      let sent = this.sendAppend(to, true);
      for (let i = 0; sent && i < this.o.inflightMessagesMax; i++) sent = this.sendAppend(to, false);
    }
  }

  private bcastHeartbeat(): void {
    const readSeq = this.readOnly.currentSeq();
    const commit = this.log.commitIndex();
    const dataHold = this.computeDataVotersHold();
    for (const to of this.replicaPeers()) {
      const match = this.peerProgress(to).match;
      // Never tell a peer to commit past what it is known to hold.
      const peerCommit = Math.min(match, commit);
      this.send<HeartbeatMessage>({ type: 'heartbeat', from: this.id, to, term: toTerm(this.term), commit: logIndex(peerCommit), readSeq, dataHold: logIndex(Math.min(dataHold, peerCommit)) });
    }
    this.readBroadcastWanted = false;
  }

  /** Send the next batch to `to` if flow control allows; returns whether a message went out. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.peerProgress(to);
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === null) return this.sendSnapshot(to, pr);
    const last = this.log.lastIndex();
    const entries = pr.next <= last ? this.log.slice(pr.next, last, this.o.entriesPerMessageMax, this.o.bytesPerMessageMax) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send<AppendMessage>({
      type: 'append', from: this.id, to, term: toTerm(this.term),
      prevIndex: logIndex(prevIndex), prevTerm, commit: this.log.commitIndex(), entries,
    });
    pr.sentEntries(entries.length, prevIndex + entries.length);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // wait until the peer shows signs of life
    // A witness keeps no database to send: the data voter it hands leadership to serves the peer.
    if (this.isWitness) return false;
    const snapshot = this.log.snapshot();
    if (snapshot === null) throw new Error(`raft: ${to} needs records before ${this.log.firstIndex()} but there is no snapshot`);
    // A witness takes a snapshot as a position only, forgetting every record below it: only
    // once every data voter holds them, or a witness elected later could hold nothing to bring
    // a lagging data voter up to date with, and lead a cluster that can never write again.
    const wasWitness = this.configIndex > this.log.commitIndex() && witnesses(this.configBefore).includes(to);
    if ((this.witnesses.includes(to) || wasWitness) && snapshot.index > this.computeDataVotersHold()) return false;
    this.send<SnapshotMessage>({ type: 'snapshot', from: this.id, to, term: toTerm(this.term), snapshot });
    pr.becomeSnapshot(snapshot.index);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: toTerm(this.term) });
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    pr.heard(this.leaderTicks);
    if (m.reject && m.lost && m.hintIndex < pr.match) {
      // It came back without the records it acknowledged (--rejoin after a lost data
      // directory): what it acknowledged before counts no more; find again what it holds.
      // The commit index never goes back, so forgetting a match costs only a resend.
      pr.forgetMatch(Math.min(m.hintIndex, this.log.lastIndex()));
      this.sendAppend(m.from, true);
      return;
    }
    if (m.reject) {
      const next = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        if (pr.match + 1 >= this.log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case 'replicate':
        pr.inflights.freeLE(m.index);
        break;
      default:
        assertNever(pr.state, 'progress state');
    }
    if (this.maybeCommit()) this.onCommitAdvanced();
    // The window may have opened for several messages: fill it (bounded by the window size).
    for (let i = 0; i < this.o.inflightMessagesMax && this.sendAppend(m.from, false); i++);
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    // A data voter that holds all we hold is as good a target as any: hand over without waiting for a tick.
    else if (this.isWitness && this.transferee === null && pr.match === this.log.lastIndex() && this.dataVoters.includes(m.from)) this.handOverFromWitness();
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    pr.heard(this.leaderTicks);
    pr.probeSent = false;
    // If every append in the window was lost, free one slot so a probe can find out.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from, true);
    if (this.voters.includes(m.from)) this.deliverReads(this.readOnly.ack(m.from, m.readSeq));
  }

  /**
   * §5.4.2: only an entry of the current term is committed by counting replicas; earlier
   * entries commit indirectly with it (Figure 8).
   */
  private maybeCommit(): boolean {
    const index = quorumValue(this.voters, (id) => this.peerProgress(id).match);
    if (index <= this.log.commitIndex() || this.log.term(index) !== this.term) return false;
    this.log.commitTo(index);
    return true;
  }

  private onCommitAdvanced(): void {
    // Our configuration committed: the one before it is history, and so are its members.
    if (this.peersBefore.length > 0 && this.configIndex <= this.log.commitIndex()) this.trackMembers();
    const waiting = this.readsAwaitingCommit;
    this.readsAwaitingCommit = [];
    for (const r of waiting) this.registerRead(r);
    this.appendWanted = true;
  }

  // =============================================================================================
  // ReadIndex (thesis §6.4)

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.commitIndex()) === this.term;
  }

  private handleReadRequest(r: ReadRequest): void {
    if (this.readOnly.size() + this.readsAwaitingCommit.length >= READS_PENDING_MAX) {
      this.failRead(r, 'dropped');
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the previous leader's until an entry of our term commits.
      this.readsAwaitingCommit.push(r);
      return;
    }
    this.registerRead(r);
  }

  private registerRead(r: ReadRequest): void {
    this.readOnly.add(r, this.log.commitIndex());
    this.deliverReads(this.readOnly.release());
    // Confirm leadership with one heartbeat round for all reads registered before ready().
    if (this.readOnly.size() > 0) this.readBroadcastWanted = true;
  }

  private deliverReads(reads: readonly ConfirmedRead[]): void {
    for (const r of reads) {
      if (r.origin === null) {
        this.readStates.push({ requestId: r.requestId, index: r.index });
      } else {
        this.send<ReadIndexResponseMessage>({
          type: 'readIndexResponse', from: this.id, to: r.origin, term: toTerm(this.term),
          requestId: r.requestId, index: r.index, reject: false,
        });
      }
    }
  }

  private failRead(r: ReadRequest, reason: ReadFailure['reason']): void {
    if (r.origin === null) this.readFailures.push({ requestId: r.requestId, reason, leader: this.leader });
    else this.rejectForwardedRead(r.origin, r.requestId);
  }

  private rejectForwardedRead(to: NodeId, requestId: string): void {
    this.send<ReadIndexResponseMessage>({
      type: 'readIndexResponse', from: this.id, to, term: toTerm(this.term), requestId, index: logIndex(0), reject: true,
    });
  }

  private drainLeaderReads(): ReadRequest[] {
    const out = [...this.readOnly.drain(), ...this.readsAwaitingCommit];
    this.readsAwaitingCommit = [];
    return out;
  }

  private forwardRead(requestId: string): void {
    if (this.leader === null) {
      this.readFailures.push({ requestId, reason: 'not_leader', leader: null });
      return;
    }
    if (!this.forwardedReads.add(requestId)) {
      this.readFailures.push({ requestId, reason: 'dropped', leader: this.leader });
      return;
    }
    this.send({ type: 'readIndex', from: this.id, to: this.leader, term: toTerm(this.term), requestId });
  }

  private handleReadIndexResponse(m: ReadIndexResponseMessage): void {
    if (!this.forwardedReads.settle(m.requestId)) return; // already failed (leader change) or never ours
    if (m.reject) this.readFailures.push({ requestId: m.requestId, reason: 'not_leader', leader: this.leader === m.from ? null : this.leader });
    else this.readStates.push({ requestId: m.requestId, index: m.index });
  }

  /** The leader we forwarded reads to may be gone: its answers would arrive in a dead term. */
  private failForwardedReads(): void {
    for (const requestId of this.forwardedReads.drain()) this.readFailures.push({ requestId, reason: 'dropped', leader: null });
  }

  // =============================================================================================
  // Ready bookkeeping and invariants

  private send<M extends RaftMessage>(m: M): void {
    if (m.to === this.id) throw new Error(`raft: ${this.id} sending a ${m.type} to itself`);
    this.outbox.push(m);
  }

  private hardState(): RaftHardState {
    return { term: this.term, vote: this.vote, commit: this.log.commitIndex() };
  }

  /**
   * Only a new term or vote makes the hard state worth writing: the driver writes it
   * atomically with fsyncs, so it must not change on every commit. The commit index it
   * carries is a hint for restarts; the state machine keeps its own applied index.
   */
  private hardChanged(h: RaftHardState): boolean {
    return h.term !== this.prevHard.term || h.vote !== this.prevHard.vote;
  }

  private softState(): SoftState {
    return { role: this.role(), leader: this.leader, term: toTerm(this.term) };
  }

  private softChanged(s: SoftState): boolean {
    return s.role !== this.prevSoft.role || s.leader !== this.prevSoft.leader || s.term !== this.prevSoft.term;
  }

  private check(): void {
    this.log.check();
    const t = this.o.electionTimeoutTicks;
    const lo = this.isWitness ? 2 * t : t;
    if (this.randomizedElectionTimeout < lo || this.randomizedElectionTimeout >= lo + t) {
      throw new Error(`raft invariant: randomized election timeout ${this.randomizedElectionTimeout} outside [${lo}, ${lo + t})`);
    }
    if (this.log.lastTerm() > this.term) throw new Error(`raft invariant: last log term ${this.log.lastTerm()} > current term ${this.term}`);
    if (this.state === 'candidate' && this.vote !== this.id) throw new Error('raft invariant: a candidate votes for itself');
    if (this.state !== 'leader') {
      if (this.progress.size !== 0) throw new Error('raft invariant: only the leader tracks progress');
      if (this.leader === this.id) throw new Error(`raft invariant: ${this.id} names itself leader as a ${this.state}`);
      return;
    }
    if (this.leader !== this.id) throw new Error('raft invariant: a leader names itself leader');
    const tracked = this.config.length + (this.config.some((m) => m.id === this.id) ? 0 : 1) + this.replicatedBefore().length;
    if (this.progress.size !== tracked) throw new Error('raft invariant: the leader tracks every member of its configuration, itself, and those of the one before until its own commits');
    const last = this.log.lastIndex();
    for (const [id, pr] of this.progress) pr.check(last, id);
    if (this.selfProgress().match > this.log.stableIndex()) throw new Error('raft invariant: the leader counts a record it has not persisted');
    if (this.forwardedReads.size() !== 0) throw new Error('raft invariant: a leader has no forwarded reads');
  }
}

/**
 * Whether `a` wins a tie of pre-candidates against `b` (RaftCore.winsPreVoteTie): data voters
 * before witnesses, each group by id; a node outside the configuration ranks last.
 */
function electionRankBefore(a: NodeId, b: NodeId, dataVoters: readonly NodeId[], voters: readonly NodeId[]): boolean {
  const group = (id: NodeId): number => (dataVoters.includes(id) ? 0 : voters.includes(id) ? 1 : 2);
  const [ga, gb] = [group(a), group(b)];
  if (ga !== gb) return ga < gb;
  return ga !== 2 && a < b;
}
