/**
 * The in-memory log every protocol keeps (etcd's raftLog + unstable in one): the records after the last
 * compaction point, which of them are durable, and the commit/applied cursors.
 *
 *   offset ─┬─ entries[0] … ─ stable ─ … unstable … ─ last
 *           └ (offsetIndex, offsetTerm): the last compacted record, known only by position
 *
 * Invariants (checked by `check()`): applied ≤ commit ≤ last; offset ≤ stable ≤ last;
 * terms never decrease along the log; entries are contiguous from offset + 1.
 */
import { logIndex, term, type Entry, type LogIndex, type SnapshotMeta, type Term } from '../contract';
import { withinBytes } from './apply-slice';

export class MemoryLog {
  private offsetIndex: number;
  private offsetTerm: number;
  private entries: Entry[];
  /** Highest index known durable (persisted by the driver). */
  private stable: number;
  private committed: number;
  private applied: number;
  /** The newest snapshot this node has (its own, or installed from the leader). */
  private snapshotMeta: SnapshotMeta | null;
  /** A snapshot received from the leader that the driver has not installed yet. */
  private pending: SnapshotMeta | null = null;
  /** Lowest point a truncate-only cut (truncateAfter) reached since the last hand-out, or null. */
  private cut: number | null = null;

  constructor(snapshot: SnapshotMeta | null, entries: readonly Entry[], commit: number) {
    this.snapshotMeta = snapshot;
    this.offsetIndex = snapshot?.index ?? 0;
    this.offsetTerm = snapshot?.term ?? 0;
    // Records at or below the snapshot are already inside it; keep only what follows.
    this.entries = entries.filter((e) => e.index > this.offsetIndex);
    this.stable = this.lastIndex();
    this.committed = Math.max(commit, this.offsetIndex);
    this.applied = this.offsetIndex;
    this.check();
  }

  // --- positions -----------------------------------------------------------------------------

  firstIndex(): LogIndex {
    return logIndex(this.offsetIndex + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.offsetIndex + this.entries.length);
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? term(0);
  }

  commitIndex(): LogIndex {
    return logIndex(this.committed);
  }

  appliedIndex(): LogIndex {
    return logIndex(this.applied);
  }

  stableIndex(): LogIndex {
    return logIndex(this.stable);
  }

  snapshot(): SnapshotMeta | null {
    return this.snapshotMeta;
  }

  pendingSnapshot(): SnapshotMeta | null {
    return this.pending;
  }

  /** The term of the record at `i`, or null when it was compacted away or does not exist yet. */
  term(i: number): Term | null {
    if (i === this.offsetIndex) return term(this.offsetTerm);
    if (i < this.offsetIndex || i > this.lastIndex()) return null;
    return this.at(i).term;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The record at `i`, or null when it is compacted away or beyond the log. */
  entry(i: number): Entry | null {
    if (i <= this.offsetIndex || i > this.lastIndex()) return null;
    return this.at(i);
  }

  private at(i: number): Entry {
    const e = this.entries[i - this.offsetIndex - 1];
    if (e === undefined || e.index !== i) throw new Error(`log: no record at index ${i} (offset ${this.offsetIndex}, last ${this.lastIndex()})`);
    return e;
  }

  // --- reading ranges ------------------------------------------------------------------------

  /**
   * Records in [lo, hi] capped at `maxCount` records and `maxBytes` payload bytes, but always
   * at least one when the range is non-empty. The caller guarantees lo > offset.
   */
  slice(lo: number, hi: number, maxCount: number, maxBytes: number): Entry[] {
    if (lo <= this.offsetIndex) throw new Error(`log: slice from ${lo} reaches compacted records (offset ${this.offsetIndex})`);
    const end = Math.min(hi, this.lastIndex(), lo + maxCount - 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= end; i++) {
      const e = this.at(i);
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Records not yet durable, in order (what the next Ready asks the driver to persist). */
  unstableEntries(): Entry[] {
    return this.entries.slice(this.stable - this.offsetIndex);
  }

  hasUnstable(): boolean {
    return this.stable < this.lastIndex();
  }

  /** Committed records the state machine has not been given, at most `maxCount` and `maxBytes` (at least one). */
  committedToApply(maxCount: number, maxBytes: number): Entry[] {
    const from = Math.max(this.applied, this.pending?.index ?? 0) + 1;
    const to = Math.min(this.committed, from + maxCount - 1);
    if (to < from) return [];
    return withinBytes(this.entries.slice(from - this.offsetIndex - 1, to - this.offsetIndex), maxBytes);
  }

  hasCommittedToApply(): boolean {
    return this.committed > Math.max(this.applied, this.pending?.index ?? 0);
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `t`, with that term (fast backtracking).
   * Terms never decrease along the log, so a binary search finds it. A compacted position
   * answers with term 0 ("unknown, assume a match").
   */
  findConflictByTerm(index: number, t: number): { index: LogIndex; term: Term } {
    const hi0 = Math.min(index, this.lastIndex());
    if (hi0 < this.offsetIndex) return { index: logIndex(hi0), term: term(0) };
    if (this.offsetTerm > t) return { index: logIndex(this.offsetIndex), term: term(0) };
    let lo = this.offsetIndex; // term(lo) ≤ t holds
    let hi = hi0;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((this.term(mid) ?? 0) <= t) lo = mid;
      else hi = mid - 1;
    }
    return { index: logIndex(lo), term: this.term(lo) ?? term(0) };
  }

  // --- writing -------------------------------------------------------------------------------

  /** Leader: append new records right after the last one. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`log: append of index ${e.index} after last ${this.lastIndex()}`);
      if (e.term < this.lastTerm()) throw new Error(`log: append of term ${e.term} after term ${this.lastTerm()}`);
      this.entries.push(e);
    }
  }

  /**
   * Follower: if our log matches (prevIndex, prevTerm), merge `entries` (truncating a
   * conflicting suffix), advance commit to min(commit, last new index), and return that last
   * new index; otherwise return null (the consistency check failed).
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): LogIndex | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) throw new Error(`log: conflicting record ${conflict} is at or below commit ${this.committed}`);
      this.truncateAndAppend(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return logIndex(lastNew);
  }

  /** The first index in `entries` that is new or disagrees with our log, or 0 if none. */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.offsetIndex) throw new Error(`log: overwrite of compacted index ${first.index}`);
    if (first.index > this.lastIndex() + 1) throw new Error(`log: gap before index ${first.index} (last ${this.lastIndex()})`);
    this.entries.length = first.index - this.offsetIndex - 1;
    // The driver truncates its copy when Ready.entries starts at or below its last record.
    this.stable = Math.min(this.stable, first.index - 1);
    this.append(entries);
  }

  /**
   * Cut every record after `index` without appending (Zab's TRUNC). Only uncommitted records
   * may go; the next Ready asks storage to cut its copy too (`cutPoint`).
   */
  truncateAfter(index: number): void {
    if (index >= this.lastIndex()) return;
    if (index < this.committed) throw new Error(`log: truncation after ${index} would remove committed records (commit ${this.committed})`);
    if (index < this.offsetIndex) throw new Error(`log: truncation after ${index} reaches compacted records (offset ${this.offsetIndex})`);
    this.entries.length = index - this.offsetIndex;
    this.stable = Math.min(this.stable, index);
    this.cut = this.cut === null ? index : Math.min(this.cut, index);
  }

  /** The truncate-only cut to hand to storage (and forget), or null. */
  takeCutPoint(): LogIndex | null {
    const c = this.cut;
    this.cut = null;
    return c === null ? null : logIndex(c);
  }

  hasCutPoint(): boolean {
    return this.cut !== null;
  }

  commitTo(i: number): void {
    if (i <= this.committed) return;
    if (i > this.lastIndex()) throw new Error(`log: commit ${i} is beyond the last index ${this.lastIndex()} (was the log lost? a node whose data directory was lost comes back when started with --rejoin on an empty directory: see the README, 'A node that lost its data directory')`);
    this.committed = i;
  }

  /** The driver persisted records up to (index, t); ignored if the log changed since. */
  stableTo(index: number, t: number): void {
    if (index > this.stable && this.matchTerm(index, t)) this.stable = index;
  }

  appliedTo(i: number): void {
    if (i <= this.applied) return;
    if (i > this.committed) throw new Error(`log: applied ${i} is beyond commit ${this.committed}`);
    this.applied = i;
  }

  /**
   * Boot: the state machine already holds every record up to `i` — applied, so committed — and
   * is not handed them again (capped at the log's end: a database restored ahead of its log).
   */
  restoreApplied(i: number): void {
    const upTo = Math.min(i, this.lastIndex());
    if (upTo <= this.applied) return;
    this.committed = Math.max(this.committed, upTo);
    this.applied = upTo;
  }

  /** Follower: replace the whole log with a snapshot received from the leader. */
  restore(meta: SnapshotMeta): void {
    if (meta.index <= this.committed) throw new Error(`log: restore of snapshot ${meta.index} at or below commit ${this.committed}`);
    this.offsetIndex = meta.index;
    this.offsetTerm = meta.term;
    this.entries = [];
    this.stable = meta.index;
    this.committed = meta.index;
    this.snapshotMeta = meta;
    this.pending = meta;
    // Installing the snapshot resets storage's log: no separate cut is needed.
    this.cut = null;
  }

  /** The driver installed `meta` (handed out by a Ready). */
  snapshotInstalled(meta: SnapshotMeta): void {
    this.applied = Math.max(this.applied, meta.index);
    if (this.pending === meta) this.pending = null;
  }

  /**
   * The state machine saved `meta`; forget records up to `compactTo` (already bounded by the
   * caller to applied and stable records) and remember the snapshot for lagging peers.
   */
  compact(meta: SnapshotMeta, compactTo: number): void {
    if (meta.index > this.applied) throw new Error(`log: snapshot ${meta.index} is beyond applied ${this.applied}`);
    if (compactTo > Math.min(this.applied, this.stable)) throw new Error(`log: compaction to ${compactTo} passes applied/stable records`);
    if (meta.index >= (this.snapshotMeta?.index ?? 0)) this.snapshotMeta = meta;
    if (compactTo <= this.offsetIndex) return;
    const t = this.at(compactTo).term;
    this.entries = this.entries.slice(compactTo - this.offsetIndex);
    this.offsetIndex = compactTo;
    this.offsetTerm = t;
  }

  // --- invariants ----------------------------------------------------------------------------

  check(): void {
    const last = this.lastIndex();
    const snapIndex = Math.max(this.applied, this.pending?.index ?? 0);
    if (this.applied > this.committed) throw new Error(`log invariant: applied ${this.applied} > commit ${this.committed}`);
    if (this.committed > last) throw new Error(`log invariant: commit ${this.committed} > last ${last}`);
    if (this.offsetIndex > snapIndex) throw new Error(`log invariant: compacted ${this.offsetIndex} > applied ${snapIndex}`);
    if (this.stable < this.offsetIndex || this.stable > last) throw new Error(`log invariant: stable ${this.stable} outside [${this.offsetIndex}, ${last}]`);
    const first = this.entries[0];
    if (first !== undefined && first.index !== this.offsetIndex + 1) throw new Error(`log invariant: first record ${first.index} does not follow offset ${this.offsetIndex}`);
    const tail = this.entries[this.entries.length - 1];
    if (first !== undefined && (first.term < this.offsetTerm || (tail !== undefined && tail.term < first.term))) {
      throw new Error('log invariant: terms decrease along the log');
    }
  }

  /** Full O(n) contiguity and term-order check, for boot and tests. */
  checkAll(): void {
    this.check();
    let prevTerm = this.offsetTerm;
    this.entries.forEach((e, i) => {
      if (e.index !== this.offsetIndex + 1 + i) throw new Error(`log invariant: record ${i} has index ${e.index}, expected ${this.offsetIndex + 1 + i}`);
      if (e.term < prevTerm) throw new Error(`log invariant: term ${e.term} at ${e.index} is below the previous term ${prevTerm}`);
      prevTerm = e.term;
    });
  }
}
