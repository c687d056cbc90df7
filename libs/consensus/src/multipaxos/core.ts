/**
 * Multi-Paxos (Lamport, "Paxos Made Simple" §3; Chandra, Griesemer and Redstone, "Paxos Made
 * Live"; van Renesse and Altinbuken, "Paxos Made Moderately Complex") as a pure object driven
 * by tick/step/propose/readIndex, whose effects come out of ready() in the order the driver
 * must perform them.
 *
 * Every voter is an acceptor; one of them, the leader, is the distinguished proposer:
 *   - phase 1, once per leadership: Prepare(ballot, first slot not known chosen) to every
 *     acceptor; an acceptor promises a ballot above every one it promised, persists the promise,
 *     and returns every slot it accepted from there on, with its ballot, and its chosen
 *     watermark. With a quorum of promises the leader takes as chosen the slots a promise
 *     reports chosen or a quorum reports accepted at one ballot (knownChosen); after them, slot
 *     by slot, the value accepted at the highest ballot (a no-op where none was), which it
 *     proposes again under its own ballot;
 *   - phase 2, per slot: Accept(ballot, slots) — pipelined and batched; an acceptor accepts any
 *     slot at a ballot at least its promise, whatever it holds before it, persists, and answers
 *     Accepted. A slot is chosen when a quorum accepted it at one ballot; the chosen watermark
 *     travels on the next Accept or heartbeat, and every node applies chosen slots in order. An
 *     acceptor sent a chosen slot whose value it holds already, at an older ballot, keeps it
 *     as it is: a changed slot costs storage a rewrite of every record after it.
 * A proposer whose ballot is refused learns the higher one and steps down; a node that stops
 * hearing the leader starts phase 1 after a randomized timeout, so duelling proposers settle.
 *
 * A witness is an acceptor that keeps no database: it promises and accepts like any other and
 * counts toward both quorums, but never runs phase 1 (a data voter that is up can, with the
 * witness's promise), and forgets its slots up to what every data voter durably holds
 * (`dataHold` on the leader's heartbeat; see computeDataVotersHold and usableWitnessPromise).
 * One that lacks slots the leader no longer holds, while it may not forget them yet, is sent
 * the unchosen slots after them, so a data voter and a witness choose while the other data
 * voter is down (sendAccepts).
 *
 * Leadership transfer (transferLeadership) is phase 1 run at the leader's request: the leader
 * stops proposing, waits until every slot it proposed is chosen and held by the target, and
 * sends it takeOver; the target prepares a higher ballot at once, naming the leader's ballot,
 * which the acceptors that follow that leader take as the leader's own consent to be deposed.
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
  type ProposeMembershipResult,
  type CoreStatus,
  type Entry,
  type LogIndex,
  type NodeId,
  type PersistedState,
  type ProposeResult,
  type ReadFailure,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
  type SoftState,
} from '../contract';
import { COMMITTED_BYTES_PER_READY_MAX, COMMITTED_ENTRIES_PER_READY_MAX, ForwardedReads, READS_PENDING_MAX, ReadOnly, dataVoters, decodeConfig, encodeConfig, membershipChangeRefusal, fastElectionDelayTicks, fastElectionJitterTicks, hasQuorum, recipientsOf, splitEarly, votingMembers, witnesses, type ConfirmedRead, type ReadRequest } from '../common';
import { answeredWithinSilenceBound, compactHolding, type CompactionRequest } from '../common/slow-peers';
import { PAXOS_ROLES, ballotOf, parseHardState, paxosSettings, rankOf, roundOf, toHardState, validateOptions, validatePersisted, type PaxosHardState, type PaxosSettings, type WitnessHold } from './config';
import { ConfigWindow, type ConfigRecord } from './configs';
import type {
  AcceptMessage,
  AcceptedMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  LearnMessage,
  PaxosMessage,
  PrePrepareMessage,
  PrePromiseMessage,
  PrepareMessage,
  PromiseMessage,
  ReadIndexMessage,
  ReadIndexResponseMessage,
  SnapshotMessage,
  TakeOverMessage,
  TeachMessage,
} from './messages';
import { SlotLog, isHole, sameBytes } from './slots';

const EMPTY_DATA = new Uint8Array(0);

/**
 * Election timeouts a peer's right prefix may stand still below the Accepts in flight to it
 * before the leader takes them as lost and sends again from its end (see
 * handleHeartbeatResponse): long enough for an Accept near the request size limit to cross a
 * loaded machine, short beside a stream break, which the transport reports at once.
 */
export const RESEND_ELECTION_TIMEOUTS = 2;

/** 'precandidate': asking (prePrepare) whether a quorum would promise, before the ballot rises. */
type State = 'follower' | 'precandidate' | 'candidate' | 'leader';

/**
 * The leader's view of one peer's slots. Flow control (probe / replicate / snapshot, a window
 * of Accepts in flight, the right prefix as the match point) is etcd Raft's per-follower
 * progress tracking; what is counted toward a choice is per slot.
 */
interface Peer {
  readonly id: NodeId;
  /** An acceptor (data voter or witness) of the configuration governing our next unchosen slot. */
  voter: boolean;
  /** A witness there: it takes a snapshot only as a position, and only below dataHold (sendSnapshot). */
  witness: boolean;
  /** Next slot to send. */
  next: number;
  /** Every slot up to here holds the chosen value or the one accepted at our ballot. */
  prefix: number;
  /** 'probe': one Accept at a time until its prefix reaches what we send; 'replicate': pipelined. */
  mode: 'probe' | 'replicate' | 'snapshot';
  /** Last slot of each Accept in flight. */
  inflight: number[];
  heardAtTick: number;
  /** When the snapshot in flight left: one that never arrives is sent again a timeout later. */
  snapshotSentTick: number;
  /** Slots up to here were counted as accepted by it through its right prefix. */
  countedTo: number;
  /** When its right prefix last grew, or we last sent again from its end. */
  progressAtTick: number;
}

interface HandedOut {
  readonly lastSlot: number | null;
  readonly snapshot: SnapshotMeta | null;
  readonly appliedTo: number | null;
  readonly promised: number | null;
  /** A witness store's hold written with it, and the holders' version, or null. */
  readonly hold: number | null;
  readonly holdVersion: number | null;
  /** Recipients of its messages that leave after the persist. */
  readonly lateRecipients: ReadonlySet<NodeId>;
}

export class PaxosCore implements ConsensusCore<PaxosMessage> {
  private readonly id: NodeId;
  private readonly o: CoreOptions;
  /**
   * Every acceptor of the configuration that governs the next slot not known chosen (configs.ts),
   * counted toward both quorums there: data voters and witnesses. A slot's own quorums are its
   * governing configuration's (quorumOf); these serve what is not a slot's — leases, reads, phase 1's start.
   */
  private voters: readonly NodeId[] = [];
  /** The acceptors that keep the database: only they run phase 1. */
  private dataVoters: readonly NodeId[] = [];
  private witnesses: readonly NodeId[] = [];
  /** The witnesses of every configuration that governs, or will govern, a slot after our chosen ones. */
  private witnessesAnywhere: readonly NodeId[] = [];
  /** Every member of a configuration that governs, or will govern, a slot after our chosen ones. */
  private peers: readonly NodeId[] = [];
  private isVoter = false;
  private isWitness = false;
  /** This process keeps no database (CoreOptions.witnessStore): it never runs phase 1, and forgets as a witness. */
  private readonly witnessStore: boolean;
  /** The configurations of our slots (Lamport's α window). */
  private readonly configs: ConfigWindow;
  /** What refreshMembers last computed from (the governing configuration and the latest record). */
  private membersKey: readonly (readonly Member[] | null)[] = [];
  private readonly rank: number;
  private readonly slots: SlotLog;
  /** The last compact() whose slots are not all forgotten yet (a slow peer still needs some). */
  private heldCompaction: CompactionRequest | null = null;

  /** The acceptor's promise (hard state), and the part of it known durable. */
  private promised: number;
  /**
   * Who we promised `promised` to (in memory: null after a restart, or when unknown). A ballot is
   * (round, rank) with the rank taken in the members a node knows, and two configurations may
   * give one rank to two nodes: a Prepare of the ballot we promised, from anyone else, is refused,
   * so no two proposers both complete phase 1 of one ballot.
   */
  private promisedTo: NodeId | null = null;
  private durablePromised: number;
  private prevHard: PaxosHardState;
  private prevSoft: SoftState;

  private state: State = 'follower';
  /** The leader we follow (its Accepts and heartbeats carry our promised ballot), or null. */
  private leader: NodeId | null = null;
  /**
   * Peers the driver reported unreachable (reportUnreachable) and not reachable since
   * (reportReachable): what we send them is lost. A leader among them gets no lease from us
   * and its messages do not restart our election clock (unanswerableLeader).
   */
  private readonly unanswerable = new Set<NodeId>();
  /** The highest ballot seen anywhere: our next ballot is above it. */
  private maxSeenBallot: number;
  private ticks = 0;
  private electionElapsed = 0;
  private randomizedTimeout = 0;
  private heartbeatElapsed = 0;

  // Proposer
  /** The ballot a precandidate asks about, and who would promise it (ourselves among them). */
  private preBallot = 0;
  private readonly preGrants = new Set<NodeId>();
  private ballot = 0;
  private fromSlot = 0;
  private readonly promises = new Map<NodeId, PromiseMessage>();
  /** The acceptors our Prepare went to (askPrepare), and the ballot it named as handing over to us. */
  private readonly prepared = new Set<NodeId>();
  private designatedAt = 0;
  /** Hand-overs a removed leader attempted (handOverOnRemoval): the next goes to the next data voter. */
  private handOverAttempts = 0;
  /** When we last ran phase 1 only to hand over (maybeLeadToHandOver), or null. */
  private rescueTick: number | null = null;
  /** When we last asked every node we know what is chosen (maybeAskToLearn), or null. */
  private learnAskedTick: number | null = null;
  /** The highest slot whose chosen value a teacher told us (handleTeach), or 0. */
  private taughtTo = 0;
  /** A teach that came while our phase 1 ran: taken once it ends (takeTaughtInPhase1). */
  private taughtInPhase1: TeachMessage | null = null;
  private readonly peerState = new Map<NodeId, Peer>();
  /** Acceptors (voters) that accepted each not-yet-chosen slot at our ballot. */
  private readonly acks = new Map<number, Set<NodeId>>();
  /** The highest slot phase 1 proposed again: reads wait until it is chosen. */
  private phase1LastSlot = 0;
  private acceptsWanted = false;
  private readOnly: ReadOnly;
  private readsAwaitingPhase1: ReadRequest[] = [];
  private readBroadcastWanted = false;
  /** The data voter we hand leadership to (transferLeadership): proposals are refused meanwhile. */
  private transferee: NodeId | null = null;
  /** When the transfer began: it is abandoned an election timeout later (tickLeader). */
  private transferStartTick = 0;
  /** takeOver has left for the transferee: a higher ballot now is most likely its own. */
  private takeOverSent = false;
  /** When takeOver last left (resends are paced from it). */
  private takeOverSentTick = 0;
  /**
   * When the first takeOver of this transfer left, or null: from then on the target may be
   * running phase 1, so the transfer is abandoned only a whole timeout after it (tickLeader) —
   * abandoning sooner would let us take proposals and, refused, campaign against the target.
   * Not moved by resends: with every takeOver lost the transfer still ends.
   */
  private handedOverTick: number | null = null;

  // Acceptor
  /** Slots up to here hold chosen values or ones accepted at `prefixBallot`. */
  private prefix = 0;
  private prefixBallot = 0;
  /** The highest dataHold a leader sent us, capped at our chosen watermark (only grows). */
  private dataVotersHold = 0;
  /**
   * A witness store: for each data voter a leader counted in a dataHold, the slot up to which
   * it durably holds every chosen value (noteHolders), persisted with the promise (changed
   * when holdVersion moves past the persisted one); and how far dataVotersHold is durable —
   * what it may forget up to (status). See vouchesFor.
   */
  private holders = new Map<NodeId, number>();
  private holdVersion = 0;
  private persistedHoldVersion = 0;
  private durableHoldVersion = 0;
  /** A snapshot position waiting for the holders it names to be on disk (handleSnapshot), and their version. */
  private pendingPosition: { readonly m: SnapshotMessage; readonly holdVersion: number } | null = null;
  private durableHold = 0;
  private readonly forwardedReads = new ForwardedReads();

  private outbox: PaxosMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private handedOut: HandedOut | null = null;

  constructor(options: CoreOptions, persisted: PersistedState, settings: Partial<PaxosSettings> = {}) {
    validateOptions(options);
    const alpha = paxosSettings(settings).configWindowSlots;
    const hard = parseHardState(persisted.hardState);
    validatePersisted(persisted);
    this.o = options;
    this.id = options.id;
    this.witnessStore = options.witnessStore ?? options.members.some((m) => m.id === options.id && m.role === 'witness');
    this.rank = rankOf(options.members, this.id);
    this.slots = new SlotLog(persisted.snapshot, persisted.entries);
    const snapshotMembers = persisted.snapshot?.members ?? [];
    const fromSnapshot = snapshotMembers.length > 0;
    this.configs = new ConfigWindow(alpha, fromSnapshot ? snapshotMembers : options.members, persisted.entries.filter((e) => e.index > this.slots.firstIndex() - 1), fromSnapshot ? (persisted.snapshot?.index ?? 0) : 0);
    // The chosen watermark is not durable, but what the state machine applied was chosen: a
    // restarted acceptor starts from there, so a leader catches it up from there instead of
    // sending (and it holding again) its whole tail since the snapshot. Up to a hole only —
    // every slot below the watermark must hold its value; a log shorter than the database
    // (it restored a snapshot ahead of it) stops at its end.
    if (persisted.appliedIndex !== undefined) {
      let upTo = this.slots.chosenIndex();
      while (upTo < persisted.appliedIndex) {
        const e = this.slots.at(upTo + 1);
        if (e === null || isHole(e)) break;
        upTo++;
      }
      this.slots.chooseTo(upTo);
      // And it is in the state machine already: not handed out again (see RaftCore's constructor).
      this.slots.appliedTo(upTo);
    }
    // Accepting at a ballot promises it: storage writes the slots before the hard state, so a
    // crash between the two leaves slots above the stored promise, which still binds us.
    let promised = hard.promised;
    for (const e of persisted.entries) promised = Math.max(promised, e.term);
    this.promised = promised;
    this.durablePromised = promised;
    this.maxSeenBallot = promised;
    this.prevHard = hard.hold === undefined ? { promised } : { promised, hold: hard.hold };
    if (this.witnessStore) this.restoreHold(hard.hold, persisted.hardState !== null ? persisted.snapshot : null);
    this.readOnly = new ReadOnly(this.id, this.voters);
    this.refreshMembers();
    this.prefix = this.slots.chosenIndex();
    this.drawTimeout();
    this.prevSoft = this.softState();
    this.settle();
  }

  // =============================================================================================
  // Driver API

  tick(): void {
    this.ticks++;
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
    // Slots kept for a slow peer go once it has them, goes silent, or we stop leading.
    this.compactLog();
    this.settle();
  }

  step(m: PaxosMessage): void {
    if (m.to !== this.id) throw new ConsensusError('bad_message', `multipaxos message: addressed to ${m.to}, not to ${this.id}`);
    if (m.from === this.id) throw new ConsensusError('bad_message', `multipaxos message: from ${m.from}, which is ${this.id} itself`);
    // A member removed (or never added) is ignored: it gets no promise and deposes no one. A
    // leader's phase-2 traffic is taken from anyone — its ballot fences it — so a member added
    // by a configuration we have not learned yet still learns from its leader.
    if (!this.peers.includes(m.from) && !fromLeaderOutsideConfig(m) && !isLearning(m) && !(m.type === 'promise' && this.prepared.has(m.from))) return;
    this.stepMessage(m);
    this.settle();
  }

  /**
   * Leader: propose `next` as a `config` record in the next slot, followed by α − 1 no-ops, so
   * that it governs (from slot + α) as soon as it and they are chosen, whatever the load. The
   * rules, each a refusal with a reason:
   *   - one change at a time: none while the latest record's window is open (it has not taken
   *     effect: its slot and the α − 1 after it are not all chosen), so every two consecutive
   *     configurations differ by one member and at most two govern the slots of any window;
   *   - none before every slot phase 1 proposed again is chosen: a record an earlier leader
   *     proposed may be among them (Ongaro's correction to Raft's single-server changes);
   *   - one member changes; a new member comes as an observer and votes only once it holds every
   *     chosen slot; the next voters that answered lately are a quorum of them
   *     (membershipChangeRefusal).
   */
  proposeMembership(next: readonly MemberSpec[]): ProposeMembershipResult {
    if (this.state !== 'leader') return { ok: false, reason: 'not_leader', leader: this.leader };
    if (this.transferee !== null || this.removed()) return { ok: false, reason: 'transferring' };
    const pending = this.pendingConfig();
    if (pending !== null) {
      return { ok: false, reason: 'config_pending', message: `the change in slot ${pending.slot} has not taken effect yet (its slot and the ${this.configs.alpha - 1} after it must be chosen): one change at a time.` };
    }
    if (this.slots.chosenIndex() < this.phase1LastSlot) {
      return { ok: false, reason: 'config_pending', message: 'this leader has not chosen the slots its predecessors left yet: a change among them may still be in flight.' };
    }
    if (this.slots.lastIndex() - this.slots.chosenIndex() + this.configs.alpha > this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const current = this.configs.governing(this.slots.lastIndex() + 1);
    const refused = membershipChangeRefusal({
      protocol: 'multipaxos',
      roles: PAXOS_ROLES,
      current,
      next,
      reachable: (id) => id === this.id || this.answeredLately(id),
      caughtUp: (id) => id === this.id || (this.peer(id)?.prefix ?? 0) >= this.slots.chosenIndex(),
      dataVotersHoldCommitted: () => this.computeDataVotersHold() >= this.slots.chosenIndex(),
    });
    if (refused !== null) return { ok: false, ...refused };
    const data = encodeConfig(next);
    const slot = this.slots.lastIndex() + 1;
    const records: Entry[] = [{ index: logIndex(slot), term: toTerm(this.ballot), kind: 'config', data }];
    for (let s = slot + 1; s < slot + this.configs.alpha; s++) records.push({ index: logIndex(s), term: toTerm(this.ballot), kind: 'noop', data: EMPTY_DATA });
    this.slots.accept(records);
    this.configs.note(records);
    this.acceptsWanted = true;
    this.settle();
    return { ok: true, index: logIndex(slot), term: toTerm(this.ballot), token: proposalToken(data) };
  }

  /** Leader: `id` answered within the last election timeout (what "reachable" means to a change). */
  private answeredLately(id: NodeId): boolean {
    const pr = this.peer(id);
    return pr !== undefined && this.ticks - pr.heardAtTick < this.o.electionTimeoutTicks;
  }

  /**
   * Up to where our slots name the configuration we show (CoreStatus.members): a leader's whole
   * log (it drives its own records); anyone else's chosen slots and its right prefix — the
   * values its leader proposed, as a Raft follower shows the latest record it holds. Slots past
   * them may hold values of a deposed ballot that will never be chosen.
   */
  private shownConfigSlot(): number {
    return this.state === 'leader' ? this.slots.lastIndex() : Math.max(this.slots.chosenIndex(), this.prefixBallot === this.promised ? this.prefix : 0);
  }

  /** The latest config record we show (shownConfigSlot), while it has not taken effect: a slot of its window is not chosen. */
  private pendingConfig(): ConfigRecord | null {
    const latest = this.configs.latestAtOrBefore(this.shownConfigSlot());
    return latest !== null && latest.slot + this.configs.alpha - 1 > this.slots.chosenIndex() ? latest : null;
  }

  /**
   * A new leader fills with no-ops, so that it knows without waiting for writes:
   *   - a window its slots do not fill, of a record phase 1 proposed again without all the
   *     padding its proposer sent — the record then takes effect, as after proposeMembership;
   *   - the α slots after the snapshot it booted from, whose member list is the configuration
   *     as of its slot: once they are chosen, it knows which data voters hold what exactly
   *     (computeDataVotersHold), and a witness behind its snapshot can take the position.
   * Every record α or more before each of them is chosen (the first: its own window; the
   * second: the snapshot holds it), so proposing them is within the window.
   */
  private padWindows(): void {
    const pending = this.pendingConfig();
    const end = Math.max(pending === null ? 0 : pending.slot + this.configs.alpha, this.configs.exactFrom());
    const pad: Entry[] = [];
    for (let s = this.slots.lastIndex() + 1; s < end; s++) pad.push({ index: logIndex(s), term: toTerm(this.ballot), kind: 'noop', data: EMPTY_DATA });
    this.slots.accept(pad);
    this.configs.note(pad);
  }

  membersAt(index: LogIndex): readonly Member[] {
    const first = this.slots.firstIndex() - 1;
    const last = this.slots.lastIndex();
    if (!Number.isSafeInteger(index) || index < first || index > last) {
      throw new ConsensusError('bad_state', `multipaxos membersAt: index ${index} is outside the slots, which hold the configurations of ${first}..${last}`);
    }
    return this.configs.asOf(index);
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.state !== 'leader') return { ok: false, reason: 'not_leader', leader: this.leader };
    // A slot proposed now would have to be chosen and reach the transferee before it may take
    // over; a removed leader only hands over (handOverOnRemoval).
    if (this.transferee !== null || this.removed()) return { ok: false, reason: 'transferring' };
    if (this.slots.lastIndex() - this.slots.chosenIndex() >= this.o.uncommittedEntriesMax) return { ok: false, reason: 'overloaded' };
    const slot = this.slots.lastIndex() + 1;
    // The α window: the slot's acceptors must be known, so every config record α or more before it is chosen.
    if (!this.withinWindow(slot)) return { ok: false, reason: 'overloaded' };
    this.slots.accept([{ index: logIndex(slot), term: toTerm(this.ballot), kind: 'command', data }]);
    this.configs.note([{ index: logIndex(slot), term: toTerm(this.ballot), kind: 'command', data }]);
    this.acceptsWanted = true;
    this.settle();
    return { ok: true, index: logIndex(slot), term: toTerm(this.ballot), token: proposalToken(data) };
  }

  readIndex(requestId: string): void {
    switch (this.state) {
      case 'leader':
        this.handleReadRequest({ requestId, origin: null });
        break;
      case 'follower':
        this.forwardRead(requestId);
        break;
      case 'precandidate':
      case 'candidate':
        this.readFailures.push({ requestId, reason: 'not_leader', leader: null });
        break;
      default:
        assertNever(this.state, 'multipaxos state');
    }
    this.settle();
  }

  hasReady(): boolean {
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.readFailures.length > 0 ||
      this.readBroadcastWanted ||
      (this.acceptsWanted && this.state === 'leader') ||
      this.slots.hasUnstable() ||
      this.slots.pendingSnapshot() !== null ||
      this.slots.hasCommittedToApply() ||
      this.hardChanged() ||
      this.softChanged(this.softState())
    );
  }

  ready(): Ready<PaxosMessage> {
    if (this.acceptsWanted && this.state === 'leader') this.sendAcceptsToAll();
    this.acceptsWanted = false;
    if (this.readBroadcastWanted && this.state === 'leader') this.broadcastHeartbeat();
    this.readBroadcastWanted = false;
    const hardChanged = this.hardChanged();
    const hard = this.hardState();
    const soft = this.softState();
    const softChanged = this.softChanged(soft);
    const entries = this.slots.unstableEntries();
    const snapshot = this.slots.pendingSnapshot();
    const committed = this.slots.committedToApply(COMMITTED_ENTRIES_PER_READY_MAX, COMMITTED_BYTES_PER_READY_MAX);
    // A leader's Accepts never depend on its own persist: it counts its own acceptance only
    // after advance() says it is durable.
    const early = this.state === 'leader' && !hardChanged;
    const rd: Ready<PaxosMessage> = {
      hardState: hardChanged ? toHardState(hard) : null,
      // A changed slot is written again from there on: storage cuts at entries[0] and appends
      // as one atomic step, so a power cut never forgets the slots after it (acknowledged).
      truncateAfter: null,
      entries,
      mustSync: entries.length > 0 || hardChanged,
      snapshot,
      snapshotKeepsLog: snapshot !== null,
      earlyMessages: early ? this.outbox.filter(isLeaderBroadcast) : [],
      messages: early ? this.outbox.filter((m) => !isLeaderBroadcast(m)) : this.outbox,
      committed,
      readStates: this.readStates,
      readFailures: this.readFailures,
      softState: softChanged ? soft : null,
    };
    const last = entries[entries.length - 1];
    const lastCommitted = committed[committed.length - 1];
    this.handedOut = {
      lastSlot: last === undefined ? null : last.index,
      snapshot,
      appliedTo: lastCommitted === undefined ? null : lastCommitted.index,
      promised: hardChanged ? this.promised : null,
      hold: hardChanged ? (hard.hold?.to ?? null) : null,
      holdVersion: hardChanged && this.witnessStore ? this.holdVersion : null,
      lateRecipients: recipientsOf(rd.messages),
    };
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    if (hardChanged) {
      this.prevHard = hard;
      this.persistedHoldVersion = this.holdVersion;
    }
    if (softChanged) this.prevSoft = soft;
    return rd;
  }

  takeEarlyMessages(): PaxosMessage[] {
    const h = this.handedOut;
    if (h === null || h.promised !== null || this.state !== 'leader' || this.hardChanged()) return [];
    const { early, rest } = splitEarly(this.outbox, isLeaderBroadcast, h.lateRecipients);
    this.outbox = rest;
    return early;
  }

  advance(): void {
    const h = this.handedOut;
    if (h === null) throw new Error('multipaxos: advance() called without a ready() to acknowledge');
    this.handedOut = null;
    if (h.snapshot !== null) this.slots.snapshotInstalled(h.snapshot);
    const stableBefore = this.slots.stableIndex();
    if (h.lastSlot !== null) this.slots.stableTo(h.lastSlot);
    if (h.appliedTo !== null) this.slots.appliedTo(h.appliedTo);
    if (h.promised !== null) this.durablePromised = h.promised;
    if (h.hold !== null) this.durableHold = h.hold;
    if (h.holdVersion !== null) this.durableHoldVersion = h.holdVersion;
    const position = this.pendingPosition;
    if (position !== null && this.durableHoldVersion >= position.holdVersion) {
      this.pendingPosition = null;
      this.handleSnapshot(position.m);
    }
    if (this.state === 'candidate') this.maybeWinPhase1();
    if (this.state === 'leader') {
      // Our own acceptances count once durable.
      for (let s = Math.max(stableBefore, this.slots.chosenIndex()) + 1; s <= this.slots.stableIndex(); s++) {
        if (this.slots.ballotAt(s) === this.ballot) this.ackSlot(s, this.id);
      }
      this.advanceChosen();
      this.maybeSendTakeOver();
    }
    this.settle();
  }

  compact(meta: SnapshotMeta, retainEntries: number): void {
    if (!Number.isSafeInteger(retainEntries) || retainEntries < 0) {
      throw new ConsensusError('bad_state', `multipaxos compact: retainEntries must be a non-negative integer, got ${retainEntries}`);
    }
    const applied = this.slots.appliedIndex();
    if (meta.index > applied) throw new ConsensusError('bad_state', `multipaxos compact: snapshot index ${meta.index} is beyond the applied index ${applied}`);
    if (meta.index < (this.slots.snapshot()?.index ?? 0)) return;
    this.heldCompaction = { meta, retainEntries };
    this.compactLog();
    this.settle();
  }

  /**
   * Forgets the slots the last compact() allows (up to meta.index - retainEntries, never past
   * applied or stable ones), except those a slow peer still needs; keeps the request while
   * some are held, so that a later tick forgets them.
   */
  private compactLog(): void {
    const cap = Math.min(this.slots.appliedIndex(), this.slots.stableIndex());
    const offset = this.slots.firstIndex() - 1;
    this.heldCompaction = compactHolding(this.heldCompaction, cap, offset, () => this.slowPeerPrefixes(), (meta, to) => {
      this.slots.compact(meta, to);
      this.configs.compactTo(this.slots.firstIndex() - 1);
    });
  }

  /**
   * Leader: the right prefix of every peer that takes Accepts from us (not a snapshot) and
   * answered lately (common/slow-peers.ts keeps the slots after it, within its bound): it
   * catches up by Accepts instead of a snapshot. A probing peer counts too — its right prefix
   * is what it reported itself, and it probes after its link broke, after a lost Accept, or as
   * a new leader's peer, which is when it lags: a follower that restarts, or whose link flaps,
   * should come back to Accepts. Keeping slots longer only lowers our compaction point, as a
   * larger retainEntries would: a candidate behind it is refused less often (candidateBehind),
   * never more.
   */
  private slowPeerPrefixes(): number[] {
    const held: number[] = [];
    if (this.state !== 'leader') return held;
    for (const pr of this.peerState.values()) {
      if (pr.mode !== 'snapshot' && answeredWithinSilenceBound(this.ticks, pr.heardAtTick, this.o.electionTimeoutTicks)) held.push(pr.prefix);
    }
    return held;
  }

  reportSnapshotFailure(to: NodeId): void {
    const pr = this.state === 'leader' ? this.peerState.get(to) : undefined;
    if (pr?.mode === 'snapshot') this.probe(pr, pr.prefix + 1);
    this.settle();
  }

  reportUnreachable(to: NodeId): void {
    this.unanswerable.add(to);
    const pr = this.state === 'leader' ? this.peerState.get(to) : undefined;
    if (pr !== undefined && pr.mode === 'replicate') this.probe(pr, pr.prefix + 1);
    if (this.state === 'follower' && to === this.leader) {
      // Its connection broke (its process died, or the link did): start phase 1 within a few
      // ticks, not a whole timeout. Acceptors still hearing a live leader refuse to promise.
      this.leader = null;
      this.askSoon(to);
    }
    this.settle();
  }

  /** Run phase 1 within a few ticks of losing `lost`, staggered by rank, so two followers that lost it together do not ask in the same tick. */
  private askSoon(lost: NodeId): void {
    const delay = fastElectionDelayTicks(this.dataVoters, this.id, lost, this.o.random);
    if (delay === 0 && this.runsPhase1()) {
      this.askNow();
      return;
    }
    // A delay of d ticks: the d-th tick from now finds the timeout reached (tickElection).
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedTimeout - Math.max(1, delay));
  }

  reportReachable(to: NodeId): void {
    this.unanswerable.delete(to);
    this.settle();
  }

  /**
   * Hand leadership to the data voter `to`, as Paxos moves leadership anyway — by a phase 1 of
   * a higher ballot — but started by us, with no election timeout and no asking first:
   *   1. we propose nothing more (propose answers `transferring`), and go on sending Accepts
   *      until every slot we proposed is chosen and `to`'s right prefix covers them all;
   *   2. we send it takeOver (maybeSendTakeOver), and again on each of its heartbeat answers
   *      that shows it still follows our ballot: a lost takeOver costs a heartbeat interval;
   *   3. it prepares a ballot above every one it has seen, at once, naming ours (designatedAt).
   *      An acceptor that follows us — its promise is our ballot — promises although our lease
   *      runs (handlePrepare), and so do we, stepping down; the target then holds every slot
   *      there is and chosen up to the end, so phase 1 proposes nothing again;
   *   4. a higher ballot that reaches us otherwise (a refused heartbeat) deposes us as usual,
   *      but we wait a whole timeout before asking to lead again (deposedBy), not a few ticks:
   *      the target needs that long to establish, and asking sooner would duel with it.
   * Not done within an election timeout (the target down, a quorum unreachable, takeOver and
   * its resends lost), the transfer is abandoned and we take proposals again (tickLeader) —
   * counted from the first takeOver once one has left (handedOverTick). A request for another
   * target after that is ignored, and one for the same target changes nothing.
   * Safety rests on ballots alone: the Prepare is an ordinary one; designatedAt only waives the
   * lease, which protects liveness (a returning partitioned node deposing a live leader), and
   * the leader that sent takeOver waived it by sending it. A delayed takeOver or Prepare after
   * an abandoned transfer costs at most an election, as Raft's TimeoutNow can.
   * Only a data voter may take over: a witness or an observer keeps no database to serve from
   * (and a witness never runs phase 1). Ourselves or a non-member: nothing happens.
   */
  transferLeadership(to: NodeId): void {
    if (this.state !== 'leader' || to === this.id || !this.dataVoters.includes(to) || this.transferee === to) return;
    // Once takeOver has left, its target may be running phase 1: a second target would run
    // another, and the two could refuse each other's proposals indefinitely.
    if (this.takeOverSent) return;
    this.transferee = to;
    this.transferStartTick = this.ticks;
    const pr = this.peer(to);
    if (pr !== undefined) this.sendAccepts(pr);
    this.maybeSendTakeOver();
    this.settle();
  }

  status(): CoreStatus {
    const progress: Record<string, { match: LogIndex; next: LogIndex; state: string }> = {};
    if (this.state === 'leader') for (const [id, pr] of this.peerState) progress[id] = { match: logIndex(pr.prefix), next: logIndex(pr.next), state: pr.mode };
    return {
      id: this.id,
      role: this.role(),
      leader: this.leader,
      term: toTerm(this.promised),
      commitIndex: this.slots.chosenIndex(),
      lastIndex: this.slots.lastIndex(),
      firstIndex: this.slots.firstIndex(),
      progress,
      // A witness store forgets up to here: only what it knows durably who holds.
      dataVotersHold: logIndex(this.state === 'leader' ? this.computeDataVotersHold() : this.witnessStore ? this.durableHold : this.dataVotersHold),
      promisedFence: toTerm(this.promised),
      members: this.configs.asOf(this.shownConfigSlot()),
      membershipPending: this.pendingConfig() !== null,
    };
  }

  // =============================================================================================
  // Roles and timers

  private role(): Role {
    switch (this.state) {
      case 'leader':
        return 'leader';
      case 'precandidate':
      case 'candidate':
        return 'candidate';
      case 'follower':
        return this.isWitness ? 'witness' : this.isVoter ? 'follower' : 'observer';
      default:
        return assertNever(this.state, 'multipaxos state');
    }
  }

  /** Randomized in [T, 2T): duelling proposers back off by different amounts and settle. */
  private drawTimeout(): void {
    const t = this.o.electionTimeoutTicks;
    this.randomizedTimeout = t + Math.floor(this.o.random() * t);
  }

  /** A data voter of a process that keeps a database runs phase 1 on its own; a witness never does. */
  private runsPhase1(): boolean {
    return this.isVoter && !this.isWitness && !this.witnessStore;
  }

  /** Ask now whether a quorum would promise our next ballot (then phase 1), and draw the next timeout. */
  private askNow(): void {
    this.electionElapsed = 0;
    this.drawTimeout();
    this.startPrePrepare();
  }

  private tickElection(): void {
    this.electionElapsed++;
    this.maybeAskToLearn();
    // A witness never runs phase 1: it holds no database to lead with, and a data voter that is
    // up wins with its promise (the witness keeps every slot a data voter may lack), then
    // chooses with its acceptances (sendAccepts).
    if (this.electionElapsed < this.randomizedTimeout) return;
    if (this.runsPhase1()) {
      this.askNow();
    } else if (this.state !== 'follower') {
      // A phase 1 run only to hand over (maybeLeadToHandOver) that did not win within a
      // timeout, or a precandidacy of a member no longer a data voter: give up — the data
      // voter that needs us asks again, and what we were taught meanwhile is taken.
      this.becomeFollower(null);
    }
  }

  private tickLeader(): void {
    // A transfer that took an election timeout has failed: we lead on, and take proposals again.
    // Once takeOver has left, the target gets a whole timeout from then (handedOverTick).
    if (this.transferee !== null && this.ticks - (this.handedOverTick ?? this.transferStartTick) >= this.o.electionTimeoutTicks) this.endTransfer();
    if (this.transferee === null && this.removed()) this.handOverOnRemoval();
    this.heartbeatElapsed++;
    if (this.heartbeatElapsed >= this.o.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
    for (const pr of this.peerState.values()) {
      if (pr.mode === 'snapshot' && this.ticks - pr.snapshotSentTick >= this.o.electionTimeoutTicks) {
        this.probe(pr, pr.prefix + 1);
        this.sendAccepts(pr);
      }
    }
    // A leader that has not heard from a quorum of acceptors for a timeout steps down: it can
    // choose nothing, and its clients are better sent elsewhere.
    const live = [this.id];
    for (const pr of this.peerState.values()) if (pr.voter && this.ticks - pr.heardAtTick < this.o.electionTimeoutTicks) live.push(pr.id);
    if (!this.hasQuorum(live)) this.becomeFollower(null);
  }

  private becomeFollower(leader: NodeId | null): void {
    if (this.state === 'leader') for (const r of this.drainLeaderReads()) this.failRead(r, 'not_leader');
    if (this.state !== 'follower' || leader !== this.leader) this.failForwardedReads();
    this.state = 'follower';
    this.leader = leader;
    this.ballot = 0;
    this.preBallot = 0;
    this.preGrants.clear();
    this.promises.clear();
    this.peerState.clear();
    this.acks.clear();
    this.acceptsWanted = false;
    this.electionElapsed = 0;
    this.endTransfer();
  }

  private endTransfer(): void {
    this.transferee = null;
    this.takeOverSent = false;
    this.handedOverTick = null;
  }

  /**
   * The transferee may take over once every slot we proposed is chosen and it holds them all:
   * its phase 1 then finds every slot chosen and proposes nothing again, and no acceptor
   * rewrites anything. `resend`: its heartbeat answer shows it still follows our ballot, so an
   * earlier takeOver was lost or came too early to act on (a duplicate it ignores) — unless the
   * answer left before the takeOver could arrive: not within two heartbeat intervals of it.
   */
  private maybeSendTakeOver(resend = false): void {
    if (this.state !== 'leader' || this.transferee === null) return;
    if (this.takeOverSent && !(resend && this.ticks - this.takeOverSentTick >= 2 * this.o.heartbeatTicks)) return;
    const pr = this.peer(this.transferee);
    const last = this.slots.lastIndex();
    if (pr === undefined || this.slots.chosenIndex() < last || pr.prefix < last) return;
    this.send<TakeOverMessage>({ type: 'takeOver', from: this.id, to: pr.id, ballot: toTerm(this.ballot), chosen: logIndex(this.slots.chosenIndex()) });
    this.takeOverSent = true;
    this.takeOverSentTick = this.ticks;
    this.handedOverTick ??= this.ticks;
  }

  /**
   * takeOver from the leader we follow, at the ballot we promised it: run phase 1 now, skipping
   * prePrepare (the leader asked for it, and it is the lease the acceptors would check). One
   * that does not match — we campaigned already, follow another leader, or are not a data voter
   * (a witness, an observer, one rejoining) — is stale or misaddressed, and ignored.
   */
  private handleTakeOver(m: TakeOverMessage): void {
    this.seeBallot(m.ballot);
    if (this.state !== 'follower' || this.leader !== m.from || m.ballot !== this.promised || this.o.rejoining === true) return;
    // What the leader chose we hold (its right prefix reached the end): learn it, so our
    // Prepare asks only about slots after it — and the configuration that governs after them,
    // which may have made us a data voter (a leader removed hands over to one: tickLeader).
    this.extendPrefix();
    this.slots.chooseTo(Math.min(m.chosen, this.prefix));
    this.refreshMembers();
    if (!this.isVoter || this.isWitness || this.witnessStore) return;
    this.startPhase1(m.ballot);
  }

  // =============================================================================================
  // Phase 1

  /**
   * Ask every acceptor whether it would promise our next ballot, raising nothing: only with a
   * quorum of yes does the ballot rise (startPhase1). An acceptor says yes when the ballot is
   * above its promise and it hears no live leader — what it checks before promising too
   * (handlePrepare). A node cut off from a quorum therefore keeps its promise where it was,
   * and the leader it comes back to finds its Accepts taken, not refused with a higher ballot.
   */
  private startPrePrepare(): void {
    if (this.state === 'leader') for (const r of this.drainLeaderReads()) this.failRead(r, 'not_leader');
    this.state = 'precandidate';
    this.leader = null;
    this.electionElapsed = 0;
    this.ballot = 0;
    this.preBallot = ballotOf(roundOf(Math.max(this.promised, this.maxSeenBallot)) + 1, this.rank);
    this.preGrants.clear();
    this.preGrants.add(this.id);
    this.promises.clear();
    this.peerState.clear();
    this.acks.clear();
    for (const to of this.voters) {
      if (to !== this.id) this.send<PrePrepareMessage>({ type: 'prePrepare', from: this.id, to, ballot: toTerm(this.preBallot), fromSlot: logIndex(this.slots.chosenIndex() + 1) });
    }
    if (this.hasQuorum([...this.preGrants])) this.startPhase1();
  }

  // =============================================================================================
  // Learning what is chosen without a leader ("Paxos Made Simple" §3: a learner may ask)

  /**
   * Heard no leader for an election timeout: ask every node our configurations name what is
   * chosen after our watermark, at most once per timeout. Without a leader no one else tells
   * us, and what we missed may be what we need to act: a change that made us a data voter of
   * the configuration in force while we were down (we would go on as an observer and never run
   * phase 1), or one that moved the acceptors our phase 1 must ask (we would ask members who
   * left). The data voter that learns it leads runs phase 1 with the acceptors it now knows.
   */
  private maybeAskToLearn(): void {
    if (this.electionElapsed < this.o.electionTimeoutTicks) return;
    if (this.learnAskedTick !== null && this.ticks - this.learnAskedTick < this.o.electionTimeoutTicks) return;
    this.learnAskedTick = this.ticks;
    for (const to of this.peers) this.askToLearn(to);
  }

  private askToLearn(to: NodeId): void {
    this.send<LearnMessage>({ type: 'learn', from: this.id, to, ballot: toTerm(this.promised), fromSlot: logIndex(this.slots.chosenIndex() + 1) });
  }

  /**
   * Our chosen values from the asked slot on, one message's worth, if our watermark reaches it
   * and we still hold it (past our compaction point the next leader sends a snapshot). Every
   * slot up to our chosen watermark holds its chosen value, witness or not.
   */
  private handleLearn(m: LearnMessage): void {
    const chosen = this.slots.chosenIndex();
    if (m.fromSlot > chosen || m.fromSlot < this.slots.firstIndex()) return;
    const entries = this.slots.slice(m.fromSlot, chosen, this.o.entriesPerMessageMax, this.o.bytesPerMessageMax);
    if (entries.length === 0) return;
    // The highest ballot we saw, not only our promise: a learner that still follows a deposed
    // ballot refuses that leader's Accepts naming it (offersAnotherChosenValue), so it steps down.
    this.send<TeachMessage>({ type: 'teach', from: this.id, to: m.from, ballot: toTerm(Math.max(this.promised, this.maxSeenBallot)), entries, chosen: logIndex(chosen) });
  }

  /**
   * Chosen values we lacked: each goes into its slot (a slot holding another value held one
   * never chosen — every proposal above the ballot a value was chosen at carries that value —
   * and one holding this value stays as it is), and the watermark moves over them. Any ballot
   * is safe with a chosen value: a phase 1 that picks it picks the one value it may. A leader
   * ignores them (its phase 1 learned everything chosen before it). A candidate keeps them
   * until its phase 1 ends (takeTaughtInPhase1): its slots are what its phase 1 reads, and a
   * ballot below the one a taught value was chosen at may yet see another value reported
   * there — futile to propose (the acceptors that chose promised above it), but not to be
   * written over a slot known chosen. A precandidate goes on (its phase 1 would start from the
   * new watermark) unless what it learned made it no data voter. More to learn: we ask the
   * teacher again at once. An Accept of a deposed ballot that offers another value for a slot
   * we learned so is refused (offersAnotherChosenValue).
   */
  private handleTeach(m: TeachMessage): void {
    this.seeBallot(m.ballot);
    if (this.state === 'leader') return;
    if (this.state === 'candidate') {
      // The answer that reaches furthest (each starts at our watermark's next slot).
      const held = this.taughtInPhase1?.entries.at(-1)?.index ?? 0;
      if ((m.entries.at(-1)?.index ?? 0) > held) this.taughtInPhase1 = m;
      return;
    }
    const chosen = this.slots.chosenIndex();
    const first = m.entries[0];
    const last = m.entries[m.entries.length - 1];
    if (first === undefined || last === undefined || first.index > chosen + 1 || last.index <= chosen) return;
    const fresh = m.entries.filter((e) => e.index > chosen && !this.slots.holdsValue(e));
    this.slots.accept(fresh);
    this.configs.note(fresh);
    this.slots.chooseTo(Math.min(m.chosen, last.index));
    this.taughtTo = Math.max(this.taughtTo, this.slots.chosenIndex());
    this.extendPrefix();
    this.refreshMembers();
    if (this.state === 'precandidate' && !this.runsPhase1()) this.becomeFollower(null);
    if (m.chosen > this.slots.chosenIndex()) this.askToLearn(m.from);
  }

  /**
   * No promise, no persist, no timer reset: the answer is what handlePrepare would decide now.
   * The ballot asked about is seen by no one else and promised by no one, so it raises nothing
   * here either: an asker of the same round that saw it used to choose the round after, and two
   * askers of one tick skipped a whole round — a round of ballots in which no one led. In one
   * round their ballots' ranks settle it (handlePrepare).
   */
  private handlePrePrepare(m: PrePrepareMessage): void {
    const grant = m.ballot > this.promised && this.o.rejoining !== true && !this.leaderAliveFor(m.from) && !this.candidateBehind(m.fromSlot, m.from);
    this.send<PrePromiseMessage>({ type: 'prePromise', from: this.id, to: m.from, ballot: grant ? m.ballot : toTerm(this.promised), reject: !grant });
    if (!grant) this.maybeLeadToHandOver(m.from, m.fromSlot, m.ballot);
  }

  /**
   * A data voter asks for our promise while it lacks slots we compacted, so we refuse it (it
   * could not learn their values from us) — and we are no voter that could lead instead
   * (removed, demoted, an observer): without us it may never win, as after a removed leader
   * that stepped down before the voters learned what it chose. A Paxos proposer need not be an
   * acceptor: we run phase 1 ourselves, from our chosen watermark, and as a leader that is no
   * data voter we only hand over (handOverOnRemoval), with every slot and the chosen watermark,
   * to a data voter. At most once per election timeout, and only while no leader is heard.
   */
  private maybeLeadToHandOver(from: NodeId, fromSlot: number, asked = 0): void {
    if (this.state !== 'follower' || this.isVoter || this.isWitness || this.witnessStore || this.o.rejoining === true) return;
    if (!this.candidateBehind(fromSlot, from) || !this.dataVoters.includes(from) || this.leaderAliveFor(from)) return;
    if (this.rescueTick !== null && this.ticks - this.rescueTick < this.o.electionTimeoutTicks) return;
    this.rescueTick = this.ticks;
    // Above the round the asker would use (`asked`, its PrePrepare's ballot): its Prepare, if a
    // quorum told it yes without us, must not take the acceptors we are about to win.
    this.seeBallot(asked);
    this.startPhase1();
  }

  private handlePrePromise(m: PrePromiseMessage): void {
    if (m.reject) {
      // Our next question goes above the promise it holds; soon, if that promise (not a live
      // leader) was the reason — a refusal for a live leader waits for our next timeout.
      this.seeBallot(m.ballot);
      if (this.state === 'precandidate' && m.ballot >= this.preBallot) this.campaignSoon();
      return;
    }
    if (this.state !== 'precandidate' || m.ballot !== this.preBallot) return;
    this.preGrants.add(m.from);
    if (this.hasQuorum([...this.preGrants])) this.startPhase1();
  }

  /** A leader we hear from (other than `from`) and can answer is alive: Paxos Made Live's master lease. */
  private leaderAliveFor(from: NodeId): boolean {
    return this.state === 'leader' || (this.leader !== null && this.leader !== from && !this.unanswerable.has(this.leader) && this.electionElapsed < this.o.electionTimeoutTicks);
  }

  /**
   * `from` leads, and we cannot answer it: our Accepted and heartbeat answers are lost, so it
   * cannot count us toward any quorum — to choose a slot or confirm a read — and the lease we
   * would give it protects nothing. Its messages are still taken (slots, the chosen watermark)
   * but do not restart our election clock, and its lease does not refuse a prePrepare or a
   * Prepare: a leader that can send but not receive (its acceptors' links to it cut) is
   * replaced within a few ticks of the cut (reportUnreachable's delay), as a dead one is,
   * instead of after its own step-down and then another timeout. Phase 1 runs only past the
   * prePrepare round, which acceptors that still answer the leader refuse.
   */
  private unanswerableLeader(from: NodeId): boolean {
    return this.unanswerable.has(from);
  }


  /**
   * A Prepare from the proposer our leader handed over to names that leader's ballot, which is
   * our promise (a ballot belongs to one proposer): the leader consented to be deposed, so its
   * lease does not refuse it. The leader itself consents only while it hands over to that very
   * proposer: a Prepare delayed past a transfer it abandoned would depose it for nothing.
   */
  private designatedByOurLeader(m: PrepareMessage): boolean {
    if (m.designatedAt === 0 || m.designatedAt !== this.promised) return false;
    return this.state !== 'leader' || (this.transferee === m.from && this.takeOverSent);
  }

  /**
   * A candidate that does not know slots we have compacted away could not learn their values
   * from us. A witness store forgot slots that data voters hold: to one that holds them all
   * (vouchesFor) it promises, and the candidate checks that it holds them (usableWitnessPromise).
   */
  private candidateBehind(fromSlot: number, from: NodeId): boolean {
    return fromSlot < this.slots.firstIndex() && !(this.witnessStore && this.vouchesFor(from));
  }

  /**
   * Whether `id` holds the chosen value of every slot we forgot: a leader told us so
   * (noteHolders), and a data voter never loses such a value (usableWitnessPromise). No
   * other candidate may take our promise over those slots — a data voter removed, one whose
   * slots there were never counted, may hold values of a deposed ballot there, which a promise
   * of ours that does not report them would let it take as chosen.
   */
  private vouchesFor(id: NodeId): boolean {
    return (this.holders.get(id) ?? 0) >= this.slots.firstIndex() - 1;
  }

  /** `designatedAt`: the ballot of the leader that handed over to us (takeOver), or 0. */
  private startPhase1(designatedAt = 0): void {
    if (this.state === 'leader') for (const r of this.drainLeaderReads()) this.failRead(r, 'not_leader');
    this.state = 'candidate';
    this.leader = null;
    this.electionElapsed = 0;
    this.ballot = ballotOf(roundOf(Math.max(this.promised, this.maxSeenBallot)) + 1, this.rank);
    this.maxSeenBallot = this.ballot;
    // Our own promise, persisted before it counts (maybeWinPhase1 waits for it to be durable).
    this.promised = this.ballot;
    this.promisedTo = this.id;
    this.prefixBallot = 0;
    this.prefix = this.slots.chosenIndex();
    this.fromSlot = this.slots.chosenIndex() + 1;
    this.promises.clear();
    this.peerState.clear();
    this.acks.clear();
    this.designatedAt = designatedAt;
    this.prepared.clear();
    // Every acceptor of a configuration that may govern a slot from fromSlot on, as our own slots
    // tell; maybeWinPhase1 asks more if the promises name another (phase1Configs).
    const ask = [this.configs.governing(this.fromSlot), ...this.configs.after(this.fromSlot - this.configs.alpha).map((r) => r.members)];
    this.askPrepare(ask.flatMap((members) => votingMembers(members)));
    this.maybeWinPhase1();
  }

  /** Send our Prepare to those of `ids` not asked yet (ourselves excepted). */
  private askPrepare(ids: readonly NodeId[]): void {
    for (const to of ids) {
      if (to === this.id || this.prepared.has(to)) continue;
      this.prepared.add(to);
      this.send<PrepareMessage>({ type: 'prepare', from: this.id, to, ballot: toTerm(this.ballot), fromSlot: logIndex(this.fromSlot), designatedAt: toTerm(this.designatedAt) });
    }
  }

  private handlePrepare(m: PrepareMessage): void {
    this.seeBallot(m.ballot);
    const leaderAlive = this.leaderAliveFor(m.from) && !this.designatedByOurLeader(m);
    // A candidate behind our compaction point must not lead, and its campaign must not hold
    // back ours (no promise, no reset). The ballot we promised is promised to one proposer only
    // (promisedTo). Any member asked promises, voter or not here: the proposer asks the acceptors
    // of configurations we may not have learned yet, and a promise binds only the one who gives it.
    const sameBallotElsewhere = m.ballot === this.promised && this.promisedTo !== m.from;
    if (m.ballot < this.promised || sameBallotElsewhere || (m.ballot > this.promised && leaderAlive) || this.o.rejoining === true || this.candidateBehind(m.fromSlot, m.from)) {
      // Below our promise; or a leader we hear from is alive (Paxos Made Live's master lease,
      // which keeps a returning partitioned node from deposing it).
      this.send<PromiseMessage>({ type: 'promise', from: this.id, to: m.from, ballot: toTerm(this.promised), reject: true, chosen: this.slots.chosenIndex(), firstSlot: this.slots.firstIndex(), accepted: [] });
      this.maybeLeadToHandOver(m.from, m.fromSlot);
      return;
    }
    if (m.ballot > this.promised) {
      if (this.state !== 'follower') this.becomeFollower(null);
      this.promised = m.ballot;
      this.promisedTo = m.from;
      this.leader = null;
      // Give the candidate we promised a whole timeout to win before we campaign ourselves.
      this.electionElapsed = 0;
    }
    // Persisted before it leaves (Ready.messages follow the hard state's fsync).
    this.send<PromiseMessage>({
      type: 'promise', from: this.id, to: m.from, ballot: m.ballot, reject: false,
      chosen: this.slots.chosenIndex(), firstSlot: this.slots.firstIndex(), accepted: this.slots.acceptedFrom(m.fromSlot),
    });
  }

  private handlePromise(m: PromiseMessage): void {
    const witness = this.witnessesAnywhere.includes(m.from);
    if (m.reject) {
      if (this.state === 'candidate' && m.firstSlot > this.fromSlot && !witness) {
        this.becomeFollower(null); // we are behind its compaction point: someone who is not leads
        return;
      }
      this.deposedBy(m.ballot);
      return;
    }
    if (this.state !== 'candidate' || m.ballot !== this.ballot) return;
    // Only a witness promises over slots it forgot, and only to a data voter its leader named as
    // holding them all (vouchesFor) — one we may know as no witness yet (phase 1 may show us the
    // record that made it one). Any other acceptor refuses a candidate behind what it compacted.
    if (m.firstSlot > this.fromSlot && !this.usableWitnessPromise(m)) {
      // It chose and compacted slots we do not know: we cannot learn their values from it, so
      // we must not lead. Someone who knows them will; we wait a whole timeout first.
      this.becomeFollower(null);
      return;
    }
    this.promises.set(m.from, m);
    this.maybeWinPhase1();
  }

  /**
   * A witness's promise that starts after our `fromSlot` (it forgot the slots before
   * `firstSlot`) still counts when we hold a value at every slot in between. Why this is safe:
   *   - a witness forgets a slot only at or below a dataHold a leader sent it (or takes a
   *     snapshot position only there: sendSnapshot), and a leader's dataHold is at most its
   *     chosen watermark and each data voter's right prefix at its ballot: the slot was chosen,
   *     with value v at ballot b, and every data voter durably held v there;
   *   - a data voter never loses such a slot: its disk keeps it, a snapshot it installs or takes
   *     covers it (and then its chosen watermark, so our fromSlot, is past it), and it accepts it
   *     again only as v (every proposal at a ballot above b carries v: Paxos's P2c). It may
   *     hold v at a ballot below b: one that held v already when it learned the slot chosen
   *     keeps it at its older ballot (handleAccept);
   *   - so we, a data voter, hold v at every slot the witness forgot from our fromSlot on, and
   *     phase 1 takes those slots as chosen with our values (maybeWinPhase1) — not by the
   *     highest ballot reported: the witness was maybe the only acceptor of this quorum that
   *     accepted v at b, and another may report a value accepted between our ballot and b.
   * The check below is that argument's conclusion, held to: a hole there means it was broken
   * (a data voter's disk replaced, say), and we treat the promise as one we cannot use.
   */
  private usableWitnessPromise(m: PromiseMessage): boolean {
    for (let s = this.fromSlot; s < m.firstSlot; s++) {
      const e = this.slots.at(s);
      if (e === null || isHole(e)) return false;
    }
    return true;
  }

  /**
   * With a quorum of promises (ours durable among them): the slots from `fromSlot` on whose
   * chosen value phase 1 knows (knownChosen) are chosen, and need no phase 2; for every later
   * slot up to the highest any promise reported, propose again the value accepted at the
   * highest ballot, or a no-op where none was — under our ballot. Then we lead.
   */
  private maybeWinPhase1(): void {
    if (this.state !== 'candidate' || this.durablePromised !== this.ballot) return;
    const promised = [this.id, ...this.promises.keys()];
    if (!hasQuorum(votingMembers(this.configs.governing(this.fromSlot)), promised)) return;
    const known = this.knownChosen();
    let chosen = this.fromSlot - 1;
    while (known.has(chosen + 1)) chosen++;
    const best = new Map<number, Entry>();
    const consider = (e: Entry): void => {
      if (e.index < this.fromSlot || isHole(e)) return;
      const held = best.get(e.index);
      if (held === undefined || e.term > held.term) best.set(e.index, e);
    };
    for (const e of this.slots.acceptedFrom(this.fromSlot)) consider(e);
    for (const p of this.promises.values()) for (const e of p.accepted) consider(e);
    let last = chosen;
    for (const slot of best.keys()) last = Math.max(last, slot);
    const again: Entry[] = [];
    for (let s = this.fromSlot; s <= last; s++) {
      const e = s <= chosen ? known.get(s) : best.get(s);
      again.push(e === undefined
        ? { index: logIndex(s), term: toTerm(this.ballot), kind: 'noop', data: EMPTY_DATA }
        : { index: logIndex(s), term: toTerm(this.ballot), kind: e.kind, data: e.data });
    }
    // Phase 1 across a configuration boundary: a slot's value is safe to propose only if a quorum
    // of the configuration that governs it promised. Which one that is follows from the values
    // before it — the chosen ones, and the ones we are about to propose again — so every
    // configuration `again` makes govern a slot from fromSlot on must have a quorum among the
    // promises; one that has not is asked (its new acceptors never got our Prepare) and we wait,
    // then compute again with what they report (a fixed point: each answer can only add records).
    const lacking = this.phase1Configs(again).filter((members) => !hasQuorum(votingMembers(members), promised));
    if (lacking.length > 0) {
      this.askPrepare(lacking.flatMap((members) => votingMembers(members)));
      return;
    }
    this.becomeLeader(again, chosen, last);
  }

  /**
   * The configurations that govern some slot from fromSlot on, were `again` proposed: the one
   * governing fromSlot (records α or more before it are chosen), every record of ours between
   * fromSlot − α and fromSlot (chosen: their windows reach past fromSlot), and every record in `again`.
   */
  private phase1Configs(again: readonly Entry[]): (readonly Member[])[] {
    const out: (readonly Member[])[] = [this.configs.governing(this.fromSlot)];
    for (const r of this.configs.after(this.fromSlot - this.configs.alpha)) if (r.slot < this.fromSlot) out.push(r.members);
    for (const e of again) if (e.kind === 'config') out.push(decodeConfig(e.data));
    return out;
  }

  /**
   * Every configuration that may govern a slot phase 1 covers, as far as anyone told us: the
   * ones phase1Configs may name, and every record of ours or in a promise. A slot accepted at one
   * ballot by a quorum of each of them was accepted by a quorum of its own (knownChosen).
   */
  private anyPhase1Config(): (readonly Member[])[] {
    const out: (readonly Member[])[] = [this.configs.governing(this.fromSlot), ...this.configs.after(this.fromSlot - this.configs.alpha).map((r) => r.members)];
    for (const p of this.promises.values()) for (const e of p.accepted) if (e.kind === 'config' && e.index >= this.fromSlot) out.push(decodeConfig(e.data));
    return out;
  }

  /**
   * The slots from `fromSlot` on whose chosen value phase 1 knows:
   *   - those a promise reports at or below its acceptor's chosen watermark, where every slot
   *     holds its chosen value;
   *   - those a witness forgot: chosen, with the values we hold (usableWitnessPromise);
   *   - those a quorum of us and the acceptors that promised reports accepted at one ballot:
   *     that is what chosen means (Paxos Made Simple §2.2). Each report is durable — an
   *     acceptor's slots are persisted before its Promise leaves, ours up to the stable index —
   *     and a ballot's proposer proposes one value per slot. The common case after a leader
   *     dies: the slots it had sent both survivors, whose chosen watermark had not reached them.
   */
  private knownChosen(): Map<number, Entry> {
    const known = new Map<number, Entry>();
    // Two sources naming different chosen values for one slot: an invariant already broke
    // (a replaced disk, a bug); leading on either value could lose the other — stop instead.
    const learn = (e: Entry): void => {
      const held = known.get(e.index);
      if (held !== undefined && (held.kind !== e.kind || !sameBytes(held.data, e.data))) {
        throw new Error(`multipaxos invariant: phase 1 of ballot ${this.ballot} knows two different chosen values for slot ${e.index}`);
      }
      known.set(e.index, e);
    };
    const acceptors = new Map<string, NodeId[]>();
    const configs = this.anyPhase1Config().map((members) => votingMembers(members));
    const report = (from: NodeId, e: Entry): void => {
      if (e.index < this.fromSlot || isHole(e)) return;
      const key = `${e.index}@${e.term}`;
      const ids = [...(acceptors.get(key) ?? []), from];
      acceptors.set(key, ids);
      if (configs.every((voters) => hasQuorum(voters, ids))) learn(e);
    };
    for (const e of this.slots.acceptedFrom(this.fromSlot)) if (e.index <= this.slots.stableIndex()) report(this.id, e);
    for (const p of this.promises.values()) {
      for (const e of p.accepted) {
        if (e.index <= p.chosen) learn(e);
        report(p.from, e);
      }
      for (let s = this.fromSlot; s < p.firstSlot; s++) {
        const own = this.slots.at(s);
        if (own !== null) learn(own);
      }
    }
    return known;
  }

  /**
   * `again` holds a value for every slot from `fromSlot` to `last`: the chosen ones up to
   * `chosen`, which we hold from now on without proposing them (one we hold with its chosen
   * value already is left as it is: see handleAccept), and the ones we propose again after.
   */
  private becomeLeader(again: readonly Entry[], chosen: number, last: number): void {
    this.state = 'leader';
    this.leader = this.id;
    this.endTransfer();
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    const fresh = again.filter((e) => e.index > chosen || !this.slots.holdsValue(e));
    this.slots.accept(fresh);
    this.configs.note(fresh);
    this.slots.chooseTo(chosen);
    this.phase1LastSlot = last;
    this.prefixBallot = this.ballot;
    this.acks.clear();
    this.padWindows();
    this.refreshMembers();
    // The slots phase 1 chose may show us no data voter of what governs next: we stepped down.
    if (this.state !== 'leader') return;
    this.trackPeers();
    this.promises.clear();
    this.acceptsWanted = true;
    this.broadcastHeartbeat();
  }

  // =============================================================================================
  // Phase 2: the leader

  private peer(id: NodeId): Peer | undefined {
    return this.peerState.get(id);
  }

  private sendAcceptsToAll(): void {
    for (const pr of this.peerState.values()) this.sendAccepts(pr);
  }

  /** Send what flow control allows: one Accept while probing, a window of them while replicating. */
  private sendAccepts(pr: Peer): void {
    const window = pr.mode === 'replicate' ? this.o.inflightMessagesMax : 1;
    while (pr.inflight.length < window && pr.mode !== 'snapshot') {
      if (pr.next <= this.slots.firstIndex() - 1) {
        if (!this.positionWithheld(pr)) {
          this.sendSnapshot(pr);
          return;
        }
        // A witness that lacks slots we no longer hold, and may not take our snapshot as its
        // position yet (a data voter has not answered our ballot up to it — one that is down,
        // say): we send it the slots after our chosen watermark, which is all a choice needs
        // from it. Without this, 2v1w with a data voter down chooses nothing once the witness
        // restarts after a change of leader (its right prefix at our ballot then stops at its
        // first slot of an older ballot) or lags behind our compaction point. Why it is safe:
        //   - Paxos slots are independent: an acceptor may accept slot s at our ballot without
        //     holding s-1, and its Accepted names the slots it accepted, which handleAccepted
        //     counts toward a choice as for any acceptor — phase 2 as the paper has it;
        //   - nothing here lets it forget: its right prefix, and with it the chosen watermark
        //     it learns (capped at that prefix) and the dataHold it may forget up to, stay
        //     where they were;
        //     so usableWitnessPromise's argument is untouched, and a later phase 1 reads from
        //     its promise every slot it accepted, at its ballot, like any acceptor's;
        //   - the slots up to our chosen watermark need nothing from it: each is chosen, so a
        //     quorum of acceptors accepted its value, and every later proposal carries it.
        // Once every data voter holds our snapshot's slots, heldBy is its right prefix again,
        // which lacks slots here: it gets the position and goes on from its right prefix.
        pr.next = this.heldBy(pr) + 1;
        continue;
      }
      if (pr.next > this.slots.lastIndex()) return;
      const entries = this.slots.slice(pr.next, this.slots.lastIndex(), this.o.entriesPerMessageMax, this.o.bytesPerMessageMax);
      const lastSlot = pr.next + entries.length - 1;
      // Our whole chosen watermark, not chosenFor(pr): its entries up to there carry chosen
      // values, which it need not accept again (handleAccept); it caps what it learns as
      // chosen at its own right prefix.
      this.send<AcceptMessage>({ type: 'accept', from: this.id, to: pr.id, ballot: toTerm(this.ballot), entries, chosen: this.slots.chosenIndex() });
      pr.inflight.push(lastSlot);
      pr.next = lastSlot + 1;
    }
  }

  /** The chosen watermark a peer may learn: never past the slots it is known to hold right. */
  private chosenFor(pr: Peer): number {
    return Math.min(this.slots.chosenIndex(), pr.prefix);
  }

  /**
   * A witness takes a snapshot only as its position: it forgets every slot below it. It may
   * forget only slots every data voter holds (usableWitnessPromise relies on it), so it waits
   * until they all hold the snapshot's slots (sendAccepts sends it the unchosen ones meanwhile).
   */
  private positionWithheld(pr: Peer): boolean {
    return pr.witness && (this.slots.snapshot()?.index ?? 0) > this.computeDataVotersHold();
  }

  /**
   * How far a peer holds what we need from it, where we go on sending after a gap: its right
   * prefix; but from a witness that lacks slots we no longer hold, while its position is
   * withheld (sendAccepts), we need only the slots not chosen yet — it holds them up to the
   * last one it accepted at our ballot without a gap after our chosen watermark.
   */
  private heldBy(pr: Peer): number {
    if (pr.prefix >= this.slots.firstIndex() - 1 || !this.positionWithheld(pr)) return pr.prefix;
    let held = this.slots.chosenIndex();
    while (this.acks.get(held + 1)?.has(pr.id) === true) held++;
    return held;
  }

  private sendSnapshot(pr: Peer): void {
    const snapshot = this.slots.snapshot();
    if (snapshot === null) throw new Error(`multipaxos: ${pr.id} needs slots before ${this.slots.firstIndex()} but there is no snapshot`);
    if (this.positionWithheld(pr)) throw new Error(`multipaxos: a snapshot position for witness ${pr.id} beyond what every data voter holds`);
    // Who holds every slot it covers, when we know (a witness lends its promise only to them).
    const holders = snapshot.index <= this.computeDataVotersHold() ? this.holdersFrom(this.slots.chosenIndex()) : [];
    this.send<SnapshotMessage>({ type: 'snapshot', from: this.id, to: pr.id, ballot: toTerm(this.ballot), snapshot, holders });
    pr.mode = 'snapshot';
    pr.inflight = [];
    pr.snapshotSentTick = this.ticks;
  }

  private probe(pr: Peer, next: number): void {
    pr.mode = 'probe';
    pr.next = Math.max(next, 1);
    pr.inflight = [];
  }

  private handleAccepted(m: AcceptedMessage): void {
    if (m.reject || m.ballot > this.ballot) {
      this.deposedBy(m.ballot);
      return;
    }
    if (this.state !== 'leader' || m.ballot !== this.ballot) return;
    const pr = this.peer(m.from);
    if (pr === undefined) return;
    pr.heardAtTick = this.ticks;
    // Counted for every peer: whether it is an acceptor of a slot is that slot's configuration's say (advanceChosen).
    for (let s = Math.max(m.fromSlot, this.slots.chosenIndex() + 1); s <= m.toSlot; s++) this.ackSlot(s, m.from);
    this.learnPrefix(pr, m.prefix, m.toSlot);
    this.countPrefix(pr);
    this.advanceChosen();
    this.sendAccepts(pr);
    this.maybeSendTakeOver();
  }

  /** Where the peer's right prefix ends (what it holds of ours: heldBy) decides how we go on sending to it. */
  private learnPrefix(pr: Peer, prefix: number, answeredTo: number): void {
    while (pr.inflight.length > 0 && (pr.inflight[0] ?? Infinity) <= answeredTo) pr.inflight.shift();
    if (prefix > pr.prefix) {
      pr.prefix = prefix;
      pr.progressAtTick = this.ticks;
    }
    if (pr.mode === 'snapshot') {
      if (prefix >= (this.slots.snapshot()?.index ?? 0)) this.probe(pr, prefix + 1);
      return;
    }
    const held = this.heldBy(pr);
    // A witness sent only unchosen slots: its answers without a gap are its progress.
    if (held > pr.prefix && held >= answeredTo) pr.progressAtTick = this.ticks;
    if (held + 1 < pr.next && held < answeredTo) {
      // It holds a gap below what it just accepted (an Accept lost, or a slot of an older
      // ballot): fill it from the end of what it holds, one Accept at a time.
      if (pr.mode === 'replicate' || pr.inflight.length === 0) this.probe(pr, held + 1);
      return;
    }
    if (pr.mode === 'probe' && held >= pr.next - 1) pr.mode = 'replicate';
  }

  /** Its right prefix holds, slot for slot, what we proposed at our ballot: it accepted them all. */
  private countPrefix(pr: Peer): void {
    if (pr.prefix <= pr.countedTo) return;
    for (let s = Math.max(pr.countedTo, this.slots.chosenIndex()) + 1; s <= pr.prefix; s++) this.ackSlot(s, pr.id);
    pr.countedTo = pr.prefix;
  }

  private ackSlot(slot: number, from: NodeId): void {
    let set = this.acks.get(slot);
    if (set === undefined) {
      set = new Set();
      this.acks.set(slot, set);
    }
    set.add(from);
  }

  /** A slot is chosen when a quorum accepted it at our ballot; the watermark is the chosen prefix. */
  private advanceChosen(): void {
    let chosen = this.slots.chosenIndex();
    for (;;) {
      // A slot's quorum is its governing configuration's: known, as every slot before it is chosen.
      const set = this.acks.get(chosen + 1);
      if (set === undefined || !hasQuorum(votingMembers(this.configs.governing(chosen + 1)), set)) break;
      this.acks.delete(chosen + 1);
      chosen++;
    }
    if (chosen === this.slots.chosenIndex()) return;
    this.slots.chooseTo(chosen);
    this.prefix = Math.max(this.prefix, chosen);
    this.acceptsWanted = true;
    if (chosen >= this.phase1LastSlot) for (const r of this.readsAwaitingPhase1.splice(0)) this.registerRead(r);
  }

  private broadcastHeartbeat(): void {
    const readSeq = this.readOnly.currentSeq();
    // Per chosen watermark sent: the hold is counted over the data voters that govern after it (holdersFrom).
    const holds = new Map<number, { readonly dataHold: number; readonly holders: NodeId[] }>();
    for (const pr of this.peerState.values()) {
      const chosen = this.chosenFor(pr);
      let held = holds.get(chosen);
      if (held === undefined) {
        held = { dataHold: this.computeDataVotersHold(chosen), holders: this.holdersFrom(chosen) };
        holds.set(chosen, held);
      }
      // To whoever may forget slots (a witness, or an observer that may be a witness process).
      const holders = held.dataHold > 0 && !this.dataVoters.includes(pr.id) ? held.holders : [];
      this.send<HeartbeatMessage>({ type: 'heartbeat', from: this.id, to: pr.id, ballot: toTerm(this.ballot), chosen: logIndex(chosen), readSeq, dataHold: logIndex(held.dataHold), holders });
    }
  }

  /**
   * Leader: the highest slot up to `chosen` (our chosen watermark, or the lower one a heartbeat
   * names) up to which every data voter of holdersFrom(chosen) durably holds the chosen values —
   * capped by what our own disk holds and by each one's right prefix at our ballot (durable: it
   * is reported after the persist). A data voter we have not heard from at this ballot counts as
   * holding nothing, so after a change of leader it is 0 until every one has answered. 0 where
   * our own slots do not tell those data voters exactly (below the α slots after the snapshot we
   * booted from: padWindows fills them).
   */
  private computeDataVotersHold(chosen: number = this.slots.chosenIndex()): number {
    if (chosen + 1 < this.configs.exactFrom()) return 0;
    let hold = Math.min(chosen, this.slots.chosenIndex(), this.slots.stableIndex());
    for (const id of this.holdersFrom(chosen)) {
      if (id === this.id) continue;
      hold = Math.min(hold, this.peerState.get(id)?.prefix ?? 0);
    }
    return hold;
  }

  /**
   * The data voters of the configuration that governs `chosen` + 1 and of every record we hold
   * after the α slots before it: those a dataHold sent with `chosen` counts, and names to a
   * witness as its holders. A data voter being removed is among them as long as it governs a
   * slot the witness may forget; one being added (promoted from an observer that held every
   * chosen slot: membershipChangeRefusal) as soon as its record is proposed. One removed by a
   * record whose window closed is not: it may lack the slots, or hold values of a deposed
   * ballot there.
   */
  private holdersFrom(chosen: number): NodeId[] {
    const configs = [this.configs.governing(chosen + 1), ...this.configs.after(chosen + 1 - this.configs.alpha).map((r) => r.members)];
    return [...new Set(configs.flatMap((members) => dataVoters(members)))];
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    if (m.ballot > this.ballot) {
      this.deposedBy(m.ballot);
      return;
    }
    if (this.state !== 'leader' || m.ballot !== this.ballot) return;
    const pr = this.peer(m.from);
    if (pr === undefined) return;
    // Silent for a whole timeout: the link was down (a black hole reports nothing), and what we
    // sent meanwhile is lost — nothing of it can still be in flight behind this answer.
    const silent = this.ticks - pr.heardAtTick >= this.o.electionTimeoutTicks;
    pr.heardAtTick = this.ticks;
    // Less than it held before: it restarted (its chosen watermark is not durable), or this
    // answer was overtaken by a later one — in either case, sending from there is safe.
    const shrank = m.prefix < pr.prefix;
    if (m.prefix > pr.prefix) {
      pr.prefix = m.prefix;
      pr.progressAtTick = this.ticks;
    }
    this.countPrefix(pr);
    this.advanceChosen();
    // What it holds answers for every Accept up to there, even one whose answer was lost.
    const held = this.heldBy(pr);
    while (pr.inflight.length > 0 && (pr.inflight[0] ?? Infinity) <= held) pr.inflight.shift();
    // Below what we sent, it lacks slots: Accepts or their answers were lost, it restarted and
    // holds less than it did, or it holds slots of an older ballot there — go on from the end
    // of the prefix it reports (of the unchosen slots it holds, for a witness whose position
    // is withheld: heldBy). But heartbeats and their answers travel apart from Accepts
    // (see orderFree in index.ts): while Accepts are in flight this answer may have overtaken
    // them — a slot near the request size limit takes longer than a heartbeat to arrive — and
    // sending them again would only add to the wire; then only a prefix that stopped growing
    // for a resend timeout says they were lost. (What it learns as chosen is capped by its
    // own prefix, so taking a lower one here is harmless.)
    const lacking = (held > pr.prefix ? held : m.prefix) < pr.next - 1;
    const overtaken = pr.inflight.length > 0 && !shrank && !silent && this.ticks - pr.progressAtTick < this.resendTicks();
    if (pr.mode !== 'snapshot' && lacking && !overtaken) {
      pr.prefix = m.prefix;
      pr.progressAtTick = this.ticks;
      this.probe(pr, this.heldBy(pr) + 1);
    } else if (pr.mode === 'probe' && pr.next <= pr.prefix) {
      pr.next = pr.prefix + 1;
    }
    this.sendAccepts(pr);
    if (pr.voter) this.deliverReads(this.readOnly.ack(m.from, m.readSeq));
    this.maybeSendTakeOver(m.from === this.transferee);
  }

  /** How long a peer's right prefix may stand still below what we sent before we send again. */
  private resendTicks(): number {
    return RESEND_ELECTION_TIMEOUTS * this.o.electionTimeoutTicks;
  }

  // =============================================================================================
  // Phase 2: acceptors (and learners)

  /** A message of a ballot at least our promise comes from the leader we follow. */
  private followBallot(m: { readonly from: NodeId; readonly ballot: number }): boolean {
    this.seeBallot(m.ballot);
    if (m.ballot < this.promised) return false;
    // Our own ballot: only we lead it. (A precandidate raised nothing: its promise is a leader's.)
    if (m.ballot === this.promised && (this.state === 'candidate' || this.state === 'leader')) return false;
    // A ballot we promised to another proposer (two configurations gave them one rank): not our leader's.
    if (m.ballot === this.promised && this.promisedTo !== null && this.promisedTo !== m.from) return false;
    // A precandidate asking because it cannot answer its leader (the ballot it still promised)
    // takes what that leader sends and answers, as an acceptor does whatever its proposer role,
    // and goes on asking: following it again would restart the clock and cost a whole timeout,
    // and ignoring it, we would never send it anything, and the link would never be found back
    // (the transport reconnects to send).
    const asking = this.state === 'precandidate' && m.ballot === this.promised && this.unanswerableLeader(m.from);
    if (this.state !== 'follower' && !asking) this.becomeFollower(m.from);
    if (m.ballot > this.promised) {
      this.promised = m.ballot;
      this.promisedTo = m.from;
    }
    if (!asking && this.leader !== m.from) {
      this.failForwardedReads();
      this.leader = m.from;
    }
    if (!this.unanswerableLeader(m.from)) this.electionElapsed = 0;
    if (this.prefixBallot !== m.ballot) {
      this.prefixBallot = m.ballot;
      this.prefix = this.slots.chosenIndex();
    }
    return true;
  }

  /** Extend the right prefix over slots accepted at the leader's ballot. */
  private extendPrefix(): void {
    let p = Math.max(this.prefix, this.slots.chosenIndex());
    while (p < this.slots.lastIndex() && this.slots.ballotAt(p + 1) === this.prefixBallot) p++;
    this.prefix = p;
  }

  private handleAccept(m: AcceptMessage): void {
    if (this.offersAnotherChosenValue(m)) return;
    if (!this.followBallot(m)) {
      this.send<AcceptedMessage>({ type: 'accepted', from: this.id, to: m.from, ballot: toTerm(this.promised), reject: true, fromSlot: logIndex(0), toSlot: logIndex(0), prefix: logIndex(0) });
      return;
    }
    // Accept(b, s, v) is accepted at b: a leader catching us up sends chosen slots it holds
    // at an older ballot, and proposing a chosen value again at b is what Paxos allows. But a
    // slot at or below the leader's chosen watermark only needs to hold its chosen value, and
    // one we hold with that value already stays as it is, at its older ballot: writing it
    // again would cut storage there and rewrite every record after it (see Ready.entries),
    // which a restarted acceptor (its chosen watermark is not durable) paid for its whole tail.
    // Why the older ballot is safe: v was chosen at some lowest ballot bc by a quorum that
    // really wrote (s, bc, v) (keeping happens only for slots already chosen), and none of
    // them goes below bc afterwards; so every phase-1 quorum holds an acceptor reporting v at
    // bc or above — or a witness that forgot the slot (its promise makes it chosen with the
    // candidate's own value: usableWitnessPromise, knownChosen), or a data voter that
    // compacted it and refuses a candidate behind it. Every proposal above bc carries v
    // (Paxos's P2c), so a different value appears only below bc, and the highest ballot phase 1
    // hears of carries v — except where a witness forgot the slot, which knownChosen settles.
    const fresh = m.entries.filter((e) => e.index > m.chosen || !this.slots.holdsValue(e));
    this.slots.accept(fresh.map((e) => (e.term === m.ballot ? e : { ...e, term: m.ballot })));
    this.configs.note(fresh.filter((e) => e.index > this.slots.chosenIndex()));
    this.extendPrefix();
    const first = m.entries[0];
    const last = m.entries[m.entries.length - 1];
    // Its chosen slots now hold their chosen values: a right prefix that reaches them covers them.
    if (first !== undefined && last !== undefined && this.prefix >= first.index - 1 && Math.min(m.chosen, last.index) > this.prefix) {
      this.prefix = Math.min(m.chosen, last.index);
      this.extendPrefix();
    }
    this.slots.chooseTo(Math.min(m.chosen, this.prefix));
    // Sent after this Ready's persist: every slot it names is durable then.
    this.send<AcceptedMessage>({
      type: 'accepted', from: this.id, to: m.from, ballot: m.ballot, reject: false,
      fromSlot: logIndex(first?.index ?? 0), toSlot: logIndex(last?.index ?? 0), prefix: logIndex(this.prefix),
    });
  }

  /**
   * An Accept that offers, for a slot we know chosen, a value other than the one we hold comes
   * from a ballot below the one that value was chosen at (every proposal at or above it carries
   * that value): a deposed leader, which we may still follow where we learned the slot from a
   * teacher rather than from a leader (handleTeach). Refused, naming the highest ballot we saw.
   */
  private offersAnotherChosenValue(m: AcceptMessage): boolean {
    // Only slots a teacher told us: for one a leader told us, our promise is at or above the
    // ballot it was chosen at, and a conflicting value past followBallot is a broken invariant
    // (SlotLog.accept throws).
    const upTo = Math.min(this.slots.chosenIndex(), this.taughtTo);
    for (const e of m.entries) {
      if (e.index > upTo) break;
      if (this.slots.at(e.index) !== null && !this.slots.holdsValue(e)) {
        this.seeBallot(m.ballot);
        this.send<AcceptedMessage>({ type: 'accepted', from: this.id, to: m.from, ballot: toTerm(Math.max(this.promised, this.maxSeenBallot)), reject: true, fromSlot: logIndex(0), toSlot: logIndex(0), prefix: logIndex(0) });
        return true;
      }
    }
    return false;
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    if (!this.followBallot(m)) {
      this.send<HeartbeatResponseMessage>({ type: 'heartbeatResponse', from: this.id, to: m.from, ballot: toTerm(this.promised), readSeq: 0, prefix: logIndex(0) });
      return;
    }
    this.extendPrefix();
    this.slots.chooseTo(Math.min(m.chosen, this.prefix));
    this.learnDataHold(m);
    this.send<HeartbeatResponseMessage>({ type: 'heartbeatResponse', from: this.id, to: m.from, ballot: m.ballot, readSeq: m.readSeq, prefix: logIndex(this.prefix) });
  }

  /**
   * Once chosen and held by every data voter, slots stay held: the value only grows. A witness
   * store also notes, for each data voter the leader names as holding them (holdersFrom), that
   * it holds every chosen value up to dataHold.
   */
  private learnDataHold(m: HeartbeatMessage): void {
    const hold = Math.min(m.dataHold, this.slots.chosenIndex());
    if (!this.witnessStore) {
      this.dataVotersHold = Math.max(this.dataVotersHold, hold);
      return;
    }
    // It forgets only what it knows who holds: a hold that names no one (from a leader of the
    // release before holders, say) leaves it where it was.
    if (m.holders.length === 0) return;
    if (hold > this.dataVotersHold) {
      this.dataVotersHold = hold;
      this.holdVersion++;
    }
    this.noteHolders(m.holders, m.dataHold);
  }

  /** A witness store: each of `ids` holds every chosen value up to `upTo` (the leader says so). */
  private noteHolders(ids: readonly NodeId[], upTo: number): void {
    let changed = false;
    for (const id of ids) {
      if ((this.holders.get(id) ?? 0) >= upTo) continue;
      this.holders.set(id, upTo);
      changed = true;
    }
    if (!changed) return;
    // One that holds less than we forgot vouches for nothing: not worth keeping.
    for (const [id, to] of this.holders) if (to < this.slots.firstIndex() - 1) this.holders.delete(id);
    this.holdVersion++;
  }

  private handleSnapshot(m: SnapshotMessage): void {
    if (!this.followBallot(m)) return;
    const meta = m.snapshot;
    if (meta.index > this.slots.chosenIndex()) {
      if (this.witnessStore) {
        // A position forgets every slot below it: who holds them (the leader names them, if
        // every data voter it counts does) goes to disk first — the driver installs a Ready's
        // snapshot before it writes the hard state, and a crash between the two would leave
        // us vouching for no one over slots we forgot. Taken once they are durable (advance).
        this.noteHolders(m.holders, meta.index);
        if (this.durableHoldVersion < this.holdVersion) {
          this.pendingPosition = { m, holdVersion: this.holdVersion };
          return;
        }
      }
      this.slots.restore(meta);
      this.configs.restore(meta.index, meta.members);
      // Every slot we held is gone: our right prefix starts over at the snapshot.
      this.prefix = this.slots.chosenIndex();
    }
    this.extendPrefix();
    this.send<AcceptedMessage>({
      type: 'accepted', from: this.id, to: m.from, ballot: m.ballot, reject: false,
      fromSlot: logIndex(0), toSlot: logIndex(0), prefix: logIndex(this.prefix),
    });
  }

  /**
   * An acceptor answered our ballot with a higher promise: we step down at once. Having led or
   * campaigned a moment ago, we ask again within a few ticks (campaignSoon: random, so two
   * deposed proposers do not overtake each other forever) above that ballot, unless a leader speaks
   * first: if another leader holds a live quorum, its acceptors refuse us; if the higher
   * promise was a lone acceptor's (one that campaigned while cut off), we lead again.
   */
  private deposedBy(ballot: number): void {
    this.seeBallot(ballot);
    // A precandidate raised nothing to be deposed from: its next question goes above `ballot`.
    if (this.state === 'follower' || this.state === 'precandidate' || ballot <= this.ballot) return;
    if (this.takeOverSent) {
      // Most likely the transferee's ballot: give it a whole timeout to establish.
      this.becomeFollower(null);
      return;
    }
    this.campaignSoon();
  }

  /**
   * Follow no one, and ask again within a few ticks — random, not by rank: two proposers
   * deposed together settle by ballot order anyway, and a rank list here would still count
   * the leader that may be dead.
   */
  private campaignSoon(): void {
    this.becomeFollower(null);
    this.electionElapsed = Math.max(0, this.randomizedTimeout - fastElectionJitterTicks(this.o.random));
  }

  private seeBallot(b: number): void {
    if (b > this.maxSeenBallot) this.maxSeenBallot = b;
  }

  // =============================================================================================
  // Message dispatch

  private stepMessage(m: PaxosMessage): void {
    switch (m.type) {
      case 'prePrepare':
        this.handlePrePrepare(m);
        return;
      case 'prePromise':
        this.handlePrePromise(m);
        return;
      case 'prepare':
        this.handlePrepare(m);
        return;
      case 'promise':
        this.handlePromise(m);
        return;
      case 'accept':
        this.handleAccept(m);
        return;
      case 'accepted':
        this.handleAccepted(m);
        return;
      case 'heartbeat':
        this.handleHeartbeat(m);
        return;
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m);
        return;
      case 'snapshot':
        this.handleSnapshot(m);
        return;
      case 'readIndex':
        this.handleForwardedRead(m);
        return;
      case 'readIndexResponse':
        this.handleReadIndexResponse(m);
        return;
      case 'takeOver':
        this.handleTakeOver(m);
        return;
      case 'learn':
        this.handleLearn(m);
        return;
      case 'teach':
        this.handleTeach(m);
        return;
      default:
        assertNever(m, 'multipaxos message');
    }
  }

  // =============================================================================================
  // Linearizable reads: a quorum round of the leader (its heartbeat), at a chosen watermark that
  // covers every slot phase 1 proposed again.

  private handleReadRequest(r: ReadRequest): void {
    // A leader the configuration no longer names only hands over: it confirms no reads.
    if (this.removed()) {
      this.failRead(r, 'not_leader');
      return;
    }
    if (this.readOnly.size() + this.readsAwaitingPhase1.length >= READS_PENDING_MAX) {
      this.failRead(r, 'dropped');
      return;
    }
    if (this.slots.chosenIndex() < this.phase1LastSlot) {
      // Slots an earlier leader may have chosen are not chosen again under our ballot yet.
      this.readsAwaitingPhase1.push(r);
      return;
    }
    this.registerRead(r);
  }

  private registerRead(r: ReadRequest): void {
    this.readOnly.add(r, this.slots.chosenIndex());
    this.deliverReads(this.readOnly.release());
    if (this.readOnly.size() > 0) this.readBroadcastWanted = true;
  }

  private handleForwardedRead(m: ReadIndexMessage): void {
    if (this.state !== 'leader' || m.ballot !== this.ballot) {
      this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: m.from, ballot: toTerm(this.promised), requestId: m.requestId, index: logIndex(0), reject: true });
      return;
    }
    this.handleReadRequest({ requestId: m.requestId, origin: m.from });
  }

  private deliverReads(reads: readonly ConfirmedRead[]): void {
    for (const r of reads) {
      if (r.origin === null) this.readStates.push({ requestId: r.requestId, index: r.index });
      else this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: r.origin, ballot: toTerm(this.ballot), requestId: r.requestId, index: r.index, reject: false });
    }
  }

  private failRead(r: ReadRequest, reason: ReadFailure['reason']): void {
    if (r.origin === null) this.readFailures.push({ requestId: r.requestId, reason, leader: null });
    else this.send<ReadIndexResponseMessage>({ type: 'readIndexResponse', from: this.id, to: r.origin, ballot: toTerm(this.promised), requestId: r.requestId, index: logIndex(0), reject: true });
  }

  private drainLeaderReads(): ReadRequest[] {
    const out = [...this.readOnly.drain(), ...this.readsAwaitingPhase1];
    this.readsAwaitingPhase1 = [];
    this.readOnly = new ReadOnly(this.id, this.voters);
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
    this.send<ReadIndexMessage>({ type: 'readIndex', from: this.id, to: this.leader, ballot: toTerm(this.promised), requestId });
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
  // Membership (Lamport's α window: configs.ts)

  /**
   * The proposer may propose `slot` once its acceptors are known: every config record at or
   * before slot − α is chosen — so a leader never has more than α slots in flight past a record
   * it has not seen chosen ("Paxos Made Moderately Complex": slot_in < slot_out + WINDOW).
   */
  private withinWindow(slot: number): boolean {
    return this.configs.after(this.slots.chosenIndex()).every((r) => r.slot > slot - this.configs.alpha);
  }

  /**
   * After every input: the configuration governing our next unchosen slot sets our role, the
   * leases, reads and phase 1's first quorum; the members of every configuration that governs,
   * or will govern, a slot after it are our peers. A leader tracks each of them; one that is no
   * longer a data voter there (removed, or made an observer or witness) once its change took
   * effect tells the others what is chosen and steps down, and never runs phase 1 again.
   */
  private refreshMembers(): void {
    const now = this.configs.governing(this.slots.chosenIndex() + 1);
    const later = this.configs.after(this.slots.chosenIndex() + 1 - this.configs.alpha).map((r) => r.members);
    const key = [now, ...later];
    if (key.length === this.membersKey.length && key.every((k, i) => k === this.membersKey[i])) return;
    this.membersKey = key;
    this.voters = votingMembers(now);
    this.dataVoters = dataVoters(now);
    this.witnesses = witnesses(now);
    this.witnessesAnywhere = [...new Set(key.flatMap((members) => witnesses(members)))];
    this.peers = [...new Set(key.flatMap((members) => members.map((m) => m.id)))].filter((id) => id !== this.id);
    // A peer that left forgets its broken link: added again, it comes on a new one (reported reachable).
    for (const id of this.unanswerable) if (!this.peers.includes(id)) this.unanswerable.delete(id);
    // A rejoining voter (CoreOptions.rejoining) learns as an observer until the driver builds it
    // again as a voter: it promises nothing and runs no phase 1.
    this.isVoter = this.voters.includes(this.id) && this.o.rejoining !== true;
    this.isWitness = this.witnesses.includes(this.id);
    this.readOnly.setVoters(this.voters);
    if (this.transferee !== null && !this.dataVoters.includes(this.transferee)) this.endTransfer();
    if (this.state !== 'leader') return;
    this.trackPeers();
    if (this.transferee === null && this.removed()) this.handOverOnRemoval();
  }

  /** Leader: no data voter of the configuration that governs our next slot (removed, or made an observer or witness). */
  private removed(): boolean {
    return !this.isVoter || this.isWitness;
  }

  /**
   * A leader no longer a data voter once its change took effect leads on only to hand over
   * (transferLeadership): a Paxos proposer need not be an acceptor, so it still chooses by the
   * quorums of the configuration it left, and proposes nothing. Stepping down at once would
   * strand a data voter that has not learned every chosen slot while we compacted them: its
   * phase 1 would need our promise, which we refuse to a candidate behind our compaction
   * point, and we no longer run one. The target gets every slot and the chosen watermark with
   * takeOver. Each attempt that fails within a timeout is followed by one to the next data
   * voter; with no quorum left we step down as any leader does (tickLeader), and never run
   * phase 1 again.
   */
  private handOverOnRemoval(): void {
    const targets = this.dataVoters.filter((id) => id !== this.id);
    if (targets.length === 0) return;
    const heard = targets.filter((id) => this.answeredLately(id));
    const pool = heard.length > 0 ? heard : targets;
    this.handOverAttempts++;
    this.transferLeadership(pool[this.handOverAttempts % pool.length] as NodeId);
  }

  /** Leader: flow control for every peer, none for others; a new one is probed from our chosen watermark. */
  private trackPeers(): void {
    for (const id of [...this.peerState.keys()]) if (!this.peers.includes(id)) this.peerState.delete(id);
    for (const id of this.peers) {
      const voter = this.voters.includes(id);
      // A witness of a configuration not in force yet is one already: its position is withheld as any witness's.
      const witness = this.witnessesAnywhere.includes(id);
      const held = this.peerState.get(id);
      if (held !== undefined) {
        held.voter = voter;
        held.witness = witness;
        continue;
      }
      const p = this.promises.get(id);
      // A promise tells us where its chosen prefix ends; anyone else we probe from our own.
      const from = p !== undefined ? Math.min(p.chosen, this.slots.chosenIndex()) : this.slots.chosenIndex();
      this.peerState.set(id, { id, voter, witness, next: from + 1, prefix: p !== undefined ? from : 0, mode: 'probe', inflight: [], heardAtTick: this.ticks, snapshotSentTick: 0, countedTo: 0, progressAtTick: this.ticks });
      this.acceptsWanted = true;
    }
  }

  // =============================================================================================
  // Bookkeeping and invariants

  private settle(): void {
    this.takeTaughtInPhase1();
    this.refreshMembers();
    this.check();
  }

  /** Phase 1 ended: what a teacher told the candidate is learned now, unless it leads. */
  private takeTaughtInPhase1(): void {
    const m = this.taughtInPhase1;
    if (m === null || this.state === 'candidate') return;
    this.taughtInPhase1 = null;
    this.handleTeach(m);
  }

  private hasQuorum(ids: readonly NodeId[]): boolean {
    return hasQuorum(this.voters, ids);
  }

  private send<M extends PaxosMessage>(m: M): void {
    if (m.to === this.id) throw new Error(`multipaxos: ${this.id} sending a ${m.type} to itself`);
    this.outbox.push(m);
  }

  private softState(): SoftState {
    return { role: this.role(), leader: this.leader, term: toTerm(this.promised) };
  }

  private softChanged(s: SoftState): boolean {
    return s.role !== this.prevSoft.role || s.leader !== this.prevSoft.leader || s.term !== this.prevSoft.term;
  }

  private hardState(): PaxosHardState {
    return this.witnessStore ? { promised: this.promised, hold: { to: this.dataVotersHold, holders: new Map(this.holders) } } : { promised: this.promised };
  }

  private hardChanged(): boolean {
    if (this.promised !== this.prevHard.promised) return true;
    return this.witnessStore && (this.prevHard.hold === undefined || this.persistedHoldVersion !== this.holdVersion);
  }

  /**
   * A witness store boots with the hold it persisted. One written before holds were persisted
   * forgot only what every data voter of a configuration that never changed held (a change
   * with witnesses was refused then): its snapshot position, held by the data voters it names.
   * (`snapshot` is null where no hard state was written at all: a position installed by a
   * first Ready whose hard state a crash cut off names no holders.)
   */
  private restoreHold(hold: WitnessHold | undefined, snapshot: SnapshotMeta | null): void {
    if (hold !== undefined) {
      this.dataVotersHold = hold.to;
      this.holders = new Map(hold.holders);
    } else if (snapshot !== null) {
      this.dataVotersHold = snapshot.index;
      for (const id of dataVoters(snapshot.members.length > 0 ? snapshot.members : this.o.members)) this.holders.set(id, snapshot.index);
    }
    this.durableHold = this.dataVotersHold;
  }

  private check(): void {
    this.slots.check();
    if ((this.state === 'candidate' || this.state === 'leader') && this.ballot !== this.promised) throw new Error(`multipaxos invariant: ${this.state} with ballot ${this.ballot} but promised ${this.promised}`);
    if (this.durablePromised > this.promised) throw new Error('multipaxos invariant: the durable promise is above the promise');
    if (this.transferee !== null && this.state !== 'leader') throw new Error(`multipaxos invariant: a ${this.state} handing leadership to ${this.transferee}`);
  }
}

/**
 * A leader's phase-2 traffic, its takeOver and its answers to forwarded reads are taken from a
 * sender outside our configurations (its ballot fences it): a member added by a change we have
 * not learned could otherwise never catch up, and a leader removed hands over with takeOver
 * (handOverOnRemoval). Everything else from outside is ignored.
 */
function fromLeaderOutsideConfig(m: PaxosMessage): boolean {
  return m.type === 'accept' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'takeOver' || m.type === 'readIndexResponse';
}

/**
 * What is chosen is a fact, whoever tells it: a learner asks anyone its configurations name, and
 * takes an answer from anyone (a member that removed it, or that it does not know it has).
 */
function isLearning(m: PaxosMessage): boolean {
  return m.type === 'learn' || m.type === 'teach';
}

/** A leader's phase-2 traffic, which never depends on the leader's own pending persist. */
function isLeaderBroadcast(m: PaxosMessage): boolean {
  return m.type === 'accept' || m.type === 'heartbeat';
}
