/**
 * Compact binary wire format for RaftMessage.
 *
 *   message  = version:u8 type:u8 from:str to:str term:uint body
 *   uint     = unsigned LEB128, at most 8 bytes, ≤ Number.MAX_SAFE_INTEGER, no overlong form
 *   str      = length:uint utf8-bytes
 *   bool     = u8 (0 or 1)
 *   entries  = count:uint { term:uint kind:u8 length:uint data } (indexes implied: prevIndex+1, …)
 *   snapshot = index:uint term:uint count:uint { id:str role:u8 }
 *
 * Decoding never trusts a length before checking it against the bytes left, and entry data
 * is returned as a view into the input (no copy).
 */
import {
  ConsensusError,
  MEMBER_ROLES,
  assertNever,
  logIndex,
  nodeId,
  term,
  type Entry,
  type EntryKind,
  type Member,
  type MemberRole,
  type SnapshotMeta,
} from '../contract';
import type { RaftMessage, RaftMessageType } from './messages';

export const RAFT_CODEC_VERSION = 1;

const TYPE_CODES: Readonly<Record<RaftMessageType, number>> = {
  append: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  vote: 5,
  voteResponse: 6,
  preVote: 7,
  preVoteResponse: 8,
  timeoutNow: 9,
  readIndex: 10,
  readIndexResponse: 11,
  snapshot: 12,
};
const TYPES_BY_CODE = new Map<number, RaftMessageType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as RaftMessageType]),
);

const KINDS: readonly EntryKind[] = ['command', 'noop'];
const ROLES: readonly MemberRole[] = MEMBER_ROLES;

const VARINT_BYTES_MAX = 8;
/** Smallest possible encoded entry (term, kind, length) and member (id length ≥ 1, role). */
const ENTRY_BYTES_MIN = 3;
const MEMBER_BYTES_MIN = 3;
const INITIAL_BUFFER_BYTES = 64;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  uint(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new Error(`raft encode: ${what} must be a non-negative safe integer, got ${String(v)}`);
    }
    this.ensure(VARINT_BYTES_MAX);
    let n = v;
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  bytes(data: Uint8Array): void {
    this.uint(data.length, 'byte length');
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  str(s: string): void {
    this.bytes(utf8Encoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function codeOf<T>(table: readonly T[], value: T, what: string): number {
  const code = table.indexOf(value);
  if (code < 0) throw new Error(`raft encode: unknown ${what} ${String(value)}`);
  return code;
}

function writeEntries(w: Writer, prevIndex: number, entries: readonly Entry[]): void {
  w.uint(entries.length, 'entry count');
  entries.forEach((e, i) => {
    if (e.index !== prevIndex + 1 + i) {
      throw new Error(`raft encode: entry ${i} has index ${e.index}, expected ${prevIndex + 1 + i}`);
    }
    w.uint(e.term, 'entry term');
    w.u8(codeOf(KINDS, e.kind, 'entry kind'));
    w.bytes(e.data);
  });
}

function writeSnapshot(w: Writer, s: SnapshotMeta): void {
  w.uint(s.index, 'snapshot index');
  w.uint(s.term, 'snapshot term');
  w.uint(s.members.length, 'member count');
  for (const m of s.members) {
    w.str(m.id);
    w.u8(codeOf(ROLES, m.role, 'member role'));
  }
}

export function encodeMessage(m: RaftMessage): Uint8Array {
  const w = new Writer();
  w.u8(RAFT_CODEC_VERSION);
  w.u8(TYPE_CODES[m.type]);
  w.str(m.from);
  w.str(m.to);
  w.uint(m.term, 'term');
  switch (m.type) {
    case 'append':
      w.uint(m.prevIndex, 'prevIndex');
      w.uint(m.prevTerm, 'prevTerm');
      w.uint(m.commit, 'commit');
      writeEntries(w, m.prevIndex, m.entries);
      break;
    case 'appendResponse':
      w.uint(m.index, 'index');
      w.bool(m.reject);
      w.uint(m.hintIndex, 'hintIndex');
      w.uint(m.hintTerm, 'hintTerm');
      break;
    case 'heartbeat':
      w.uint(m.commit, 'commit');
      w.uint(m.readSeq, 'readSeq');
      break;
    case 'heartbeatResponse':
      w.uint(m.readSeq, 'readSeq');
      break;
    case 'vote':
    case 'preVote':
      w.uint(m.lastIndex, 'lastIndex');
      w.uint(m.lastTerm, 'lastTerm');
      w.bool(m.transfer);
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(m.reject);
      break;
    case 'timeoutNow':
      break;
    case 'readIndex':
      w.str(m.requestId);
      break;
    case 'readIndexResponse':
      w.str(m.requestId);
      w.uint(m.index, 'index');
      w.bool(m.reject);
      break;
    case 'snapshot':
      writeSnapshot(w, m.snapshot);
      break;
    default:
      return assertNever(m, 'raft message');
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

function bad(what: string): ConsensusError {
  return new ConsensusError('bad_message', `raft message: ${what}`);
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(what: string): number {
    const v = this.buf[this.pos];
    if (v === undefined) throw bad(`truncated before ${what}`);
    this.pos++;
    return v;
  }

  uint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw bad(`${what} has an overlong encoding`);
        if (!Number.isSafeInteger(value)) throw bad(`${what} exceeds the largest safe integer`);
        return value;
      }
      scale *= 0x80;
    }
    throw bad(`${what} is longer than ${VARINT_BYTES_MAX} bytes`);
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw bad(`${what} must be 0 or 1, got ${v}`);
    return v === 1;
  }

  bytes(what: string): Uint8Array {
    const n = this.uint(`${what} length`);
    if (n > this.remaining()) throw bad(`${what} length ${n} exceeds the ${this.remaining()} bytes left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(what: string): string {
    const raw = this.bytes(what);
    try {
      return utf8Decoder.decode(raw);
    } catch (e: unknown) {
      throw new ConsensusError('bad_message', `raft message: ${what} is not valid UTF-8`, { cause: e });
    }
  }

  nodeId(what: string): string {
    const s = this.str(what);
    if (s.length === 0) throw bad(`${what} is empty`);
    return s;
  }

  count(what: string, minBytesEach: number): number {
    const n = this.uint(what);
    if (n * minBytesEach > this.remaining()) throw bad(`${what} ${n} does not fit in the ${this.remaining()} bytes left`);
    return n;
  }
}

function readEntries(r: Reader, prevIndex: number): Entry[] {
  const n = r.count('entry count', ENTRY_BYTES_MIN);
  if (prevIndex + n > Number.MAX_SAFE_INTEGER) throw bad('entry indexes exceed the largest safe integer');
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const t = r.uint('entry term');
    const k = KINDS[r.u8('entry kind')];
    if (k === undefined) throw bad(`entry ${i} has an unknown kind`);
    const data = r.bytes('entry data');
    entries.push({ index: logIndex(prevIndex + 1 + i), term: term(t), kind: k, data });
  }
  return entries;
}

function readSnapshot(r: Reader): SnapshotMeta {
  const index = r.uint('snapshot index');
  const t = r.uint('snapshot term');
  const n = r.count('member count', MEMBER_BYTES_MIN);
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.nodeId('member id');
    const role = ROLES[r.u8('member role')];
    if (role === undefined) throw bad(`member ${id} has an unknown role`);
    members.push({ id: nodeId(id), role });
  }
  return { index: logIndex(index), term: term(t), members };
}

export function decodeMessage(bytes: Uint8Array): RaftMessage {
  if (!(bytes instanceof Uint8Array)) throw bad('input is not a Uint8Array');
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== RAFT_CODEC_VERSION) throw bad(`unsupported version ${version}`);
  const code = r.u8('type');
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw bad(`unknown type ${code}`);
  const from = nodeId(r.nodeId('from'));
  const to = nodeId(r.nodeId('to'));
  const t = term(r.uint('term'));
  const m = readBody(r, type, { from, to, term: t });
  if (r.remaining() !== 0) throw bad(`${r.remaining()} trailing bytes after a ${type}`);
  return m;
}

type Head = Pick<RaftMessage, 'from' | 'to' | 'term'>;

function readBody(r: Reader, type: RaftMessageType, h: Head): RaftMessage {
  switch (type) {
    case 'append': {
      const prevIndex = r.uint('prevIndex');
      const prevTerm = r.uint('prevTerm');
      const commit = r.uint('commit');
      const entries = readEntries(r, prevIndex);
      return { type, ...h, prevIndex: logIndex(prevIndex), prevTerm: term(prevTerm), commit: logIndex(commit), entries };
    }
    case 'appendResponse': {
      const index = logIndex(r.uint('index'));
      const reject = r.bool('reject');
      const hintIndex = logIndex(r.uint('hintIndex'));
      const hintTerm = term(r.uint('hintTerm'));
      return { type, ...h, index, reject, hintIndex, hintTerm };
    }
    case 'heartbeat': {
      const commit = logIndex(r.uint('commit'));
      return { type, ...h, commit, readSeq: r.uint('readSeq') };
    }
    case 'heartbeatResponse':
      return { type, ...h, readSeq: r.uint('readSeq') };
    case 'vote':
    case 'preVote': {
      const lastIndex = logIndex(r.uint('lastIndex'));
      const lastTerm = term(r.uint('lastTerm'));
      return { type, ...h, lastIndex, lastTerm, transfer: r.bool('transfer') };
    }
    case 'voteResponse':
    case 'preVoteResponse':
      return { type, ...h, reject: r.bool('reject') };
    case 'timeoutNow':
      return { type, ...h };
    case 'readIndex':
      return { type, ...h, requestId: r.str('requestId') };
    case 'readIndexResponse': {
      const requestId = r.str('requestId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, requestId, index, reject: r.bool('reject') };
    }
    case 'snapshot':
      return { type, ...h, snapshot: readSnapshot(r) };
    default:
      return assertNever(type, 'raft message type');
  }
}
