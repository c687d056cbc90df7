/**
 * Protocol-buffer primitives for the codecs that skip protobufjs's message objects on the SQL
 * service's hot paths: the node's request decoder and answer encoder (apps/node/src/grpc), and
 * the client's Session codec (libs/client). A message is written in two passes — ProtoSizer
 * measures every length-delimited part in the order ProtoOut then writes it, into one buffer
 * of exactly that size — and read by one ProtoIn cursor narrowed to each sub-message in turn.
 * int64 fields are decimal strings or safe-integer numbers, as PROTO_LOADER_OPTIONS gives them.
 */
import type { RepeatedText, WireValue } from './index';

/** An int64 as proto-loader gives it (a decimal string) or takes it (also a number). */
export type Int64 = string | number;

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const START_GROUP = 3;
export const END_GROUP = 4;
export const FIXED32 = 5;

const TWO_32 = 4_294_967_296;

/** Room a reused ProtoSizer keeps between messages (a frame of a few batches): 512 KiB of lengths. */
const SIZER_SLOTS_KEPT_MAX = 65_536;

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

export function int64Bytes(v: Int64, zigzag: boolean): number {
  const u = unsignedOf(v, zigzag);
  return typeof u === 'number' ? varintBytes(u) : bitsBytes(u);
}

/** Bytes of an int64 field other than a oneof's: none at its default (0). */
export function int64FieldBytes(v: Int64): number {
  return v === 0 || v === '0' ? 0 : 1 + int64Bytes(v, false);
}

export function varintBytes(n: number): number {
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
export class ProtoSizer {
  private slots: number[] = [];
  private count = 0;

  /**
   * The lengths measured, in the order ProtoOut takes them (entries past this message's own,
   * left from a larger one before a reset, are never read).
   */
  get lengths(): readonly number[] {
    return this.slots;
  }

  /** How many lengths this message measured: ProtoOut reads no more. */
  get measured(): number {
    return this.count;
  }

  /**
   * Starts another message, keeping the room the last one grew: an encoder sizes and writes one
   * message at a time (synchronously), so it can keep one sizer instead of growing a list of
   * lengths from empty for every frame — thousands of slots for a frame of batches.
   */
  reset(): void {
    if (this.slots.length > SIZER_SLOTS_KEPT_MAX) this.slots = [];
    this.count = 0;
  }

  /** Reserves a slot for a sub-message's length, filled once it is known. */
  open(): number {
    const slot = this.count++;
    this.slots[slot] = 0;
    return slot;
  }

  /** Fills `slot` with a sub-message's length `n`; returns the bytes of its whole field. */
  close(slot: number, n: number): number {
    this.slots[slot] = n;
    return ProtoSizer.field(n);
  }

  /** Bytes of a length-delimited field holding `n` bytes, its tag included. */
  static field(n: number): number {
    return 1 + varintBytes(n) + n;
  }
}

export function strBytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A Value message as a length-delimited field (its tag one byte). */
export function sizeWireValue(z: ProtoSizer, v: WireValue): number {
  const slot = z.open();
  let n = 0;
  if (v.null !== undefined) n += 2;
  if (v.integer !== undefined) n += 1 + int64Bytes(v.integer, true);
  if (v.real !== undefined) n += 9;
  if (v.text !== undefined) n += ProtoSizer.field(strBytes(v.text));
  if (v.blob !== undefined) {
    // The writer copies elements: only bytes keep the count and the length the same.
    if (!(v.blob instanceof Uint8Array)) throw new TypeError('a blob to send must be a Uint8Array');
    n += ProtoSizer.field(v.blob.byteLength);
  }
  return z.close(slot, n);
}

/** Writes what the Sizer measured, taking its lengths in the same order. */
export class ProtoOut {
  pos = 0;
  private next = 0;

  constructor(
    readonly buf: Buffer,
    private readonly lengths: readonly number[],
    /** The sizer's count: a reused sizer's list holds older lengths past it. */
    private readonly measured: number = lengths.length,
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

  private bits(b: Bits): void {
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

  /** An int64 field other than a oneof's: nothing at its default (0). */
  int64Field(tag: number, v: Int64): void {
    if (v === 0 || v === '0') return;
    this.byte(tag);
    this.int64(v, false);
  }

  /** A length-delimited field's tag and the length the Sizer measured for it. */
  open(tag: number): void {
    if (this.next >= this.measured) throw new Error('a message wrote more length-delimited fields than it measured');
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

/** A Value message as field `tag` (field number << 3 | 2), its length from the Sizer. */
export function writeWireValue(o: ProtoOut, tag: number, v: WireValue): void {
  o.open(tag);
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

/** Bytes that do not decode as the message being read; the message names it and the byte. */
export class ProtoWireError extends Error {}

/** What a cursor was reading before it entered a sub-message. */
export interface Outer {
  readonly end: number;
  readonly what: string;
}

/** A cursor over one message's bytes, [pos, end) of a shared buffer. */
export class ProtoIn {
  /** The last 64-bit varint read, as two 32-bit halves. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Buffer,
    public pos: number,
    /** The end of the message being read; enter() narrows it to a sub-message, leave() restores it. */
    public end: number,
    public what: string,
  ) {}

  fail(why: string): never {
    throw new ProtoWireError(`${this.what}: ${why} (byte ${this.pos} of ${this.buf.length})`);
  }

  private byte(): number {
    if (this.pos >= this.end) this.fail('truncated varint');
    return this.buf[this.pos++]!;
  }

  /** A varint of up to 64 bits into lo/hi (protobufjs's readLongVarint). */
  varint64(): void {
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let i = 0; i < 4; i++) {
      b = this.byte();
      lo = (lo | ((b & 0x7f) << (i * 7))) >>> 0;
      if (b < 0x80) {
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo = (lo | ((b & 0x7f) << 28)) >>> 0;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) {
      this.lo = lo;
      this.hi = hi;
      return;
    }
    for (let i = 0; i < 5; i++) {
      b = this.byte();
      hi = (hi | ((b & 0x7f) << (i * 7 + 3))) >>> 0;
      if (b < 0x80) {
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** uint32 (and the low half of anything longer, as protobufjs reads it). */
  uint32(): number {
    this.varint64();
    return this.lo;
  }

  /** An unsigned 64-bit varint as its decimal string. */
  uint64String(): string {
    this.varint64();
    if (this.hi < 0x200000) return String(this.hi * TWO_32 + this.lo);
    return ((BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  /** A signed 64-bit varint (two's complement, as int64 fields are sent) as its decimal string. */
  int64String(): string {
    this.varint64();
    const { lo, hi } = this;
    if (hi < 0x200000) return String(hi * TWO_32 + lo);
    if (hi >= 0xffe00000) return String((hi - TWO_32) * TWO_32 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  /** A zigzag-encoded signed 64-bit varint as its decimal string. */
  sint64String(): string {
    this.varint64();
    const { lo, hi } = this;
    if (hi < 0x200000) {
      const u = hi * TWO_32 + lo;
      return String(u % 2 === 0 ? u / 2 : -(u + 1) / 2);
    }
    const u = (BigInt(hi) << 32n) | BigInt(lo);
    return ((u >> 1n) ^ -(u & 1n)).toString();
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The end of the length-delimited field that starts here. */
  lengthEnd(): number {
    const n = this.uint32();
    if (this.hi !== 0 || this.pos + n > this.end) this.fail(`length ${this.hi !== 0 ? 'over 4 GiB' : n} runs past the message`);
    return this.pos + n;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A view of the bytes, as protobufjs gives them (a Buffer slice; an empty one of its own). */
  bytes(): Buffer {
    const end = this.lengthEnd();
    const b = end === this.pos ? Buffer.alloc(0) : this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /**
   * Narrows the cursor to the sub-message that starts here; returns what leave() needs to widen
   * it again (one cursor for the whole request: no object per message).
   */
  enter(what: string): Outer {
    const outer: Outer = { end: this.end, what: this.what };
    this.end = this.lengthEnd();
    this.what = what;
    return outer;
  }

  leave(outer: Outer): void {
    this.end = outer.end;
    this.what = outer.what;
  }

  /** The sub-message that starts here, decoded by `decode` (a function of the module: no closure per call). */
  within<T>(what: string, decode: (r: ProtoIn) => T): T {
    // enter() and leave() without their object: one per sub-message (every value of a batch).
    const { end, what: outerWhat } = this;
    this.end = this.lengthEnd();
    this.what = what;
    const v = decode(this);
    this.end = end;
    this.what = outerWhat;
    return v;
  }

  /**
   * A string field that repeats (SQL: a batch repeats one statement, a client one query): the
   * previous string when the bytes are the same, which also keeps the hash caches compute for it.
   */
  repeatedText(texts: RepeatedText): string {
    const end = this.lengthEnd();
    const text = texts.decode(this.buf, this.pos, end);
    this.pos = end;
    return text;
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case VARINT:
        this.varint64();
        return;
      case FIXED64:
        if (this.pos + 8 > this.end) this.fail(`truncated field ${field}`);
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.lengthEnd();
        return;
      case FIXED32:
        if (this.pos + 4 > this.end) this.fail(`truncated field ${field}`);
        this.pos += 4;
        return;
      case START_GROUP:
        // A group (proto2) ends at the END_GROUP tag of its own field; groups may nest.
        for (;;) {
          if (this.pos >= this.end) this.fail(`group ${field} has no end`);
          const t = this.uint32();
          const inner = t >>> 3;
          if ((t & 7) === END_GROUP) {
            if (inner !== field) this.fail(`group ${field} is closed by an end of group ${inner}`);
            return;
          }
          this.skip(t & 7, inner);
        }
      default:
        this.fail(`field ${field} has wire type ${wireType}, which no message uses here`);
    }
  }

  /** The next field's tag: its number, with its wire type in `wireType`. */
  wireType = 0;
  tag(): number {
    const t = this.uint32();
    this.wireType = t & 7;
    const field = t >>> 3;
    if (field === 0) this.fail('field number 0');
    return field;
  }

  expect(field: number, wireType: number): void {
    if (this.wireType !== wireType) this.fail(`field ${field} has wire type ${this.wireType}, expected ${wireType}`);
  }
}

export function enumName(names: readonly string[], n: number): string | number {
  return names[n] ?? n;
}

/** A Value message (the cursor narrowed to it), as proto-loader gives it: the oneof's name set. */
export function decodeWireValue(r: ProtoIn): WireValue {
  const v: WireValue = {};
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, VARINT);
        v.null = r.uint32() !== 0; // protobufjs's bool: the low 32 bits
        break;
      case 2:
        r.expect(f, VARINT);
        v.integer = r.sint64String();
        break;
      case 3:
        r.expect(f, FIXED64);
        v.real = r.double();
        break;
      case 4:
        r.expect(f, LEN);
        v.text = r.string();
        break;
      case 5:
        r.expect(f, LEN);
        v.blob = r.bytes();
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  // As protobufjs's toObject: the oneof's name is the last member present, in field order.
  const kind = v.blob !== undefined ? 'blob' : v.text !== undefined ? 'text' : v.real !== undefined ? 'real' : v.integer !== undefined ? 'integer' : v.null !== undefined ? 'null' : undefined;
  if (kind !== undefined) v.kind = kind;
  return v;
}
