import { crc32 } from 'node:zlib';
import { MEMBER_ROLES, type LogIndex, type Member, type MemberRole, type SnapshotMeta, type Term } from '@quorumlite/consensus';
import { logIndex, term } from '@quorumlite/consensus';
import { StorageError } from './errors';

/**
 * Small metadata files (hard state, compaction point, snapshot metas) share one frame:
 *   [4 bytes magic][u32 version][u32 payload length][u32 CRC-32 of payload][payload: UTF-8 JSON]
 * The magic tells the files apart, so a file copied to the wrong name is caught too.
 */
export const CHECKED_FILE_VERSION = 1;
const HEADER_BYTES = 16;

export function encodeCheckedFile(magic: string, payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.write(magic, 0, 4, 'latin1');
  out.writeUInt32LE(CHECKED_FILE_VERSION, 4);
  out.writeUInt32LE(body.length, 8);
  out.writeUInt32LE(crc32(body), 12);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** Returns the parsed payload, or throws `corrupt` naming the file and what is wrong. */
export function decodeCheckedFile(magic: string, bytes: Buffer, file: string): unknown {
  const fail = (reason: string, offset = 0): never => {
    throw new StorageError('corrupt', `${file} is corrupt: ${reason}`, { file, offset });
  };
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is shorter than its ${HEADER_BYTES}-byte header`);
  if (bytes.toString('latin1', 0, 4) !== magic) fail(`bad magic (expected ${magic})`);
  const version = bytes.readUInt32LE(4);
  if (version !== CHECKED_FILE_VERSION) fail(`unsupported version ${version} (this build reads ${CHECKED_FILE_VERSION})`, 4);
  const length = bytes.readUInt32LE(8);
  if (length !== bytes.length - HEADER_BYTES) {
    fail(`payload length ${length} does not match the file size ${bytes.length}`, 8);
  }
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32(body) !== bytes.readUInt32LE(12)) fail('checksum mismatch', HEADER_BYTES);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e: unknown) {
    throw new StorageError('corrupt', `${file} is corrupt: payload is not JSON`, { file, offset: HEADER_BYTES, cause: e });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndexLike = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks a snapshot meta's shape; `what` names it in the message. Returns null if fine. */
export function snapshotMetaProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not an object';
  if (!isIndexLike(v['index'])) return 'index is not a non-negative integer';
  if (!isIndexLike(v['term'])) return 'term is not a non-negative integer';
  const members = v['members'];
  if (!Array.isArray(members)) return 'members is not an array';
  for (const m of members) {
    if (!isRecord(m) || typeof m['id'] !== 'string' || !MEMBER_ROLES.includes(m['role'] as MemberRole)) {
      return `bad member ${JSON.stringify(m)}`;
    }
  }
  return null;
}

/** A plain copy with branded fields, so callers never hold the parsed JSON object. */
export function toSnapshotMeta(v: { index: number; term: number; members: readonly Member[] }): SnapshotMeta {
  const index: LogIndex = logIndex(v.index);
  const t: Term = term(v.term);
  return { index, term: t, members: v.members.map((m) => ({ id: m.id, role: m.role })) };
}

/** Parses a validated snapshot-meta payload (after snapshotMetaProblem returned null). */
export function parseSnapshotMeta(v: unknown, file: string): SnapshotMeta {
  const problem = snapshotMetaProblem(v);
  if (problem !== null) throw new StorageError('corrupt', `${file} is corrupt: ${problem}`, { file });
  return toSnapshotMeta(v as { index: number; term: number; members: Member[] });
}
