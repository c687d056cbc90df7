/**
 * A seeded discrete-event simulation of a cluster running any ProtocolModule. Every source
 * of nondeterminism (tick skew, message delay/loss/duplication/reordering, partitions,
 * crashes, how much of an unsynced write survives, client traffic, the cores' own entropy)
 * is drawn from one PRNG seeded by `seed`, so a failing seed replays exactly.
 *
 * Each Ready is carried out by the driver's one carrier (driver/carry-ready.ts), the code
 * libs/replica runs, with simulated ports: a disk that loses its unsynced tail, a lossy
 * network that sends through the codec, a model state machine. Every few applies the state
 * machine is snapshotted and compact called (still inside the Ready when compactionPoint is
 * 'during_apply'), and the SafetyChecker sees every observation as it happens.
 */
import {
  nodeId,
  type BaseMessage,
  type ConsensusCore,
  type CoreOptions,
  type Entry,
  type HardState,
  type LogIndex,
  type Member,
  type MemberRole,
  type MemberSpec,
  type MembershipRefusal,
  type ProposalToken,
  type NodeId,
  type ProtocolModule,
  type Ready,
  type SnapshotMeta,
} from '../contract';
import { witnessShortfall } from '../common';
import { carryOutReady, isProposal, type ReadyPorts } from '../driver';
import { seededRandom } from '../prng';
import { SafetyChecker, type AppliedLog } from './checker';
import { SimDisk } from './disk';
import { asciiBytes, appliedKey, toHex, TraceDigest } from './encoding';
import { CoreContractError, InvariantViolation, SimulationError } from './errors';
import { EventQueue } from './event-queue';
import { SimNetwork, type PartitionKind } from './network';
import {
  DEFAULT_FAULTS,
  DEFAULT_WORKLOAD,
  drawCoreTuning,
  NO_FAULTS,
  type CoreTuning,
  type FaultOptions,
  type SimOptions,
  type WorkloadOptions,
} from './options';

/** Thrown by the simulated persist port when the power fails inside it: the carrier stops there. */
class PowerCut extends Error {
  constructor() {
    super('power cut inside a persist');
  }
}

/** Most Ready rounds one stimulus may cause before the core is declared stuck in a loop. */
const READY_ROUNDS_MAX = 1_000;
const TRACE_TAIL_LINES_MAX = 400;
const LIVENESS_TICKS_DEFAULT = 400;
const LIVENESS_EVENTS_MAX = 200_000;
const PROBE_EVERY_TICKS = 4;
/** Of the member changes a leader is asked for, the share that its rules must refuse (proposeInvalidChange). */
const INVALID_CHANGE_SHARE = 0.25;
/** Refusals a leader gives before it looks at the list itself (RaftCore.proposeMembership's gates). */
const REFUSALS_BEFORE_CHECKS: readonly string[] = ['config_pending', 'overloaded', 'transferring', 'witness_leader'];

const spec = (m: Member): MemberSpec => ({ id: m.id, role: m.role, address: m.address ?? `${m.id}:7000` });

export interface SimStats {
  events: number;
  virtualTicks: number;
  proposals: number;
  proposalsRefused: number;
  acknowledged: number;
  committedIndex: number;
  leaderElections: number;
  highestTerm: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesLost: number;
  messagesBlocked: number;
  messagesDuplicated: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  compactions: number;
  crashes: number;
  unsyncedWritesLost: number;
  partitions: number;
  transfers: number;
  /**
   * Transfers whose target was the next leader elected after them (in a later term, before any
   * other transfer was asked): how often a hand-over does what it was asked, not a safety rule
   * (the others were abandoned, or ended in an ordinary election).
   */
  transfersElectingTarget: number;
  reads: number;
  readStates: number;
  readFailures: number;
  /** Ticks and messages a leader stepped while a persist of its was in flight. */
  steppedDuringPersist: number;
  /** Power cuts inside a persist that rewrote records (FaultOptions.powerCutDuringRewrite). */
  powerCutsDuringRewrite: number;
  /** Power cuts between a snapshot's state and its log side (FaultOptions.powerCutDuringInstall). */
  powerCutsDuringInstall: number;
  /** Member changes a leader took, and those it refused (FaultOptions.membershipChange). */
  membershipChanges: number;
  membershipChangesRefused: number;
  /** Messages takeEarlyMessages() let leave during a persist. */
  earlyMessagesSent: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly digest: string;
  readonly stats: SimStats;
  readonly coreTuning: CoreTuning;
  /** The last trace lines (verbose runs only). */
  readonly traceTail: readonly string[];
}

type SimEvent =
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | {
      readonly kind: 'deliver';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly bytes: Uint8Array;
      readonly snapshotState: AppliedLog | null;
      readonly snapshotMeta: SnapshotMeta | null;
      readonly fromIncarnation: number;
    }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'propose' }
  | { readonly kind: 'read' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'membership' };

interface PendingProposal {
  readonly token: ProposalToken;
  readonly incarnation: number;
}

interface SimNode<M extends BaseMessage> {
  readonly id: NodeId;
  readonly disk: SimDisk;
  /** A witness votes and holds records but keeps no state machine: it applies nothing. */
  readonly witness: boolean;
  /** The member list it (re)starts with: the boot members, or the list that added it. */
  bootMembers: readonly Member[];
  core: ConsensusCore<M> | null;
  incarnation: number;
  role: string;
  term: number;
  tickPeriod: number;
  /**
   * The state-machine model: applied record keys by index. Durable, as a database is: a restart
   * keeps it, and passes its applied index to the core (PersistedState.appliedIndex), unless a
   * snapshot install was under way or the snapshot is ahead of it (then rebuilt from the snapshot).
   */
  sm: string[];
  smLastTerm: number;
  appliedSinceSnapshot: number;
  /** Records up to here the core may hand again after a restart (a log shorter than the database): they must match, and are skipped. */
  skipUpTo: number;
  /** The last record handed again within skipUpTo since the restart: each must follow it (handed once, in order). */
  rehandedTo: number | null;
  /** Snapshot contents received with messages, by `${index}:${term}`, until Ready.snapshot installs one. */
  staged: Map<string, AppliedLog>;
  /** Proposals this node accepted, by log index, until it applies that index. */
  pending: Map<number, PendingProposal>;
  /** Things to tell the core once the current Ready is done (it must not be re-entered mid-Ready). */
  reports: Array<{ readonly kind: 'unreachable' | 'reachable' | 'snapshot_failure'; readonly to: NodeId }>;
  /** Peers reported unreachable and not reachable since: a send that goes through reports them reachable, as a stream that connects again does. */
  unreachable: Set<NodeId>;
  /** Ticks and messages that reached this leader while its disk was "slow": stepped during its next persist, in order. */
  held: Held<M>[];
  /**
   * Durable: the index of a snapshot install whose log side may not have happened (the
   * driver's install marker), until the disk's snapshot reaches it.
   */
  installPending: number | null;
}

type Held<M> = { readonly kind: 'tick' } | { readonly kind: 'message'; readonly message: M };

export function simulate<M extends BaseMessage>(options: SimOptions<M>): SimResult {
  return new Simulation(options).run();
}

class Simulation<M extends BaseMessage> {
  private readonly random: () => number;
  private readonly protocol: ProtocolModule<M>;
  /** The members the cluster boots with. */
  private readonly members: readonly Member[];
  /** Every node: the members, then the spares that a membership change may add. */
  private readonly ids: readonly NodeId[];
  /** The nodes that keep no state machine: the boot witnesses and the witness spares, for good. */
  private readonly witnessIds: ReadonlySet<NodeId>;
  /** This run changes members (FaultOptions.membershipChange, for a protocol that can). */
  private readonly changesMembers: boolean;
  private readonly nodes = new Map<NodeId, SimNode<M>>();
  private readonly network: SimNetwork;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly checker: SafetyChecker;
  private readonly digest = new TraceDigest();
  private readonly trace: string[] = [];
  private readonly ports = new Map<SimNode<M>, ReadyPorts<M>>();
  private readonly tuning: CoreTuning;
  private readonly workload: WorkloadOptions;
  private readonly compactEveryApplies: number;
  private readonly retainEntries: number;
  private faults: FaultOptions;
  private calm = false;
  private now = 0;
  private event = 0;
  private payloadSeq = 0;
  private readSeq = 0;
  private probesAcked = 0;
  /** The last transfer asked and the term its leader led in, until the next leader of a later term is elected. */
  private transferAwaited: { readonly target: NodeId; readonly term: number } | null = null;
  private readonly stats: SimStats = {
    events: 0, virtualTicks: 0, proposals: 0, proposalsRefused: 0, acknowledged: 0, committedIndex: 0,
    leaderElections: 0, highestTerm: 0, messagesSent: 0, messagesDelivered: 0, messagesLost: 0,
    messagesBlocked: 0, messagesDuplicated: 0, snapshotsSent: 0, snapshotsInstalled: 0, compactions: 0,
    crashes: 0, unsyncedWritesLost: 0, partitions: 0, transfers: 0, transfersElectingTarget: 0, reads: 0, readStates: 0, readFailures: 0,
    steppedDuringPersist: 0, earlyMessagesSent: 0, powerCutsDuringRewrite: 0, powerCutsDuringInstall: 0,
    membershipChanges: 0, membershipChangesRefused: 0,
  };
  /** Entropy for power cuts inside a rewrite only, so they leave every other draw of a schedule as it was. */
  private readonly rewriteCutRandom: () => number;
  /** Likewise for power cuts inside a snapshot install. */
  private readonly installCutRandom: () => number;

  constructor(private readonly options: SimOptions<M>) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new Error(`nodes must be a positive integer, got ${options.nodes}`);
    this.random = seededRandom(options.seed);
    this.rewriteCutRandom = seededRandom(Math.imul(options.seed, 0x2c1b3c6d) ^ 0x297a2d39);
    this.installCutRandom = seededRandom(Math.imul(options.seed, 0x5bd1e995) ^ 0x1b873593);
    this.protocol = options.protocol;
    this.checker = new SafetyChecker(options.protocol.logMatching);
    const roles = memberRoles(options);
    const spares = options.spares ?? 0;
    if (!Number.isInteger(spares) || spares < 0) throw new Error(`spares must be a non-negative integer, got ${spares}`);
    this.ids = Array.from({ length: roles.length + spares }, (_, i) => nodeId(`n${i + 1}`));
    this.members = roles.map((role, i) => ({ id: this.ids[i]!, role }));
    this.network = new SimNetwork(this.ids);
    this.faults = { ...DEFAULT_FAULTS, ...options.faults };
    this.changesMembers = this.faults.membershipChange > 0 && options.protocol.membershipChanges === true;
    const spareWitnesses = options.spareWitnesses ?? 0;
    if (!Number.isInteger(spareWitnesses) || spareWitnesses < 0 || spareWitnesses > spares) throw new Error(`spareWitnesses must be an integer from 0 to spares (${spares}), got ${spareWitnesses}`);
    this.witnessIds = new Set([...this.members.filter((m) => m.role === 'witness').map((m) => m.id), ...this.ids.slice(this.ids.length - spareWitnesses)]);
    this.workload = { ...DEFAULT_WORKLOAD, ...options.workload };
    this.tuning = drawCoreTuning(this.random, options.protocol.options, options.coreOptions);
    this.compactEveryApplies = options.compactEveryApplies ?? 4 + Math.floor(this.random() * 20);
    this.retainEntries = options.retainEntries ?? Math.floor(this.random() * 4);
  }

  run(): SimResult {
    this.guard(() => this.boot());
    while (this.event < this.options.steps) {
      if (!this.step()) break;
    }
    this.guard(() => this.calmDown());
    this.converge();
    this.stats.events = this.event;
    this.stats.virtualTicks = Math.round(this.now);
    this.stats.committedIndex = this.checker.highestCommittedIndex;
    this.stats.acknowledged = this.checker.acknowledgedCount();
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      digest: this.digest.hex(),
      stats: this.stats,
      coreTuning: this.tuning,
      traceTail: this.trace.slice(),
    };
  }

  // ---- event loop ------------------------------------------------------------------------

  private boot(): void {
    this.protocol.validate(this.coreOptionsFor(this.ids[0]!, this.members));
    for (const id of this.ids) {
      const member = this.members.find((m) => m.id === id);
      const node: SimNode<M> = {
        id, disk: new SimDisk(this.options.diskRewrite), witness: this.witnessIds.has(id), bootMembers: this.members,
        core: null, incarnation: 0, role: 'down', term: 0, tickPeriod: 1,
        sm: [''], smLastTerm: 0, appliedSinceSnapshot: 0, skipUpTo: 0, rehandedTo: null, staged: new Map(), pending: new Map(), reports: [], unreachable: new Set(), held: [], installPending: null,
      };
      this.nodes.set(id, node);
      // A spare starts once a membership change adds it (changeMembership).
      if (member !== undefined) this.start(node);
    }
    this.queue.push(this.jitter(this.faults.chaosIntervalTicks), { kind: 'chaos' });
    this.queue.push(this.jitter(this.workload.proposeEveryTicks), { kind: 'propose' });
    this.queue.push(this.jitter(this.workload.readEveryTicks), { kind: 'read' });
  }

  /** Process one event; false when nothing is left to do. */
  private step(): boolean {
    const next = this.queue.pop();
    if (next === undefined) return false;
    this.now = next.at;
    this.event += 1;
    this.guard(() => this.handle(next.value));
    return true;
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick(event.node, event.incarnation);
      case 'deliver':
        return this.onDeliver(event);
      case 'chaos':
        return this.onChaos();
      case 'restart':
        return this.onRestart(event.node);
      case 'propose':
        return this.onPropose();
      case 'read':
        return this.onRead();
      case 'probe':
        return this.onProbe();
      case 'membership':
        if (!this.calm) this.changeMembership();
        return;
    }
  }

  /** Runs `work`, turning any failure into a SimulationError that names the seed and event. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (e: unknown) {
      if (e instanceof SimulationError) throw e;
      const tail = this.trace.slice();
      if (e instanceof InvariantViolation) {
        throw new SimulationError('invariant', this.options.seed, this.event, e.message, tail, { cause: e });
      }
      const what = e instanceof CoreContractError ? e.message : `core threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
      throw new SimulationError('core_contract', this.options.seed, this.event, what, tail, { cause: e });
    }
  }

  private log(line: string): void {
    const text = `${this.event} t=${this.now.toFixed(3)} ${line}`;
    this.digest.add(text);
    if (this.options.verbose !== true) return;
    this.trace.push(text);
    if (this.trace.length > TRACE_TAIL_LINES_MAX) this.trace.shift();
  }

  private jitter(meanTicks: number): number {
    return this.now + meanTicks * (0.5 + this.random());
  }

  // ---- node lifecycle --------------------------------------------------------------------

  private coreOptionsFor(id: NodeId, members: readonly Member[]): CoreOptions {
    const coreSeed = Math.floor(this.random() * 0x1_0000_0000);
    // A node keeps its kind for good (witnessIds), as a process keeps its store.
    return { ...this.tuning, id, members, random: seededRandom(coreSeed), witnessStore: this.witnessIds.has(id) };
  }

  private start(node: SimNode<M>): void {
    // What its state machine had applied before it went down, as a database would remember it
    // (the driver passes its applied index: PersistedState.appliedIndex). A witness has none.
    const loaded = node.disk.load();
    const logStart = loaded.snapshot?.index ?? 0;
    // The install marker, as libs/replica reads it: one the log's compaction point passed is gone.
    if (node.installPending !== null && node.installPending <= logStart) node.installPending = null;
    const appliedBefore = node.witness || node.incarnation === 0 || (node.installPending !== null && this.options.marksInstall !== false) ? null : node.sm.length - 1;
    const persisted = appliedBefore === null ? loaded : { ...loaded, appliedIndex: appliedBefore as LogIndex };
    node.incarnation += 1;
    node.role = 'follower';
    node.term = 0;
    node.core = this.protocol.create(this.coreOptionsFor(node.id, node.bootMembers), persisted);
    this.checker.checkCommittedAtBoot(node.id, logStart, node.core.status().commitIndex, (i) => node.disk.heldAt(i, appliedKey));
    const snap = node.disk.snapshot();
    if (appliedBefore !== null && appliedBefore > (snap?.meta.index ?? 0)) {
      // The database keeps what it applied; the core starts after it.
      node.skipUpTo = appliedBefore;
      node.rehandedTo = null;
    } else {
      // A witness's "snapshot" is only the point below which it forgot records: no state to load.
      node.sm = snap === null || node.witness ? [''] : snap.state.slice();
      node.smLastTerm = snap === null ? 0 : snap.meta.term;
      node.appliedSinceSnapshot = 0;
      node.skipUpTo = 0;
    }
    this.checker.observeStateReset(node.id, node.sm);
    const skew = this.faults.tickSkew;
    node.tickPeriod = 1 + skew * (2 * this.random() - 1);
    this.log(`start ${node.id}#${node.incarnation} snapshot=${snap?.meta.index ?? 0} entries=${persisted.entries.length}`);
    this.queue.push(this.now + node.tickPeriod * this.random(), { kind: 'tick', node: node.id, incarnation: node.incarnation });
    this.drain(node);
  }

  private crash(node: SimNode<M>, random: () => number = this.random): void {
    const unsynced = node.disk.unsyncedCount();
    const lost = node.disk.crash(Math.floor(random() * (unsynced + 1)));
    node.core = null;
    node.role = 'down';
    node.staged.clear();
    node.pending.clear();
    node.reports = [];
    node.unreachable.clear();
    node.held = [];
    this.stats.crashes += 1;
    this.stats.unsyncedWritesLost += lost;
    this.log(`crash ${node.id}#${node.incarnation} lost ${lost}/${unsynced} unsynced writes`);
  }

  private onRestart(id: NodeId): void {
    const node = this.node(id);
    if (node.core === null) this.start(node);
  }

  // ---- stimuli ---------------------------------------------------------------------------

  private onTick(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    if (node.core === null || node.incarnation !== incarnation) return;
    if (this.holds(node)) {
      node.held.push({ kind: 'tick' });
      this.log(`tick ${id} held until a persist`);
    } else {
      this.releaseHeld(node);
      // A power cut while releasing (a persist that rewrote records) took the node down.
      if (node.core === null) return;
      this.log(`tick ${id}`);
      node.core.tick();
      this.drain(node);
    }
    const period = node.tickPeriod * (0.98 + 0.04 * this.random());
    this.queue.push(this.now + period, { kind: 'tick', node: id, incarnation });
  }

  /** Whether a stimulus reaching `node` now waits for its next persist (leaders only: see takeEarlyMessages). */
  private holds(node: SimNode<M>): boolean {
    if (this.calm || this.faults.heldUntilPersist === 0 || node.core === null || node.core.status().role !== 'leader') return false;
    return this.random() < this.faults.heldUntilPersist;
  }

  /** Steps what was held, in order, outside any persist (the disk came back before another Ready). */
  private releaseHeld(node: SimNode<M>): void {
    for (const h of node.held.splice(0)) {
      if (node.core === null) return;
      if (h.kind === 'tick') node.core.tick();
      else node.core.step(h.message);
      this.drain(node);
    }
  }

  /**
   * During a persist: steps what was held, one at a time while the core is still leader (a
   * driver steps a core between ready() and advance() only then), and sends what the core
   * lets leave early. What is left is stepped after the Ready, in order.
   */
  private stepDuringPersist(node: SimNode<M>): void {
    const core = node.core;
    if (core === null) return;
    while (node.held.length > 0 && core.status().role === 'leader') {
      const h = node.held.shift()!;
      this.stats.steppedDuringPersist += 1;
      if (h.kind === 'tick') {
        this.log(`tick ${node.id} during a persist`);
        core.tick();
      } else {
        this.log(`deliver ${h.message.type} ${h.message.from}->${node.id} during a persist`);
        core.step(h.message);
      }
    }
    for (const m of core.takeEarlyMessages()) {
      this.stats.earlyMessagesSent += 1;
      this.send(node, m);
    }
  }

  private onDeliver(event: Extract<SimEvent, { kind: 'deliver' }>): void {
    const node = this.node(event.to);
    if (node.core === null || !this.network.linkUp(event.from, event.to)) {
      this.stats.messagesBlocked += 1;
      this.log(`drop ${event.from}->${event.to} (${node.core === null ? 'down' : 'partition'})`);
      if (event.snapshotMeta !== null) this.reportToSender(event.from, event.fromIncarnation, 'snapshot_failure', event.to);
      return;
    }
    const message = this.decode(event.bytes);
    if (message.snapshot !== undefined) {
      if (event.snapshotState === null) throw new CoreContractError(`message ${message.type} names a snapshot but none travelled with it`);
      node.staged.set(`${message.snapshot.index}:${message.snapshot.term}`, event.snapshotState);
    }
    this.stats.messagesDelivered += 1;
    if (this.holds(node)) {
      node.held.push({ kind: 'message', message });
      this.log(`deliver ${message.type} ${event.from}->${event.to} held until a persist`);
      return;
    }
    this.releaseHeld(node);
    if (node.core === null) return;
    this.log(`deliver ${message.type} ${event.from}->${event.to}`);
    node.core.step(message);
    this.drain(node);
  }

  private decode(bytes: Uint8Array): M {
    try {
      return this.protocol.decodeMessage(bytes);
    } catch (e: unknown) {
      throw new CoreContractError(`decodeMessage rejected bytes its own encodeMessage produced: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * Links reported unreachable that are up again are reported reachable, whether or not the
   * node sends on them, as the transport's link connects again on its own after a break.
   */
  private reportLinksBack(): void {
    for (const node of this.running()) {
      let back = false;
      for (const to of [...node.unreachable]) {
        if (!this.network.linkUp(node.id, to)) continue;
        node.unreachable.delete(to);
        node.reports.push({ kind: 'reachable', to });
        back = true;
      }
      if (back) this.drain(node);
    }
  }

  private reportToSender(from: NodeId, incarnation: number, kind: 'unreachable' | 'snapshot_failure', to: NodeId): void {
    const sender = this.node(from);
    if (sender.core === null || sender.incarnation !== incarnation) return;
    sender.reports.push({ kind, to });
    this.drain(sender);
  }

  private onChaos(): void {
    this.queue.push(this.jitter(this.faults.chaosIntervalTicks), { kind: 'chaos' });
    if (this.calm) return;
    const f = this.faults;
    if (this.network.isPartitioned()) {
      if (this.random() < f.heal) {
        this.network.heal();
        this.log('heal network');
        this.reportLinksBack();
      }
    } else if (this.random() < f.partition) {
      const kinds: readonly PartitionKind[] = ['split', 'isolate', 'bridge', 'one_way', 'deaf'];
      this.network.partition(kinds[Math.floor(this.random() * kinds.length)]!, this.random);
      this.reportLinksBack();
      this.stats.partitions += 1;
      this.log(`partition ${this.network.describe()}`);
    }
    if (this.random() < f.crash) this.crashSomeone();
    if (this.random() < f.transferLeadership) this.transferSomewhere();
    if (this.changesMembers && this.random() < f.membershipChange) this.changeMembership();
  }

  /**
   * The leader proposes one member change, drawn at random from its configuration: a node
   * outside it joins as an observer (a spare starts then, with the list that names it); an
   * observer is promoted (to voter, or to witness if it keeps no state machine) or removed; a
   * voter or witness is demoted to observer or removed. The core
   * refuses what its rules forbid (a change in flight, no reachable quorum, not caught up…).
   */
  private changeMembership(): void {
    const leader = this.leader();
    const current = leader?.core?.status().members;
    if (leader?.core == null || current === undefined) return;
    if (this.random() < INVALID_CHANGE_SHARE) {
      this.proposeInvalidChange(leader, leader.core, current);
      return;
    }
    const id = this.ids[Math.floor(this.random() * this.ids.length)]!;
    const member = current.find((m) => m.id === id);
    let next: MemberSpec[];
    let what: string;
    if (member === undefined) {
      next = [...current.map(spec), { id, role: 'observer', address: `${id}:7000` }];
      what = `add ${id} as observer`;
    } else if (this.random() < 0.5) {
      next = current.filter((m) => m.id !== id).map(spec);
      what = `remove ${id}`;
    } else {
      // A node keeps its kind: one with a state machine votes as a voter, one without as a witness.
      const role: MemberRole = member.role !== 'observer' ? 'observer' : this.node(id).witness ? 'witness' : 'voter';
      next = current.map((m) => (m.id === id ? { ...spec(m), role } : spec(m)));
      what = `${role === 'observer' ? 'demote' : 'promote'} ${id}${role === 'witness' ? ' to witness' : ''}`;
    }
    const result = leader.core.proposeMembership(next);
    if (result.ok) {
      this.stats.membershipChanges += 1;
      this.log(`membership ${what} at ${leader.id} -> ${result.index}@${result.term}`);
    } else {
      this.stats.membershipChangesRefused += 1;
      this.log(`membership ${what} at ${leader.id} refused ${result.reason}`);
    }
    this.drain(leader);
    const joining = this.node(id);
    if (result.ok && next.some((m) => m.id === id && m.role === 'witness') && member?.role === 'observer') {
      // It may have taken a snapshot position as an observer: it now votes on what it kept.
      this.checkDataVotersHold(joining, 0, joining.disk.snapshot()?.meta.index ?? 0, 'vote as a witness');
    }
    if (result.ok && joining.incarnation === 0) {
      joining.bootMembers = next;
      this.start(joining);
    }
  }

  /**
   * A change the core must refuse, with the reason its rules give, leaving its configuration
   * and log as they were: two members at once (too_many_changes), a new member straight in as
   * a voter (invalid), or an observer promoted while it lacks committed records (not_caught_up).
   * A refusal that comes first — a change in flight, no record of the leader's term committed
   * yet, too many uncommitted records, a transfer or a witness leading — stands as well.
   */
  private proposeInvalidChange(leader: SimNode<M>, core: ConsensusCore<M>, current: readonly Member[]): void {
    const before = core.status();
    const outside = this.ids.filter((id) => !current.some((m) => m.id === id));
    const lagging = current.filter((m) => m.role === 'observer' && (before.progress[m.id]?.match ?? 0) < before.commitIndex);
    const others = current.filter((m) => m.id !== leader.id && m.role !== 'witness');
    const kinds: Array<{ what: string; next: MemberSpec[]; reason: MembershipRefusal }> = [];
    const newcomer = outside[0];
    if (newcomer !== undefined) kinds.push({ what: `add ${newcomer} as a voter`, next: [...current.map(spec), { id: newcomer, role: 'voter', address: `${newcomer}:7000` }], reason: 'invalid' });
    const [a, b] = others;
    if (a !== undefined && b !== undefined) kinds.push({ what: `remove ${a.id} and ${b.id}`, next: current.filter((m) => m !== a && m !== b).map(spec), reason: 'too_many_changes' });
    const behind = lagging[0];
    if (behind !== undefined) kinds.push({ what: `promote lagging ${behind.id}`, next: current.map((m) => (m === behind ? { ...spec(m), role: 'voter' } : spec(m))), reason: 'not_caught_up' });
    const pick = kinds[Math.floor(this.random() * kinds.length)];
    if (pick === undefined) return;
    const result = core.proposeMembership(pick.next);
    const fair = [pick.reason, ...REFUSALS_BEFORE_CHECKS, ...(witnessShortfall(pick.next) === null ? [] : ['witness_shortfall'])];
    if (result.ok || !fair.includes(result.reason)) {
      throw new CoreContractError(`${leader.id} answered the invalid change "${pick.what}" with ${result.ok ? `a record at ${result.index}` : result.reason}, not ${pick.reason}`);
    }
    const after = core.status();
    if (after.lastIndex !== before.lastIndex || after.members !== before.members) {
      throw new CoreContractError(`${leader.id} refused "${pick.what}" (${result.reason}) but its log or configuration changed`);
    }
    this.stats.membershipChangesRefused += 1;
    this.log(`membership ${pick.what} at ${leader.id} refused ${result.reason}`);
  }

  private crashSomeone(): void {
    const running = this.running();
    if (this.started().length - running.length >= this.faults.crashedNodesMax || running.length === 0) return;
    this.crashFor(running[Math.floor(this.random() * running.length)]!, this.random);
  }

  /** Crashes `victim` and schedules its restart, drawing from `random`. */
  private crashFor(victim: SimNode<M>, random: () => number): void {
    this.crash(victim, random);
    const down = this.faults.downTicksMin + random() * (this.faults.downTicksMax - this.faults.downTicksMin);
    this.queue.push(this.now + down, { kind: 'restart', node: victim.id });
  }

  private transferSomewhere(): void {
    const leader = this.leader();
    if (leader?.core == null) return;
    const others = (leader.core.status().members ?? this.members).filter((m) => m.id !== leader.id && m.role === 'voter').map((m) => m.id);
    if (others.length === 0) return;
    const target = others[Math.floor(this.random() * others.length)]!;
    this.stats.transfers += 1;
    this.transferAwaited = { target, term: leader.term };
    this.log(`transfer ${leader.id} -> ${target}`);
    leader.core.transferLeadership(target);
    this.drain(leader);
  }

  private onPropose(): void {
    if (this.calm) return;
    this.queue.push(this.jitter(this.workload.proposeEveryTicks), { kind: 'propose' });
    const pendingTotal = [...this.nodes.values()].reduce((n, x) => n + x.pending.size, 0);
    if (pendingTotal >= this.workload.pendingProposalsMax) return;
    const node = this.clientTarget();
    if (node !== null) this.propose(node, `p${++this.payloadSeq}`);
  }

  private propose(node: SimNode<M>, label: string): void {
    const core = node.core;
    if (core === null) return;
    const data = asciiBytes(label);
    this.checker.observeProposal(toHex(data));
    const result = core.propose(data);
    this.stats.proposals += 1;
    if (result.ok) {
      node.pending.set(result.index, { token: result.token, incarnation: node.incarnation });
      this.log(`propose ${label} at ${node.id} -> ${result.index}@${result.term}`);
    } else {
      this.stats.proposalsRefused += 1;
      this.log(`propose ${label} at ${node.id} refused ${result.reason}`);
    }
    this.drain(node);
  }

  private onRead(): void {
    if (this.calm) return;
    this.queue.push(this.jitter(this.workload.readEveryTicks), { kind: 'read' });
    const node = this.clientTarget();
    if (node?.core == null) return;
    const id = `r${++this.readSeq}`;
    this.checker.observeReadRequest(id);
    this.stats.reads += 1;
    this.log(`read ${id} at ${node.id}`);
    node.core.readIndex(id);
    this.drain(node);
  }

  /** Final phase: keep proposing at whoever leads until one proposal is acknowledged. */
  private onProbe(): void {
    if (this.probesAcked > 0) return;
    this.queue.push(this.now + PROBE_EVERY_TICKS, { kind: 'probe' });
    const leader = this.leader();
    if (leader !== null) this.propose(leader, `probe${++this.payloadSeq}`);
  }

  private clientTarget(): SimNode<M> | null {
    const leader = this.leader();
    if (leader !== null && this.random() < this.workload.leaderAffinity) return leader;
    const running = this.running();
    return running.length === 0 ? null : running[Math.floor(this.random() * running.length)]!;
  }

  private leader(): SimNode<M> | null {
    let best: SimNode<M> | null = null;
    for (const n of this.nodes.values()) {
      if (n.core !== null && n.role === 'leader' && (best === null || n.term > best.term)) best = n;
    }
    return best;
  }

  private running(): SimNode<M>[] {
    return [...this.nodes.values()].filter((n) => n.core !== null);
  }

  /** Every node that ever started (a spare not yet added never has). */
  private started(): SimNode<M>[] {
    return [...this.nodes.values()].filter((n) => n.incarnation > 0);
  }

  private node(id: NodeId): SimNode<M> {
    const node = this.nodes.get(id);
    if (node === undefined) throw new CoreContractError(`message addressed to unknown node ${id}`);
    return node;
  }

  // ---- the simulated driver --------------------------------------------------------------

  /** Take Readys until the core has nothing left, then deliver the deferred reports. */
  private drain(node: SimNode<M>): void {
    for (let round = 0; ; round++) {
      const core = node.core;
      if (core === null) return;
      if (round > READY_ROUNDS_MAX) throw new CoreContractError(`${node.id} produced more than ${READY_ROUNDS_MAX} Readys for one stimulus`);
      if (core.hasReady()) {
        const applied = this.handleReady(node, core, core.ready());
        // The power failed inside the persist: the rest of the Ready died with the node.
        if (node.core !== core) return;
        core.advance();
        if (applied && this.options.compactionPoint !== 'during_apply') this.maybeCompact(node, core);
        continue;
      }
      const report = node.reports.shift();
      if (report === undefined) return;
      if (report.kind === 'unreachable') core.reportUnreachable(report.to);
      else if (report.kind === 'reachable') core.reportReachable(report.to);
      else core.reportSnapshotFailure(report.to);
    }
  }

  /** Carries out one Ready through the driver's carrier, with this node's simulated ports; true when it applied records. */
  private handleReady(node: SimNode<M>, core: ConsensusCore<M>, rd: Ready<M>): boolean {
    const becameLeader = this.observeSoftState(node, rd);
    let carried: boolean | Promise<boolean>;
    try {
      carried = carryOutReady(rd, this.portsOf(node));
    } catch (e: unknown) {
      if (e instanceof PowerCut) return false;
      throw e;
    }
    if (typeof carried !== 'boolean') throw new CoreContractError('a simulated port completed asynchronously');
    if (becameLeader) {
      this.checker.checkLeaderCompleteness(node.id, rd.softState!.term, (i) => node.disk.heldAt(i, appliedKey));
    }
    if (carried && this.options.compactionPoint === 'during_apply') this.maybeCompact(node, core);
    return carried;
  }

  /** The simulated node's side of the carrier: a disk that loses its unsynced tail, a lossy network, a model state machine. */
  private portsOf(node: SimNode<M>): ReadyPorts<M> {
    let ports = this.ports.get(node);
    if (ports !== undefined) return ports;
    ports = {
      installSnapshot: (meta, keepLog) => this.installSnapshot(node, meta, keepLog),
      persist: (truncateAfter, hardState, entries, mustSync) => this.persist(node, truncateAfter, hardState, entries, mustSync),
      send: (message) => this.send(node, message),
      apply: (entries) => {
        for (const e of entries) this.apply(node, e);
      },
      reads: (readStates, readFailures) => {
        for (const rs of readStates) {
          this.checker.observeReadState(node.id, rs.requestId, rs.index);
          this.stats.readStates += 1;
          this.log(`read-state ${rs.requestId} at ${node.id} index ${rs.index}`);
        }
        this.stats.readFailures += readFailures.length;
      },
      // Observed before the Ready is carried out (observeSoftState), as the checker needs the new role first.
      softState: () => undefined,
    };
    this.ports.set(node, ports);
    return ports;
  }

  private observeSoftState(node: SimNode<M>, rd: Ready<M>): boolean {
    const soft = rd.softState;
    if (soft === null) return false;
    const wasLeader = node.role === 'leader' && node.term === soft.term;
    node.role = soft.role;
    node.term = soft.term;
    this.stats.highestTerm = Math.max(this.stats.highestTerm, soft.term);
    if (soft.role !== 'leader') return false;
    this.checker.observeLeader(node.id, soft.term);
    if (wasLeader) return false;
    this.stats.leaderElections += 1;
    const awaited = this.transferAwaited;
    if (awaited !== null && soft.term > awaited.term) {
      if (node.id === awaited.target) this.stats.transfersElectingTarget += 1;
      this.transferAwaited = null;
    }
    this.log(`leader ${node.id} term ${soft.term}`);
    // Before any answer to its first append can arrive (every delay is above 0): the core is mid-Ready now.
    const p = this.faults.membershipChangeAtElection;
    if (this.changesMembers && !this.calm && p > 0 && this.random() < p) this.queue.push(this.now, { kind: 'membership' });
    return true;
  }

  private persist(node: SimNode<M>, truncateAfter: LogIndex | null, hardState: HardState | null, entries: readonly Entry[], mustSync: boolean): void {
    if (truncateAfter !== null) this.log(`truncate ${node.id} after ${truncateAfter}`);
    const first = entries[0];
    const prevTerm = first === undefined ? -1 : (node.disk.termAt(first.index - 1) ?? -1);
    const rewrite = node.disk.persistLog(truncateAfter, entries);
    if (first !== undefined) {
      this.checker.observeLogWrite(node.id, prevTerm, entries);
      this.log(`persist ${node.id} entries ${first.index}..${first.index + entries.length - 1} sync=${mustSync}${rewrite ? ' (rewrite)' : ''}`);
    }
    if (hardState !== null) node.disk.writeHardState(hardState);
    // The write is on its way to the disk: a leader steps what reached it meanwhile.
    if (node.held.length > 0) this.stepDuringPersist(node);
    if (rewrite && this.powerCutsNow(this.faults.powerCutDuringRewrite, this.rewriteCutRandom)) {
      this.stats.powerCutsDuringRewrite += 1;
      this.log(`power cut ${node.id} during a rewrite, before its fsync`);
      this.crashFor(node, this.rewriteCutRandom);
      throw new PowerCut();
    }
    if (mustSync) node.disk.fsync();
  }

  /** Whether the power fails now, with probability `p` drawn from `random` (a crash the fault budget allows). */
  private powerCutsNow(p: number, random: () => number): boolean {
    if (this.calm || p === 0 || this.started().length - this.running().length >= this.faults.crashedNodesMax) return false;
    return random() < p;
  }

  private send(node: SimNode<M>, message: M): void {
    if (message.from !== node.id) throw new CoreContractError(`${node.id} sent a message from ${message.from}`);
    if (message.to === node.id || !this.nodes.has(message.to)) throw new CoreContractError(`${node.id} sent a message to ${message.to}`);
    const bytes = this.protocol.encodeMessage(message);
    let snapshotState: AppliedLog | null = null;
    if (message.snapshot !== undefined && node.witness) {
      throw new CoreContractError(`witness ${node.id} sent snapshot ${message.snapshot.index}@${message.snapshot.term}, but a witness keeps no database to send`);
    }
    if (message.snapshot !== undefined) {
      const snap = node.disk.snapshot();
      if (snap === null || snap.meta.index !== message.snapshot.index || snap.meta.term !== message.snapshot.term) {
        throw new CoreContractError(
          `${node.id} sent snapshot ${message.snapshot.index}@${message.snapshot.term} but its latest stored snapshot is ${snap === null ? 'none' : `${snap.meta.index}@${snap.meta.term}`}` +
            ' (the driver keeps only its newest snapshot; did the core ignore a compact() made while applying a Ready?)',
        );
      }
      snapshotState = snap.state;
      this.stats.snapshotsSent += 1;
    }
    this.stats.messagesSent += 1;
    const promised = this.protocol.promisedFence(message);
    if (promised !== null) this.checker.observePromise(node.id, promised, message.to);
    const lossy = !this.calm;
    if (!this.network.linkUp(node.id, message.to)) {
      this.stats.messagesBlocked += 1;
      node.reports.push({ kind: 'unreachable', to: message.to });
      node.unreachable.add(message.to);
      if (snapshotState !== null) node.reports.push({ kind: 'snapshot_failure', to: message.to });
      return;
    }
    if (node.unreachable.delete(message.to)) node.reports.push({ kind: 'reachable', to: message.to });
    if (lossy && this.random() < this.faults.messageLoss) {
      this.stats.messagesLost += 1;
      if (snapshotState !== null) node.reports.push({ kind: 'snapshot_failure', to: message.to });
      return;
    }
    const copies = lossy && this.random() < this.faults.messageDuplicate ? 2 : 1;
    if (copies === 2) this.stats.messagesDuplicated += 1;
    for (let c = 0; c < copies; c++) {
      this.queue.push(this.now + this.delay(lossy), {
        kind: 'deliver', from: node.id, to: message.to, bytes, snapshotState,
        snapshotMeta: message.snapshot ?? null, fromIncarnation: node.incarnation,
      });
    }
  }

  private delay(lossy: boolean): number {
    const f = this.faults;
    if (lossy && this.random() < f.messageLongDelay) return f.messageDelayTicksMax + this.random() * (f.messageLongDelayTicksMax - f.messageDelayTicksMax);
    return f.messageDelayTicksMin + this.random() * (f.messageDelayTicksMax - f.messageDelayTicksMin);
  }

  /** An accepted snapshot: the state machine takes its content, then the log restarts after it. */
  private installSnapshot(node: SimNode<M>, meta: SnapshotMeta, keepLog: boolean): void {
    const state = node.staged.get(`${meta.index}:${meta.term}`);
    if (state === undefined) throw new CoreContractError(`${node.id} Ready.snapshot ${meta.index}@${meta.term} was never received`);
    if (node.witness) {
      // A witness takes only the position: its log restarts after it, and it applies nothing.
      // (The content stays on the simulated disk so the checker can read what it stands for.)
      // It forgets every record below the position, so the data voters must hold them all —
      // once it votes: as an observer it counts toward nothing, and is checked when promoted.
      if (this.votesAsWitness(node)) this.checkDataVotersHold(node, node.disk.snapshot()?.meta.index ?? 0, meta.index, `take snapshot position ${meta.index}`);
      node.staged.clear();
      node.disk.installSnapshot({ meta, state }, keepLog);
      this.stats.snapshotsInstalled += 1;
      this.log(`install-snapshot witness ${node.id} ${meta.index}@${meta.term}`);
      return;
    }
    // The driver's order: the marker, the state machine, then the log (libs/replica installSnapshot).
    node.installPending = meta.index;
    node.sm = state.slice();
    node.skipUpTo = 0;
    node.smLastTerm = meta.term;
    node.appliedSinceSnapshot = 0;
    node.staged.clear();
    for (const index of node.pending.keys()) if (index <= meta.index) node.pending.delete(index);
    this.checker.observeStateReset(node.id, node.sm);
    if (this.powerCutsNow(this.faults.powerCutDuringInstall, this.installCutRandom)) {
      this.stats.powerCutsDuringInstall += 1;
      this.log(`power cut ${node.id} during install-snapshot ${meta.index}@${meta.term}, before its log was cut`);
      this.crashFor(node, this.installCutRandom);
      throw new PowerCut();
    }
    node.disk.installSnapshot({ meta, state }, keepLog);
    node.installPending = null;
    this.stats.snapshotsInstalled += 1;
    this.log(`install-snapshot ${node.id} ${meta.index}@${meta.term}`);
  }

  private apply(node: SimNode<M>, entry: Ready<M>['committed'][number]): void {
    if (node.witness) {
      node.appliedSinceSnapshot += 1;
      return;
    }
    const key = appliedKey(entry);
    if (entry.index <= node.skipUpTo) {
      // Already in the database (as libs/sql skips it): it must be the record applied there.
      if (node.sm[entry.index] !== key) throw new InvariantViolation('apply_order', `${node.id} was handed ${key} at ${entry.index} again, but applied ${node.sm[entry.index] ?? 'nothing'} there`);
      if (node.rehandedTo !== null && entry.index !== node.rehandedTo + 1) {
        throw new InvariantViolation('apply_order', `${node.id} was handed ${entry.index} again after ${node.rehandedTo}: records go to the state machine once each, in order`);
      }
      node.rehandedTo = entry.index;
      return;
    }
    this.checker.observeApply(node.id, entry.index, key, entry.kind === 'command' ? toHex(entry.data) : null);
    node.sm.push(key);
    node.smLastTerm = entry.term;
    node.appliedSinceSnapshot += 1;
    const pending = node.pending.get(entry.index);
    if (pending === undefined) return;
    node.pending.delete(entry.index);
    if (!isProposal(entry, pending.token) || pending.incarnation !== node.incarnation) return;
    this.checker.observeAcknowledged(entry.index, key);
    if (this.calm) this.probesAcked += 1;
    this.log(`ack ${entry.index} at ${node.id}`);
  }

  /** Snapshot the state machine every few applies so compaction and snapshot catch-up run. */
  private maybeCompact(node: SimNode<M>, core: ConsensusCore<M>): void {
    if (node.witness) {
      this.compactWitness(node, core);
      return;
    }
    const applied = node.sm.length - 1;
    if (node.appliedSinceSnapshot < this.compactEveryApplies || applied <= (node.disk.snapshot()?.meta.index ?? 0)) return;
    const meta: SnapshotMeta = { index: applied as SnapshotMeta['index'], term: node.smLastTerm as SnapshotMeta['term'], members: this.options.snapshotsCarryConfig === false ? node.bootMembers : core.membersAt(applied as LogIndex) };
    node.disk.saveOwnSnapshot({ meta, state: Object.freeze(node.sm.slice()) });
    node.appliedSinceSnapshot = 0;
    this.stats.compactions += 1;
    this.log(`compact ${node.id} at ${applied} retain ${this.retainEntries}`);
    core.compact(meta, this.retainEntries);
  }

  /**
   * A witness forgets its records up to min(dataVotersHold, commitIndex), as the real driver
   * does, with no snapshot file behind the point. Each time, the checker verifies the promise
   * behind dataVotersHold: every data voter's durable disk holds every record up to that point
   * (the forgotten records stay readable through them, which is what leader completeness uses).
   */
  private compactWitness(node: SimNode<M>, core: ConsensusCore<M>): void {
    const status = core.status();
    const upTo = Math.min(status.dataVotersHold ?? 0, status.commitIndex);
    const from = node.disk.snapshot()?.meta.index ?? 0;
    if (node.appliedSinceSnapshot < this.compactEveryApplies || upTo <= from) return;
    const term = node.disk.termAt(upTo);
    if (term === undefined) return;
    // What it forgot before is checked again, against the data voters in force now: one that
    // came into force since (a promotion) must hold those records too.
    this.checkDataVotersHold(node, 0, from, `have forgotten records up to ${from} (dataVotersHold ${status.dataVotersHold ?? 0})`);
    const state: string[] = [...(node.disk.snapshot()?.state ?? ['']), ...this.checkDataVotersHold(node, from, upTo, `forget records up to ${upTo} (dataVotersHold ${status.dataVotersHold ?? 0})`)];
    const meta: SnapshotMeta = { index: upTo as SnapshotMeta['index'], term: term as SnapshotMeta['term'], members: core.membersAt(upTo as LogIndex) };
    node.disk.saveOwnSnapshot({ meta, state: Object.freeze(state) });
    node.appliedSinceSnapshot = 0;
    this.stats.compactions += 1;
    this.log(`compact witness ${node.id} at ${upTo}`);
    core.compact(meta, 0);
  }

  /**
   * Every data voter durably holds the same record at each index in (from, upTo] — what a
   * witness about to `what` (forgetting every record up to `upTo`) relies on. Returns those
   * records' keys, in order.
   */
  private checkDataVotersHold(witness: SimNode<M>, from: number, upTo: number, what: string): string[] {
    const keys: string[] = [];
    const members = this.dataVotersInForce(witness);
    for (let i = from + 1; i <= upTo; i++) {
      let key: string | undefined;
      for (const m of members) {
        const held = this.node(m.id).disk.durablyHeldAt(i, appliedKey);
        if (held === undefined) {
          throw new InvariantViolation('witness_retention', `witness ${witness.id} may ${what}, but data voter ${m.id} does not durably hold index ${i}`);
        }
        if (key !== undefined && held !== key) {
          throw new InvariantViolation('witness_retention', `witness ${witness.id} may ${what}, but the data voters hold different records at ${i}: ${key} and ${held}`);
        }
        key = held;
      }
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  /**
   * The configurations that may be in force, as the leader sees them: its latest, and while that
   * is not committed the one before it too, which a new leader may take back. A configuration
   * that committed is never taken back, though a lagging node may still use an older one: so
   * while none leads (a Zab leader still synchronizing its followers does not yet), they are as
   * the running node that knows the highest commit point sees them (`node` on a tie).
   */
  private configsInForce(node: SimNode<M>): Array<readonly Member[]> {
    const core = (this.leader() ?? this.furthestCommitted(node)).core;
    const status = core?.status();
    if (core == null || status?.members === undefined) return [this.members];
    return status.membershipPending === true ? [status.members, core.membersAt(status.commitIndex)] : [status.members];
  }

  /** The running node whose core knows the highest commit point (`node` unless another knows more). */
  private furthestCommitted(node: SimNode<M>): SimNode<M> {
    let best = node;
    let bestCommit = node.core?.status().commitIndex ?? -1;
    for (const n of this.running()) {
      const commit = n.core!.status().commitIndex;
      if (commit > bestCommit) {
        best = n;
        bestCommit = commit;
      }
    }
    return best;
  }

  /** The data voters whose copies a witness relies on: those of every configuration that may be in force. */
  private dataVotersInForce(witness: SimNode<M>): Member[] {
    const byId = new Map<NodeId, Member>();
    for (const m of this.configsInForce(witness).flat()) if (m.role === 'voter') byId.set(m.id, m);
    return [...byId.values()];
  }

  /** Whether `node` is a witness in a configuration that may be in force (one that is an observer for now is not). */
  private votesAsWitness(node: SimNode<M>): boolean {
    return this.configsInForce(node).some((c) => c.some((m) => m.id === node.id && m.role === 'witness'));
  }

  // ---- final phase -----------------------------------------------------------------------

  /** Heal everything, restart crashed nodes, stop injecting faults and client traffic. */
  private calmDown(): void {
    this.calm = true;
    this.faults = { ...NO_FAULTS, tickSkew: this.faults.tickSkew, messageDelayTicksMin: this.faults.messageDelayTicksMin, messageDelayTicksMax: this.faults.messageDelayTicksMax };
    this.network.heal();
    this.log('final phase: heal, restart all, no faults');
    this.reportLinksBack();
    for (const node of this.started()) if (node.core === null) this.start(node);
    this.queue.push(this.now, { kind: 'probe' });
  }

  private converge(): void {
    const deadline = this.now + (this.options.livenessTicksMax ?? LIVENESS_TICKS_DEFAULT);
    const eventsMax = this.event + LIVENESS_EVENTS_MAX;
    while (!this.converged()) {
      if (this.now > deadline || this.event > eventsMax || !this.step()) {
        throw new SimulationError('liveness', this.options.seed, this.event, `cluster did not converge within ${this.options.livenessTicksMax ?? LIVENESS_TICKS_DEFAULT} fault-free ticks: ${this.describeCluster()}`, this.trace.slice());
      }
    }
    const states = new Map<NodeId, AppliedLog>();
    for (const n of this.finalMembers() ?? []) if (!n.witness) states.set(n.id, n.sm);
    this.guard(() => this.checker.checkConverged(states));
  }

  /**
   * The nodes that must converge: every node, or with membership changes the members of the
   * leader's configuration once it is committed (null until then). A removed node stops
   * hearing from the cluster; what it applied was checked against the others as it went.
   */
  private finalMembers(): SimNode<M>[] | null {
    if (!this.changesMembers) return [...this.nodes.values()];
    const status = this.leader()?.core?.status();
    if (status?.members === undefined || status.membershipPending === true) return null;
    return status.members.map((m) => this.node(m.id));
  }

  /** With membership changes, every final member reports the leader's committed configuration. */
  private membersAgree(nodes: readonly SimNode<M>[]): boolean {
    if (!this.changesMembers) return true;
    const show = (n: SimNode<M>): string => {
      const s = n.core?.status();
      return s === undefined || s.membershipPending === true ? 'pending' : (s.members ?? []).map((m) => `${m.id}:${m.role}`).join(' ');
    };
    const leader = this.leader();
    return leader !== null && nodes.every((n) => show(n) === show(leader));
  }

  private converged(): boolean {
    if (this.probesAcked === 0) return false;
    const target = this.checker.highestCommittedIndex + 1;
    const nodes = this.finalMembers();
    if (nodes === null) return false;
    for (const n of nodes) {
      if (n.core === null) return false;
      if (n.witness ? n.core.status().commitIndex < target - 1 : n.sm.length !== target) return false;
    }
    return this.membersAgree(nodes);
  }

  private describeCluster(): string {
    const parts = [...this.nodes.values()].map((n) => {
      if (n.core === null) return `${n.id}:down`;
      const s = n.core.status();
      const members = s.members === undefined || !this.changesMembers ? '' : ` members=${s.members.map((m) => `${m.id}:${m.role}`).join(',')}${s.membershipPending === true ? '(pending)' : ''}`;
      return `${n.id}:${s.role} term=${s.term} leader=${s.leader ?? '-'} commit=${s.commitIndex} last=${s.lastIndex} applied=${n.sm.length - 1}${members}`;
    });
    return `probe acked=${this.probesAcked > 0}, committed=${this.checker.highestCommittedIndex}; ${parts.join('; ')}`;
  }
}

/** The cluster's roles in id order: `nodes` voters, then the observers, then the witnesses. */
function memberRoles(options: SimOptions<BaseMessage>): MemberRole[] {
  const observers = options.observers ?? 0;
  const witnesses = options.witnesses ?? 0;
  for (const [name, n] of [['observers', observers], ['witnesses', witnesses]] as const) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${n}`);
  }
  return [
    ...Array.from({ length: options.nodes }, (): MemberRole => 'voter'),
    ...Array.from({ length: observers }, (): MemberRole => 'observer'),
    ...Array.from({ length: witnesses }, (): MemberRole => 'witness'),
  ];
}
