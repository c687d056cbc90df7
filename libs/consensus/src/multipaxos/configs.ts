/**
 * Which configuration governs each slot: Lamport's α rule ("Paxos Made Simple" §3, end;
 * Lamport, Malkhi and Zhou, "Reconfiguring a State Machine"). A `config` record chosen in slot i
 * governs the slots from i + α on; below every record, the base configuration does (the
 * snapshot's members, or the members a node booted with).
 *
 * The records are read from this node's own slots, chosen or not: a leader reads its own
 * proposals (it proposes past a record only within its window, and counts a slot chosen only
 * once every slot before it is: PaxosCore.advanceChosen), an acceptor reads what it holds.
 *
 * A record's window outlives its slot: compacting slots folds into the base only the records
 * whose window closed (slot ≤ compacted + 1 − α), and keeps the others by slot, so the
 * configuration of every slot after the compaction point stays exact. A snapshot carries one
 * member list (SnapshotMeta.members, the configuration as of its index); a node that installs
 * one whose index falls inside a record's window takes that record's members for the window's
 * last slots too — one member away from the true ones (one change at a time, and the next only
 * once the last took effect: PaxosCore.proposeMembership), so every quorum of either meets
 * every quorum of the other, which is all Paxos asks of a quorum.
 */
import type { Entry, Member } from '../contract';
import { decodeConfig } from '../common';

export interface ConfigRecord {
  readonly slot: number;
  readonly members: readonly Member[];
}

export class ConfigWindow {
  private base: readonly Member[];
  private readonly records = new Map<number, readonly Member[]>();
  /**
   * The first slot whose governing configuration is exact: a base taken from a snapshot is the
   * configuration as of its index, which governs only from α slots after it at the latest.
   */
  private exact: number;

  constructor(
    /** α: a configuration chosen in slot i governs the slots from i + α on. */
    readonly alpha: number,
    base: readonly Member[],
    entries: readonly Entry[],
    /** The snapshot `base` comes from, or 0 when it is the configuration a node booted with. */
    baseIndex = 0,
  ) {
    this.base = base;
    this.exact = baseIndex === 0 ? 1 : baseIndex + alpha;
    this.note(entries);
  }

  /**
   * governing(slot) is exact from this slot on (below it, it may name the next configuration) —
   * given a base that governed from slot 1: a node started at runtime with the current members
   * and no snapshot takes them for the first slots too, until its first record's window. A
   * leader counts holds over what this says (PaxosCore.computeDataVotersHold); a witness lends
   * its promise only to the data voters the leader named, each of which it checked holds them,
   * so a wrong base costs a witness forgetting later, never a promise over slots not held.
   */
  exactFrom(): number {
    return this.exact;
  }

  /** Slots now hold these records (accepted, or proposed): a config record is noted, any other clears its slot. */
  note(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.kind === 'config') this.records.set(e.index, decodeConfig(e.data));
      else this.records.delete(e.index);
    }
  }

  /** The configuration that governs `slot`: the latest record at or before slot − α, else the base. */
  governing(slot: number): readonly Member[] {
    return this.latestAtOrBefore(slot - this.alpha)?.members ?? this.base;
  }

  /** The configuration as of `index` (what a snapshot there carries): the latest record at or before it. */
  asOf(index: number): readonly Member[] {
    return this.latestAtOrBefore(index)?.members ?? this.base;
  }

  /** The latest record held, or null. */
  latest(): ConfigRecord | null {
    return this.latestAtOrBefore(Infinity);
  }

  /** The records after `slot`, in slot order. */
  after(slot: number): ConfigRecord[] {
    return [...this.records.entries()].filter(([s]) => s > slot).sort(([a], [b]) => a - b).map(([s, members]) => ({ slot: s, members }));
  }

  /** Slots up to `slot` are compacted: records whose window closed by the next slot fold into the base. */
  compactTo(slot: number): void {
    const closed = this.latestAtOrBefore(slot + 1 - this.alpha);
    if (closed === null) return;
    this.base = closed.members;
    for (const s of [...this.records.keys()]) if (s <= closed.slot) this.records.delete(s);
    // Below the compaction point, governing() answers with the base, which came later.
    this.exact = Math.max(this.exact, slot + 1);
  }

  /** A snapshot at `index` replaced every slot up to it: its members are the base from there on. */
  restore(index: number, members: readonly Member[]): void {
    if (members.length > 0) this.base = members;
    for (const s of [...this.records.keys()]) if (s <= index) this.records.delete(s);
    this.exact = Math.max(this.exact, index + this.alpha);
  }

  /** The latest record at or before `slot`, or null. */
  latestAtOrBefore(slot: number): ConfigRecord | null {
    let best: ConfigRecord | null = null;
    for (const [s, members] of this.records) if (s <= slot && (best === null || s > best.slot)) best = { slot: s, members };
    return best;
  }
}
