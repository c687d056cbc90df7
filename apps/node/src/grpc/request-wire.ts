/**
 * The SQL service's requests (Session frames, Execute, Query) decoded straight from their bytes
 * into the objects proto-loader gives (PROTO_LOADER_OPTIONS: int64 as decimal strings, enums as
 * names, defaults filled, oneof names set). proto-loader builds every message twice — protobufjs
 * message objects, then plain ones by toObject — which cost a point read 1.8 µs and 1.8 KB, and
 * a batch of inserts 1.1 KB a row. The output is checked against proto-loader's own on random
 * messages (request-wire.test.ts).
 *
 * Stricter than protobufjs on bad input: a truncated field, a length past its message, a known
 * field with the wrong wire type, field number 0, or a varint longer than 10 bytes is an error
 * naming the message, where protobufjs would cut a string short or read the bytes as another
 * type. A uint32 padded to 6–9 bytes (legal) is read whole, where protobufjs lost its place. A map
 * entry without a value gives null (protobufjs threw a TypeError), which the codec refuses as a
 * value that is not set. Unknown fields are skipped, groups (wire types 3 and 4) included.
 *
 * As a service's deserializer (withRequestDecoders) a malformed request is not thrown: grpc-js
 * would answer INTERNAL "Error deserializing request" and drop the reason. It comes to the
 * handler as a MalformedRequest, which answers INVALID_ARGUMENT with the reason.
 */
import type * as grpc from '@grpc/grpc-js';
import { RepeatedText, type WireValue } from '@quorumlite/proto';
import type { WireExecuteRequest, WireQueryRequest, WireStatement } from './codec';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const DURABILITY_NAMES = ['DURABILITY_QUORUM', 'DURABILITY_ALL', 'DURABILITY_SEMI', 'DURABILITY_LEADER'];
const CONSISTENCY_NAMES = ['CONSISTENCY_LINEARIZABLE', 'CONSISTENCY_STALE', 'CONSISTENCY_SESSION'];
const TWO_32 = 4_294_967_296;

export interface WireSessionCallIn {
  id: string;
  call?: 'execute' | 'query';
  execute?: WireExecuteRequest;
  query?: WireQueryRequest;
}

class WireError extends Error {}

/** What a cursor was reading before it entered a sub-message. */
interface Outer {
  readonly end: number;
  readonly what: string;
}

/** Requests' SQL: a batch repeats one statement, a client one query. */
const sqlTexts = new RepeatedText();
/** The named values of a statement that sends none (shared and frozen: nothing writes to a request's values). */
const NO_NAMED: Record<string, WireValue | null> = Object.freeze(Object.create(null) as Record<string, WireValue | null>);

/** A cursor over one message's bytes, [pos, end) of a shared buffer. */
class In {
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
    throw new WireError(`${this.what}: ${why} (byte ${this.pos} of ${this.buf.length})`);
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
  within<T>(what: string, decode: (r: In) => T): T {
    const outer = this.enter(what);
    const v = decode(this);
    this.leave(outer);
    return v;
  }

  /**
   * A string field holding SQL: the previous SQL text's string when the bytes are the same (a
   * batch repeats one statement, a client one query), which also keeps the hash the statement
   * caches compute for it.
   */
  sql(): string {
    const end = this.lengthEnd();
    const text = sqlTexts.decode(this.buf, this.pos, end);
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

function enumName(names: readonly string[], n: number): string | number {
  return names[n] ?? n;
}

function decodeValue(r: In): WireValue {
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

/** A map<string, Value> entry into `into` (a null-prototype object: any key stays a key). */
function decodeNamedEntry(r: In, into: Record<string, WireValue | null>): void {
  let key = '';
  let value: WireValue | null = null;
  while (r.pos < r.end) {
    const f = r.tag();
    if (f === 1) {
      r.expect(f, LEN);
      key = r.string();
    } else if (f === 2) {
      r.expect(f, LEN);
      value = r.within('Value', decodeValue);
    } else r.skip(r.wireType, f);
  }
  into[key] = value;
}

/** Fields 1–3 of Statement and of QueryRequest, which share them; false for any other field. */
function statementField(r: In, f: number, s: { sql: string; params: (WireValue | null)[]; named: Record<string, WireValue | null> }): boolean {
  switch (f) {
    case 1:
      r.expect(f, LEN);
      s.sql = r.sql();
      return true;
    case 2:
      r.expect(f, LEN);
      s.params.push(r.within('Value', decodeValue));
      return true;
    case 3: {
      r.expect(f, LEN);
      const outer = r.enter('named entry');
      if (s.named === NO_NAMED) s.named = Object.create(null) as Record<string, WireValue | null>;
      decodeNamedEntry(r, s.named);
      r.leave(outer);
      return true;
    }
    default:
      return false;
  }
}

function decodeStatement(r: In): WireStatement {
  const s = { sql: '', params: [] as (WireValue | null)[], named: NO_NAMED };
  while (r.pos < r.end) {
    const f = r.tag();
    if (!statementField(r, f, s)) r.skip(r.wireType, f);
  }
  return s as WireStatement;
}

function decodeExecuteRequest(r: In): WireExecuteRequest {
  const e = { statements: [] as WireStatement[], request_id: '', durability: 'DURABILITY_QUORUM' as string, timeout_ms: 0 };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, LEN);
        e.statements.push(r.within('Statement', decodeStatement));
        break;
      case 2:
        r.expect(f, LEN);
        e.request_id = r.string();
        break;
      case 3:
        r.expect(f, VARINT);
        e.durability = enumName(DURABILITY_NAMES, r.uint32() | 0) as string;
        break;
      case 4:
        r.expect(f, VARINT);
        e.timeout_ms = r.uint32();
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  return e;
}

function decodeQueryRequest(r: In): WireQueryRequest {
  const q = {
    sql: '',
    params: [] as (WireValue | null)[],
    named: NO_NAMED,
    consistency: 'CONSISTENCY_LINEARIZABLE' as string,
    min_index: '0',
    max_lag_entries: '0',
    max_rows: 0,
    timeout_ms: 0,
  };
  while (r.pos < r.end) {
    const f = r.tag();
    if (statementField(r, f, q)) continue;
    switch (f) {
      case 4:
        r.expect(f, VARINT);
        q.consistency = enumName(CONSISTENCY_NAMES, r.uint32() | 0) as string;
        break;
      case 5:
        r.expect(f, VARINT);
        q.min_index = r.uint64String();
        break;
      case 6:
        r.expect(f, VARINT);
        q.max_lag_entries = r.uint64String();
        break;
      case 7:
        r.expect(f, VARINT);
        q.max_rows = r.uint32();
        break;
      case 8:
        r.expect(f, VARINT);
        q.timeout_ms = r.uint32();
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  return q as WireQueryRequest;
}

function decodeSessionCall(r: In): WireSessionCallIn {
  const c: WireSessionCallIn = { id: '0' };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, VARINT);
        c.id = r.uint64String();
        break;
      case 2:
        r.expect(f, LEN);
        c.execute = r.within('ExecuteRequest', decodeExecuteRequest);
        break;
      case 3:
        r.expect(f, LEN);
        c.query = r.within('QueryRequest', decodeQueryRequest);
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  // As toObject: the oneof's name is the last member present, in field order.
  if (c.query !== undefined) c.call = 'query';
  else if (c.execute !== undefined) c.call = 'execute';
  return c;
}

/** A request whose bytes do not decode, and why (what a service's deserializer gives for one). */
export class MalformedRequest {
  constructor(readonly message: string) {}
}

/** Thrown by the decode functions: a MalformedRequest's reason. */
export class MalformedRequestError extends Error {}

function whole<T>(buf: Buffer, what: string, decode: (r: In) => T): T {
  try {
    return decode(new In(buf, 0, buf.length, what));
  } catch (e: unknown) {
    if (e instanceof WireError) throw new MalformedRequestError(`malformed ${e.message}`);
    throw e;
  }
}

export function decodeSessionRequestBytes(buf: Buffer): { calls: WireSessionCallIn[] } {
  return whole(buf, 'SessionRequest', (r) => {
    const calls: WireSessionCallIn[] = [];
    while (r.pos < r.end) {
      const f = r.tag();
      if (f === 1) {
        r.expect(f, LEN);
        calls.push(r.within('SessionCall', decodeSessionCall));
      } else r.skip(r.wireType, f);
    }
    return { calls };
  });
}

export function decodeExecuteRequestBytes(buf: Buffer): WireExecuteRequest {
  return whole(buf, 'ExecuteRequest', decodeExecuteRequest);
}

export function decodeQueryRequestBytes(buf: Buffer): WireQueryRequest {
  return whole(buf, 'QueryRequest', decodeQueryRequest);
}

/** The SQL service's definition with these decoders for its requests (a copy: the loaded one is shared). */
export function withRequestDecoders(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const decoders: Record<string, (b: Buffer) => unknown> = {
    Session: decodeSessionRequestBytes,
    Execute: decodeExecuteRequestBytes,
    Query: decodeQueryRequestBytes,
  };
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const [method, decode] of Object.entries(decoders)) {
    const definition = service[method];
    if (definition === undefined) throw new Error(`SqlService has no method ${method}`);
    const requestDeserialize = (b: Buffer): unknown => {
      try {
        return decode(b);
      } catch (e: unknown) {
        if (e instanceof MalformedRequestError) return new MalformedRequest(e.message);
        throw e;
      }
    };
    out[method] = { ...definition, requestDeserialize };
  }
  return out;
}
