/**
 * Snapshots: when this node takes one (a copy of its database, or on a witness the point
 * below which it forgets its records), the log compaction that follows, the snapshots that
 * peers send it (checked when received, staged until the core decides, installed when it
 * accepts one), and restoring the database from the node's own snapshot files.
 */
import * as fs from 'node:fs';
import {
  logIndex,
  type BaseMessage,
  type ConsensusCore,
  type Entry,
  type LogIndex,
  type Member,
  type NodeId,
  type SnapshotMeta,
  type Term,
} from '@quorumlite/consensus';
import type { DurableLog, SnapshotStore } from '@quorumlite/storage';
import { ReplicaError } from './errors';
import type { IndexWaiters } from './index-waiters';
import { markInstall, settleInstall } from './install-marker';
import type { LoopSteps } from './loop-monitor';
import { PeerHolds } from './peer-holds';
import type { ReplicaLogger } from './ports';
import { SnapshotSchedule, TermRuns, type SnapshotThresholds } from './snapshot-schedule';
import type { DataStateMachine, StateMachine } from './state-machine';
import type { SnapshotKind } from './counters';

/** Most snapshot files received but not yet installed, kept while the core decides. */
const STAGED_SNAPSHOTS_MAX = 2;
/** Local snapshots kept on disk (the newest serves far-behind peers). */
const SNAPSHOTS_KEPT = 2;
/** How long a peer sent a snapshot file holds the node's own snapshots without news of it (peer-holds.ts). */
export const PEER_HOLD_MS = 60_000;

export interface SnapshotsHost {
  readonly settings: SnapshotThresholds & {
    readonly dataDir: string;
    readonly members: readonly { readonly id: string; readonly role: Member['role'] }[];
  };
  readonly logger: ReplicaLogger;
  readonly steps: LoopSteps;
  /** Records applied on this node, and the waits for them. */
  readonly applied: IndexWaiters;
  /** The core and the log as they are now (a rejoin builds both again). */
  core(): ConsensusCore;
  log(): DurableLog;
  stopped(): boolean;
  /** Work for the loop: a compaction is pending. */
  kick(): void;
  /** The node cannot go on safely. */
  fail(error: unknown): void;
  /** Writes up to `index` were replaced by an installed snapshot: their clients hear so. */
  supersededThrough(index: number): void;
  /** A fresh uniform draw in [0, 1): each node spreads its thresholds by its own factor. */
  random(): number;
  now(): number;
  /** A snapshot of `kind` completed after `ms` (the node's counters). */
  completed(kind: SnapshotKind, ms: number): void;
  /** How a snapshot file goes to a peer with its message, and what happens when it does not. */
  readonly transfer: {
    encode(message: BaseMessage): Uint8Array;
    /** Counts a message sent, by type, with the bytes it took (file included). */
    counted(type: string, bytes: number): void;
    sendFile(to: NodeId, message: Uint8Array, file: string): Promise<void>;
    /** The peer did not get it: the core hears so and retries later. */
    failed(to: NodeId): void;
  };
}

export class Snapshots {
  /** Snapshot files received from peers, by index, until the core accepts or forgets one. */
  private readonly staged = new Map<number, string>();
  private snapshotIndex: number;
  private readonly schedule: SnapshotSchedule;
  /** The last committed record the core handed out (and the state machine has applied). */
  private coreApplied = 0;
  /** The fencing numbers of applied records since the last snapshot (a snapshot's meta needs one). */
  private readonly termRuns = new TermRuns();
  private snapshotting: Promise<void> | null = null;
  /** A received snapshot being installed: a backup copy must not start under its restore. */
  private installing: Promise<void> | null = null;
  /**
   * A cut the loop makes between Readies: the snapshot, and the records kept behind it — read
   * when the snapshot began, from the same view of the log that decided no held peer would be
   * left behind (`holding`); the schedule restarts right after.
   */
  private pendingCompaction: { readonly meta: SnapshotMeta; readonly retain: number } | null = null;
  /** Peers being sent a snapshot file: the node's own snapshots wait for them. */
  private readonly peerHolds = new PeerHolds(() => performance.now(), PEER_HOLD_MS);

  constructor(
    private readonly host: SnapshotsHost,
    private readonly store: SnapshotStore,
    private readonly machine: StateMachine,
    snapshot: SnapshotMeta | null,
  ) {
    this.snapshotIndex = snapshot?.index ?? 0;
    if (snapshot) this.termRuns.reset(snapshot.index, snapshot.term);
    this.schedule = new SnapshotSchedule(host.settings, () => host.random());
  }

  /** The index of the snapshot the log starts after. */
  index(): number {
    return this.snapshotIndex;
  }

  /** The last committed record the core handed out. */
  handedOut(): number {
    return this.coreApplied;
  }

  /** Sends a peer the local snapshot file the core's message names, with the message. */
  send(message: BaseMessage, snapshot: SnapshotMeta): void {
    const { transfer, logger } = this.host;
    const latest = this.store.latest();
    if (!latest || latest.meta.index !== snapshot.index) {
      this.copyWhenAsked(message.to, snapshot.index, latest?.meta ?? null);
      transfer.failed(message.to);
      return;
    }
    const to = String(message.to);
    if (!this.peerHolds.maySendTo(to)) {
      // Its last transfers failed: it waits (PeerHolds), and the core asks again meanwhile.
      transfer.failed(message.to);
      return;
    }
    logger.info('sending snapshot', { to: message.to, index: latest.meta.index, bytes: latest.bytes });
    const bytes = transfer.encode(message);
    transfer.counted(message.type, bytes.length + latest.bytes);
    const startedMs = this.host.now();
    this.peerHolds.sending(to, latest.meta.index);
    transfer.sendFile(message.to, bytes, latest.path).then(
      () => {
        this.host.completed('sent', this.host.now() - startedMs);
        this.peerHolds.ended(to, true);
      },
      (e: unknown) => {
        logger.warn('snapshot transfer failed', { to: message.to, error: String(e) });
        this.peerHolds.ended(to, false);
        transfer.failed(message.to);
      },
    );
  }

  /** Drops a received file that will not be staged. */
  discard(file: string): void {
    void this.store.discard(file);
  }

  /** Resolves once no snapshot copy is running. */
  async settled(): Promise<void> {
    await this.snapshotting;
  }

  hasPendingCompaction(): boolean {
    return this.pendingCompaction !== null;
  }

  /** Runs a compaction a snapshot left for the loop: at the start of a round, between Readies. */
  async compactPending(): Promise<void> {
    const compaction = this.pendingCompaction;
    this.pendingCompaction = null;
    if (compaction) await this.compactTo(compaction.meta, compaction.retain);
  }

  /** Committed records the core handed out were applied. */
  noteApplied(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1]!;
    this.coreApplied = last.index;
    this.termRuns.noteApplied(entries);
    this.schedule.noteApplied(entries);
  }



  /** A core built again from disk hands out its committed records again from its snapshot. */
  restartFrom(snapshot: SnapshotMeta | null): void {
    this.coreApplied = snapshot?.index ?? 0;
    this.termRuns.reset(snapshot?.index ?? 0, snapshot?.term ?? (0 as Term));
  }

  /**
   * A snapshot arrived. It is checked here, before the core hears of it: a file this node
   * could not open as a database at the index its message names is refused — the transport
   * deletes it and the sender learns why — and nothing of this node's state changes. Once
   * the core accepts a snapshot, installing it must not fail.
   */
  stage(from: NodeId, meta: SnapshotMeta, stagedFile: string): void {
    this.verifyReceived(from, meta, stagedFile);
    const previous = this.staged.get(meta.index);
    if (previous && previous !== stagedFile) void this.store.discard(previous);
    this.staged.set(meta.index, stagedFile);
    this.trimStaged();
  }

  private verifyReceived(from: NodeId, meta: SnapshotMeta, stagedFile: string): void {
    const check = this.host.steps.run('verify snapshot', () => this.machine.checkSnapshotFile(stagedFile, meta.index));
    if (check.ok) return;
    this.host.logger.error('refused a snapshot from the leader; this node keeps its state', { from, index: meta.index, applied: this.host.applied.value(), error: check.why });
    if ('cause' in check) throw new ReplicaError('refused', `refused the snapshot at index ${meta.index}: ${check.why}`, {}, { cause: check.cause });
    throw new ReplicaError('refused', `refused the snapshot: ${check.why}`);
  }

  /**
   * Starts a snapshot in the background once enough records were applied: the database is
   * synced where it is, off the loop, and the log is compacted by a later round, between
   * Readies. Nothing is copied: a peer that needs the records below the cut gets a copy made
   * when it asks (copyWhenAsked).
   */
  maybeSnapshot(): void {
    const machine = this.machine;
    if (machine.kind === 'witness') {
      this.maybeForget();
      return;
    }
    if (this.snapshotting || this.host.stopped()) return;
    if (!this.schedule.due(this.host.applied.value() - this.snapshotIndex)) return;
    if (this.holding() && !this.schedule.overMax()) return;
    if (!this.coreCaughtUp()) return;
    this.begin(this.takeSnapshot(machine));
  }

  /** Whether snapshots wait for a peer being sent a file (peer-holds.ts). */
  private holding(): boolean {
    // The next cut keeps this many records behind the applied index.
    const floor = this.coreApplied - this.schedule.retainEntries();
    let progress: ReturnType<ConsensusCore['status']>['progress'] | null = null;
    return this.peerHolds.holding((to) => (progress ??= this.host.core().status().progress)[to]?.match ?? 0, floor);
  }

  /**
   * After a restart the database may be ahead of what the core has handed out again (it skips
   * records it already holds); a snapshot's index and fencing number must be the core's.
   */
  private coreCaughtUp(): boolean {
    return this.host.applied.value() === this.coreApplied;
  }

  private begin(work: Promise<void>): void {
    this.snapshotting = work
      .catch((e: unknown) => this.host.fail(e))
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /**
   * The core asked to send a peer its snapshot at `asked` and no file of it exists (snapshots
   * copy nothing): a copy of the database is made now and taken as a snapshot, and the core's
   * next attempt — its snapshot is then the copy's — sends it. A stored file newer than `asked`
   * becomes the snapshot instead (its compaction is pending, or was dropped by a stop or a
   * rebuilt core); a copy or sync under way is waited for by the next attempt.
   */
  private copyWhenAsked(to: NodeId, asked: number, newestFile: SnapshotMeta | null): void {
    const machine = this.machine;
    if (machine.kind === 'witness' || this.snapshotting || this.host.stopped()) return;
    if (newestFile !== null && newestFile.index > asked) {
      if (this.pendingCompaction === null && newestFile.index <= this.coreApplied) {
        this.pendingCompaction = { meta: newestFile, retain: this.schedule.retainEntries() };
        this.host.kick();
      }
      return;
    }
    if (!this.coreCaughtUp() || !this.peerHolds.mayCopyFor(String(to))) return;
    this.host.logger.info('copying the database for a peer behind the log', { to, index: asked, applied: this.coreApplied });
    this.begin(this.copyForPeers(machine, String(to)));
  }

  /**
   * A witness has no database to snapshot: it forgets its records up to what every data voter
   * holds (and what is committed and handed out), once as many records or bytes gathered as
   * count as enough on a data node (there is no database to wait for a quarter of). No data
   * voter can then need a record from it.
   */
  private maybeForget(): void {
    if (this.host.stopped() || this.pendingCompaction !== null) return;
    const s = this.host.core().status();
    const upTo = Math.min(s.dataVotersHold ?? 0, s.commitIndex, this.coreApplied);
    if (upTo <= this.snapshotIndex) return;
    if (!this.schedule.due(upTo - this.snapshotIndex)) return;
    const term = this.termRuns.termAt(upTo);
    if (term === null) return;
    this.schedule.restart();
    // The configuration in force there, as the core knows it from its log (never the boot list).
    this.pendingCompaction = { meta: { index: upTo as LogIndex, term, members: this.host.core().membersAt(upTo as LogIndex) }, retain: 0 };
    this.host.kick();
  }

  private async takeSnapshot(machine: DataStateMachine): Promise<void> {
    const retain = this.schedule.retainEntries();
    // Records applied while the sync runs count toward the next snapshot.
    this.schedule.restart();
    const startedMs = this.host.now();
    const { index } = await machine.makeDurable();
    const meta = index > this.snapshotIndex ? this.metaAt(index) : null;
    if (meta === null) return;
    this.host.completed('taken', this.host.now() - startedMs);
    this.pendingCompaction = { meta, retain };
    this.host.kick();
  }

  /**
   * A file of the database for peers behind the log's cut, stored as the newest snapshot. At
   * the index of the core's own snapshot (nothing applied since) it needs no compaction.
   */
  private async copyForPeers(machine: DataStateMachine, to: string): Promise<void> {
    const startedMs = this.host.now();
    const staged = this.store.stagingPath('local');
    const { index } = await machine.snapshotTo(staged);
    const meta = index >= this.snapshotIndex ? this.metaAt(index) : null;
    if (meta === null) {
      await this.store.discard(staged);
      return;
    }
    await this.store.commit(staged, meta);
    this.host.completed('copied', this.host.now() - startedMs);
    const retain = this.schedule.retainEntries();
    // Records applied while the copy ran are in it: the log counts from the copy's index.
    this.schedule.restart();
    this.peerHolds.copied(to, index);
    if (index === this.snapshotIndex) return;
    this.pendingCompaction = { meta, retain };
    this.host.kick();
  }

  /** A snapshot's meta at an applied index the core handed out, or null if its fencing number is no longer known. */
  private metaAt(index: number): SnapshotMeta | null {
    const term = this.termRuns.termAt(index);
    if (term === null) return null;
    // The configuration in force there, as the core knows it from its log (never the boot list).
    return { index: index as LogIndex, term, members: this.host.core().membersAt(index as LogIndex) };
  }

  /** Runs at the start of a round: the core and the log only change between Readies. */
  private async compactTo(meta: SnapshotMeta, retainEntries: number): Promise<void> {
    // A snapshot from the leader may have overtaken ours, or the core may not have handed
    // out this index again yet after a restart: then this one is simply not used.
    if (meta.index <= this.snapshotIndex || meta.index > this.coreApplied) return;
    // A witness keeps nothing below the point: no one may need those records from it.
    const keepsData = this.machine.kind === 'data';
    const retain = keepsData ? retainEntries : 0;
    this.host.core().compact(meta, retain);
    const keepFrom = Math.max(1, meta.index - retain + 1) as LogIndex;
    await this.host.log().compact(meta, keepFrom);
    if (keepsData) await settleInstall(this.host.settings.dataDir, meta.index);
    await this.store.prune(SNAPSHOTS_KEPT);
    this.snapshotIndex = meta.index;
    this.termRuns.forgetThrough(meta.index);
    this.host.logger.info(keepsData ? 'took a snapshot and compacted the log' : 'forgot the records every data voter holds', { index: meta.index, keepFrom });
  }

  async install(meta: SnapshotMeta, keepLog: boolean): Promise<void> {
    const run = this.installNow(meta, keepLog);
    this.installing = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      this.installing = null;
    }
  }

  /**
   * A consistent copy of the database for a backup, in the staging area, at the applied index
   * it reports. It is made as a snapshot's copy is (SQLite's online backup, paced, off the
   * loop; applies made meanwhile carried into it) and in a snapshot's place: a snapshot, or
   * the install of a received one, waits for it, and it waits for them. The log is not
   * touched. The caller removes the file with `discard`.
   */
  async copyForBackup(machine: DataStateMachine): Promise<{ file: string; index: number; discard(): Promise<void> }> {
    for (;;) {
      if (this.host.stopped()) throw new ReplicaError('unavailable', 'node is shutting down; take the backup from another node');
      const busy = this.snapshotting ?? this.installing;
      if (busy === null) break;
      await busy;
    }
    const file = this.store.stagingPath('backup');
    const copying = machine.snapshotTo(file);
    this.snapshotting = copying.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.snapshotting = null;
    });
    // The copy's header says WAL (it is a page copy of a WAL database), so reading its index
    // left an empty -wal and -shm beside it: they go with it.
    const discard = async (): Promise<void> => {
      await this.store.discard(file);
      await Promise.all(['-wal', '-shm'].map((suffix) => fs.promises.rm(`${file}${suffix}`, { force: true })));
    };
    try {
      const { index } = await copying;
      return { file, index, discard };
    } catch (e: unknown) {
      await discard();
      throw e;
    }
  }

  private async installNow(meta: SnapshotMeta, keepLog: boolean): Promise<void> {
    const machine = this.machine;
    if (machine.kind === 'witness') {
      // It takes the position only; a file sent to it anyway is not kept.
      const staged = this.staged.get(meta.index);
      if (staged) await this.store.discard(staged);
      await this.installSnapshotPosition(meta, keepLog);
      return;
    }
    const staged = this.staged.get(meta.index);
    if (!staged) throw new Error(`the core accepted a snapshot at index ${meta.index} that this node never received`);
    const startedMs = this.host.now();
    // Our own snapshot may be copying the database: restore() must wait for it.
    await this.snapshotting;
    this.pendingCompaction = null;
    this.staged.delete(meta.index);
    // The transport received it in its own folder; the store commits only from its staging area.
    const ownStaged = this.store.stagingPath('received');
    await fs.promises.rename(staged, ownStaged);
    // The database first: should it fail, the store never offers this file to anyone. Until
    // the log is cut after the snapshot, its old records below it are not what the database
    // applied: the marker says so to a boot in between.
    await markInstall(this.host.settings.dataDir, meta.index);
    const index = await restoreCopy(machine, this.store, ownStaged);
    if (index !== meta.index) {
      throw new Error(`snapshot file for index ${meta.index} holds a database at applied index ${index}`);
    }
    await this.store.commit(ownStaged, meta);
    await this.installSnapshotPosition(meta, keepLog);
    this.host.completed('installed', this.host.now() - startedMs);
  }

  /**
   * The log side of an installed snapshot — all a witness takes: its records up to the
   * snapshot are held by the data voters (the leader among them), and it applies nothing.
   */
  private async installSnapshotPosition(meta: SnapshotMeta, keepLog: boolean): Promise<void> {
    this.staged.delete(meta.index);
    this.pendingCompaction = null;
    // A protocol that never takes an acceptance back (Multi-Paxos) keeps the records after the
    // snapshot: they are only cut below it, never removed first and written again.
    if (keepLog && meta.index < this.host.log().lastIndex()) await this.host.log().compact(meta, logIndex(meta.index + 1));
    else await this.host.log().resetToSnapshot(meta);
    // The log starts after the snapshot now (a witness never marks an install).
    if (this.machine.kind === 'data') await settleInstall(this.host.settings.dataDir, meta.index);
    await this.store.prune(SNAPSHOTS_KEPT);
    this.snapshotIndex = meta.index;
    this.coreApplied = meta.index;
    this.termRuns.reset(meta.index, meta.term);
    this.schedule.restart();
    this.host.applied.advance(meta.index);
    this.host.supersededThrough(meta.index);
    this.host.logger.info('installed a snapshot from the leader', { index: meta.index, term: meta.term });
  }

  private trimStaged(): void {
    const indices = [...this.staged.keys()].sort((a, b) => a - b);
    while (indices.length > STAGED_SNAPSHOTS_MAX) {
      const index = indices.shift()!;
      const file = this.staged.get(index)!;
      this.staged.delete(index);
      void this.store.discard(file);
    }
  }
}

export async function restoreLatest(
  machine: DataStateMachine,
  snapshots: SnapshotStore,
  compacted: SnapshotMeta,
  logger: ReplicaLogger,
): Promise<number> {
  const latest = snapshots.latest();
  if (!latest || latest.meta.index < compacted.index) {
    throw new ReplicaError(
      'internal',
      `the log starts after index ${compacted.index} but the database is at ${machine.appliedIndex()} and no snapshot at or after ${compacted.index} exists; start this node again with --rejoin on an empty data directory to take the cluster's state from its leader`,
    );
  }
  const index = await restoreCopy(machine, snapshots, latest.path);
  logger.warn('restored the database from the latest snapshot', { index });
  return index;
}

/** restore() moves the file it is given into place: hand it a copy, keep the stored one. */
export async function restoreCopy(machine: DataStateMachine, snapshots: SnapshotStore, storedPath: string): Promise<number> {
  return machine.restoreFrom(await snapshots.durableCopy(storedPath, 'restore')).index;
}
