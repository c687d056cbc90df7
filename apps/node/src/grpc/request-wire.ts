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
import { decodeWireValue, enumName, LEN, ProtoIn, ProtoWireError, RepeatedText, VARINT, type WireValue } from '@quorumlite/proto';
import type { WireExecuteRequest, WireQueryRequest, WireStatement } from './codec';

const DURABILITY_NAMES = ['DURABILITY_QUORUM', 'DURABILITY_ALL', 'DURABILITY_SEMI', 'DURABILITY_LEADER'];
const CONSISTENCY_NAMES = ['CONSISTENCY_LINEARIZABLE', 'CONSISTENCY_STALE', 'CONSISTENCY_SESSION'];

export interface WireSessionCallIn {
  id: string;
  call?: 'execute' | 'query';
  execute?: WireExecuteRequest;
  query?: WireQueryRequest;
}

/** Requests' SQL: a batch repeats one statement, a client one query. */
const sqlTexts = new RepeatedText();
/** The named values of a statement that sends none (shared and frozen: nothing writes to a request's values). */
const NO_NAMED: Record<string, WireValue | null> = Object.freeze(Object.create(null) as Record<string, WireValue | null>);
/** A placeholder until a statement's decode ends and its own values replace it. */
const NO_VALUES: (WireValue | null)[] = Object.freeze([]) as unknown as (WireValue | null)[];

/** A map<string, Value> entry into `into` (a null-prototype object: any key stays a key). */
function decodeNamedEntry(r: ProtoIn, into: Record<string, WireValue | null>): void {
  let key = '';
  let value: WireValue | null = null;
  while (r.pos < r.end) {
    const f = r.tag();
    if (f === 1) {
      r.expect(f, LEN);
      key = r.string();
    } else if (f === 2) {
      r.expect(f, LEN);
      value = r.within('Value', decodeWireValue);
    } else r.skip(r.wireType, f);
  }
  into[key] = value;
}

/**
 * The values of the statement being decoded, gathered here and copied out at its end into an
 * array of their number: an array pushed to from empty has room for 16, most of what a
 * two-value statement of a batch allocated. Statements do not nest, so one list serves all.
 */
class ValueList {
  private items: (WireValue | null)[] = [];
  private count = 0;

  /** Starts a statement, or lets go of a failed decode's values; an unusually long list is not kept. */
  begin(): void {
    if (this.items.length > VALUE_LIST_KEPT_MAX) this.items = [];
    else this.items.fill(null, 0, this.count);
    this.count = 0;
  }

  add(v: WireValue | null): void {
    this.items[this.count++] = v;
  }

  /** The statement's values, in an array of their own; the list keeps no reference to them. */
  take(): (WireValue | null)[] {
    const out = this.items.slice(0, this.count);
    this.begin();
    return out;
  }
}

/** Room the list keeps between statements: the most values a statement may have (SQL_LIMITS.paramsPerStatementMax). */
const VALUE_LIST_KEPT_MAX = 999;
const values = new ValueList();

/** Fields 1–3 of Statement and of QueryRequest, which share them (values go to `values`); false for any other field. */
function statementField(r: ProtoIn, f: number, s: { sql: string; named: Record<string, WireValue | null> }): boolean {
  switch (f) {
    case 1:
      r.expect(f, LEN);
      s.sql = r.repeatedText(sqlTexts);
      return true;
    case 2:
      r.expect(f, LEN);
      values.add(r.within('Value', decodeWireValue));
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

function decodeStatement(r: ProtoIn): WireStatement {
  const s = { sql: '', params: NO_VALUES, named: NO_NAMED };
  values.begin();
  while (r.pos < r.end) {
    const f = r.tag();
    if (!statementField(r, f, s)) r.skip(r.wireType, f);
  }
  s.params = values.take();
  return s as WireStatement;
}

function decodeExecuteRequest(r: ProtoIn): WireExecuteRequest {
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

function decodeQueryRequest(r: ProtoIn): WireQueryRequest {
  const q = {
    sql: '',
    params: NO_VALUES,
    named: NO_NAMED,
    consistency: 'CONSISTENCY_LINEARIZABLE' as string,
    min_index: '0',
    max_lag_entries: '0',
    max_rows: 0,
    timeout_ms: 0,
  };
  values.begin();
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
  q.params = values.take();
  return q as WireQueryRequest;
}

function decodeSessionCall(r: ProtoIn): WireSessionCallIn {
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

function whole<T>(buf: Buffer, what: string, decode: (r: ProtoIn) => T): T {
  try {
    return decode(new ProtoIn(buf, 0, buf.length, what));
  } catch (e: unknown) {
    values.begin(); // a decode that failed part way lets go of the values it had read
    if (e instanceof ProtoWireError) throw new MalformedRequestError(`malformed ${e.message}`);
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
