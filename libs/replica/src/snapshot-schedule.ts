/**
 * When a node snapshots (or, on a witness, forgets records), and the fencing numbers of the
 * records applied since its last snapshot — the two things the replica keeps about its log
 * between snapshots.
 */
import type { Entry, Term } from '@quorumlite/consensus';

/** How much of the database's size the log must hold before a snapshot copies the database. */
export const SNAPSHOT_DATABASE_FRACTION = 4;
/**
 * This share of snapshotLogBytesMax counts as enough records: large records (batches of
 * rows) would otherwise pile up to the full maximum before snapshotEveryEntries of them had
 * been applied, and the log's records stay in memory until a snapshot compacts them.
 */
export const SNAPSHOT_LOG_BYTES_ENOUGH_FRACTION = 4;
/** Each node stretches its thresholds by a random factor in [1, 1 + this). */
export const SNAPSHOT_SPREAD_MAX = 0.25;

export interface SnapshotThresholds {
  readonly snapshotEveryEntries: number;
  readonly snapshotLogBytesMax: number;
}

/**
 * A snapshot copies the whole database, so it waits until the log written since the last
 * one holds at least a quarter of the database's size as well as snapshotEveryEntries
 * records (or a quarter of snapshotLogBytesMax in bytes, whichever comes first): copying
 * then costs at most four times the log it replaces, however large the database grows.
 * snapshotLogBytesMax bounds the log (and the memory it takes) regardless.
 * Each node stretches the thresholds by its own random factor (redrawn after every
 * snapshot), so replicas sharing a machine or a disk do not all copy at the same moment.
 */
export class SnapshotSchedule {
  /** Payload bytes of the records applied since the last snapshot began (or since boot). */
  private logBytes = 0;
  private spread = 1;

  constructor(
    private readonly thresholds: SnapshotThresholds,
    /** Uniform in [0, 1): the stretch of the next interval. */
    private readonly random: () => number,
  ) {
    this.restart();
  }

  /** A snapshot began (or arrived): the log counts from zero, against freshly stretched thresholds. */
  restart(): void {
    this.logBytes = 0;
    this.spread = 1 + SNAPSHOT_SPREAD_MAX * this.random();
  }

  noteApplied(entries: readonly Entry[]): void {
    for (const e of entries) this.logBytes += e.data.byteLength;
  }

  /** A data node: `records` applied since the last snapshot, the database `databaseBytes` large. */
  dueForData(records: number, databaseBytes: () => number): boolean {
    if (this.logBytes >= this.thresholds.snapshotLogBytesMax / this.spread) return true;
    const enoughRecords = records >= this.thresholds.snapshotEveryEntries * this.spread;
    if (!enoughRecords && this.logBytes < this.enoughBytes()) return false;
    return this.logBytes >= (databaseBytes() / SNAPSHOT_DATABASE_FRACTION) * this.spread;
  }

  /** A witness: `records` it may forget; nothing to copy, so enough records or bytes will do. */
  dueForWitness(records: number): boolean {
    return this.logBytes >= this.enoughBytes() || records >= this.thresholds.snapshotEveryEntries * this.spread;
  }

  /** Log bytes that count as enough records: a quarter of snapshotLogBytesMax. */
  private enoughBytes(): number {
    return this.thresholds.snapshotLogBytesMax / SNAPSHOT_LOG_BYTES_ENOUGH_FRACTION / this.spread;
  }
}

/** Where the fencing number of applied records changes, from the last snapshot on. */
export class TermRuns {
  private runs: { from: number; term: Term }[] = [];

  /** Everything up to `index` is in a snapshot taken at fencing number `term`. */
  reset(index: number, term: Term): void {
    this.runs = [{ from: index, term }];
  }

  noteApplied(entries: readonly Entry[]): void {
    for (const e of entries) if (this.runs[this.runs.length - 1]?.term !== e.term) this.runs.push({ from: e.index, term: e.term });
  }

  /** The fencing number of the applied record at `index`, or null if not known (before the runs). */
  termAt(index: number): Term | null {
    let found: Term | null = null;
    for (const run of this.runs) {
      if (run.from > index) break;
      found = run.term;
    }
    return found;
  }

  /** A snapshot at `index` was taken: runs that end at or before it are no longer needed. */
  forgetThrough(index: number): void {
    this.runs = this.runs.filter((_, i, runs) => (runs[i + 1]?.from ?? Infinity) > index);
  }
}
