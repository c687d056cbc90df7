/**
 * The one carrier of a Ready. The node (libs/replica), the simulator (sim/) and the test kit
 * (raft/testkit.ts) all hand each Ready to `carryOutReady` with their own ports, so the
 * order below — the safety argument of the contract — is written once and the simulator's
 * seeds exercise the code the node runs:
 *
 *   install an accepted snapshot
 *   → apply records an earlier Ready already made durable (see `appliesBeforePersist`)
 *   → send `earlyMessages`
 *   → read states and read failures
 *   → persist: truncate, hard state and records (fsync'd when `mustSync`)
 *   → send `messages`
 *   → apply the remaining committed records
 *   → soft state
 *
 * The caller calls `core.advance()` once the returned value (or promise) settles.
 *
 * A port that completes at once returns nothing and the carrier goes on synchronously; a
 * port that completes later returns a promise and the carrier goes on when it settles. So
 * a synchronous caller (the simulator) gets a plain boolean, and the node pays no more
 * microtask hops per Ready than its own awaits of the snapshot install and the flush.
 */
import type { BaseMessage, Entry, HardState, LogIndex, ReadFailure, ReadState, Ready, SnapshotMeta, SoftState } from '../contract';

/** A port step that completed at once (nothing returned) or completes when the promise settles. */
export type Completion = void | PromiseLike<void>;

export interface ReadyPorts<M extends BaseMessage> {
  /**
   * The state machine takes the accepted snapshot, then the log restarts after it — emptied,
   * or with `keepLog` (Ready.snapshotKeepsLog) keeping its records after the snapshot.
   */
  installSnapshot(meta: SnapshotMeta, keepLog: boolean): Completion;
  /**
   * Forgets the records after `truncateAfter` (when not null), then writes the hard state
   * (when not null) and the records (storage first truncates its log from `entries[0].index`
   * when that is at or below its last index); completes once they are written, and fsync'd
   * when `mustSync`. Called only when there is something to write.
   */
  persist(truncateAfter: LogIndex | null, hardState: HardState | null, entries: readonly Entry[], mustSync: boolean): Completion;
  send(message: M): void;
  /** Committed records, in index order; never empty. */
  apply(entries: readonly Entry[]): void;
  /** Called only when at least one of the two is not empty. */
  reads(readStates: readonly ReadState[], readFailures: readonly ReadFailure[]): void;
  softState(state: SoftState): void;
}

/**
 * Whether this Ready's committed records were all made durable by an earlier Ready, so they
 * may be applied before this Ready's own persist: a write is acknowledged one fsync sooner,
 * and applying overlaps the disk. Records that arrive in this Ready are applied after it.
 */
export function appliesBeforePersist(rd: Ready<BaseMessage>): boolean {
  const lastCommitted = rd.committed[rd.committed.length - 1];
  const firstNew = rd.entries[0];
  return lastCommitted !== undefined && (firstNew === undefined || lastCommitted.index < firstNew.index);
}

/** Carries out one Ready through `ports`; true when it applied committed records. */
export function carryOutReady<M extends BaseMessage>(rd: Ready<M>, ports: ReadyPorts<M>): boolean | Promise<boolean> {
  if (rd.snapshot !== null) {
    const installed = ports.installSnapshot(rd.snapshot, rd.snapshotKeepsLog === true);
    if (installed !== undefined) return Promise.resolve(installed).then(() => persistAndSend(rd, ports));
  }
  return persistAndSend(rd, ports);
}

function persistAndSend<M extends BaseMessage>(rd: Ready<M>, ports: ReadyPorts<M>): boolean | Promise<boolean> {
  const applyFirst = appliesBeforePersist(rd);
  if (applyFirst) ports.apply(rd.committed);
  // A leader's appends do not wait for its own fsync: followers write while it writes.
  for (const m of rd.earlyMessages) ports.send(m);
  // A read state depends on nothing this Ready persists (a quorum confirmed the leadership
  // after the read arrived; the read waits for its index to be applied): reads made on this
  // node are answered while the disk syncs, not after it. (A leader's answer to a follower's
  // forwarded read is a message, and still leaves after the persist.)
  if (rd.readStates.length > 0 || rd.readFailures.length > 0) ports.reads(rd.readStates, rd.readFailures);
  if (rd.hardState !== null || rd.entries.length > 0 || rd.truncateAfter !== null) {
    const persisted = ports.persist(rd.truncateAfter, rd.hardState, rd.entries, rd.mustSync);
    if (persisted !== undefined) return Promise.resolve(persisted).then(() => afterPersist(rd, ports, applyFirst));
  }
  return afterPersist(rd, ports, applyFirst);
}

function afterPersist<M extends BaseMessage>(rd: Ready<M>, ports: ReadyPorts<M>, appliedFirst: boolean): boolean {
  for (const m of rd.messages) ports.send(m);
  if (rd.committed.length > 0 && !appliedFirst) ports.apply(rd.committed);
  if (rd.softState !== null) ports.softState(rd.softState);
  return rd.committed.length > 0;
}
