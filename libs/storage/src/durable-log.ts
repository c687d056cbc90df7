import { closeSync, promises as fs, openSync, truncateSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Entry, HardState, LogIndex, SnapshotMeta } from '@quorumlite/consensus';
import { assertNever, logIndex } from '@quorumlite/consensus';
import { decodeCheckedFile, encodeCheckedFile, parseSnapshotMeta, snapshotMetaProblem, toSnapshotMeta } from './checked-file';
import { ioError, isNotFound, StorageError } from './errors';
import { datasync, ensureDir, fsyncDir, fsyncFile, listDir, readFileIfExists, removeFile, TEMP_SUFFIX, writeChunksFully, writeFileAtomic } from './files';
import { ENTRY_DATA_BYTES_MAX, encodedEntryBytes, encodeEntryChunks, encodeRecords, firstRecordIndex, scanSegment } from './record';
import { recoverSegments, type CompactionPoint } from './recovery';
import { segmentFiles, segmentName } from './segment-files';
import { SpareSegment } from './spare-segment';

export const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** A log whose last segment grows with its appends prepares a preallocated one once it holds this much. */
export const PREALLOCATE_AFTER_BYTES_DEFAULT = 1024 * 1024;
/**
 * Spares are made only while an fdatasync covers at most this many bytes on average. A spare
 * costs a byte of zeros per byte of log, and saves a journal commit per fdatasync: worth it
 * for many small syncs (inserts at C=64 sync about 10 KB each, and ran 5 % faster over seven
 * alternated pairs), not for few large ones (batch100 syncs about 0.7 MB each, and with spares
 * lost 5 % over five pairs, p99 95 → 113 ms).
 */
export const PREALLOCATE_SYNC_BYTES_MAX = 128 * 1024;
export const STATE_FILE = 'state';
export const COMPACTION_FILE = 'snapshot.meta';
/** A rewrite's records, durable before its cut (see runPendingOps); present only while one is in flight. */
export const REWRITE_FILE = 'rewrite';
const STATE_MAGIC = 'QLHS';
const COMPACTION_MAGIC = 'QLCP';

export interface LoadedLog {
  hardState: HardState | null;
  /** The compaction point (what the log starts after). */
  snapshot: SnapshotMeta | null;
  /** Contiguous after snapshot.index (or from 1). */
  entries: Entry[];
  /** Bytes cut from a torn tail at open (0 normally). */
  repairedTailBytes: number;
}

export interface DurableLogOptions {
  /** A segment rolls over once the next record would take it past this size. */
  segmentBytesMax?: number;
  /**
   * Segments are preallocated (files of zeros, made ahead by SpareSegment) so that an append's
   * fdatasync flushes data, not the file system's journal. A log with no preallocated segment
   * at its end starts preparing one once that segment holds this many bytes (a log that never
   * writes this much never writes a spare), and rolls over to it as soon as it is ready.
   * Default PREALLOCATE_AFTER_BYTES_DEFAULT; null: segments grow with their appends.
   */
  preallocateAfterBytes?: number | null;
  /** Told why a spare segment could not be made (the log goes on growing its segments; it asks again at its next roll). */
  onSpareFailure?: (error: Error) => void;
}

interface Segment {
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
  /** Byte offset of each record (written or buffered); record k has index firstIndex + k. */
  offsets: number[];
  /** Size including buffered records. */
  bytes: number;
  handle: FileHandle | null;
  /** Bytes written to the file so far, and how many of them an fsync made durable. */
  writtenBytes: number;
  syncedBytes: number;
  /** The file's size: past `writtenBytes` it holds zeros (unused space of a preallocated segment). */
  fileBytes: number;
  /** The file was made as large as a segment (a spare): appends fill it without growing it. */
  preallocated: boolean;
}

/** File work buffered by append() and carried out, in order, by the next flush. */
type PendingOp =
  | { readonly kind: 'create'; readonly segment: Segment; readonly previous: Segment | null; readonly spare: string | null }
  | { readonly kind: 'write'; readonly segment: Segment; readonly at: number; entries: Entry[]; bytes: number }
  | { readonly kind: 'truncate'; readonly from: number; readonly segment: Segment; readonly bytes: number; readonly later: readonly Segment[] };

interface CompactionRecord {
  readonly meta: SnapshotMeta;
  readonly reset: boolean;
}

/**
 * The replicated log on disk: segment files of checksummed records, the hard state file and
 * the compaction point. append() and setHardState() only buffer; flush() writes everything
 * buffered with one write per segment touched and, when asked, one fdatasync (group commit).
 */
export class DurableLog {
  private ops: PendingOp[] = [];
  private pendingHardState: HardState | null = null;
  /** Segments written or truncated since their last fdatasync. */
  private readonly unsynced = new Set<Segment>();
  /** A segment was created or removed since the directory's last fsync. */
  private dirDirty = false;
  /** Records at or below this index are in a snapshot; the log never rewrites them. */
  private compactionIndex: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();
  private failure: StorageError | null = null;
  private closing = false;
  private resetting = false;
  private readonly spare: SpareSegment | null;
  /** Bytes written since the last fdatasync, and their moving mean per fdatasync (null: none yet). */
  private bytesSinceSync = 0;
  private bytesPerSync: number | null = null;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytesMax: number,
    private readonly preallocateAfterBytes: number | null,
    private segments: Segment[],
    compactionIndex: number,
    onSpareFailure?: (error: Error) => void,
  ) {
    this.spare = preallocateAfterBytes === null ? null : new SpareSegment(dir, segmentBytesMax, onSpareFailure);
    this.compactionIndex = compactionIndex;
    const tail = segments[segments.length - 1];
    this.last = tail === undefined ? compactionIndex : tail.firstIndex + tail.offsets.length - 1;
  }

  static async open(dir: string, options: DurableLogOptions = {}): Promise<{ log: DurableLog; loaded: LoadedLog }> {
    const segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax <= 0) {
      throw new StorageError('bad_input', `segmentBytesMax must be a positive integer, got ${segmentBytesMax}`);
    }
    const preallocateAfterBytes = options.preallocateAfterBytes === undefined ? PREALLOCATE_AFTER_BYTES_DEFAULT : options.preallocateAfterBytes;
    if (preallocateAfterBytes !== null && (!Number.isSafeInteger(preallocateAfterBytes) || preallocateAfterBytes < 0)) {
      throw new StorageError('bad_input', `preallocateAfterBytes must be a non-negative integer or null, got ${String(preallocateAfterBytes)}`);
    }
    await ensureDir(dir);
    const names = await listDir(dir);
    for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX))) await removeFile(path.join(dir, name));
    const hardState = await readHardState(path.join(dir, STATE_FILE));
    const compaction = await readCompaction(path.join(dir, COMPACTION_FILE));
    const point: CompactionPoint = { index: compaction?.meta.index ?? 0, reset: compaction?.reset ?? false };
    const recovery = await recoverSegments(dir, segmentFiles(dir, names), point, segmentBytesMax);
    // What a killed process wrote but never synced is in the page cache, not on the disk: the
    // log reports every record it loads as durable (a node acknowledges them, and a witness
    // may forget records because of that acknowledgement), so make them durable first.
    for (const s of recovery.segments) await fsyncFile(s.path);
    if (recovery.segments.length > 0) await fsyncDir(dir);
    const segments = recovery.segments.map((s) => ({
      ...s,
      handle: null,
      writtenBytes: s.bytes,
      syncedBytes: s.bytes,
      // Zeros up to a segment's size: a preallocated segment's unused part. A shorter run of
      // zeros is filled like any file, and the log moves to a preallocated segment once one is ready.
      preallocated: s.fileBytes > s.bytes && s.fileBytes >= segmentBytesMax,
    }));
    const log = new DurableLog(dir, segmentBytesMax, preallocateAfterBytes, segments, point.index, options.onSpareFailure);
    const entries = await log.finishRewrite(recovery.entries);
    const loaded: LoadedLog = {
      hardState,
      snapshot: compaction?.meta ?? null,
      entries,
      repairedTailBytes: recovery.repairedTailBytes,
    };
    return { log, loaded };
  }

  /**
   * A rewrite file left by a crash is durable in full (it is renamed into place), so the
   * rewrite happened: carry it out again over whatever part of it reached the segments.
   * Returns the log's records after it.
   */
  private async finishRewrite(recovered: Entry[]): Promise<Entry[]> {
    const file = path.join(this.dir, REWRITE_FILE);
    const bytes = await readFileIfExists(file);
    if (bytes === null) return recovered;
    const records = decodeRecords(bytes, file);
    const first = records[0];
    if (first === undefined || first.index <= this.compactionIndex || first.index > this.last + 1) {
      const at = first === undefined ? 'no records' : `records from index ${first.index}`;
      throw new StorageError('corrupt', `${file} is corrupt: it holds ${at}, but the log holds ${this.compactionIndex + 1}..${this.last}`, { file });
    }
    this.append(records);
    await this.flush(true);
    await removeFile(file);
    await fsyncDir(this.dir);
    return [...recovered.filter((e) => e.index < first.index), ...records];
  }

  /** The first index after the compaction point: records before it are never rewritten. */
  firstIndex(): LogIndex {
    return logIndex(this.compactionIndex + 1);
  }

  /** The last record appended (buffered or written), or the compaction point when the log is empty. */
  lastIndex(): LogIndex {
    return logIndex(this.last);
  }

  /**
   * What the log holds now, written or buffered: the records in its segment files and their
   * bytes. Compaction removes whole segments, so records just below the compaction point
   * stay until the segment holding them is wholly below it.
   */
  footprint(): { records: number; bytes: number } {
    let records = 0;
    let bytes = 0;
    for (const segment of this.segments) {
      records += segment.offsets.length;
      bytes += segment.bytes;
    }
    return { records, bytes };
  }

  /**
   * Buffers records; if entries[0].index <= lastIndex(), the log is first truncated from that
   * index. Keeps references to the entries' data until the next flush.
   */
  append(entries: readonly Entry[]): void {
    this.assertUsable();
    const first = entries[0];
    if (first === undefined) return;
    this.checkAppend(entries, first.index);
    if (first.index <= this.last) this.truncateFrom(first.index);
    for (const entry of entries) this.appendOne(entry);
    this.last = first.index + entries.length - 1;
    this.maybePrepareSpare();
  }

  /**
   * Forgets every record after `index` (a record at or before the compaction point cannot be
   * forgotten). Queued in order with appends; durable once the next flush returns — the cut
   * is fdatasync'd before that flush writes anything after it, so a crash leaves either the
   * old log or the shorter one, never a gap.
   */
  truncateAfter(index: LogIndex): void {
    this.assertUsable();
    if (!Number.isSafeInteger(index) || index < this.compactionIndex) {
      throw new StorageError('bad_input', `cannot truncate after index ${index}: records up to ${this.compactionIndex} are compacted`);
    }
    if (index >= this.last) return;
    this.truncateFrom(index + 1);
  }

  setHardState(hs: HardState): void {
    this.assertUsable();
    for (const [key, value] of Object.entries(hs)) {
      const ok = value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
      if (!ok) throw new StorageError('bad_input', `hard state field ${key} must be a finite number, a string or null`);
    }
    this.pendingHardState = { ...hs };
  }

  /**
   * Writes everything buffered since the last flush; with sync=true one fdatasync per segment
   * touched (normally one) covers all of it. A new hard state is written after the records it
   * may refer to are durable, so a commit index on disk never points past the durable log.
   */
  async flush(sync: boolean): Promise<void> {
    this.assertUsable();
    return this.enqueue(() => this.flushNow(sync));
  }

  /**
   * Records that a snapshot covers everything <= meta.index and drops whole segments whose
   * records are all <= keepFrom - 1 (the last segment is always kept: appends continue in it).
   */
  async compact(meta: SnapshotMeta, keepFrom: LogIndex): Promise<void> {
    this.assertUsable();
    this.checkMeta(meta);
    if (meta.index > this.last) {
      throw new StorageError('bad_input', `cannot compact at index ${meta.index}: the log ends at ${this.last} (install it with resetToSnapshot)`);
    }
    if (!Number.isSafeInteger(keepFrom) || keepFrom < 1 || keepFrom > meta.index + 1) {
      throw new StorageError('bad_input', `keepFrom ${keepFrom} must be between 1 and ${meta.index + 1}`);
    }
    this.compactionIndex = meta.index;
    const copy = toSnapshotMeta(meta);
    return this.enqueue(async () => {
      await this.runPendingOps();
      await writeFileAtomic(path.join(this.dir, COMPACTION_FILE), encodeCompaction({ meta: copy, reset: false }));
      const dropped: Segment[] = [];
      while (this.segments.length > 1 && isWhollyBelow(this.segments[0], keepFrom)) {
        dropped.push(this.segments.shift() as Segment);
      }
      for (const segment of dropped) await this.removeSegmentFile(segment);
    });
  }

  /** A follower installed a snapshot: discard the entire log and continue after meta.index. */
  async resetToSnapshot(meta: SnapshotMeta): Promise<void> {
    this.assertUsable();
    this.checkMeta(meta);
    const copy = toSnapshotMeta(meta);
    this.resetting = true;
    return this.enqueue(async () => {
      try {
        await this.resetNow(copy);
      } finally {
        this.resetting = false;
      }
    });
  }

  /** Writes and syncs anything still buffered (unless the log failed), then releases the files. */
  close(): Promise<void> {
    if (this.closing) return this.queue;
    this.closing = true;
    const run = this.queue.then(async () => {
      try {
        if (this.failure === null && (this.ops.length > 0 || this.pendingHardState !== null)) await this.flushNow(true);
      } finally {
        try {
          for (const segment of this.segments) await closeHandle(segment);
        } finally {
          await this.spare?.close();
        }
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- validation -------------------------------------------------------------------------

  private assertUsable(): void {
    if (this.failure !== null) {
      throw new StorageError('bad_state', `the log at ${this.dir} failed earlier and must be reopened: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
    if (this.closing) throw new StorageError('bad_state', `the log at ${this.dir} is closed`);
    if (this.resetting) throw new StorageError('bad_state', `the log at ${this.dir} is being reset to a snapshot`);
  }

  private checkAppend(entries: readonly Entry[], first: number): void {
    if (!Number.isSafeInteger(first) || first <= this.compactionIndex) {
      throw new StorageError('bad_input', `cannot append at index ${first}: records up to ${this.compactionIndex} are compacted`);
    }
    if (first > this.last + 1) {
      throw new StorageError('bad_input', `cannot append at index ${first}: the log ends at ${this.last} (records must be contiguous)`);
    }
    entries.forEach((entry, k) => {
      if (entry.index !== first + k) {
        throw new StorageError('bad_input', `records are not contiguous: index ${entry.index} at position ${k} should be ${first + k}`);
      }
      if (!Number.isSafeInteger(entry.term) || entry.term < 0) {
        throw new StorageError('bad_input', `record ${entry.index} has an invalid term ${entry.term}`);
      }
      if (entry.kind !== 'command' && entry.kind !== 'noop' && entry.kind !== 'config') {
        throw new StorageError('bad_input', `record ${entry.index} has an unknown kind ${String(entry.kind)}`);
      }
      if (entry.data.length > ENTRY_DATA_BYTES_MAX) {
        throw new StorageError('bad_input', `record ${entry.index} carries ${entry.data.length} bytes, over ENTRY_DATA_BYTES_MAX ${ENTRY_DATA_BYTES_MAX}`);
      }
    });
  }

  private checkMeta(meta: SnapshotMeta): void {
    const problem = snapshotMetaProblem(meta);
    if (problem !== null) throw new StorageError('bad_input', `invalid snapshot meta: ${problem}`);
    if (meta.index < this.compactionIndex) {
      throw new StorageError('bad_input', `snapshot at index ${meta.index} is behind the compaction point ${this.compactionIndex}`);
    }
  }

  // ---- buffering (synchronous, in memory) --------------------------------------------------

  private appendOne(entry: Entry): void {
    const size = encodedEntryBytes(entry);
    let segment = this.segments[this.segments.length - 1];
    const full = segment !== undefined && segment.bytes > 0 && segment.bytes + size > this.segmentBytesMax;
    // A segment that grows with its appends is left as soon as a preallocated one is ready.
    const spareWaits = segment !== undefined && segment.bytes > 0 && !segment.preallocated && this.spare?.isReady() === true;
    if (segment === undefined || full || spareWaits) {
      segment = this.roll(entry.index, segment ?? null);
    }
    segment.offsets.push(segment.bytes);
    const tail = this.ops[this.ops.length - 1];
    if (tail?.kind === 'write' && tail.segment === segment && tail.at + tail.bytes === segment.bytes) {
      tail.entries.push(entry);
      tail.bytes += size;
    } else {
      this.ops.push({ kind: 'write', segment, at: segment.bytes, entries: [entry], bytes: size });
    }
    segment.bytes += size;
  }

  private roll(firstIndex: number, previous: Segment | null): Segment {
    const name = segmentName(firstIndex);
    const spare = this.spare?.take() ?? null;
    const segment: Segment = {
      firstIndex,
      name,
      path: path.join(this.dir, name),
      offsets: [],
      bytes: 0,
      handle: null,
      writtenBytes: 0,
      syncedBytes: 0,
      fileBytes: spare === null ? 0 : this.segmentBytesMax,
      preallocated: spare !== null,
    };
    this.segments.push(segment);
    this.ops.push({ kind: 'create', segment, previous, spare });
    return segment;
  }

  /**
   * The next segment is prepared while the last one fills: past half of a preallocated one, or
   * past preallocateAfterBytes of one that grows; only while syncs are small
   * (PREALLOCATE_SYNC_BYTES_MAX).
   */
  private maybePrepareSpare(): void {
    const tail = this.segments[this.segments.length - 1];
    if (this.spare === null || this.preallocateAfterBytes === null || tail === undefined) return;
    if (this.closing || this.resetting) return;
    if (this.bytesPerSync === null || this.bytesPerSync > PREALLOCATE_SYNC_BYTES_MAX) return;
    if (tail.bytes >= (tail.preallocated ? this.segmentBytesMax / 2 : this.preallocateAfterBytes)) this.spare.prepare();
  }

  /** Testing only: settles once a spare segment being prepared is ready (or its preparation failed). */
  async spareSettled(): Promise<void> {
    await this.spare?.settled();
  }

  /** A follower's conflicting suffix: forget records from `index` on (callers checked the bounds). */
  private truncateFrom(index: number): void {
    let i = this.segments.length - 1;
    while (i > 0 && (this.segments[i] as Segment).firstIndex > index) i -= 1;
    const segment = this.segments[i] as Segment;
    const cut = segment.offsets[index - segment.firstIndex] ?? segment.bytes;
    segment.offsets.length = index - segment.firstIndex;
    segment.bytes = cut;
    const later = this.segments.splice(i + 1);
    if (later.length > 0 || !this.trimBuffered(segment, cut)) this.ops.push({ kind: 'truncate', from: index, segment, bytes: cut, later });
    this.last = index - 1;
  }

  /** When the cut falls inside records not yet written, drops them from the buffer instead. */
  private trimBuffered(segment: Segment, bytes: number): boolean {
    const tail = this.ops[this.ops.length - 1];
    if (tail?.kind !== 'write' || tail.segment !== segment || tail.at > bytes) return false;
    while (tail.at + tail.bytes > bytes) {
      const dropped = tail.entries.pop() as Entry;
      tail.bytes -= encodedEntryBytes(dropped);
    }
    if (tail.entries.length === 0) this.ops.pop();
    return true;
  }

  /**
   * Testing only — a power cut: every segment loses what was written since its last fsync,
   * except a random prefix of it (possibly half a record), the way a disk may keep part of
   * an unsynced write; in a segment with zeros past its records (preallocated) the unsynced
   * 4 KiB pages are kept or lost each on its own (losePages). Synchronous, so the caller can
   * die right after. Returns bytes lost.
   */
  loseUnsyncedWrites(random: () => number): number {
    let lost = 0;
    for (const segment of this.segments) {
      const unsynced = segment.writtenBytes - segment.syncedBytes;
      if (unsynced <= 0) continue;
      if (segment.fileBytes > segment.writtenBytes) {
        lost += losePages(segment.path, segment.syncedBytes, segment.writtenBytes, random);
        continue;
      }
      const kept = Math.floor(random() * unsynced);
      truncateSync(segment.path, segment.syncedBytes + kept);
      lost += unsynced - kept;
    }
    return lost;
  }

  // ---- file work (asynchronous, serialized) ------------------------------------------------

  /** Runs `work` after everything queued before it; a failure leaves the log unusable. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.failure !== null) throw this.failure;
      try {
        await work();
      } catch (e: unknown) {
        const error = e instanceof StorageError ? e : ioError('update the log in', this.dir, e);
        this.failure = error;
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async flushNow(sync: boolean): Promise<void> {
    await this.runPendingOps();
    const hardState = this.pendingHardState;
    if (sync || hardState !== null) await this.syncDirty();
    if (hardState !== null) {
      this.pendingHardState = null;
      await writeFileAtomic(path.join(this.dir, STATE_FILE), encodeCheckedFile(STATE_MAGIC, hardState));
    }
  }

  /**
   * A cut followed by records (a Raft follower's conflicting suffix, a Multi-Paxos acceptor
   * accepting a slot again, which hands storage every record from that slot on) is a rewrite,
   * and must be atomic: the records after the cut may have been acknowledged (a Multi-Paxos
   * acceptor's unchanged slots after the rewritten one, or the slot's old value, which an
   * acceptor may not forget until the new one is durable), so a power cut that kept the cut
   * and lost the records after it would forget them. The records of the rewrite are therefore
   * made durable first in a file of their own (written beside and renamed into place, so it
   * is whole or absent), then the cut and the writes run as before and are synced, and the
   * file is removed; open() carries out a rewrite whose file it finds. A crash leaves the old
   * log or the new one. Only a flush that cuts pays for it (one more file write and directory
   * fsync); appends never do, and a cut with nothing after it needs no file.
   */
  private async runPendingOps(): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    const rewrite = rewrittenRecords(ops);
    if (rewrite.length > 0) await writeFileAtomic(path.join(this.dir, REWRITE_FILE), encodeRecords(rewrite));
    for (const op of ops) await this.runOp(op);
    if (rewrite.length === 0) return;
    await this.syncDirty();
    await removeFile(path.join(this.dir, REWRITE_FILE));
    await fsyncDir(this.dir);
  }

  private async runOp(op: PendingOp): Promise<void> {
    switch (op.kind) {
      case 'create':
        return this.createSegmentFile(op.segment, op.previous, op.spare);
      case 'write': {
        const chunks = encodeEntryChunks(op.entries, op.bytes);
        await this.io('write', op.segment, async (h) => writeChunksFully(h, chunks, op.at));
        op.segment.writtenBytes = op.at + op.bytes;
        op.segment.fileBytes = Math.max(op.segment.fileBytes, op.segment.writtenBytes);
        this.bytesSinceSync += op.bytes;
        this.unsynced.add(op.segment);
        return;
      }
      case 'truncate':
        return this.truncateSegmentFiles(op.segment, op.bytes, op.later);
      default:
        return assertNever(op, 'pending log operation');
    }
  }

  /**
   * The segment being left is made durable first, so only the last segment can ever hold a
   * torn write and a bad record in any other segment is certain damage.
   */
  private async createSegmentFile(segment: Segment, previous: Segment | null, spare: string | null): Promise<void> {
    if (previous !== null && previous.fileBytes > previous.writtenBytes) {
      // Sealed segments end with their last record, as they always did (recovery accepts
      // zeros only at the end of the last segment, and older builds none but a torn tail's).
      await this.io('truncate', previous, async (h) => h.truncate(previous.writtenBytes));
      previous.fileBytes = previous.writtenBytes;
      previous.preallocated = false;
      this.unsynced.add(previous);
    }
    if (previous !== null && this.unsynced.has(previous)) {
      const written = previous.writtenBytes;
      await this.io('fdatasync', previous, async (h) => datasync(h));
      previous.syncedBytes = written;
      this.unsynced.delete(previous);
    }
    if (previous !== null) await closeHandle(previous);
    try {
      if (spare !== null && (await renamedInto(spare, segment.path))) {
        segment.handle = await fs.open(segment.path, 'r+');
      } else {
        segment.preallocated = false;
        segment.fileBytes = 0;
        segment.handle = await fs.open(segment.path, 'w');
      }
    } catch (e: unknown) {
      throw ioError('create', segment.path, e);
    }
    this.dirDirty = true;
  }

  /**
   * Durable before any new record is written, later segments first (highest first, one
   * directory fsync each) and then the cut: a crash in between leaves either the old log or a
   * shorter prefix of it, never new records followed by old ones or a gap between segments.
   */
  private async truncateSegmentFiles(segment: Segment, bytes: number, later: readonly Segment[]): Promise<void> {
    for (const removed of [...later].reverse()) {
      await this.removeSegmentFile(removed);
      await fsyncDir(this.dir);
      this.dirDirty = false;
    }
    await this.io('truncate', segment, async (h) => {
      await h.truncate(bytes);
      await datasync(h);
    });
    segment.writtenBytes = bytes;
    segment.syncedBytes = bytes;
    segment.fileBytes = bytes;
    segment.preallocated = false;
    this.unsynced.delete(segment);
  }

  private async removeSegmentFile(segment: Segment): Promise<void> {
    this.unsynced.delete(segment);
    await closeHandle(segment);
    await removeFile(segment.path);
    this.dirDirty = true;
  }

  private async syncDirty(): Promise<void> {
    for (const segment of this.unsynced) {
      const written = segment.writtenBytes;
      await this.io('fdatasync', segment, async (h) => datasync(h));
      segment.syncedBytes = written;
    }
    this.unsynced.clear();
    if (this.bytesSinceSync > 0) {
      const mean = this.bytesPerSync ?? this.bytesSinceSync;
      this.bytesPerSync = mean + (this.bytesSinceSync - mean) / 8;
      this.bytesSinceSync = 0;
      this.maybePrepareSpare();
    }
    if (this.dirDirty) {
      this.dirDirty = false;
      await fsyncDir(this.dir);
    }
    const tail = this.segments[this.segments.length - 1];
    for (const segment of this.segments) if (segment !== tail) await closeHandle(segment);
  }

  /** Runs one file operation on a segment, opening it on first use. */
  private async io(action: string, segment: Segment, work: (h: FileHandle) => Promise<unknown>): Promise<void> {
    try {
      segment.handle ??= await fs.open(segment.path, 'r+');
      await work(segment.handle);
    } catch (e: unknown) {
      throw ioError(action, segment.path, e);
    }
  }

  private async resetNow(meta: SnapshotMeta): Promise<void> {
    for (const op of this.ops) if (op.kind === 'create' && op.spare !== null) await removeFile(op.spare);
    this.ops = [];
    await writeFileAtomic(path.join(this.dir, COMPACTION_FILE), encodeCompaction({ meta, reset: true }));
    for (const segment of this.segments) await closeHandle(segment);
    this.segments = [];
    this.unsynced.clear();
    // Highest first, each removal made durable before the next: an interrupted reset leaves
    // the lowest old segments, which open() recognizes (named at or below the reset point).
    const files = segmentFiles(this.dir, await listDir(this.dir)).reverse();
    for (const file of files) {
      await removeFile(file.path);
      await fsyncDir(this.dir);
    }
    this.compactionIndex = meta.index;
    this.last = meta.index;
  }
}

/**
 * The records a batch of operations leaves after its lowest cut (none when it cuts nothing or
 * writes nothing after its cut): the cut is at records[0].index.
 */
function rewrittenRecords(ops: readonly PendingOp[]): Entry[] {
  let from: number | null = null;
  let records: Entry[] = [];
  for (const op of ops) {
    if (op.kind === 'truncate') {
      if (from === null || op.from < from) {
        from = op.from;
        records = [];
      } else {
        records.length = op.from - from;
      }
    } else if (op.kind === 'write' && from !== null) {
      records.push(...op.entries);
    }
  }
  return records;
}

/** Records a rewrite file holds: all good, or the file is damaged (it is never torn). */
function decodeRecords(bytes: Buffer, file: string): Entry[] {
  const scan = scanSegment(bytes, firstRecordIndex(bytes), 0);
  if (scan.problem !== null || scan.entries.length === 0 || scan.goodBytes !== bytes.length) {
    const why = scan.problem?.reason ?? (scan.entries.length === 0 ? 'it holds no records' : `zeros after its last record, at offset ${scan.goodBytes}`);
    throw new StorageError('corrupt', `${file} is corrupt: ${why}`, { file, offset: scan.goodBytes });
  }
  return scan.entries;
}

function isWhollyBelow(segment: Segment | undefined, keepFrom: number): boolean {
  if (segment === undefined || segment.offsets.length === 0) return false;
  return segment.firstIndex + segment.offsets.length - 1 <= keepFrom - 1;
}

/** Renames a spare segment into place; false when it is gone (another process opened the log and removed it). */
async function renamedInto(spare: string, file: string): Promise<boolean> {
  try {
    await fs.rename(spare, file);
    return true;
  } catch (e: unknown) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/**
 * A power cut in a file that does not grow (zeros past its records): each 4 KiB page of the
 * unsynced bytes [from, to) reached the disk or not on its own, and a lost one holds the zeros
 * it held before (at least one is lost). Returns the bytes lost.
 */
function losePages(file: string, from: number, to: number, random: () => number): number {
  const page = 4096;
  let lost = 0;
  let last = from;
  for (let at = Math.floor(from / page) * page; at < to; at += page) {
    last = Math.max(at, from);
    if (random() < 0.5) continue;
    zeroSync(file, last, Math.min(at + page, to));
    lost += Math.min(at + page, to) - last;
  }
  if (lost === 0) {
    zeroSync(file, last, to);
    lost = to - last;
  }
  return lost;
}

/** Zeros over [from, to) of a file, synchronously (loseUnsyncedWrites). */
function zeroSync(file: string, from: number, to: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(to - from), 0, to - from, from);
  } finally {
    closeSync(fd);
  }
}

async function closeHandle(segment: Segment): Promise<void> {
  const handle = segment.handle;
  segment.handle = null;
  if (handle === null) return;
  try {
    await handle.close();
  } catch (e: unknown) {
    throw ioError('close', segment.path, e);
  }
}

function encodeCompaction(record: CompactionRecord): Buffer {
  const { index, term, members } = record.meta;
  return encodeCheckedFile(COMPACTION_MAGIC, { index, term, members, reset: record.reset });
}

async function readCompaction(file: string): Promise<CompactionRecord | null> {
  const bytes = await readFileIfExists(file);
  if (bytes === null) return null;
  const payload = decodeCheckedFile(COMPACTION_MAGIC, bytes, file);
  const meta = parseSnapshotMeta(payload, file);
  const reset = (payload as { reset?: unknown }).reset;
  if (typeof reset !== 'boolean') throw new StorageError('corrupt', `${file} is corrupt: reset is not a boolean`, { file });
  return { meta, reset };
}

async function readHardState(file: string): Promise<HardState | null> {
  const bytes = await readFileIfExists(file);
  if (bytes === null) return null;
  const payload = decodeCheckedFile(STATE_MAGIC, bytes, file);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new StorageError('corrupt', `${file} is corrupt: hard state is not an object`, { file });
  }
  for (const [key, value] of Object.entries(payload)) {
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      throw new StorageError('corrupt', `${file} is corrupt: hard state field ${key} is neither number, string nor null`, { file });
    }
  }
  return payload as HardState;
}
