/**
 * When a node snapshots (or, on a witness, forgets records), and the fencing numbers of the
 * records applied since its last snapshot — the two things the replica keeps about its log
 * between snapshots.
 */
import type { Entry, Term } from '@quorumlite/consensus';

/**
 * This share of snapshotLogBytesMax counts as enough records, and is what the records kept
 * behind a snapshot's cut are sized to (at their recent mean size): the log's records stay in
 * memory until a snapshot compacts them, and large records (batches of rows) would otherwise
 * pile up — a 100-row batch is about 12 KB, so snapshotRetainEntries of them alone would be
 * 12 MB per node. With the default of 64 MiB that is 4 MiB each side of the cut.
 */
export const SNAPSHOT_LOG_BYTES_ENOUGH_FRACTION = 16;
/**
 * The fewest records a cut keeps behind it (unless snapshotRetainEntries is fewer): with
 * records of megabytes the byte bound alone would keep one, and a Zab or Multi-Paxos follower
 * two records behind at the cut would then need a whole copy of the database.
 */
export const RETAIN_ENTRIES_MIN = 8;
/** Each node stretches its thresholds by a random factor in [1, 1 + this). */
export const SNAPSHOT_SPREAD_MAX = 0.25;

export interface SnapshotThresholds {
  readonly snapshotEveryEntries: number;
  readonly snapshotLogBytesMax: number;
  readonly snapshotRetainEntries: number;
}

/**
 * A snapshot is due once the log applied since the last one holds snapshotEveryEntries
 * records, or a sixteenth of snapshotLogBytesMax in bytes, whichever comes first (so large
 * records do not pile up in memory). Its cut keeps snapshotRetainEntries records behind it
 * for slow followers, or fewer when recent records are large (`retainEntries`). A snapshot
 * copies nothing — the database is synced where it is and the log cut there — so it need not
 * wait for the log to outgrow the database.
 * Each node stretches the thresholds by its own random factor (redrawn after every
 * snapshot), so replicas sharing a machine or a disk do not all sync at the same moment.
 */
export class SnapshotSchedule {
  /** Payload bytes of the records applied since the last snapshot began (or since boot). */
  private logBytes = 0;
  /** How many records those were. */
  private logRecords = 0;
  /** The same two of the last interval before it that had records. */
  private previous = { bytes: 0, records: 0 };
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
    if (this.logRecords > 0) this.previous = { bytes: this.logBytes, records: this.logRecords };
    this.logBytes = 0;
    this.logRecords = 0;
    this.spread = 1 + SNAPSHOT_SPREAD_MAX * this.random();
  }

  noteApplied(entries: readonly Entry[]): void {
    for (const e of entries) this.logBytes += e.data.byteLength;
    this.logRecords += entries.length;
  }

  /**
   * Records a cut keeps behind it on a data node: snapshotRetainEntries, or fewer when the
   * recent records are large — as many as a sixteenth of snapshotLogBytesMax holds at the mean
   * size of those applied since the last snapshot and in the interval before, but at least
   * RETAIN_ENTRIES_MIN. An estimate, not a bound: the records behind a cut may be larger than
   * the mean. The Raft leader keeps more for a slow follower that is still answering (its own
   * bound, a multiple of this).
   */
  retainEntries(): number {
    const configured = this.thresholds.snapshotRetainEntries;
    const bytes = this.logBytes + this.previous.bytes;
    const records = this.logRecords + this.previous.records;
    if (bytes === 0) return configured;
    const fit = Math.floor((this.thresholds.snapshotLogBytesMax / SNAPSHOT_LOG_BYTES_ENOUGH_FRACTION) * (records / bytes));
    return Math.min(configured, Math.max(RETAIN_ENTRIES_MIN, fit));
  }

  /** `records` applied since the last snapshot (a data node) or that a witness may forget. */
  due(records: number): boolean {
    return this.logBytes >= this.enoughBytes() || records >= this.thresholds.snapshotEveryEntries * this.spread;
  }

  /** The log applied since the last snapshot reached snapshotLogBytesMax: the bound on what it keeps in memory. */
  overMax(): boolean {
    return this.logBytes >= this.thresholds.snapshotLogBytesMax / this.spread;
  }

  /** Log bytes that count as enough records: a sixteenth of snapshotLogBytesMax. */
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
