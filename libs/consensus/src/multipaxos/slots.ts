/**
 * An acceptor's slots in memory: for every slot after the compaction point, the value it
 * accepted and the ballot it accepted it at (`Entry.term`), or a hole (ballot 0, an empty
 * noop: nothing accepted there yet). Unlike a Raft log, slots are independent: a later slot
 * may be accepted before an earlier one, and a slot may be accepted again at a higher ballot.
 *
 * Storage keeps the same dense sequence of records, holes included: a changed slot makes the
 * next Ready hand storage every record from that slot on (storage cuts its copy there and
 * appends, as one atomic step: the slot's old value and the slots after it were acknowledged,
 * and a crash must not leave the cut without them), so a restart reads back exactly the
 * slots, holes and ballots held here.
 *
 *   offset ─┬─ slots[0] … ─ stable ─ … changed since the last persist … ─ last
 *           └ (offset, offsetBallot): the last compacted slot, known only by position
 *
 * Invariants: applied ≤ chosen ≤ last; offset ≤ stable ≤ last; every slot ≤ chosen holds the
 * chosen value (never a hole).
 */
import { logIndex, term, type Entry, type LogIndex, type SnapshotMeta, type Term } from '../contract';
import { withinBytes } from '../common/apply-slice';

const EMPTY = new Uint8Array(0);

export const isHole = (e: Entry): boolean => e.term === 0;

export function hole(index: number): Entry {
  return { index: logIndex(index), term: term(0), kind: 'noop', data: EMPTY };
}

export class SlotLog {
  private offset: number;
  private offsetBallot: number;
  private slots: Entry[];
  private stable: number;
  /** The lowest slot (less one) accepted again since the last unstableEntries(): stableTo() stops there. */
  private changedSinceHandOut = Infinity;
  private chosen: number;
  private applied: number;
  private snapshotMeta: SnapshotMeta | null;
  private pending: SnapshotMeta | null = null;

  constructor(snapshot: SnapshotMeta | null, entries: readonly Entry[]) {
    this.snapshotMeta = snapshot;
    this.offset = snapshot?.index ?? 0;
    this.offsetBallot = snapshot?.term ?? 0;
    this.slots = entries.filter((e) => e.index > this.offset);
    this.stable = this.lastIndex();
    this.chosen = this.offset;
    this.applied = this.offset;
    this.check();
  }

  firstIndex(): LogIndex {
    return logIndex(this.offset + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.offset + this.slots.length);
  }

  chosenIndex(): LogIndex {
    return logIndex(this.chosen);
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

  /** The slot's record, or null when it is compacted away or beyond the last slot. */
  at(i: number): Entry | null {
    if (i <= this.offset || i > this.lastIndex()) return null;
    const e = this.slots[i - this.offset - 1];
    if (e === undefined || e.index !== i) throw new Error(`slots: no record at ${i} (offset ${this.offset}, last ${this.lastIndex()})`);
    return e;
  }

  /** The ballot a slot was accepted at (0: a hole), the compaction point's, or null. */
  ballotAt(i: number): Term | null {
    if (i === this.offset) return term(this.offsetBallot);
    return this.at(i)?.term ?? null;
  }

  /** Whether the slot holds `e`'s value (not a hole), whatever ballot it was accepted at. */
  holdsValue(e: Entry): boolean {
    const held = this.at(e.index);
    return held !== null && !isHole(held) && held.kind === e.kind && sameBytes(held.data, e.data);
  }

  /** Accepted slots (no holes) from `from` on, for a promise. */
  acceptedFrom(from: number): Entry[] {
    const out: Entry[] = [];
    for (let i = Math.max(from, this.offset + 1); i <= this.lastIndex(); i++) {
      const e = this.at(i);
      if (e !== null && !isHole(e)) out.push(e);
    }
    return out;
  }

  /** Slots [lo, hi] capped at `maxCount` records and `maxBytes` payload bytes (at least one). */
  slice(lo: number, hi: number, maxCount: number, maxBytes: number): Entry[] {
    if (lo <= this.offset) throw new Error(`slots: slice from ${lo} reaches compacted slots (offset ${this.offset})`);
    const end = Math.min(hi, this.lastIndex(), lo + maxCount - 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= end; i++) {
      const e = this.at(i);
      if (e === null) break;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * Accept records slot by slot, extending with holes up to a slot past the end. A slot at or
   * below the chosen watermark already holds the chosen value: it is left as it is (a
   * different value there would mean two values chosen for one slot — a broken invariant).
   * Returns how many slots changed.
   */
  accept(entries: readonly Entry[]): number {
    let changed = 0;
    for (const e of entries) {
      if (e.index <= this.offset) continue;
      if (e.index <= this.chosen) {
        const held = this.at(e.index);
        if (held !== null && (held.kind !== e.kind || !sameBytes(held.data, e.data))) {
          throw new Error(`slots invariant: slot ${e.index} is chosen as one value and offered another`);
        }
        continue;
      }
      while (this.lastIndex() < e.index - 1) this.slots.push(hole(this.lastIndex() + 1));
      if (e.index === this.lastIndex() + 1) {
        this.slots.push(e);
      } else {
        const held = this.at(e.index);
        if (held !== null && held.term === e.term && held.kind === e.kind && sameBytes(held.data, e.data)) continue;
        this.slots[e.index - this.offset - 1] = e;
      }
      this.stable = Math.min(this.stable, e.index - 1);
      this.changedSinceHandOut = Math.min(this.changedSinceHandOut, e.index - 1);
      changed++;
    }
    return changed;
  }

  /**
   * Records storage does not hold as they are here (from the lowest changed slot on), handed
   * to the driver to persist: stableTo() later counts only those still unchanged by then.
   */
  unstableEntries(): Entry[] {
    this.changedSinceHandOut = Infinity;
    return this.slots.slice(this.stable - this.offset);
  }

  hasUnstable(): boolean {
    return this.stable < this.lastIndex();
  }

  /**
   * The driver persisted everything handed out up to `index`. A slot accepted again since it
   * was handed out (a step between ready() and advance()) holds a value storage does not
   * have: stable stops below it, and the next Ready writes it.
   */
  stableTo(index: number): void {
    const to = Math.min(index, this.lastIndex(), this.changedSinceHandOut);
    if (to > this.stable) this.stable = to;
  }

  /** Every slot up to `i` holds its chosen value: they may be applied. */
  chooseTo(i: number): void {
    const to = Math.min(i, this.lastIndex());
    if (to <= this.chosen) return;
    for (let s = this.chosen + 1; s <= to; s++) {
      const e = this.at(s);
      if (e === null || isHole(e)) throw new Error(`slots invariant: slot ${s} chosen while it holds no value`);
    }
    this.chosen = to;
  }

  /** Chosen values the state machine has not been given, at most `maxCount` and `maxBytes` (at least one). */
  committedToApply(maxCount: number, maxBytes: number): Entry[] {
    const from = Math.max(this.applied, this.pending?.index ?? 0) + 1;
    const to = Math.min(this.chosen, from + maxCount - 1);
    if (to < from) return [];
    return withinBytes(this.slots.slice(from - this.offset - 1, to - this.offset), maxBytes);
  }

  hasCommittedToApply(): boolean {
    return this.chosen > Math.max(this.applied, this.pending?.index ?? 0);
  }

  appliedTo(i: number): void {
    if (i <= this.applied) return;
    if (i > this.chosen) throw new Error(`slots: applied ${i} is beyond chosen ${this.chosen}`);
    this.applied = i;
  }

  /**
   * A snapshot received from the leader replaces every slot up to it. Slots after it stay: an
   * acceptance may have counted toward a quorum, and an acceptor never takes one back. The
   * Ready asks the driver to keep storage's records after the snapshot (snapshotKeepsLog), so
   * they stay durable through the install.
   */
  restore(meta: SnapshotMeta): void {
    if (meta.index <= this.chosen) throw new Error(`slots: restore of snapshot ${meta.index} at or below chosen ${this.chosen}`);
    const kept = this.slots.filter((e) => e.index > meta.index);
    this.offset = meta.index;
    this.offsetBallot = meta.term;
    this.slots = kept;
    this.stable = Math.max(meta.index, Math.min(this.stable, this.lastIndex()));
    this.chosen = meta.index;
    this.snapshotMeta = meta;
    this.pending = meta;
  }

  snapshotInstalled(meta: SnapshotMeta): void {
    this.applied = Math.max(this.applied, meta.index);
    if (this.pending === meta) this.pending = null;
  }

  /** The state machine saved `meta`; forget slots up to `compactTo` (≤ applied, stable and chosen). */
  compact(meta: SnapshotMeta, compactTo: number): void {
    if (meta.index > this.applied) throw new Error(`slots: snapshot ${meta.index} is beyond applied ${this.applied}`);
    if (compactTo > Math.min(this.applied, this.stable)) throw new Error(`slots: compaction to ${compactTo} passes applied/stable slots`);
    if (meta.index >= (this.snapshotMeta?.index ?? 0)) this.snapshotMeta = meta;
    if (compactTo <= this.offset) return;
    const b = this.at(compactTo)?.term ?? 0;
    this.slots = this.slots.slice(compactTo - this.offset);
    this.offset = compactTo;
    this.offsetBallot = b;
  }

  check(): void {
    const last = this.lastIndex();
    const snapIndex = Math.max(this.applied, this.pending?.index ?? 0);
    if (this.applied > this.chosen) throw new Error(`slots invariant: applied ${this.applied} > chosen ${this.chosen}`);
    if (this.chosen > last) throw new Error(`slots invariant: chosen ${this.chosen} > last ${last}`);
    if (this.offset > snapIndex) throw new Error(`slots invariant: compacted ${this.offset} > applied ${snapIndex}`);
    if (this.stable < this.offset || this.stable > last) throw new Error(`slots invariant: stable ${this.stable} outside [${this.offset}, ${last}]`);
    const first = this.slots[0];
    if (first !== undefined && first.index !== this.offset + 1) throw new Error(`slots invariant: first slot ${first.index} does not follow offset ${this.offset}`);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
