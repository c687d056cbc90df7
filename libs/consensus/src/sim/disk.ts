/**
 * A node's simulated disk: a durable image plus a page cache of writes not yet fsync'd.
 * Reads see the page cache; fsync makes it durable; a crash keeps only the durable image
 * plus some prefix of the unsynced writes (the OS may have flushed part of them).
 *
 * A rewrite — a cut with records after it in one persist (a Raft follower's conflicting
 * suffix, a Multi-Paxos acceptor accepting a slot again) — is one write, as in libs/storage,
 * which makes its records durable in a file of their own before it cuts: a crash leaves the
 * old log or the new one (`RewriteModel` 'atomic'). 'cut_first' is a storage that makes the
 * cut durable at once and writes the records after it like any append (what libs/storage
 * did before): the simulator must catch a protocol that acknowledged the records it cut.
 */
import type { Entry, HardState, PersistedState, SnapshotMeta } from '../contract';
import type { AppliedLog } from './checker';
import { CoreContractError } from './errors';

export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  /** The state-machine content at meta.index (the bytes a real driver would ship). */
  readonly state: AppliedLog;
}

/** One image of the disk: hard state, latest snapshot, and a contiguous log after `offset`. */
class DiskImage {
  hardState: HardState | null = null;
  snapshot: StoredSnapshot | null = null;
  /** entries[k].index === offset + 1 + k. */
  entries: Entry[] = [];
  offset = 0;
  offsetTerm = 0;

  clone(): DiskImage {
    const copy = new DiskImage();
    copy.hardState = this.hardState;
    copy.snapshot = this.snapshot;
    copy.entries = this.entries.slice();
    copy.offset = this.offset;
    copy.offsetTerm = this.offsetTerm;
    return copy;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    return this.entries[index - this.offset - 1]?.term;
  }

  heldAt(index: number, keyOf: (e: Entry) => string): string | undefined {
    if (index > this.offset) {
      const e = this.entries[index - this.offset - 1];
      return e === undefined ? undefined : keyOf(e);
    }
    const snap = this.snapshot;
    return snap !== null && index <= snap.meta.index ? snap.state[index] : undefined;
  }

  apply(op: DiskWrite): void {
    switch (op.kind) {
      case 'hard_state':
        this.hardState = op.hardState;
        return;
      case 'append':
        this.append(op.entries);
        return;
      case 'snapshot':
        this.installSnapshot(op.snapshot, op.keepLog === true);
        return;
      case 'truncate':
        this.entries.length = Math.min(this.entries.length, Math.max(0, op.afterIndex - this.offset));
        return;
    }
  }

  private append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.entries.length = Math.max(0, first.index - this.offset - 1);
    for (const e of entries) this.entries.push(e);
  }

  /** Keep the log after the snapshot only if it agrees with the snapshot's position (or `keepLog`). */
  private installSnapshot(snapshot: StoredSnapshot, keepLog: boolean): void {
    const { index, term } = snapshot.meta;
    this.snapshot = snapshot;
    if (keepLog || this.termAt(index) === term) {
      this.entries = this.entries.slice(Math.max(0, index - this.offset));
    } else {
      this.entries = [];
    }
    this.offset = index;
    this.offsetTerm = term;
  }
}

export type RewriteModel = 'atomic' | 'cut_first';

type DiskWrite =
  | { readonly kind: 'hard_state'; readonly hardState: HardState }
  /** Cuts the log after entries[0].index - 1 when it reaches that far, then appends. */
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'snapshot'; readonly snapshot: StoredSnapshot; readonly keepLog?: boolean }
  | { readonly kind: 'truncate'; readonly afterIndex: number };

export class SimDisk {
  private durable = new DiskImage();
  private cache = new DiskImage();
  private unsynced: DiskWrite[] = [];

  constructor(private readonly rewrite: RewriteModel = 'atomic') {}

  /** What the node holds now (page cache view). */
  lastIndex(): number {
    return this.cache.lastIndex();
  }

  termAt(index: number): number | undefined {
    return this.cache.termAt(index);
  }

  snapshot(): StoredSnapshot | null {
    return this.cache.snapshot;
  }

  /** Key of what the node holds at `index`: its log record, else its snapshot's content. */
  heldAt(index: number, keyOf: (e: Entry) => string): string | undefined {
    return this.cache.heldAt(index, keyOf);
  }

  /** heldAt on the durable image: what survives any crash from now on. */
  durablyHeldAt(index: number, keyOf: (e: Entry) => string): string | undefined {
    return this.durable.heldAt(index, keyOf);
  }

  hasUnsynced(): boolean {
    return this.unsynced.length > 0;
  }

  writeHardState(hardState: HardState): void {
    this.write({ kind: 'hard_state', hardState });
  }

  /**
   * Ready.truncateAfter and Ready.entries of one persist: forget the records after
   * `truncateAfter` (when not null), then append, cutting from entries[0].index when it is at
   * or below the last stored one. Records must stay contiguous and after the snapshot. A cut
   * followed by records is a rewrite (see the top of this file); returns whether this was one.
   */
  persistLog(truncateAfter: number | null, entries: readonly Entry[]): boolean {
    const first = entries[0];
    if (first === undefined) {
      if (truncateAfter !== null) this.truncateAfter(truncateAfter);
      return false;
    }
    if (truncateAfter !== null) this.checkCut(truncateAfter);
    const cutAfter = first.index - 1;
    const rewrite = cutAfter < this.cache.lastIndex();
    this.checkAppend(entries, Math.min(this.cache.lastIndex(), truncateAfter ?? Infinity));
    if (rewrite && this.rewrite === 'cut_first') {
      this.fsync();
      this.write({ kind: 'truncate', afterIndex: cutAfter });
      this.fsync();
    }
    // Entries start right after the cut (checkAppend), and an append cuts there: one write.
    this.write({ kind: 'append', entries });
    return rewrite;
  }

  /** Append Ready.entries (see persistLog). */
  append(entries: readonly Entry[]): void {
    this.persistLog(null, entries);
  }

  private checkAppend(entries: readonly Entry[], lastAfterCut: number): void {
    const first = entries[0]!;
    const c = this.cache;
    if (first.index <= c.offset) {
      throw new CoreContractError(`Ready.entries start at ${first.index}, inside the snapshot/compacted prefix ending at ${c.offset}`);
    }
    if (first.index > lastAfterCut + 1) {
      throw new CoreContractError(`Ready.entries start at ${first.index}, leaving a gap after the last stored index ${lastAfterCut}`);
    }
    entries.forEach((e, k) => {
      if (e.index !== first.index + k) throw new CoreContractError(`Ready.entries are not contiguous at ${e.index}`);
    });
  }

  private checkCut(index: number): void {
    const c = this.cache;
    if (index < c.offset) throw new CoreContractError(`Ready.truncateAfter ${index} reaches into the snapshot/compacted prefix ending at ${c.offset}`);
  }

  /** Ready.truncateAfter alone: forget the records after `index` (an unsynced truncation a crash may undo). */
  truncateAfter(index: number): void {
    this.checkCut(index);
    this.write({ kind: 'truncate', afterIndex: index });
  }

  /**
   * A received snapshot: written like a real snapshot file (everything before it is synced
   * first). The log is emptied, or with `keepLog` (Ready.snapshotKeepsLog) only cut below it.
   */
  installSnapshot(snapshot: StoredSnapshot, keepLog = false): void {
    this.fsync();
    this.write({ kind: 'snapshot', snapshot, keepLog });
    this.fsync();
  }

  /** The node's own snapshot for compaction, written durably; the log before it may go. */
  saveOwnSnapshot(snapshot: StoredSnapshot): void {
    if (snapshot.meta.index <= this.cache.offset) return;
    this.installSnapshot(snapshot);
  }

  fsync(): void {
    for (const op of this.unsynced) this.durable.apply(op);
    this.unsynced = [];
  }

  /** Power loss: keep the durable image plus the first `survivingWrites` unsynced writes. */
  crash(survivingWrites: number): number {
    const kept = this.unsynced.slice(0, survivingWrites);
    for (const op of kept) this.durable.apply(op);
    const lost = this.unsynced.length - kept.length;
    this.unsynced = [];
    this.cache = this.durable.clone();
    return lost;
  }

  unsyncedCount(): number {
    return this.unsynced.length;
  }

  /** What the driver hands to protocol.create at boot. */
  load(): PersistedState {
    const d = this.durable;
    return {
      hardState: d.hardState,
      snapshot: d.snapshot?.meta ?? null,
      entries: d.entries.slice(),
    };
  }

  private write(op: DiskWrite): void {
    this.cache.apply(op);
    this.unsynced.push(op);
  }
}
