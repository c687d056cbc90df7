/**
 * The contract every consensus protocol implements (Raft, ZAB-style atomic broadcast,
 * Multi-Paxos). A core is a deterministic object: no I/O, no timers, no clock, no
 * randomness of its own, no asynchronous code. Time arrives as `tick()`, entropy as `CoreOptions.random`.
 *
 * The driver (libs/replica) runs one loop for every protocol:
 *   tick/step/propose/readIndex  ->  ready()  ->  persist  ->  send  ->  apply  ->  advance()
 * The order of Ready is the safety argument: a message in `Ready.messages` may depend on
 * the records and hard state in the same Ready being durable first.
 */

declare const brand: unique symbol;
import { CodedError } from '@quorumlite/errors';

export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A member's identity, as written in the cluster config (e.g. "n1"). */
export type NodeId = Brand<string, 'NodeId'>;
/** Position in the replicated log, 1-based; 0 means "before the first record". */
export type LogIndex = Brand<number, 'LogIndex'>;
/**
 * The protocol's fencing number: Raft term, ZAB epoch, Multi-Paxos ballot (encoded so that
 * a larger number always wins). The driver stores it; only the core interprets it.
 */
export type Term = Brand<number, 'Term'>;

export const nodeId = (s: string): NodeId => s as NodeId;
export const logIndex = (n: number): LogIndex => n as LogIndex;
export const term = (n: number): Term => n as Term;

/**
 * Every member role, listed once: config, storage and codecs import this list. A codec
 * writes a role as its position here, so new roles are appended, never inserted.
 */
export const MEMBER_ROLES = ['voter', 'witness', 'observer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export interface Member {
  readonly id: NodeId;
  readonly role: MemberRole;
  /**
   * Where the driver reaches this member (host:port), when a configuration change named it.
   * Opaque to every core: carried in config records, never read. Absent for the members a
   * node booted with (the driver's own config knows those) and in snapshot metadata.
   */
  readonly address?: string;
}

/** One member of a configuration proposed at runtime (ConsensusCore.proposeMembership). */
export interface MemberSpec extends Member {
  readonly address: string;
}

/**
 * What a log record carries. `command`s reach the state machine; the rest are protocol-internal:
 * a `config` record holds the next member list (common/membership.ts encodes it), which a
 * protocol that changes membership at runtime takes into effect by its own rule.
 */
export type EntryKind = 'command' | 'noop' | 'config';

/** One log record. `term` is the fencing number of the leader that created it. */
export interface Entry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly kind: EntryKind;
  /** Opaque to the core: an encoded state-machine command (empty for a noop). */
  readonly data: Uint8Array;
}

/**
 * Durable per-node protocol state (Raft: term + vote; ZAB: accepted/current epoch;
 * Paxos: promised ballot). Opaque to the driver and storage: a flat JSON-safe record.
 * Storage writes it atomically (temp file, fsync, rename, fsync dir), so a core should
 * change it only when safety needs it (a new term or vote), never on every commit.
 */
export type HardState = Readonly<Record<string, number | string | null>>;

/** A state-machine snapshot's position: everything up to and including `index` is inside it. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly members: readonly Member[];
}

/** What the driver loaded from storage at boot and hands to the core's constructor. */
export interface PersistedState {
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  /** Records after the snapshot (or from index 1), contiguous, in index order. */
  readonly entries: readonly Entry[];
  /**
   * How far the driver's state machine has durably applied (absent: not known, as on a
   * witness, or withheld when the database may be ahead of what the log vouches for). Only
   * committed records are applied, and only once durable in this node's log, so every core
   * takes the records up to here that its log holds as committed and applied at boot: it
   * neither learns them again from the leader nor hands them to the state machine again.
   */
  readonly appliedIndex?: LogIndex;
}

/** Every protocol message has these fields; the rest is the protocol's own, keyed by `type`. */
export interface BaseMessage {
  readonly type: string;
  readonly from: NodeId;
  readonly to: NodeId;
  /**
   * Set on the message that installs a snapshot on a far-behind peer. The driver attaches
   * the snapshot's bytes when sending and stages them on receipt before stepping the message.
   */
  readonly snapshot?: SnapshotMeta;
}

/**
 * The roles every protocol maps its own states onto, listed once (Raft's pre-candidate and
 * ZAB's LOOKING are 'candidate'; a Multi-Paxos distinguished proposer is 'leader').
 */
export const ROLES = ['leader', 'follower', 'candidate', 'observer', 'witness'] as const;
export type Role = (typeof ROLES)[number];

/** Volatile state the driver reports (status, routing of writes to the leader). */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
}

/** A linearizable read request became safe: read once applied index >= `index`. */
export interface ReadState {
  readonly requestId: string;
  readonly index: LogIndex;
}

/** A read request that can no longer be served by this node (lost leadership, …). */
export interface ReadFailure {
  readonly requestId: string;
  readonly reason: 'not_leader' | 'dropped';
  readonly leader: NodeId | null;
}

export interface Ready<M extends BaseMessage = BaseMessage> {
  /** Changed hard state to persist, or null. */
  readonly hardState: HardState | null;
  /**
   * Storage forgets every record after this index before anything in `entries` is appended
   * (null: nothing to forget). With no `entries` it is a truncation alone — ZAB's TRUNC, a
   * follower dropping proposals the new leader never had. Never below the snapshot's index.
   */
  readonly truncateAfter: LogIndex | null;
  /**
   * Records to append. If `entries[0].index` is at or below the last stored index, storage
   * first truncates its log from that index (a follower's conflicting suffix, a Multi-Paxos
   * acceptor accepting a slot again). A cut with records after it is one atomic step: a
   * crash leaves the log as it was or as it is after the append, never cut alone — the cut
   * records may have been acknowledged, and a Paxos acceptor may not forget an acceptance
   * until the one replacing it is durable.
   */
  readonly entries: readonly Entry[];
  /** Whether the persist above must be fsync'd before `messages` are sent. */
  readonly mustSync: boolean;
  /** A received snapshot the core accepted: the driver installs it (state machine + log). */
  readonly snapshot: SnapshotMeta | null;
  /**
   * With `snapshot`: storage keeps its records after `snapshot.index` instead of emptying its
   * log (a Paxos acceptor never takes an acceptance back). Without it the log is reset.
   */
  readonly snapshotKeepsLog?: boolean;
  /**
   * Messages that do not depend on this Ready's persist and may be sent before it (a Raft
   * leader's appends: it counts its own copy only once persisted, so followers may write
   * theirs at the same time — the thesis' §10.2.1). A core may always leave this empty.
   */
  readonly earlyMessages: readonly M[];
  /** Messages to send once the persist above completed. */
  readonly messages: readonly M[];
  /** Committed records, in order, to apply to the state machine (after the snapshot above). */
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly readFailures: readonly ReadFailure[];
  /** The new soft state, when it changed. */
  readonly softState: SoftState | null;
}

/**
 * What the driver keeps to recognise its own proposal once it is committed: the proposed
 * command itself, never the fencing number — a Multi-Paxos leader re-proposes a value
 * under its own, newer ballot, and the client must still hear that its write was applied.
 * See driver/proposal.ts.
 */
export type ProposalToken = Brand<Uint8Array, 'ProposalToken'>;
export const proposalToken = (data: Uint8Array): ProposalToken => data as ProposalToken;

export type ProposeResult =
  /** `index` is where the command should commit; `term` is informational (logs, status). */
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term; readonly token: ProposalToken }
  | { readonly ok: false; readonly reason: 'not_leader'; readonly leader: NodeId | null }
  | { readonly ok: false; readonly reason: 'overloaded' | 'transferring' };

/**
 * Why a membership change was refused, for the caller to show a user (with `message`):
 * - `config_pending`: a change is in flight (proposed, not yet committed), or the leader has
 *   not yet committed a record of its own term, so an earlier one may still be in flight;
 * - `too_many_changes`: more than one member changes (one server at a time), or none does;
 * - `not_caught_up`: a member would start voting while it lacks committed records;
 * - `no_quorum`: the voters of the next configuration that answered lately are no quorum of it;
 * - `witness_shortfall`: the next list has too few data voters for its witnesses (witnessShortfall);
 * - `invalid`: the list itself is impossible (empty, duplicated, a role the protocol lacks, a
 *   new member that does not come as an observer);
 * - `witness_leader`: the leader is a witness, which leads only to hand over to a data voter;
 * - `unsupported`: this protocol's membership is static.
 */
export type MembershipRefusal = 'config_pending' | 'too_many_changes' | 'not_caught_up' | 'no_quorum' | 'witness_shortfall' | 'invalid' | 'witness_leader' | 'unsupported';

export type ProposeMembershipResult =
  | ProposeResult
  | { readonly ok: false; readonly reason: MembershipRefusal; readonly message: string };

export interface CoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
  readonly commitIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly firstIndex: LogIndex;
  /** Leader only: how far each peer has acknowledged (match index). */
  readonly progress: Readonly<Record<string, { readonly match: LogIndex; readonly next: LogIndex; readonly state: string }>>;
  /**
   * How far every data voter (role 'voter': it keeps the database) holds the log durably, as
   * far as this node knows: a leader computes it from acknowledgements and carries it to
   * witnesses in its messages. A witness's driver forgets its records up to
   * min(dataVotersHold, commitIndex) with compact(), so its disk stays bounded while no data
   * voter can ever need a record only the witness had. 0 (or absent) when unknown.
   */
  readonly dataVotersHold?: LogIndex;
  /**
   * The highest fencing number this node has promised not to go below: Raft its current term
   * (a candidate raises it before it asks), Paxos its promised ballot, Zab its accepted epoch
   * (a prospective leader's, and its followers', before the epoch is current). A node that lost
   * its data directory rejoins above the highest of these (ProtocolModule.fencedHardState).
   */
  readonly promisedFence: Term;
  /**
   * The configuration this node uses: the latest in its log, committed or not (absent: the
   * protocol's membership is static, CoreOptions.members).
   */
  readonly members?: readonly Member[];
  /** Whether that configuration's record is not yet committed (as far as this node knows). */
  readonly membershipPending?: boolean;
}

export interface CoreOptions {
  readonly id: NodeId;
  readonly members: readonly Member[];
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [t, 2t)). */
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  /** Injected entropy in [0, 1): a seeded PRNG in tests and the simulator. */
  readonly random: () => number;
  /**
   * The protocol's own settings (Raft: preVote, checkQuorum), as its ProtocolModule declares
   * them in `options`; a key left out takes the declared default. Checked by `validate`.
   */
  readonly protocolOptions: ProtocolOptions;
  /** Most records in one append message. */
  readonly entriesPerMessageMax: number;
  /** Most payload bytes in one append message (at least one record is always sent). */
  readonly bytesPerMessageMax: number;
  /** Most append messages in flight to one peer before waiting for acknowledgements. */
  readonly inflightMessagesMax: number;
  /** Most uncommitted records the leader accepts before refusing proposals as overloaded. */
  readonly uncommittedEntriesMax: number;
  /**
   * This voter lost its data directory and comes back (`quorumlite node --rejoin`): it may
   * have promised votes and acknowledged records it no longer remembers. Until the driver
   * builds it again as a voter (ProtocolModule.rejoinedHardState), the core follows the
   * leader as an observer: it votes, promises and campaigns for nothing, and tells the
   * leader when it lacks records it once acknowledged, instead of stopping. The driver builds
   * it only from a hard state fenced at the highest number the other voters promised
   * (ProtocolModule.fencedHardState): the core's own rules then refuse what is below it.
   */
  readonly rejoining?: boolean;
  /**
   * This process keeps no database: it was started as a witness, and stays one whatever role a
   * configuration gives it (an observer on its way to becoming a witness, say). It never leads,
   * and what it forgets it forgets as a witness. Absent: whether the boot members name it a witness.
   */
  readonly witnessStore?: boolean;
}

export interface ConsensusCore<M extends BaseMessage = BaseMessage> {
  tick(): void;
  step(message: M): void;
  propose(data: Uint8Array): ProposeResult;
  /**
   * Leader: propose `next`, the whole next member list, as a `config` record (committed like a
   * command; the token is the record's data). A protocol whose membership is static refuses
   * with 'unsupported'. CoreOptions.members is only the configuration a node boots with.
   */
  proposeMembership(next: readonly MemberSpec[]): ProposeMembershipResult;
  /** Ask for a linearizable read point; answered later in Ready.readStates or readFailures. */
  readIndex(requestId: string): void;
  hasReady(): boolean;
  ready(): Ready<M>;
  /** The driver did everything in the last Ready (persisted, sent, applied). */
  advance(): void;
  /**
   * Between ready() and advance(), while the driver waits for that Ready's persist: the
   * messages stepped or ticked into being since then that may leave before the persist
   * completes — a leader's replication traffic (heartbeats above all), when neither that
   * Ready nor anything since changed the hard state. They leave the outbox in order per
   * recipient and never overtake a message to the same recipient that must wait for the
   * persist (that Ready's own, or one made since). Empty otherwise, and when no Ready is
   * in flight. A driver steps a core between ready() and advance() only while it is leader.
   */
  takeEarlyMessages(): M[];
  /**
   * The state machine wrote a snapshot at `meta.index` (≤ applied); the core may forget
   * records up to `meta.index - retainEntries` and sends this snapshot to peers that need it.
   * A core that changes membership at runtime keeps, as the snapshot's members, the
   * configuration its own log holds at `meta.index` (a driver takes it from membersAt).
   */
  compact(meta: SnapshotMeta, retainEntries: number): void;
  /**
   * The configuration as of `index` — what a snapshot taken there must carry: the driver asks
   * at the index it snapshots (its applied index). `index` lies between the core's own snapshot
   * and its last record. A protocol whose membership is static returns CoreOptions.members.
   */
  membersAt(index: LogIndex): readonly Member[];
  /** The driver could not deliver a snapshot to `to`; the core retries later. */
  reportSnapshotFailure(to: NodeId): void;
  /** A peer is unreachable (its stream broke); the core may slow down sends to it. */
  reportUnreachable(to: NodeId): void;
  /**
   * A peer reported unreachable is reachable again (its stream connected). Until then what the
   * core sends it is lost: a leader we cannot answer is one we cannot help commit.
   */
  reportReachable(to: NodeId): void;
  /** Hand leadership to `to` (best effort); used by witnesses and graceful shutdown. */
  transferLeadership(to: NodeId): void;
  status(): CoreStatus;
}

/** Raised when a peer's bytes are not a valid message: the driver logs and drops it. */
export class ConsensusError extends CodedError<'bad_message' | 'bad_config' | 'bad_state'> {
  constructor(code: 'bad_message' | 'bad_config' | 'bad_state', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ConsensusError';
  }
}

export type ProtocolOptionValue = boolean;
export type ProtocolOptions = Readonly<Record<string, ProtocolOptionValue>>;

/** One setting a protocol declares for itself; config derives its key, flag and help from it. */
export interface ProtocolOptionSpec {
  /** The config key (also `--kebab-flag` and `QUORUMLITE_SNAKE` env), e.g. 'preVote'. */
  readonly key: string;
  readonly kind: 'bool';
  readonly defaultValue: ProtocolOptionValue;
  readonly help: string;
}

/**
 * What a protocol promises of two nodes' log records with one index and fencing number:
 * 'prefix' — the same record, and every record before it the same too (Raft's Log Matching);
 * 'record' — the same record only (Multi-Paxos chooses each slot on its own). The simulator's
 * checker holds each protocol to its own promise.
 */
export type LogMatching = 'prefix' | 'record';

/** What a protocol package exports: how to build a core and how to put its messages on the wire. */
export interface ProtocolModule<M extends BaseMessage = BaseMessage> {
  /** The name config and status use; the registry (registry.ts) is keyed by it. */
  readonly name: string;
  /** What this protocol calls its fencing number (Raft: term, ZAB: epoch, Paxos: ballot). */
  readonly fencingName: string;
  /**
   * The election round a fencing number stands for, where the number says more than the round
   * (a Multi-Paxos ballot is round and proposer); absent: the number is the round (Raft's term,
   * Zab's epoch). A clean election moves the round up by one; tools count the rounds that
   * elected no one (split votes, duelling proposers) with it.
   */
  readonly fenceRound?: (fence: number) => number;
  readonly logMatching: LogMatching;
  /** The member roles this protocol takes (Raft: voter, observer); config refuses the others. */
  readonly roles: readonly MemberRole[];
  /** Whether proposeMembership changes members at runtime (the simulator exercises it then). */
  readonly membershipChanges?: boolean;
  /**
   * Whether it also changes the members of a cluster that has (or would get) witnesses; a
   * protocol without it refuses such a change with 'unsupported'.
   */
  readonly witnessMembershipChanges?: boolean;
  /**
   * Whether CoreStatus.members, once the node applied a committed config record and
   * membershipPending is false, is the configuration in force on every node (Raft: the latest
   * record in the log; Zab: the last seen one). The driver then forgets the data-directory
   * incarnation of a member outside it, so a removed member may come back under its id from an
   * empty directory. Multi-Paxos leaves it unset: a follower shows the configuration of its
   * chosen prefix, while records it accepted after it may already be chosen and in force.
   */
  readonly appliedMembersInForce?: boolean;
  /** The settings this protocol has beyond CoreOptions; the simulator draws each from its values. */
  readonly options: readonly ProtocolOptionSpec[];
  /**
   * The most ticks one leader election can take with these settings (Raft: its randomized
   * election timeout's upper end, 2 × electionTimeoutTicks); the driver waits a few of these
   * for a leader before telling a client none is known. The driver assumes no election scheme.
   */
  electionTicksMax(options: Pick<CoreOptions, 'electionTimeoutTicks' | 'heartbeatTicks'>): number;
  /**
   * Whether `message` may reach its peer ahead of messages sent to it before (its meaning
   * does not depend on them): the driver sends such messages on a lane of their own, so a
   * heartbeat never waits behind a large record still on the wire — with records near the
   * request size limit that wait outlasts an election timeout. False for every message of a
   * protocol that needs FIFO channels.
   */
  orderFree(message: M): boolean;
  /**
   * The fencing number `message` tells its recipient its sender has durably promised — a
   * granted vote (Raft), a promise of phase 1 (Paxos), a fresh acknowledgement of a new epoch
   * (Zab) — or null. A node promises each number to one recipient and never a lower number
   * after a higher one, restarts included; the simulator checks both (a promise forgotten in
   * a crash is the classic way to lose a chosen value).
   */
  promisedFence(message: M): number | null;
  /**
   * The hard state with which a node that rejoined (CoreOptions.rejoining) becomes a voter
   * again: it has promised `fence` to `leader` and will never vote, promise or acknowledge a
   * new epoch at or below it (Raft: term = fence and vote = leader; Zab: acceptedEpoch =
   * currentEpoch = fence; Paxos: promised = fence). `hard` is what the rejoining core
   * persisted; `fence` is never below what it holds; `self` is the rejoining node.
   */
  rejoinedHardState(hard: HardState | null, promise: { readonly fence: Term; readonly leader: NodeId; readonly self: NodeId }): HardState;
  /**
   * The hard state a rejoining node (CoreOptions.rejoining) persists before its core answers
   * anything: `fence` is the highest CoreStatus.promisedFence of every other voting member, and
   * any promise or acknowledgement it gave before losing its disk is at or below it. So it never
   * votes, promises or accepts below `fence` (Raft: term = fence with a vote for itself, as it
   * never campaigns while rejoining; Paxos: promised = fence; Zab: acceptedEpoch = fence), and a
   * deposed leader below it no longer counts its answers. Never lowers what `hard` holds.
   */
  fencedHardState(hard: HardState | null, promise: { readonly fence: Term; readonly self: NodeId }): HardState;
  /** Throws ConsensusError('bad_config') with a sentence naming the setting (protocolOptions included). */
  validate(options: CoreOptions): void;
  create(options: CoreOptions, persisted: PersistedState): ConsensusCore<M>;
  encodeMessage(message: M): Uint8Array;
  /** Throws ConsensusError('bad_message') naming what is wrong. */
  decodeMessage(bytes: Uint8Array): M;
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
