import { promises as fs } from 'node:fs';
import type { Entry } from '@quorumlite/consensus';
import { ioError, StorageError } from './errors';
import { fsyncDir, readFileIfExists, removeFile, writeFully } from './files';
import { findRecordAfter, isZeroRange, lastNonZero, scanSegment, type SegmentScan } from './record';
import type { SegmentFile } from './segment-files';

/** A segment as the log keeps it in memory after open. */
export interface RecoveredSegment extends SegmentFile {
  /** Byte offset of each record; record k has index firstIndex + k. */
  readonly offsets: number[];
  readonly bytes: number;
  /** The file's size: past `bytes` it holds only zeros (a preallocated segment's unused part). */
  readonly fileBytes: number;
}

export interface Recovery {
  readonly segments: RecoveredSegment[];
  /** Entries after the compaction point, contiguous. */
  readonly entries: Entry[];
  readonly repairedTailBytes: number;
}

export interface CompactionPoint {
  /** Everything at or below this index is in a snapshot (0: no snapshot). */
  readonly index: number;
  /** The log was discarded at this point (a follower installed a snapshot). */
  readonly reset: boolean;
}

/**
 * Reads the segments, checks them and cuts a torn tail. Rules:
 * - segments wholly at or below the compaction point are leftovers of a compaction and removed;
 * - after a reset, any segment named at or below the point means the reset was interrupted,
 *   and every segment belongs to the discarded log (resets remove the highest segments first);
 * - the kept segments must be contiguous and continue right after the compaction point;
 * - a bad record is a torn tail only at the end of the last segment with no intact record after it,
 *   or, in a preallocated segment, with a lost page between it and the next intact one (showsLostPage);
 * - zeros from a record boundary to the end of the last segment are unused preallocated space,
 *   not damage; other segments end with their last record.
 */
export async function recoverSegments(dir: string, files: readonly SegmentFile[], point: CompactionPoint, segmentBytes: number): Promise<Recovery> {
  const { live, stale } = splitStale(files, point);
  if (live.length > 0 && live[0] !== undefined && live[0].firstIndex > point.index + 1) {
    const start = point.index === 0 ? 'from index 1' : `right after the snapshot at index ${point.index}`;
    throw new StorageError('corrupt', `log segment ${live[0].name} starts at index ${live[0].firstIndex} but the log must continue ${start}`, {
      file: live[0].path,
    });
  }
  const segments: RecoveredSegment[] = [];
  const entries: Entry[] = [];
  let repairedTailBytes = 0;
  for (let i = 0; i < live.length; i += 1) {
    const file = live[i] as SegmentFile;
    checkContiguous(segments[segments.length - 1], file);
    const read = await readSegment(file, i === live.length - 1, point.index, segmentBytes);
    repairedTailBytes += read.repairedTailBytes;
    segments.push(read.segment);
    for (const entry of read.entries) entries.push(entry);
  }
  const last = segments[segments.length - 1];
  if (last !== undefined && last.firstIndex + last.offsets.length - 1 < point.index) {
    // Ends before the compaction point (a compaction whose removals were lost): all of it is in the snapshot.
    stale.push(last);
    segments.pop();
  }
  await removeStale(dir, stale);
  return { segments, entries, repairedTailBytes };
}

function splitStale(files: readonly SegmentFile[], point: CompactionPoint): { live: SegmentFile[]; stale: SegmentFile[] } {
  if (point.reset && files.some((f) => f.firstIndex <= point.index)) return { live: [], stale: [...files] };
  let start = 0;
  files.forEach((f, i) => {
    if (f.firstIndex <= point.index + 1) start = i;
  });
  return { live: files.slice(start), stale: files.slice(0, start) };
}

function checkContiguous(previous: RecoveredSegment | undefined, next: SegmentFile): void {
  if (previous === undefined) return;
  const expected = previous.firstIndex + previous.offsets.length;
  if (next.firstIndex === expected) return;
  throw new StorageError(
    'corrupt',
    `log segments ${previous.name} and ${next.name} are not contiguous: ${previous.name} ends at index ${expected - 1} but ${next.name} starts at index ${next.firstIndex}`,
    { file: next.path },
  );
}

interface SegmentRead {
  readonly segment: RecoveredSegment;
  readonly entries: Entry[];
  readonly repairedTailBytes: number;
}

/** `segmentBytes`: the size the log makes a preallocated segment (its segmentBytesMax). */
async function readSegment(file: SegmentFile, isLast: boolean, emitAfter: number, segmentBytes: number): Promise<SegmentRead> {
  const buf = (await readFileIfExists(file.path)) ?? Buffer.alloc(0);
  const end = lastNonZero(buf) + 1;
  // Made as large as a segment, and zeros after its last written byte.
  const preallocated = buf.length >= segmentBytes && end < buf.length;
  const scan = keepRecordsOnly(scanSegment(buf, file.firstIndex, emitAfter), buf);
  const segment = { ...file, offsets: scan.offsets, bytes: scan.goodBytes, fileBytes: buf.length };
  const at = scan.goodBytes;
  const corrupt = (why: string): StorageError =>
    new StorageError('corrupt', `log segment ${file.name} is corrupt at offset ${at}: ${why}`, { file: file.path, offset: at });
  if (scan.problem === null) {
    // A segment is cut to its last record before the next one is created (DurableLog).
    if (!isLast && buf.length > at) throw corrupt('zeros after its last record, in a segment that is not the last');
    return { segment, entries: scan.entries, repairedTailBytes: 0 };
  }
  if (!isLast) throw corrupt(`${scan.problem.reason}, in a segment that is not the last`);
  if (!scan.problem.mayBeTorn) throw corrupt(scan.problem.reason);
  const expected = file.firstIndex + scan.offsets.length;
  const after = findRecordAfter(buf, at, expected, end);
  if (after !== null && !(preallocated && showsLostPage(buf, at, after))) {
    throw corrupt(`${scan.problem.reason}, and an intact record follows at offset ${after}`);
  }
  if (preallocated) {
    // The file goes on in zeros (a preallocated segment): the torn bytes become zeros too, and
    // the file keeps its size for the appends to come.
    await zeroTail(file.path, at, end);
    return { segment, entries: scan.entries, repairedTailBytes: end - at };
  }
  await cutTail(file.path, at);
  return { segment: { ...segment, fileBytes: at }, entries: scan.entries, repairedTailBytes: buf.length - at };
}

/**
 * The scan's entries point into the file's buffer; when the file goes on well past its records
 * (a preallocated segment is mostly zeros), they are moved to a copy of the records alone, so
 * the log does not hold a segment's worth of zeros for as long as it holds an entry.
 */
function keepRecordsOnly(scan: SegmentScan, buf: Buffer): SegmentScan {
  if (buf.length - scan.goodBytes < PAGE_BYTES || scan.entries.length === 0) return scan;
  const copy = Buffer.from(buf.subarray(0, scan.goodBytes));
  const entries = scan.entries.map((e) => {
    const from = e.data.byteOffset - buf.byteOffset;
    return { ...e, data: copy.subarray(from, from + e.data.length) };
  });
  return { ...scan, entries };
}

const PAGE_BYTES = 4096;

/**
 * Whether the bad stretch [from, to) of a preallocated segment shows a page that never reached
 * the disk: zeros from `from` to the end of its page, or a whole aligned page of zeros. A write
 * into a preallocated segment overwrites zeros, and a power cut before its fdatasync may keep
 * some of its pages and not others: good records, zeros where a page was lost (a page that
 * also held synced records keeps them, zeros after), then intact records of the same unsynced
 * write. A synced write has every page on the disk, so such a page marks a write that never
 * completed, after which nothing was acknowledged: a torn tail. Without one, intact records
 * after a bad one are damage. The rule cannot tell a lost page from a synced record that is
 * damaged elsewhere and carries a whole aligned page of zeros in its data: that record and
 * those after it would be cut, as etcd's WAL also would (its torn-entry check looks for a zero
 * sector); a segment that grows with its appends never takes this path.
 */
function showsLostPage(buf: Buffer, from: number, to: number): boolean {
  const boundary = Math.ceil(from / PAGE_BYTES) * PAGE_BYTES;
  if (boundary > from && boundary <= to && isZeroRange(buf, from, boundary)) return true;
  for (let at = boundary; at + PAGE_BYTES <= to; at += PAGE_BYTES) {
    if (isZeroRange(buf, at, at + PAGE_BYTES)) return true;
  }
  return false;
}

/** Zeros over [from, to) of the last segment, synced: what follows the last good record reads as unused space. */
async function zeroTail(file: string, from: number, to: number): Promise<void> {
  try {
    const handle = await fs.open(file, 'r+');
    try {
      await writeFully(handle, Buffer.alloc(to - from), from);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch (e: unknown) {
    throw ioError('zero the torn tail of', file, e);
  }
}

/** A crash tore the last write: drop its remains so new records follow the last good one. */
async function cutTail(file: string, bytes: number): Promise<void> {
  try {
    const handle = await fs.open(file, 'r+');
    try {
      await handle.truncate(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e: unknown) {
    throw ioError('cut the torn tail of', file, e);
  }
}

async function removeStale(dir: string, stale: readonly SegmentFile[]): Promise<void> {
  if (stale.length === 0) return;
  for (const file of stale) await removeFile(file.path);
  await fsyncDir(dir);
}
