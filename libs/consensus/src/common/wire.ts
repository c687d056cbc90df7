/**
 * The compact binary primitives every protocol's codec is written in.
 *
 *   uint     = unsigned LEB128, at most 8 bytes, ≤ Number.MAX_SAFE_INTEGER, no overlong form
 *   str      = length:uint utf8-bytes
 *   bool     = u8 (0 or 1)
 *   entries  = count:uint { term:uint kind:u8 length:uint data } (indexes implied: first, first+1, …)
 *   snapshot = index:uint term:uint count:uint { id:str role:u8 }
 *
 * Decoding never trusts a length before checking it against the bytes left, and entry data
 * is returned as a view into the input (no copy) unless it is a small part of a larger buffer
 * (`entries`). Errors name the protocol (`label`).
 */
import {
  ConsensusError,
  MEMBER_ROLES,
  logIndex,
  nodeId,
  term,
  type Entry,
  type EntryKind,
  type Member,
  type MemberRole,
  type SnapshotMeta,
} from '../contract';

// A kind travels as its position here: new kinds are appended, never inserted.
const KINDS: readonly EntryKind[] = ['command', 'noop', 'config'];
const ROLES: readonly MemberRole[] = MEMBER_ROLES;

const VARINT_BYTES_MAX = 8;
/** Smallest possible encoded entry (term, kind, length) and member (id length ≥ 1, role). */
const ENTRY_BYTES_MIN = 3;
const MEMBER_BYTES_MIN = 3;
const INITIAL_BUFFER_BYTES = 64;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class WireWriter {
  private buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  private len = 0;

  constructor(private readonly label: string) {}

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  fail(what: string): Error {
    return new Error(`${this.label} encode: ${what}`);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  uint(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0) throw this.fail(`${what} must be a non-negative safe integer, got ${String(v)}`);
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

  /** Records whose indexes run first, first + 1, …: only their terms, kinds and data travel. */
  entries(first: number, entries: readonly Entry[]): void {
    this.uint(entries.length, 'entry count');
    entries.forEach((e, i) => {
      if (e.index !== first + i) throw this.fail(`entry ${i} has index ${e.index}, expected ${first + i}`);
      this.uint(e.term, 'entry term');
      this.u8(this.codeOf(KINDS, e.kind, 'entry kind'));
      this.bytes(e.data);
    });
  }

  snapshot(s: SnapshotMeta): void {
    this.uint(s.index, 'snapshot index');
    this.uint(s.term, 'snapshot term');
    this.uint(s.members.length, 'member count');
    for (const m of s.members) {
      this.str(m.id);
      this.u8(this.codeOf(ROLES, m.role, 'member role'));
    }
  }

  private codeOf<T>(table: readonly T[], value: T, what: string): number {
    const code = table.indexOf(value);
    if (code < 0) throw this.fail(`unknown ${what} ${String(value)}`);
    return code;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A record may share its buffer with this many other bytes, however small it is, and stay a view. */
const SHARED_BUFFER_SLACK_BYTES = 4096;

/** True when `view` would keep alive a buffer more than twice its size, and more than 4 KiB larger. */
function ownsTooLittle(view: Uint8Array): boolean {
  const others = view.buffer.byteLength - view.byteLength;
  return others > SHARED_BUFFER_SLACK_BYTES && others > view.byteLength;
}

export class WireReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly label: string,
    /** What the bytes are, for errors: a protocol's message, or a config record. */
    private readonly noun = 'message',
  ) {}

  bad(what: string, cause?: unknown): ConsensusError {
    return new ConsensusError('bad_message', `${this.label} ${this.noun}: ${what}`, cause === undefined ? undefined : { cause });
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(what: string): number {
    const v = this.buf[this.pos];
    if (v === undefined) throw this.bad(`truncated before ${what}`);
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
        if (b === 0 && i > 0) throw this.bad(`${what} has an overlong encoding`);
        if (!Number.isSafeInteger(value)) throw this.bad(`${what} exceeds the largest safe integer`);
        return value;
      }
      scale *= 0x80;
    }
    throw this.bad(`${what} is longer than ${VARINT_BYTES_MAX} bytes`);
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw this.bad(`${what} must be 0 or 1, got ${v}`);
    return v === 1;
  }

  bytes(what: string): Uint8Array {
    const n = this.uint(`${what} length`);
    if (n > this.remaining()) throw this.bad(`${what} length ${n} exceeds the ${this.remaining()} bytes left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(what: string): string {
    const raw = this.bytes(what);
    try {
      return utf8Decoder.decode(raw);
    } catch (e: unknown) {
      throw this.bad(`${what} is not valid UTF-8`, e);
    }
  }

  nodeId(what: string): string {
    const s = this.str(what);
    if (s.length === 0) throw this.bad(`${what} is empty`);
    return s;
  }

  count(what: string, minBytesEach: number): number {
    const n = this.uint(what);
    if (n * minBytesEach > this.remaining()) throw this.bad(`${what} ${n} does not fit in the ${this.remaining()} bytes left`);
    return n;
  }

  /**
   * Records stay in memory until a snapshot compacts them, so their data must not keep
   * alive much more than itself: a record that is less than half of the buffer under it
   * (a small message Node carved from its shared 8 KiB pool, or one record of a frame of
   * many) is copied out; a large one, which fills most of its buffer, stays a view and is
   * never copied again.
   */
  entries(first: number): Entry[] {
    const n = this.count('entry count', ENTRY_BYTES_MIN);
    if (first - 1 + n > Number.MAX_SAFE_INTEGER) throw this.bad('entry indexes exceed the largest safe integer');
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.uint('entry term');
      const k = KINDS[this.u8('entry kind')];
      if (k === undefined) throw this.bad(`entry ${i} has an unknown kind`);
      const view = this.bytes('entry data');
      const data = ownsTooLittle(view) ? new Uint8Array(view) : view;
      entries.push({ index: logIndex(first + i), term: term(t), kind: k, data });
    }
    return entries;
  }

  snapshot(): SnapshotMeta {
    const index = this.uint('snapshot index');
    const t = this.uint('snapshot term');
    const n = this.count('member count', MEMBER_BYTES_MIN);
    const members: Member[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.nodeId('member id');
      const role = ROLES[this.u8('member role')];
      if (role === undefined) throw this.bad(`member ${id} has an unknown role`);
      members.push({ id: nodeId(id), role });
    }
    return { index: logIndex(index), term: term(t), members };
  }

  end(type: string): void {
    if (this.remaining() !== 0) throw this.bad(`${this.remaining()} trailing bytes after a ${type}`);
  }
}
