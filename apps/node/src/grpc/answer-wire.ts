/**
 * Session answers (SessionResponse) encoded straight into their bytes, in two passes: sizes,
 * then one buffer of exactly that size. proto-loader's serializer builds protobufjs message
 * objects first (fromObject) and then a list of write operations (830 B per row of a 100-row
 * batch's answer). The bytes decode, by proto-loader's own deserializer, to what its serializer
 * would have sent (answer-wire.test.ts); fields at their proto3 default are left out, except a
 * oneof's member, whose presence is its meaning.
 */
import type * as grpc from '@grpc/grpc-js';
import type { WireValue } from '@quorumlite/proto';
import type { WireExecuteResponse, WireQueryResponse, WireStatementResult } from './codec';

type Int64 = string | number;
type Column = WireQueryResponse['columns'][number];
type Row = WireQueryResponse['rows'][number];

export interface WireSessionAnswer {
  id: Int64;
  execute?: WireExecuteResponse;
  query?: WireQueryResponse;
  error?: { code: number; message: string; metadata: Record<string, string> };
}

/** Below this a zigzag or an int64 is exact in a double; above it the BigInt path runs. */
const EXACT_MAX = 2 ** 52;

/** An int64 field's value as 64 unsigned bits (two's complement), split in halves. */
interface Bits {
  lo: number;
  hi: number;
}

function bitsOfBig(v: bigint): Bits {
  const u = BigInt.asUintN(64, v);
  return { lo: Number(u & 0xffffffffn), hi: Number(u >> 32n) };
}

/**
 * An int64 field's value as the unsigned varint it is sent as (zigzag for sint64): a number when
 * that is exact (no allocation: nearly every value), else its two 32-bit halves.
 */
function unsignedOf(v: Int64, zigzag: boolean): number | Bits {
  if (typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) <= EXACT_MAX) {
    const u = zigzag ? (v >= 0 ? 2 * v : -2 * v - 1) : v;
    if (u >= 0) return u;
  }
  const b = BigInt(v);
  return bitsOfBig(zigzag ? (b << 1n) ^ (b >> 63n) : b);
}

function int64Bytes(v: Int64, zigzag: boolean): number {
  const u = unsignedOf(v, zigzag);
  return typeof u === 'number' ? varintBytes(u) : bitsBytes(u);
}

/** Bytes of an int64 field other than a oneof's: none at its default (0). */
function int64FieldBytes(v: Int64): number {
  return v === 0 || v === '0' ? 0 : 1 + int64Bytes(v, false);
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

function bitsBytes(b: Bits): number {
  if (b.hi === 0) return varintBytes(b.lo);
  let bytes = 5; // the low 28 bits and the split byte, then 7 bits at a time of the high half
  for (let hi = b.hi >>> 3; hi > 0; hi >>>= 7) bytes++;
  return bytes;
}

/** Sizes first, in the order the writer will need them (each length-delimited part's own). */
class Sizer {
  readonly lengths: number[] = [];

  /** Reserves a slot for a sub-message's length, filled once it is known. */
  open(): number {
    this.lengths.push(0);
    return this.lengths.length - 1;
  }

  /** Fills `slot` with a sub-message's length `n`; returns the bytes of its whole field. */
  close(slot: number, n: number): number {
    this.lengths[slot] = n;
    return Sizer.field(n);
  }

  /** Bytes of a length-delimited field holding `n` bytes, its tag included. */
  static field(n: number): number {
    return 1 + varintBytes(n) + n;
  }
}

function strBytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function sizeValue(z: Sizer, v: WireValue): number {
  const slot = z.open();
  let n = 0;
  if (v.null !== undefined) n += 2;
  if (v.integer !== undefined) n += 1 + int64Bytes(v.integer, true);
  if (v.real !== undefined) n += 9;
  if (v.text !== undefined) n += Sizer.field(strBytes(v.text));
  if (v.blob !== undefined) {
    // The writer copies elements: only bytes keep the count and the length the same.
    if (!(v.blob instanceof Uint8Array)) throw new TypeError('a blob to send must be a Uint8Array');
    n += Sizer.field(v.blob.byteLength);
  }
  return z.close(slot, n);
}

function sizeColumn(z: Sizer, c: Column): number {
  const slot = z.open();
  let n = 0;
  if (c.name !== '') n += Sizer.field(strBytes(c.name));
  if (c.decl_type !== '') n += Sizer.field(strBytes(c.decl_type));
  return z.close(slot, n);
}

function sizeRow(z: Sizer, r: Row): number {
  const slot = z.open();
  let n = 0;
  for (const v of r.values) n += sizeValue(z, v);
  return z.close(slot, n);
}

function sizeRows(z: Sizer, columns: readonly Column[] | undefined, rows: readonly Row[] | undefined): number {
  let n = 0;
  for (const c of columns ?? []) n += sizeColumn(z, c);
  for (const r of rows ?? []) n += sizeRow(z, r);
  return n;
}

function sizeStatementResult(z: Sizer, s: WireStatementResult): number {
  const slot = z.open();
  let n = 0;
  n += int64FieldBytes(s.rows_affected) + int64FieldBytes(s.last_insert_rowid);
  n += sizeRows(z, s.columns, s.rows);
  if (s.truncated === true) n += 2;
  return z.close(slot, n);
}

function sizeExecute(z: Sizer, e: WireExecuteResponse): number {
  const slot = z.open();
  let n = 0;
  for (const s of e.results) n += sizeStatementResult(z, s);
  n += int64FieldBytes(e.index);
  if (e.duplicate) n += 2;
  if (e.uncommitted === true) n += 2;
  if (e.leader_address !== undefined && e.leader_address !== '') n += Sizer.field(strBytes(e.leader_address));
  return z.close(slot, n);
}

function sizeQuery(z: Sizer, q: WireQueryResponse): number {
  const slot = z.open();
  let n = sizeRows(z, q.columns, q.rows);
  n += int64FieldBytes(q.index);
  if (q.truncated === true) n += 2;
  return z.close(slot, n);
}

function sizeError(z: Sizer, e: NonNullable<WireSessionAnswer['error']>): number {
  const slot = z.open();
  let n = 0;
  if (e.code !== 0) n += 1 + int64Bytes(e.code, false);
  if (e.message !== '') n += Sizer.field(strBytes(e.message));
  for (const [k, v] of Object.entries(e.metadata)) {
    const entry = z.open();
    n += z.close(entry, Sizer.field(strBytes(k)) + Sizer.field(strBytes(v)));
  }
  return z.close(slot, n);
}

function sizeAnswer(z: Sizer, a: WireSessionAnswer): number {
  const slot = z.open();
  let n = 0;
  n += int64FieldBytes(a.id);
  if (a.execute !== undefined) n += sizeExecute(z, a.execute);
  if (a.query !== undefined) n += sizeQuery(z, a.query);
  if (a.error !== undefined) n += sizeError(z, a.error);
  return z.close(slot, n);
}

/** Writes what the Sizer measured, taking its lengths in the same order. */
class Out {
  pos = 0;
  private next = 0;

  constructor(
    readonly buf: Buffer,
    private readonly lengths: readonly number[],
  ) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A bool field that is true (false is the default, left out). */
  flag(tag: number): void {
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** An int64 field's varint (see unsignedOf). */
  int64(v: Int64, zigzag: boolean): void {
    const u = unsignedOf(v, zigzag);
    if (typeof u === 'number') this.varint(u);
    else this.bits(u);
  }

  bits(b: Bits): void {
    if (b.hi === 0) return this.varint(b.lo);
    let lo = b.lo;
    for (let i = 0; i < 4; i++) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    let hi = b.hi;
    // The fifth byte: the low half's top 4 bits and the high half's bottom 3.
    const fifth = lo | ((hi & 0x7) << 4);
    hi >>>= 3;
    if (hi === 0) {
      this.buf[this.pos++] = fifth;
      return;
    }
    this.buf[this.pos++] = fifth | 0x80;
    while (hi >= 0x80) {
      this.buf[this.pos++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    this.buf[this.pos++] = hi;
  }

  /** A length-delimited field's tag and the length the Sizer measured for it. */
  open(tag: number): void {
    this.byte(tag);
    this.varint(this.lengths[this.next++]!);
  }

  string(tag: number, s: string): void {
    const n = strBytes(s);
    this.byte(tag);
    this.varint(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  bytes(tag: number, b: Uint8Array): void {
    this.byte(tag);
    this.varint(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  double(tag: number, v: number): void {
    this.byte(tag);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
}

// Tags: field number << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited).
function writeValue(o: Out, v: WireValue): void {
  o.open((1 << 3) | 2);
  if (v.null !== undefined) {
    o.byte((1 << 3) | 0);
    o.byte(v.null ? 1 : 0);
  }
  if (v.integer !== undefined) {
    o.byte((2 << 3) | 0);
    o.int64(v.integer, true);
  }
  if (v.real !== undefined) o.double((3 << 3) | 1, v.real);
  if (v.text !== undefined) o.string((4 << 3) | 2, v.text);
  if (v.blob !== undefined) o.bytes((5 << 3) | 2, v.blob);
}

function writeRows(o: Out, columnTag: number, rowTag: number, columns: readonly Column[] | undefined, rows: readonly Row[] | undefined): void {
  for (const c of columns ?? []) {
    o.open(columnTag);
    if (c.name !== '') o.string((1 << 3) | 2, c.name);
    if (c.decl_type !== '') o.string((2 << 3) | 2, c.decl_type);
  }
  for (const r of rows ?? []) {
    o.open(rowTag);
    for (const v of r.values) writeValue(o, v);
  }
}

function writeInt64(o: Out, tag: number, v: Int64): void {
  if (v === 0 || v === '0') return;
  o.byte(tag);
  o.int64(v, false);
}

function writeAnswer(o: Out, a: WireSessionAnswer): void {
  o.open((1 << 3) | 2);
  writeInt64(o, (1 << 3) | 0, a.id);
  const e = a.execute;
  if (e !== undefined) {
    o.open((2 << 3) | 2);
    for (const s of e.results) {
      o.open((1 << 3) | 2);
      writeInt64(o, (1 << 3) | 0, s.rows_affected);
      writeInt64(o, (2 << 3) | 0, s.last_insert_rowid);
      writeRows(o, (3 << 3) | 2, (4 << 3) | 2, s.columns, s.rows);
      if (s.truncated === true) o.flag((5 << 3) | 0);
    }
    writeInt64(o, (2 << 3) | 0, e.index);
    if (e.duplicate) o.flag((3 << 3) | 0);
    if (e.uncommitted === true) o.flag((4 << 3) | 0);
    if (e.leader_address !== undefined && e.leader_address !== '') o.string((5 << 3) | 2, e.leader_address);
  }
  const q = a.query;
  if (q !== undefined) {
    o.open((3 << 3) | 2);
    writeRows(o, (1 << 3) | 2, (2 << 3) | 2, q.columns, q.rows);
    writeInt64(o, (3 << 3) | 0, q.index);
    if (q.truncated === true) o.flag((4 << 3) | 0);
  }
  const err = a.error;
  if (err !== undefined) {
    o.open((4 << 3) | 2);
    if (err.code !== 0) {
      o.byte((1 << 3) | 0);
      o.int64(err.code, false);
    }
    if (err.message !== '') o.string((2 << 3) | 2, err.message);
    for (const [k, v] of Object.entries(err.metadata)) {
      o.open((3 << 3) | 2);
      o.string((1 << 3) | 2, k);
      o.string((2 << 3) | 2, v);
    }
  }
}

/** A SessionResponse's bytes: its answers in order. */
export function encodeSessionAnswers(message: { results: readonly WireSessionAnswer[] }): Buffer {
  const z = new Sizer();
  let total = 0;
  for (const a of message.results) total += sizeAnswer(z, a);
  const o = new Out(Buffer.allocUnsafe(total), z.lengths);
  for (const a of message.results) writeAnswer(o, a);
  if (o.pos !== total) throw new Error(`a session answer measured ${total} bytes and wrote ${o.pos}`);
  return o.buf;
}

/** The SQL service's definition with this encoder for Session answers (a copy). */
export function withAnswerEncoder(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const session = service['Session'];
  if (session === undefined) throw new Error('SqlService has no method Session');
  return { ...service, Session: { ...session, responseSerialize: encodeSessionAnswers as (v: unknown) => Buffer } };
}
