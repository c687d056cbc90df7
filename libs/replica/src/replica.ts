/**
 * The driver: one loop per node, the same for every protocol.
 *
 *   events (tick, peer message, proposal, read) → inbox → core
 *   core.ready() → install snapshot → reads → persist (one flush, one fsync) → send → apply → advance
 *
 * The core is only touched between Readies: events that arrive while a Ready is being
 * persisted wait in the inbox and reach the core together afterwards. That is also what
 * batches work: every proposal that arrived during one fsync lands in the next Ready, so
 * one flush, one append message per peer and one SQLite transaction serve all of them.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConsensusError,
  carryOutReady,
  logIndex,
  seededRandom,
  type BaseMessage,
  type ConsensusCore,
  type CoreOptions,
  type Entry,
  type HardState,
  type MemberSpec,
  type NodeId,
  type ProtocolModule,
  type ProtocolOptions,
  type ReadyPorts,
  type Role,
  type SnapshotMeta,
  type Term,
  assertNever,
  nodeId as asNodeId,
} from '@quorumlite/consensus';
import { DurableLog, SnapshotStore, storageSyncCount, type DurableLogOptions } from '@quorumlite/storage';
import type { SqlOptions } from '@quorumlite/sql';
import { ANY_ORIGIN, type PeerTransport } from '@quorumlite/transport';
import { NodeCounters, type CountersReading } from './counters';
import { askTheLeader, fromSqlError, membershipRefused, proposalRefused, ReplicaError, withLeaderAddress, withStatements, writeSettings, type WriteSettings } from './errors';
import { IncarnationBook } from './incarnation';
import { committedAtBoot, heldState } from './boot';
import { restoreLatest, Snapshots } from './snapshots';
import { bootFromBackup, DATABASE_FILE, type BackupCopy } from './backup';
import { IndexWaiters } from './index-waiters';
import { unmonitoredSteps, type LoopSteps, type StepTotal } from './loop-monitor';
import { SqlData, Witness, type StateMachine } from './state-machine';
import { Forwarding } from './forwarding';
import { Membership, type ReplicaMember } from './membership';
import { changeMembers, storeOfRole, type MemberChange, type MemberChangeOutcome } from './member-changes';
import { Transfers, type TransferOutcome } from './transfer';
import { Reads } from './reads';
import { TickGate } from './tick-gate';
import { durabilityMet, WriteWaits, type WriteWaiter } from './write-waits';
import { beginRejoin, type NodeStore, type PeerStatusReader } from './rejoin';
import { Rejoining } from './rejoining';
import type {
  Clock,
  Entropy,
  ReadRequest,
  ReadResult,
  ReplicaLogger,
  Timer,
  WriteForwarder,
  WriteRequest,
  WriteResult,
} from './ports';

export type { ReplicaMember } from './membership';

export interface ReplicaSettings {
  readonly nodeId: string;
  readonly members: readonly ReplicaMember[];
  readonly dataDir: string;
  readonly tickMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  /** The protocol's own settings (ProtocolModule.options), checked by its validate(). */
  readonly protocolOptions: ProtocolOptions;
  readonly snapshotEveryEntries: number;
  readonly snapshotRetainEntries: number;
  /** Log bytes after which a snapshot is due whatever the entry count and database size. */
  readonly snapshotLogBytesMax: number;
  /** Log segments written ahead as zeros (libs/storage; default true). */
  readonly logPreallocate?: boolean;
  readonly entriesPerMessageMax: number;
  readonly bytesPerMessageMax: number;
  readonly inflightMessagesMax: number;
  readonly uncommittedEntriesMax: number;
  /** Most proposals handed to the core in one loop round (the rest wait for the next). */
  readonly proposalBatchMax: number;
  readonly sql?: SqlOptions;
  /**
   * The operator's `--rejoin`: this voter lost its data directory and comes back as an observer
   * until it has caught up with the newest leader (see rejoin.ts). Refused on a directory that
   * still holds a log or hard state.
   */
  readonly rejoin?: boolean;
  /**
   * A backup file this data node's database starts from when its data directory is fresh
   * (backup.ts: ignored, with a warning, on a directory that holds data). Every data node
   * of the new cluster must be given the same file.
   */
  readonly fromBackup?: string | null;
}

export interface ReplicaDeps {
  readonly protocol: ProtocolModule;
  readonly transport: PeerTransport;
  readonly forwarder: WriteForwarder;
  readonly clock: Clock;
  readonly entropy: Entropy;
  readonly logger: ReplicaLogger;
  /** Called once when the replica cannot go on safely (a persist failed): the process should exit. */
  readonly onFatal?: (error: unknown) => void;
  /** Names the synchronous phases, so a stall of the event loop can be logged with its cause. */
  readonly loopSteps?: LoopSteps;
  /** Reads the other members' status while this node rejoins (required to rejoin). */
  readonly peerStatus?: PeerStatusReader;
  /** A client write this node proposed as leader was answered, `ms` after it arrived (the node's metrics). */
  readonly onWriteAnswered?: (ms: number) => void;
  /** A fresh data directory's incarnation (incarnation.ts); random UUIDs unless a test sets it. */
  readonly newIncarnationId?: () => string;
}

export interface ReplicaStatus {
  readonly nodeId: string;
  readonly role: Role;
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
  /** The protocol's fencing number (Raft term, ZAB epoch, Paxos ballot), named by `fencingName`. */
  readonly term: number;
  /** What the protocol calls its fencing number: 'term', 'epoch', 'ballot'. */
  readonly fencingName: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /**
   * What this node's log holds on disk: records and bytes (the records' bytes; its files may
   * hold up to two segments more of preallocated zeros). On a witness, which keeps no
   * database, this is all it stores besides its hard state, and it stays bounded: records go
   * once every data voter holds them.
   */
  readonly logRecords: number;
  readonly logBytes: number;
  /** How far every data voter holds the log, as this node knows it (0: unknown). */
  readonly dataVotersHold: number;
  /** The highest fencing number this node promised (CoreStatus.promisedFence): a rejoin fences above it. */
  readonly promisedFence: number;
  /** What this process keeps, fixed at boot: a database (voters, observers) or only the log (a witness). */
  readonly store: NodeStore;
  readonly protocol: string;
  /** Monotonic since the node started: a reader takes the difference of two readings. */
  readonly counters: NodeStatusCounters;
  readonly members: readonly {
    readonly id: string;
    readonly address: string;
    readonly role: string;
    readonly matchIndex: number;
    readonly reachable: boolean;
  }[];
}

export interface NodeStatusCounters extends CountersReading {
  /** fsync and fdatasync calls for the log, hard state and compaction point (libs/storage). */
  readonly storageSyncs: number;
  /** Time in each of the driver's steps and waits (empty without a loop monitor). */
  readonly steps: readonly StepTotal[];
}

/** A prepared write waiting for the next round to be proposed, and who waits for its answer. */
/** A client's command, or a member list (Replica.proposeMembers): the core takes both in arrival order. */
type QueuedProposal =
  | { readonly kind: 'command'; readonly data: Uint8Array; readonly waiter: WriteWaiter }
  | { readonly kind: 'members'; readonly next: readonly MemberSpec[]; readonly waiter: WriteWaiter };

/**
 * Ticks wait in the inbox in arrival order with the messages: after a round that was held up
 * (a slow fsync), a heartbeat that arrived half-way through must reset the election timer
 * before the ticks that came after it are counted — not after all of them, which would make
 * a follower campaign against a leader whose messages are sitting right there.
 */
type InboxEvent =
  | { readonly kind: 'tick' }
  | { readonly kind: 'message'; readonly message: BaseMessage }
  | { readonly kind: 'snapshot-failure'; readonly to: NodeId }
  | { readonly kind: 'unreachable'; readonly to: NodeId }
  | { readonly kind: 'reachable'; readonly to: NodeId }
  | { readonly kind: 'transfer'; readonly to: NodeId };

const TICK: InboxEvent = { kind: 'tick' };

/**
 * A witness's log segments: compaction removes whole segments, so smaller ones keep what a
 * witness holds on disk close to what its data voters still lack.
 */
const WITNESS_SEGMENT_BYTES = 4 * 1024 * 1024;

/**
 * A spare segment that could not be made slows the log's syncs (a journal commit each), so the
 * operator hears of it: a warning, and a count in Status and the metrics to alert on.
 */
export function spareFailureReporter(logger: ReplicaLogger, counters: NodeCounters): (error: Error) => void {
  return (error) => {
    counters.spareFailed();
    logger.warn('could not prepare the next log segment ahead of time; appends grow the current one until the next attempt', { error: error.message });
  };
}

/** The log's options, the same at every open (recovery knows a preallocated segment by its size). */
export function replicaLogOptions(settings: Pick<ReplicaSettings, 'members' | 'nodeId' | 'logPreallocate'>): DurableLogOptions {
  const self = settings.members.find((m) => m.id === settings.nodeId);
  return {
    ...(self?.role === 'witness' ? { segmentBytesMax: WITNESS_SEGMENT_BYTES } : {}),
    ...(settings.logPreallocate === false ? { preallocateAfterBytes: null } : {}),
  };
}

export class Replica {
  private readonly inbox: InboxEvent[] = [];
  private readonly proposals: QueuedProposal[] = [];
  private readonly reads: Reads;
  private readonly writes: WriteWaits;
  private readonly forwarding: Forwarding;
  private readonly transfers: Transfers;
  private readonly applied: IndexWaiters;
  private readonly membership: Membership;
  /** The members in use, by id (the membership's map: it changes in place). */
  private readonly memberById: Map<string, ReplicaMember>;
  private scheduled = false;
  private looping: Promise<void> | null = null;
  private ticker: Timer | null = null;
  /** A Ready's persist is in flight: a leader steps what arrives meanwhile (stepDuringPersist). */
  private persisting = false;
  private duringPersistScheduled = false;
  /** The state machine's checkpoint worker failed and that was logged (once). */
  private checkpointFailureLogged = false;
  private stopped = false;
  private failed: unknown = null;
  private role: Role = 'follower';
  private readonly tickGate = new TickGate();
  private readonly snapshots: Snapshots;
  private rejoin: Rejoining | null = null;

  private constructor(
    private readonly settings: ReplicaSettings,
    private readonly deps: ReplicaDeps,
    private readonly coreOptions: CoreOptions,
    // Both are built again once, when a rejoining node becomes a voter (rejoining.ts).
    private core: ConsensusCore,
    private log: DurableLog,
    snapshotStore: SnapshotStore,
    private readonly stateMachine: StateMachine,
    private readonly incarnations: IncarnationBook,
    appliedIndex: number,
    snapshot: SnapshotMeta | null,
    private readonly counters: NodeCounters,
  ) {
    this.applied = new IndexWaiters(appliedIndex, (ms, fn) => deps.clock.after(ms, fn));
    this.reads = new Reads({
      applied: this.applied,
      commitIndex: () => this.core.status().commitIndex,
      now: () => deps.clock.now(),
      after: (ms, fn) => deps.clock.after(ms, fn),
      kick: () => this.kick(),
      leaderAddress: (id) => this.memberById.get(id)?.address ?? null,
    });
    this.writes = new WriteWaits({
      now: () => deps.clock.now(),
      after: (ms, fn) => deps.clock.after(ms, fn),
      durabilityMet: (index, durability) => durabilityMet(this.membership.list(), this.settings.nodeId, this.core.status().progress, index, durability),
      leaderHint: () => this.forwarding.hint(),
    });
    this.membership = new Membership(settings.members, {
      nodeId: settings.nodeId,
      logger: deps.logger,
      setPeers: (peers) => deps.transport.setPeers(peers.map((p) => ({ id: asNodeId(p.id), address: p.address }))),
    });
    this.memberById = this.membership.byId;
    this.forwarding = new Forwarding({
      nodeId: settings.nodeId,
      members: this.memberById,
      forwarder: deps.forwarder,
      now: () => deps.clock.now(),
      after: (ms, fn) => deps.clock.after(ms, fn),
      electionMsMax: () => this.electionMsMax(),
      stopped: () => this.stopped,
      executeHere: (request) => this.execute(request),
    });
    this.transfers = new Transfers({
      nodeId: settings.nodeId,
      members: this.memberById,
      role: () => this.role,
      leaderId: () => this.forwarding.leaderId(),
      hint: () => this.forwarding.hint(),
      progress: () => this.core.status().progress,
      request: (to) => this.push({ kind: 'transfer', to }),
      now: () => deps.clock.now(),
      after: (ms, fn) => deps.clock.after(ms, fn),
      stopped: () => this.stopped || this.failed !== null,
    });
    this.snapshots = new Snapshots(
      {
        settings,
        logger: deps.logger,
        steps: this.steps,
        applied: this.applied,
        core: () => this.core,
        log: () => this.log,
        stopped: () => this.stopped,
        kick: () => this.kick(),
        fail: (e) => this.fail(e),
        supersededThrough: (index) => this.writes.supersededThrough(index),
        random: () => deps.entropy.seed() / 2 ** 32,
        now: () => deps.clock.now(),
        completed: (kind, ms) => this.counters.snapshot(kind, ms),
        transfer: {
          encode: (message) => deps.protocol.encodeMessage(message),
          counted: (type, bytes) => this.counters.sent(type, bytes),
          sendFile: (to, bytes, file) => deps.transport.sendSnapshot(to, bytes, file),
          failed: (to) => this.push({ kind: 'snapshot-failure', to }),
        },
      },
      snapshotStore,
      stateMachine,
      snapshot,
    );
    if (coreOptions.rejoining === true) {
      this.rejoin = new Rejoining({
        settings,
        members: () => this.membership.list(),
        protocol: deps.protocol,
        peerStatus: deps.peerStatus!,
        logger: deps.logger,
        now: () => deps.clock.now(),
        after: (ms, fn) => deps.clock.after(ms, fn),
        applied: this.applied,
        handedOut: () => this.snapshots.handedOut(),
        core: () => this.core,
        stopped: () => this.stopped,
        failed: () => Boolean(this.failed),
        idle: async () => {
          await this.looping;
        },
        settled: () => this.snapshots.settled(),
        rebuildCore: (next, rejoining) => this.rebuildCore(next, rejoining),
        kick: () => this.kick(),
        fail: (e) => this.fail(e),
        finished: () => {
          this.rejoin = null;
        },
      });
    }
    this.refreshMembers();
  }

  /**
   * The members after the core's configuration moved (a config record appended or cut, a
   * snapshot installed) or at boot: addresses from the database's applied list first. After a
   * Ready that applied a config record, with no change pending, a protocol whose members are
   * then in force everywhere (ProtocolModule.appliedMembersInForce) lets the incarnation book
   * forget the members outside them — never at boot, where the list may be the flags' own.
   */
  private refreshMembers(appliedConfig = false): void {
    if (this.stateMachine.kind === 'data') this.membership.learn(this.stateMachine.appliedMembers() ?? []);
    const status = this.core.status();
    // Until its configuration commits, a Raft leader still sends records to the members of the one before.
    const before = status.membershipPending === true ? this.core.membersAt(status.commitIndex) : [];
    this.membership.refresh(status.members, before);
    this.warnIfRoleNeedsOtherStore(status.members ?? []);
    if (appliedConfig && this.deps.protocol.appliedMembersInForce === true && status.members !== undefined && status.membershipPending !== true) {
      const forgotten = this.incarnations.forgetAllBut(new Set(status.members.map((m) => m.id)));
      if (forgotten.length > 0) this.deps.logger.info('forgot the data directories of members whose removal committed: each may be added again from an empty one', { members: forgotten.join(',') });
    }
  }

  private storeWarnedFor: string | null = null;

  /**
   * The members give this node a role its process cannot keep (a list written without asking
   * the node, e.g. by an older leader): said once per role, loudly, since a witness cannot serve
   * reads and a data node made a witness stops receiving statements.
   */
  private warnIfRoleNeedsOtherStore(members: readonly { readonly id: string; readonly role: MemberSpec['role'] }[]): void {
    const mine = members.find((m) => m.id === this.settings.nodeId)?.role;
    if (mine === undefined || mine === 'observer' || storeOfRole(mine) === this.store() || this.storeWarnedFor === mine) return;
    this.storeWarnedFor = mine;
    this.deps.logger.error('the members name this node a role its process cannot keep', {
      role: mine,
      store: this.store(),
      fix: `remove ${this.settings.nodeId}, start it again as a ${mine} with an empty data directory, and add it back`,
    });
  }

  /** Opens storage and the state machine, recovers, and builds the core. Call start() next. */
  static async open(settings: ReplicaSettings, deps: ReplicaDeps): Promise<Replica> {
    const self = settings.members.find((m) => m.id === settings.nodeId);
    if (!self) throw new ReplicaError('invalid', `node ${settings.nodeId} is not among the members`);
    await fs.promises.mkdir(settings.dataDir, { recursive: true });
    const keepsData = self.role !== 'witness';
    // Made before the log opens: a spare that fails from the first append on is counted.
    const counters = new NodeCounters(deps.clock.now());
    const { log, loaded } = await DurableLog.open(path.join(settings.dataDir, 'log'), { ...replicaLogOptions(settings), onSpareFailure: spareFailureReporter(deps.logger, counters) });
    if (loaded.repairedTailBytes > 0) {
      deps.logger.warn('cut a torn tail from the log', { bytes: loaded.repairedTailBytes });
    }
    const snapshots = await SnapshotStore.open(path.join(settings.dataDir, 'snapshots'));
    if (keepsData && settings.fromBackup) bootFromBackup(settings.fromBackup, settings.dataDir, loaded, deps.logger);
    const stateMachine: StateMachine = keepsData
      ? SqlData.open(path.join(settings.dataDir, DATABASE_FILE), settings.sql)
      : new Witness(settings.nodeId, loaded.snapshot?.index ?? 0);
    let appliedIndex = stateMachine.appliedIndex();
    let restoredFromStore = false;
    if (stateMachine.kind === 'data' && loaded.snapshot && appliedIndex < loaded.snapshot.index) {
      // The log was compacted past what the database holds. A snapshot syncs the database
      // before the log is cut; a compaction at a stored file (a copy made for a peer, or an
      // install, whose file is stored before the log is cut) does not, so an OS crash after
      // one gets here, as does a database replaced by hand: start again from the stored file.
      appliedIndex = await restoreLatest(stateMachine, snapshots, loaded.snapshot, deps.logger);
      restoredFromStore = true;
    }
    const durableApplied = stateMachine.durableAppliedIndex();
    const committedApplied = durableApplied !== null ? await committedAtBoot(settings.dataDir, durableApplied, loaded.snapshot?.index ?? 0, restoredFromStore, deps.logger) : null;
    if (settings.rejoin === true && self.role === 'witness') {
      throw new ReplicaError('invalid', `--rejoin: node ${settings.nodeId} is a witness; a witness cannot rejoin yet`);
    }
    const rejoining = await beginRejoin(settings.dataDir, settings.rejoin === true, heldState(loaded, appliedIndex));
    if (rejoining) {
      if (!deps.peerStatus) throw new ReplicaError('invalid', 'a rejoining node needs to read its peers\' status');
      deps.logger.warn('rejoining after a lost data directory: this node follows as an observer, votes for nothing and counts toward no quorum until it has caught up with the newest leader');
    }
    // Durable before the node first talks to a peer: start() opens the transport.
    const incarnations = await IncarnationBook.open(settings.dataDir, rejoining, deps.newIncarnationId ?? randomUUID);
    const options: CoreOptions = {
      id: asNodeId(settings.nodeId),
      members: settings.members.map((m) => ({ id: asNodeId(m.id), role: m.role })),
      electionTimeoutTicks: settings.electionTimeoutTicks,
      heartbeatTicks: settings.heartbeatTicks,
      random: seededRandom(deps.entropy.seed()),
      protocolOptions: settings.protocolOptions,
      entriesPerMessageMax: settings.entriesPerMessageMax,
      bytesPerMessageMax: settings.bytesPerMessageMax,
      inflightMessagesMax: settings.inflightMessagesMax,
      uncommittedEntriesMax: settings.uncommittedEntriesMax,
      rejoining,
      witnessStore: !keepsData,
    };
    deps.protocol.validate(options);
    const core = deps.protocol.create(options, {
      hardState: loaded.hardState,
      snapshot: loaded.snapshot,
      entries: loaded.entries,
      // The database's own applied index (durable with the rows it covers), when the log
      // vouches for the records below it (install-marker.ts).
      ...(committedApplied !== null ? { appliedIndex: logIndex(committedApplied) } : {}),
    });
    return new Replica(settings, deps, options, core, log, snapshots, stateMachine, incarnations, appliedIndex, loaded.snapshot, counters);
  }

  start(): void {
    this.deps.transport.start({
      onMessages: (from, messages) => this.onPeerMessages(from, messages),
      onSnapshot: (from, message, stagedFile) => this.onPeerSnapshot(from, message, stagedFile),
      onPeerState: (peer, reachable) => {
        this.push({ kind: reachable ? 'reachable' : 'unreachable', to: peer });
      },
      identity: {
        self: this.incarnations.self,
        // Read once: a snapshot installed later comes from a peer of the same origin.
        origin: this.stateMachine.kind === 'data' ? this.stateMachine.origin() : ANY_ORIGIN,
        admit: (member, presented) => this.incarnations.admit(member, presented),
      },
      onIdentityRefused: (peer, why) => this.fail(new ReplicaError('invalid', `peer ${peer} refused this node: ${why}`)),
    });
    this.ticker = this.deps.clock.every(this.settings.tickMs, () => {
      if (this.rejoin?.fenced === false) return;
      if (this.tickGate.admit(this.persisting, this.role === 'leader')) this.push(TICK);
    });
    this.rejoin?.start();
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.cancel();
    this.rejoin?.stop();
    await this.looping;
    await this.snapshots.settled();
    const closing = new ReplicaError('unavailable', 'node is shutting down; retry on another node');
    this.failPending(closing);
    await this.deps.transport.close();
    await this.log.close();
    this.stateMachine.close();
  }

  /**
   * A consistent copy of this node's database at the applied index it reports, taken while
   * writes go on (see Snapshots.copyForBackup); the caller streams the file and then calls
   * `discard()`. A witness keeps no database and refuses.
   */
  async backup(): Promise<BackupCopy> {
    this.assertServing();
    const machine = this.stateMachine;
    if (machine.kind === 'witness') {
      throw new ReplicaError('refused', `node ${this.settings.nodeId} is a witness: it keeps no database to back up; take the backup from a voter or an observer`);
    }
    const copy = await this.snapshots.copyForBackup(machine);
    try {
      const { size } = await fs.promises.stat(copy.file);
      return { file: copy.file, appliedIndex: copy.index, bytes: size, discard: copy.discard };
    } catch (e: unknown) {
      await copy.discard();
      throw e;
    }
  }

  /**
   * Hands leadership to `to` (null: the most caught-up other data voter) and resolves once
   * another node leads. Fails with `not_leader` (and the leader's address) on a node that does
   * not lead, `invalid` for a target that cannot lead, `timeout` when the handover did not
   * complete (this node goes on leading). Default wait: two of the longest elections.
   */
  async transferLeadership(to: string | null, timeoutMs?: number): Promise<TransferOutcome> {
    this.assertServing();
    return this.transfers.transfer(to, timeoutMs ?? 2 * this.electionMsMax());
  }

  /**
   * Graceful shutdown: a leader hands over before it goes, so its clients wait one short
   * handover rather than an election timeout. Best effort: a failed handover is logged and the
   * node stops anyway (the others then elect a leader as after a crash).
   */
  async handOverLeadership(timeoutMs?: number): Promise<TransferOutcome | null> {
    if (this.stopped || this.failed !== null || this.role !== 'leader' || !this.transfers.hasCandidate()) return null;
    try {
      const outcome = await this.transfers.transfer(null, timeoutMs ?? 2 * this.electionMsMax());
      this.deps.logger.info('leadership handed over', { to: outcome.to, elapsedMs: outcome.elapsedMs });
      return outcome;
    } catch (e: unknown) {
      this.deps.logger.warn('leadership handover before shutdown failed; stopping anyway', { error: e instanceof Error ? e.message : String(e) });
      return null;
    }
  }

  /** The members in use (the core's configuration, with addresses), and whether a change of them is in flight. */
  members(): { members: ReplicaMember[]; pending: boolean } {
    return { members: this.membership.list(), pending: this.core.status().membershipPending ?? false };
  }

  /**
   * Leader: proposes `next`, the whole next member list, and resolves once it is committed and
   * applied here. The core refuses what its protocol forbids (one member at a time, a new member
   * as an observer, none that leaves no reachable quorum) with a sentence; a follower answers
   * `not_leader` with the leader's address.
   */
  proposeMembers(next: readonly MemberSpec[], timeoutMs: number): Promise<{ index: number }> {
    this.assertServing();
    const deadlineMs = this.deps.clock.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const waiter: WriteWaiter = { durability: 'quorum', deadlineMs, timeoutMs, idempotent: true, resolve: (r) => resolve({ index: r.index }), reject };
      this.proposals.push({ kind: 'members', next, waiter });
      this.kick();
    });
  }

  /** Leader: adds, removes or changes the role of one member (member-changes.ts), waiting for each step to commit. */
  changeMembers(change: MemberChange, timeoutMs: number): Promise<MemberChangeOutcome> {
    this.assertServing();
    // Before any answer from this node's own list: a follower's list may lag the leader's, and
    // a process booting on an empty directory holds only its flags' list, which may already
    // name the member being added.
    if (this.role !== 'leader') return Promise.reject(askTheLeader(this.settings.nodeId, this.forwarding.hint(), 'change the members'));
    return changeMembers(
      {
        members: () => this.members(),
        propose: (next, ms) => this.proposeMembers(next, ms),
        caughtUp: (id) => this.caughtUp(id),
        storeAt: (id, address, ms) => this.storeAt(id, address, ms),
        now: () => this.deps.clock.now(),
        after: (ms, fn) => this.deps.clock.after(ms, fn),
        settleMs: () => 2 * this.electionMsMax(),
      },
      change,
      timeoutMs,
    );
  }

  /** What this process keeps, fixed at boot by its state machine. */
  store(): NodeStore {
    return this.stateMachine.kind === 'data' ? 'database' : 'log';
  }

  /** What the process at `address` keeps, from its Status; rejects when it does not answer. */
  private async storeAt(id: string, address: string, timeoutMs: number): Promise<NodeStore | null> {
    if (id === this.settings.nodeId) return this.store();
    const reader = this.deps.peerStatus;
    if (!reader) throw new ReplicaError('invalid', `node ${this.settings.nodeId} cannot read its peers' status, so it cannot check what ${id} keeps`);
    return (await reader.status(address, timeoutMs)).store ?? null;
  }

  /** Leader: whether member `id` holds every record this leader knows committed (a new member may vote then). */
  caughtUp(id: string): boolean {
    const s = this.core.status();
    return s.role === 'leader' && (s.progress[id]?.match ?? 0) >= s.commitIndex;
  }

  private electionMsMax(): number {
    return this.deps.protocol.electionTicksMax(this.settings) * this.settings.tickMs;
  }

  // ---- client API --------------------------------------------------------------------

  /**
   * Not an async function: one promise per write, settled by the write's waiter, instead of
   * an async frame resolving with another promise (two more objects and three microtask turns
   * a write). A synchronous refusal still arrives as a rejection.
   */
  execute(request: WriteRequest): Promise<WriteResult> {
    try {
      return this.executeNow(request);
    } catch (e: unknown) {
      return Promise.reject(e);
    }
  }

  private executeNow(request: WriteRequest): Promise<WriteResult> {
    this.assertServing();
    // One deadline for the whole request: waiting for a leader, commit and durability.
    const deadlineMs = this.deps.clock.now() + request.timeoutMs;
    if (this.role !== 'leader') return this.forwarding.forward(request, deadlineMs);
    this.stateMachine.assertServes('write', this.forwarding.hint());
    // No lookup of the request id here: apply finds a duplicate in the same transaction
    // that would record it, which is the only check that cannot race; a lookup on every
    // write would only save a log record on the rare retry.
    let data: Uint8Array;
    try {
      data = this.steps.run('prepare', () => this.stateMachine.prepareWrite(
        { statements: request.statements, requestId: request.requestId },
        this.deps.clock.now(),
        this.deps.entropy.seed(),
      ));
    } catch (e: unknown) {
      throw fromSqlError(e);
    }
    // What follows holds the request's settings, not its statements (they are in `data`): a
    // batch's decoded values would otherwise live through the round, past young collections.
    return this.propose(data, writeSettings(request), deadlineMs);
  }

  /**
   * A write refused because this node no longer leads goes on to the leader, as the log
   * record holds its statements: as prepared (text trimmed, CURRENT_* rewritten, named values
   * in the order the SQL names them), one for each sent, which the leader's prepare takes to
   * the same command.
   */
  private forwardRefused(data: Uint8Array, request: WriteSettings, deadlineMs: number): Promise<WriteResult> {
    let statements: WriteRequest['statements'];
    try {
      statements = this.stateMachine.writeStatements(data);
    } catch (decodeError: unknown) {
      return Promise.reject(fromSqlError(decodeError));
    }
    return this.forwarding.forward(withStatements(request, statements), deadlineMs);
  }

  async query(request: ReadRequest): Promise<ReadResult> {
    const arrivedMs = this.deps.clock.now();
    const result = await this.answerQuery(request);
    this.counters.readAnswered(this.deps.clock.now() - arrivedMs);
    return result;
  }

  private async answerQuery(request: ReadRequest): Promise<ReadResult> {
    this.assertServing();
    this.stateMachine.assertServes('read', this.forwarding.hint());
    await this.reads.awaitConsistency(request);
    const index = this.applied.value();
    try {
      const result = this.stateMachine.query({
        sql: request.sql,
        params: request.params,
        named: request.named,
        maxRows: request.maxRows,
        maxBytes: Number.MAX_SAFE_INTEGER,
      });
      // Named fields, not a spread (see withLeaderAddress).
      return { columns: result.columns, rows: result.rows, truncated: result.truncated, index };
    } catch (e: unknown) {
      throw fromSqlError(e);
    }
  }

  /** The protocol's fencing number as the core holds it now (the node's log lines carry it). */
  fence(): number {
    return this.core.status().term;
  }

  status(): ReplicaStatus {
    const s = this.core.status();
    const footprint = this.log.footprint();
    const leaderId = s.leader;
    return {
      nodeId: this.settings.nodeId,
      role: s.role,
      leaderId,
      leaderAddress: leaderId ? (this.memberById.get(leaderId)?.address ?? null) : null,
      term: s.term,
      fencingName: this.deps.protocol.fencingName,
      commitIndex: s.commitIndex,
      appliedIndex: this.applied.value(),
      lastIndex: s.lastIndex,
      snapshotIndex: this.snapshots.index(),
      logRecords: footprint.records,
      logBytes: footprint.bytes,
      dataVotersHold: s.dataVotersHold ?? 0,
      promisedFence: s.promisedFence,
      store: this.store(),
      protocol: this.deps.protocol.name,
      counters: { ...this.counters.read(this.deps.clock.now()), storageSyncs: storageSyncCount(), steps: this.steps.totals() },
      members: this.membership.list().map((m) => ({
        id: m.id,
        address: m.address,
        role: m.role,
        matchIndex: m.id === this.settings.nodeId ? s.lastIndex : (s.progress[m.id]?.match ?? 0),
        reachable: m.id === this.settings.nodeId || this.deps.transport.isReachable(asNodeId(m.id)),
      })),
    };
  }

  /**
   * Testing only — a power cut: the log loses what was written but not yet fsync'd (a
   * random prefix of it survives). The caller must kill the process at once.
   */
  simulatePowerLoss(random: () => number): number {
    return this.log.loseUnsyncedWrites(random);
  }

  /** A row-level digest of the state machine (tests compare replicas with it). */
  digest(): string | null {
    return this.stateMachine.digest();
  }

  // ---- writes ------------------------------------------------------------------------

  /** Answered with this leader's address; refused as not leader (and not forwarded yet), sent on to the leader. */
  private propose(data: Uint8Array, request: WriteSettings, deadlineMs: number): Promise<WriteResult> {
    const arrivedMs = deadlineMs - request.timeoutMs;
    return new Promise<WriteResult>((resolve, reject) => {
      const answer = (r: WriteResult): void => {
        const ms = this.deps.clock.now() - arrivedMs;
        this.counters.writeAnswered(ms);
        this.deps.onWriteAnswered?.(ms);
        const here = this.memberById.get(this.settings.nodeId)?.address;
        resolve(here === undefined ? r : withLeaderAddress(r, here));
      };
      // A refusal comes from inside the core's feed; the forward starts in a microtask after
      // it, as it did when an async caller awaited this promise. It only queues the write for
      // the leader (a proposal there, kick() deferred), so it never touches a round under way.
      const refuse = (e: unknown): void => {
        if (e instanceof ReplicaError && e.code === 'not_leader' && !request.forwarded) {
          queueMicrotask(() => {
            this.forwardRefused(data, request, deadlineMs).then(resolve, reject);
          });
        } else {
          reject(e);
        }
      };
      this.proposals.push({ kind: 'command', data, waiter: { durability: request.durability, deadlineMs, timeoutMs: request.timeoutMs, idempotent: request.requestId !== null, resolve: answer, reject: refuse } });
      this.kick();
    });
  }

  // ---- peers -------------------------------------------------------------------------

  private onPeerMessages(from: NodeId, messages: Uint8Array[]): void {
    // A rejoining node answers nothing until it is fenced (rejoin.ts, step 0); senders resend.
    if (this.rejoin?.fenced === false) return;
    for (const bytes of messages) {
      const message = this.steps.run('decode', () => this.decode(from, bytes));
      if (message) this.inbox.push({ kind: 'message', message });
    }
    this.kick();
  }

  /** A snapshot arrived: it is staged, once checked (snapshots.ts), before the core hears of it. */
  private onPeerSnapshot(from: NodeId, bytes: Uint8Array, stagedFile: string): void {
    if (this.rejoin?.fenced === false) {
      this.snapshots.discard(stagedFile);
      return;
    }
    const message = this.decode(from, bytes);
    if (!message?.snapshot) {
      this.deps.logger.warn('dropped a snapshot whose message carries no snapshot meta', { from });
      this.snapshots.discard(stagedFile);
      return;
    }
    this.snapshots.stage(from, message.snapshot, stagedFile);
    this.push({ kind: 'message', message });
  }

  private decode(from: NodeId, bytes: Uint8Array): BaseMessage | null {
    try {
      const message = this.deps.protocol.decodeMessage(bytes);
      this.counters.received(message.type, bytes.length);
      if (message.from !== from || message.to !== this.settings.nodeId) {
        this.deps.logger.warn('dropped a peer message with mismatched from/to', { from, claimed: message.from, to: message.to });
        return null;
      }
      return message;
    } catch (e: unknown) {
      if (!(e instanceof ConsensusError)) throw e;
      this.deps.logger.warn('dropped a malformed peer message', { from, error: e.message });
      return null;
    }
  }

  /** The driver's synchronous phases, named for the loop monitor. */
  private get steps(): LoopSteps {
    return this.deps.loopSteps ?? unmonitoredSteps;
  }

  private send(message: BaseMessage): void {
    // A witness keeps no database: it takes only the snapshot's position, so no file goes to it.
    if (!message.snapshot || (this.memberById.get(message.to) ?? this.membership.leavingById.get(message.to))?.role === 'witness') {
      const bytes = this.deps.protocol.encodeMessage(message);
      this.counters.sent(message.type, bytes.length);
      this.deps.transport.send(message.to, bytes, this.deps.protocol.orderFree(message));
      return;
    }
    this.snapshots.send(message, message.snapshot);
  }

  // ---- the loop ----------------------------------------------------------------------

  private push(event: InboxEvent): void {
    this.inbox.push(event);
    if (this.persisting) this.kickDuringPersist();
    else this.kick();
  }

  private kickDuringPersist(): void {
    if (this.duringPersistScheduled || this.stopped) return;
    this.duringPersistScheduled = true;
    setImmediate(() => {
      this.duringPersistScheduled = false;
      this.stepDuringPersist();
    });
  }

  /**
   * While a Ready's persist is in flight, a leader goes on stepping ticks and messages in
   * their order and sends what its core lets leave before the persist completes (its
   * heartbeats and appends): a slow fsync of a large record no longer silences it for longer
   * than an election timeout. A follower waits — its answers need the persist anyway — and
   * so does the rest of the inbox once the core is no longer leader.
   */
  private stepDuringPersist(): void {
    if (!this.persisting || this.failed || this.stopped) return;
    try {
      this.steps.run('feed', () => {
        while (this.inbox.length > 0 && this.core.status().role === 'leader') this.feedEvent(this.inbox.shift()!);
      });
      for (const m of this.core.takeEarlyMessages()) this.send(m);
    } catch (e: unknown) {
      this.fail(e);
    }
  }

  private kick(): void {
    if (this.scheduled || this.looping || this.stopped || this.rejoin?.fenced === false) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.looping || this.stopped) return;
      this.looping = this.round().finally(() => {
        this.looping = null;
        if (this.hasWork()) this.kick();
      });
    });
  }

  private hasWork(): boolean {
    return this.snapshots.hasPendingCompaction() || this.inbox.length > 0 || this.proposals.length > 0 || this.reads.hasQueued() || this.core.hasReady();
  }

  /** One round: feed the core, then carry out at most one Ready. */
  private async round(): Promise<void> {
    if (this.failed) return;
    try {
      await this.snapshots.compactPending();
      // Between Readies, with nothing in flight: the only place the core is built again.
      if (this.rejoin?.confirmed) await this.rejoin.complete();
      this.steps.run('feed', () => this.feedCore());
      if (!this.core.hasReady()) return;
      const rd = this.steps.run('ready', () => this.core.ready());
      // A config record written, cut or applied: Raft names the latest in its log, Multi-Paxos
      // (a follower) the latest of its chosen slots, which an applied record moves.
      const movesMembers = rd.truncateAfter !== null || rd.snapshot !== null || rd.entries.some((e) => e.kind === 'config') || rd.committed.some((e) => e.kind === 'config');
      const carried = carryOutReady(rd, this.readyPorts);
      const applied = typeof carried === 'boolean' ? carried : await carried;
      this.steps.run('advance', () => this.core.advance());
      if (movesMembers) this.refreshMembers(rd.committed.some((e) => e.kind === 'config'));
      this.writes.checkDurability(this.role === 'leader');
      // After advance(): the core only compacts what it knows was applied.
      if (applied) this.snapshots.maybeSnapshot();
    } catch (e: unknown) {
      this.fail(e);
    }
  }

  private feedCore(): void {
    for (const event of this.inbox.splice(0)) this.feedEvent(event);
    const batch = this.proposals.splice(0, this.settings.proposalBatchMax);
    for (const p of batch) this.proposeNow(p);
    // One read-index round answers every read that arrived since the last one.
    const round = this.reads.nextRound();
    if (round !== null) this.core.readIndex(round);
  }

  private feedEvent(event: InboxEvent): void {
    switch (event.kind) {
      case 'tick':
        this.core.tick();
        break;
      case 'message':
        this.core.step(event.message);
        break;
      case 'snapshot-failure':
        this.core.reportSnapshotFailure(event.to);
        break;
      case 'unreachable':
        this.core.reportUnreachable(event.to);
        break;
      case 'reachable':
        this.core.reportReachable(event.to);
        break;
      case 'transfer':
        this.core.transferLeadership(event.to);
        break;
      default:
        assertNever(event, 'inbox event');
    }
  }

  private proposeNow(p: QueuedProposal): void {
    const r = p.kind === 'command' ? this.core.propose(p.data) : this.core.proposeMembership(p.next);
    if (!r.ok) {
      if ('message' in r) p.waiter.reject(membershipRefused(r.reason, r.message));
      else p.waiter.reject(proposalRefused(r.reason, this.settings.nodeId, this.forwarding.hint()));
      return;
    }
    this.writes.add(r.index, r.token, p.waiter);
  }

  /** What the one Ready carrier (libs/consensus driver) does here, made once per replica. */
  private readonly readyPorts: ReadyPorts<BaseMessage> = {
    installSnapshot: (meta, keepLog) => this.snapshots.install(meta, keepLog),
    persist: (truncateAfter, hardState, entries, mustSync) => {
      if (truncateAfter !== null) this.log.truncateAfter(truncateAfter);
      if (hardState) this.log.setHardState(hardState);
      if (entries.length > 0) this.steps.run('persist', () => this.log.append(entries));
      this.persisting = true;
      // What arrived before the write began is stepped now, not after it.
      if (this.inbox.length > 0) this.kickDuringPersist();
      const durableTo = mustSync && this.writes.waitsForLeaderFsync() ? this.log.lastIndex() : null;
      return this.steps
        .wait('fsync', () => this.log.flush(mustSync))
        .then(() => {
          if (durableTo !== null) this.writes.durableOnLeader(durableTo);
        })
        .finally(() => {
          this.persisting = false;
          this.tickGate.waitEnded();
        });
    },
    send: (message) => this.steps.run('send', () => this.send(message)),
    apply: (entries) => this.steps.run('apply', () => this.apply(entries)),
    reads: (readStates, readFailures) => this.reads.settle(readStates, readFailures),
    softState: (s) => this.onSoftState(s.role, s.leader, s.term),
  };

  private apply(entries: readonly Entry[]): void {
    const fresh = this.unappliedOrAwaited(entries);
    const outcomes = fresh.length > 0 ? this.stateMachine.applyBatch(fresh) : [];
    const checkpointFailure = this.stateMachine.checkpointFailure();
    if (checkpointFailure !== null && !this.checkpointFailureLogged) {
      this.checkpointFailureLogged = true;
      this.deps.logger.warn('WAL checkpoints moved back onto the event loop: the checkpoint worker failed', { error: checkpointFailure });
    }
    this.writes.applied(fresh, outcomes);
    this.snapshots.noteApplied(entries);
    this.applied.advance(this.stateMachine.appliedIndex());
  }

  /**
   * `entries` without the leading records the database applied before that no write waits on.
   * A core built after a restart or a rebuild may hand out its committed records from
   * its snapshot on, and the database would skip each one only after decoding it and reading
   * its request's stored outcome (~30 µs a record): after a long run of small writes, seconds
   * of a restarted node's loop while its vote may be needed. Every record still goes to the
   * snapshot schedule, which counts the log since the snapshot.
   */
  private unappliedOrAwaited(entries: readonly Entry[]): readonly Entry[] {
    const applied = this.stateMachine.appliedIndex();
    let skip = 0;
    while (skip < entries.length && entries[skip]!.index <= applied && !this.writes.waitsAt(entries[skip]!.index)) skip++;
    return skip === 0 ? entries : entries.slice(skip);
  }

  private onSoftState(role: Role, leader: NodeId | null, term: Term): void {
    this.counters.softState(role, leader, this.deps.clock.now());
    if (role !== this.role || leader !== this.forwarding.leaderId()) {
      this.deps.logger.info('role changed', { role, leader, [this.deps.protocol.fencingName]: term });
    }
    const wasLeader = this.role === 'leader';
    this.role = role;
    this.forwarding.setLeader(leader);
    if (wasLeader && role !== 'leader') this.writes.leadershipLost(this.core.status().commitIndex);
    this.transfers.changed();
  }

  // ---- failure -----------------------------------------------------------------------

  private assertServing(): void {
    if (this.failed) throw new ReplicaError('unavailable', 'this node stopped: it could not continue safely; use another node');
    if (this.stopped) throw new ReplicaError('unavailable', 'node is shutting down; retry on another node');
  }

  /**
   * Builds the core again from what is on disk under the hard state `next` makes of it, once
   * that is durable. Called only with nothing in flight: between Readies, or before the core ran.
   */
  private async rebuildCore(next: (hard: HardState | null) => HardState, rejoining: boolean): Promise<void> {
    await this.snapshots.settled();
    await this.log.close();
    const { log, loaded } = await DurableLog.open(path.join(this.settings.dataDir, 'log'), {
      ...replicaLogOptions(this.settings),
      onSpareFailure: spareFailureReporter(this.deps.logger, this.counters),
    });
    const hardState = next(loaded.hardState);
    log.setHardState(hardState);
    await log.flush(true);
    this.log = log;
    this.core = this.deps.protocol.create({ ...this.coreOptions, rejoining }, { hardState, snapshot: loaded.snapshot, entries: loaded.entries });
    // The new core hands out its committed records again from its snapshot; the driver skips
    // what it applied, as after a restart.
    this.snapshots.restartFrom(loaded.snapshot);
    this.refreshMembers();
    const retry = new ReplicaError('unavailable', 'this node just rejoined as a voter; retry');
    this.reads.failRounds(retry);
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = error;
    this.deps.logger.error('replica stopped: cannot continue safely', { error: error instanceof Error ? error.stack : String(error) });
    this.ticker?.cancel();
    this.failPending(new ReplicaError('unavailable', 'this node stopped: it could not continue safely; use another node'));
    this.deps.onFatal?.(error);
  }

  private failPending(error: ReplicaError): void {
    this.writes.failAll(error);
    for (const p of this.proposals.splice(0)) p.waiter.reject(error);
    this.reads.failAll(error);
    this.applied.failAll(error);
    this.forwarding.wakeAll();
    this.transfers.changed();
  }
}
