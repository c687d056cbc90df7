import { crc32 } from 'node:zlib';
import type { Entry, EntryKind } from '@quorumlite/consensus';
import { assertNever, logIndex, term } from '@quorumlite/consensus';

/**
 * Pure codec for log records. On disk each record is
 *   [u32 body length][u32 CRC-32 of body][body]
 * and an entry body is
 *   [u8 type = 1][u64 index][u64 term][u8 kind][data bytes]
 * Integers are little-endian; u64 values are limited to JavaScript safe integers.
 */
export const RECORD_HEADER_BYTES = 8;
export const RECORD_TYPE_ENTRY = 1;
/** type + index + term + kind: the smallest possible entry body. */
export const ENTRY_BODY_FIXED_BYTES = 18;
/** Largest command one record may carry; a bigger one is refused at append. */
export const ENTRY_DATA_BYTES_MAX = 64 * 1024 * 1024;
const BODY_BYTES_MAX = ENTRY_BODY_FIXED_BYTES + ENTRY_DATA_BYTES_MAX;
const U32 = 0x1_0000_0000;
/** High word of the largest safe integer (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

const KIND_COMMAND = 1;
const KIND_NOOP = 2;
const KIND_CONFIG = 3;

function kindCode(kind: EntryKind): number {
  switch (kind) {
    case 'command':
      return KIND_COMMAND;
    case 'noop':
      return KIND_NOOP;
    case 'config':
      return KIND_CONFIG;
    default:
      return assertNever(kind, 'entry kind');
  }
}

function kindFromCode(code: number): EntryKind | null {
  if (code === KIND_COMMAND) return 'command';
  if (code === KIND_NOOP) return 'noop';
  if (code === KIND_CONFIG) return 'config';
  return null;
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % U32, at);
  buf.writeUInt32LE(Math.floor(value / U32), at + 4);
}

/** Reads a u64 as a number, or -1 when it does not fit a safe integer. */
function readU64(buf: Buffer, at: number): number {
  const high = buf.readUInt32LE(at + 4);
  if (high > SAFE_HIGH_WORD_MAX) return -1;
  return high * U32 + buf.readUInt32LE(at);
}

export function encodedEntryBytes(entry: Entry): number {
  return RECORD_HEADER_BYTES + ENTRY_BODY_FIXED_BYTES + entry.data.length;
}

/** Encodes one entry record into `out` at `at`; returns the offset after it. */
export function encodeEntryInto(entry: Entry, out: Buffer, at: number): number {
  const bodyAt = writeEntryHead(entry, out, at);
  out.set(entry.data, bodyAt + ENTRY_BODY_FIXED_BYTES);
  const bodyBytes = ENTRY_BODY_FIXED_BYTES + entry.data.length;
  out.writeUInt32LE(crc32(out.subarray(bodyAt, bodyAt + bodyBytes)), at + 4);
  return bodyAt + bodyBytes;
}

/** The record header and the fixed part of the body, without the checksum; returns the body's offset. */
function writeEntryHead(entry: Entry, out: Buffer, at: number): number {
  const bodyAt = at + RECORD_HEADER_BYTES;
  out.writeUInt32LE(ENTRY_BODY_FIXED_BYTES + entry.data.length, at);
  out.writeUInt8(RECORD_TYPE_ENTRY, bodyAt);
  writeU64(out, entry.index, bodyAt + 1);
  writeU64(out, entry.term, bodyAt + 9);
  out.writeUInt8(kindCode(entry.kind), bodyAt + 17);
  return bodyAt;
}

/**
 * An entry at least this large is written from its own bytes (a gathered write), not copied
 * into the write buffer first: a copy of a 16 MiB command costs tens of milliseconds of the
 * event loop, most of it faulting in fresh pages.
 */
export const ENTRY_GATHER_BYTES_MIN = 64 * 1024;

/**
 * The records of `entries` as the chunks of one gathered write, `bytes` long in all: small
 * records packed into one buffer, each large entry's data passed as it is behind its own
 * header (its checksum continues over the data, so the bytes on disk are those of
 * encodeEntryInto).
 */
export function encodeEntryChunks(entries: readonly Entry[], bytes: number): Uint8Array[] {
  const large = entries.filter((e) => e.data.length >= ENTRY_GATHER_BYTES_MIN);
  const packedBytes = bytes - large.reduce((n, e) => n + e.data.length, 0);
  const packed = Buffer.allocUnsafe(packedBytes);
  const chunks: Uint8Array[] = [];
  let chunkStart = 0;
  let at = 0;
  for (const entry of entries) {
    if (entry.data.length < ENTRY_GATHER_BYTES_MIN) {
      at = encodeEntryInto(entry, packed, at);
      continue;
    }
    const bodyAt = writeEntryHead(entry, packed, at);
    const head = packed.subarray(bodyAt, bodyAt + ENTRY_BODY_FIXED_BYTES);
    packed.writeUInt32LE(crc32(entry.data, crc32(head)), at + 4);
    at = bodyAt + ENTRY_BODY_FIXED_BYTES;
    chunks.push(packed.subarray(chunkStart, at), entry.data);
    chunkStart = at;
  }
  if (at !== packedBytes) throw new Error(`log write of ${bytes} bytes encoded ${at + bytes - packedBytes}`);
  if (chunkStart < at) chunks.push(packed.subarray(chunkStart, at));
  return chunks;
}

/** Records one after another, as a segment holds them; `bytes` is their encoded size when the caller knows it. */
export function encodeRecords(records: readonly Entry[], bytes = records.reduce((n, e) => n + encodedEntryBytes(e), 0)): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const e of records) at = encodeEntryInto(e, out, at);
  return out;
}

/**
 * Why a record could not be read. `mayBeTorn` problems (short, bad length, bad checksum) are
 * what a crash during a write leaves behind; the others are damage whatever their position.
 */
export interface RecordProblem {
  readonly reason: string;
  readonly mayBeTorn: boolean;
}

export interface SegmentScan {
  /** Byte offset of every good record, in order; record k has index firstIndex + k. */
  readonly offsets: number[];
  /** Decoded entries with index > emitAfter. */
  readonly entries: Entry[];
  /** Bytes of good records from the start (where a bad record or zero padding begins, or the file size). */
  readonly goodBytes: number;
  readonly problem: RecordProblem | null;
}

type Parsed = { readonly ok: true; readonly end: number } | { readonly ok: false; readonly problem: RecordProblem };

/** Checks the frame (length, bounds, checksum) of the record at `at`. */
function parseFrame(buf: Buffer, at: number): Parsed {
  const left = buf.length - at;
  if (left < RECORD_HEADER_BYTES) {
    return { ok: false, problem: { mayBeTorn: true, reason: `${left}-byte fragment shorter than a record header` } };
  }
  const bodyBytes = buf.readUInt32LE(at);
  if (bodyBytes < ENTRY_BODY_FIXED_BYTES || bodyBytes > BODY_BYTES_MAX) {
    return { ok: false, problem: { mayBeTorn: true, reason: `impossible record length ${bodyBytes}` } };
  }
  const end = at + RECORD_HEADER_BYTES + bodyBytes;
  if (end > buf.length) {
    return { ok: false, problem: { mayBeTorn: true, reason: `record length ${bodyBytes} runs past the end of the file` } };
  }
  if (crc32(buf.subarray(at + RECORD_HEADER_BYTES, end)) !== buf.readUInt32LE(at + 4)) {
    return { ok: false, problem: { mayBeTorn: true, reason: 'checksum mismatch' } };
  }
  return { ok: true, end };
}

/**
 * Reads a segment's records in order, expecting indices firstIndex, firstIndex+1, …
 * Stops at the first bad record and says why; the caller decides whether that is a torn tail.
 * Zeros from a record boundary to the end of the file are the unused part of a preallocated
 * segment (no record has length 0), a clean end: goodBytes stops before them.
 */
export function scanSegment(buf: Buffer, firstIndex: number, emitAfter: number): SegmentScan {
  const offsets: number[] = [];
  const entries: Entry[] = [];
  let at = 0;
  while (at < buf.length) {
    if (isZeroFrom(buf, at)) break;
    const expected = firstIndex + offsets.length;
    const frame = parseFrame(buf, at);
    if (!frame.ok) {
      const reason = `${frame.problem.reason} (record for index ${expected})`;
      return { offsets, entries, goodBytes: at, problem: { ...frame.problem, reason } };
    }
    const body = at + RECORD_HEADER_BYTES;
    const semantic = bodyProblem(buf, body, expected);
    if (semantic !== null) return { offsets, entries, goodBytes: at, problem: { mayBeTorn: false, reason: semantic } };
    offsets.push(at);
    if (expected > emitAfter) {
      entries.push({
        index: logIndex(expected),
        term: term(readU64(buf, body + 9)),
        kind: kindFromCode(buf.readUInt8(body + 17)) ?? 'noop',
        data: buf.subarray(body + ENTRY_BODY_FIXED_BYTES, frame.end),
      });
    }
    at = frame.end;
  }
  return { offsets, entries, goodBytes: at, problem: null };
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

/** Whether every byte of [from, to) is zero, compared a chunk at a time. */
export function isZeroRange(buf: Buffer, from: number, to: number): boolean {
  for (let at = from; at < to; at += ZERO_CHUNK.length) {
    const end = Math.min(to, at + ZERO_CHUNK.length);
    if (!buf.subarray(at, end).equals(ZERO_CHUNK.subarray(0, end - at))) return false;
  }
  return true;
}

/** Whether every byte from `at` to the end is zero (cheap when the first word is not). */
export function isZeroFrom(buf: Buffer, at: number): boolean {
  if (buf.length - at >= 4 && buf.readUInt32LE(at) !== 0) return false;
  return isZeroRange(buf, at, buf.length);
}

/** The offset of the last byte that is not zero (-1 for none), a chunk at a time from the end. */
export function lastNonZero(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && isZeroRange(buf, Math.max(0, end - ZERO_CHUNK.length), end)) end = Math.max(0, end - ZERO_CHUNK.length);
  let i = end - 1;
  while (i >= 0 && buf[i] === 0) i -= 1;
  return i;
}

/** A checksummed body that still makes no sense is damage (or a newer format), never a torn write. */
function bodyProblem(buf: Buffer, body: number, expected: number): string | null {
  const type = buf.readUInt8(body);
  if (type !== RECORD_TYPE_ENTRY) return `unknown record type ${type}`;
  const index = readU64(buf, body + 1);
  if (index !== expected) return `record holds index ${index} where index ${expected} belongs`;
  if (readU64(buf, body + 9) < 0) return `record for index ${expected} has a term beyond 2^53`;
  const kind = buf.readUInt8(body + 17);
  if (kindFromCode(kind) === null) return `record for index ${expected} has unknown kind ${kind}`;
  return null;
}

/** The index the first record of `buf` claims (0 when it is too short to hold one); scanSegment checks it. */
export function firstRecordIndex(buf: Buffer): number {
  if (buf.length < RECORD_HEADER_BYTES + ENTRY_BODY_FIXED_BYTES) return 0;
  return Math.max(0, readU64(buf, RECORD_HEADER_BYTES + 1));
}

/**
 * Looks for any intact record after a bad one at `from` whose index could follow it.
 * Finding one means the bad record is not a torn tail: acknowledged data lies beyond it.
 * Only runs on the repair path; the index and type filters keep the byte-by-byte search cheap.
 * No record starts at or after `startsBefore` (a file's last non-zero byte: every record's
 * type byte is 1), so a preallocated segment's zeros are not searched.
 */
export function findRecordAfter(buf: Buffer, from: number, expectedIndex: number, startsBefore = buf.length): number | null {
  const smallest = RECORD_HEADER_BYTES + ENTRY_BODY_FIXED_BYTES;
  const highestPlausible = expectedIndex + Math.floor((startsBefore - from) / smallest) + 1;
  for (let at = from + 1; at < startsBefore && at + smallest <= buf.length; at += 1) {
    if (buf[at + RECORD_HEADER_BYTES] !== RECORD_TYPE_ENTRY) continue;
    const index = readU64(buf, at + RECORD_HEADER_BYTES + 1);
    if (index < expectedIndex || index > highestPlausible) continue;
    if (parseFrame(buf, at).ok) return at;
  }
  return null;
}
