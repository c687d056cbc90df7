/**
 * The Session stream's frames, encoded and decoded straight from and to their bytes: the
 * client's side of the node's request decoder and answer encoder (apps/node/src/grpc). proto-
 * loader builds every message twice on each side — protobufjs message objects, then plain ones
 * — which took a fifth of a loader's time under point reads. The objects are the ones proto-
 * loader gives and takes (PROTO_LOADER_OPTIONS: int64 as decimal strings, enums as names,
 * defaults filled, oneof names set); session-wire.test.ts checks both directions against
 * proto-loader's own serializer and deserializer on random frames. Fields at their proto3
 * default are left out of what is sent.
 */
import {
  decodeWireValue,
  int64FieldBytes,
  LEN,
  ProtoIn,
  ProtoOut,
  ProtoSizer,
  ProtoWireError,
  sizeWireValue,
  strBytes,
  VARINT,
  writeWireValue,
  varintBytes,
  type Int64,
  type WireValue,
} from '@quorumlite/proto';
import type { WireExecuteResponse, WireQueryResponse } from './decode';

const DURABILITY_NAMES = ['DURABILITY_QUORUM', 'DURABILITY_ALL', 'DURABILITY_SEMI', 'DURABILITY_LEADER'];
const CONSISTENCY_NAMES = ['CONSISTENCY_LINEARIZABLE', 'CONSISTENCY_STALE', 'CONSISTENCY_SESSION'];

/** A statement as the client sends it (client.ts wireStatement). */
export interface WireStatementOut {
  sql: string;
  params: readonly WireValue[];
  named: Readonly<Record<string, WireValue>>;
}

export interface WireExecuteRequestOut {
  statements: readonly WireStatementOut[];
  request_id: string;
  durability: string;
  timeout_ms: number;
}

export interface WireQueryRequestOut extends WireStatementOut {
  consistency: string;
  min_index: Int64;
  max_lag_entries: Int64;
  max_rows: number;
  timeout_ms: number;
}

export interface WireSessionCallOut {
  id: number;
  execute?: WireExecuteRequestOut;
  query?: WireQueryRequestOut;
}

export interface WireSessionResult {
  id: string;
  result?: 'execute' | 'query' | 'error';
  execute?: WireExecuteResponse;
  query?: WireQueryResponse;
  error?: { code: number; message: string; metadata: Record<string, string> };
}

// ---- requests -----------------------------------------------------------------------------

function enumNumber(names: readonly string[], name: string, what: string): number {
  const n = names.indexOf(name);
  if (n < 0) throw new TypeError(`${what} ${JSON.stringify(name)} is not one of ${names.join(', ')}`);
  return n;
}

/** Bytes of a uint32 field other than a oneof's: none at its default (0). */
function uint32Bytes(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new TypeError(`${n} is not a uint32`);
  return n === 0 ? 0 : 1 + varintBytes(n);
}

function sizeNamed(z: ProtoSizer, named: Readonly<Record<string, WireValue>>): number {
  let n = 0;
  // for-in, not Object.keys: no list made for the (nearly always empty) values. Own keys only,
  // as Object.keys (writeStatementFields reads them the same way).
  for (const key in named) {
    if (!Object.prototype.hasOwnProperty.call(named, key)) continue;
    const entry = z.open();
    n += z.close(entry, ProtoSizer.field(strBytes(key)) + sizeWireValue(z, named[key]!));
  }
  return n;
}

/** Fields 1–3, which Statement and QueryRequest share. */
function sizeStatementFields(z: ProtoSizer, s: WireStatementOut): number {
  let n = s.sql === '' ? 0 : ProtoSizer.field(strBytes(s.sql));
  for (const v of s.params) n += sizeWireValue(z, v);
  return n + sizeNamed(z, s.named);
}

function sizeCall(z: ProtoSizer, c: WireSessionCallOut): number {
  const slot = z.open();
  let n = int64FieldBytes(c.id);
  const e = c.execute;
  if (e !== undefined) {
    const es = z.open();
    let m = 0;
    for (const s of e.statements) {
      const ss = z.open();
      m += z.close(ss, sizeStatementFields(z, s));
    }
    if (e.request_id !== '') m += ProtoSizer.field(strBytes(e.request_id));
    m += uint32Bytes(enumNumber(DURABILITY_NAMES, e.durability, 'durability'));
    m += uint32Bytes(e.timeout_ms);
    n += z.close(es, m);
  }
  const q = c.query;
  if (q !== undefined) {
    const qs = z.open();
    let m = sizeStatementFields(z, q);
    m += uint32Bytes(enumNumber(CONSISTENCY_NAMES, q.consistency, 'consistency'));
    m += int64FieldBytes(q.min_index) + int64FieldBytes(q.max_lag_entries);
    m += uint32Bytes(q.max_rows) + uint32Bytes(q.timeout_ms);
    n += z.close(qs, m);
  }
  return z.close(slot, n);
}

function writeUint32(o: ProtoOut, tag: number, n: number): void {
  if (n === 0) return;
  o.byte(tag);
  o.varint(n);
}


// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
function writeStatementFields(o: ProtoOut, s: WireStatementOut): void {
  if (s.sql !== '') o.string((1 << 3) | 2, s.sql);
  for (const v of s.params) writeWireValue(o, (2 << 3) | 2, v);
  for (const key in s.named) {
    if (!Object.prototype.hasOwnProperty.call(s.named, key)) continue;
    o.open((3 << 3) | 2);
    o.string((1 << 3) | 2, key);
    writeWireValue(o, (2 << 3) | 2, s.named[key]!);
  }
}

function writeCall(o: ProtoOut, c: WireSessionCallOut): void {
  o.open((1 << 3) | 2);
  o.int64Field((1 << 3) | 0, c.id);
  const e = c.execute;
  if (e !== undefined) {
    o.open((2 << 3) | 2);
    for (const s of e.statements) {
      o.open((1 << 3) | 2);
      writeStatementFields(o, s);
    }
    if (e.request_id !== '') o.string((2 << 3) | 2, e.request_id);
    writeUint32(o, (3 << 3) | 0, DURABILITY_NAMES.indexOf(e.durability));
    writeUint32(o, (4 << 3) | 0, e.timeout_ms);
  }
  const q = c.query;
  if (q !== undefined) {
    o.open((3 << 3) | 2);
    writeStatementFields(o, q);
    writeUint32(o, (4 << 3) | 0, CONSISTENCY_NAMES.indexOf(q.consistency));
    o.int64Field((5 << 3) | 0, q.min_index);
    o.int64Field((6 << 3) | 0, q.max_lag_entries);
    writeUint32(o, (7 << 3) | 0, q.max_rows);
    writeUint32(o, (8 << 3) | 0, q.timeout_ms);
  }
}

/**
 * Throws what is wrong with a call that cannot be encoded (a value, a number out of range, an
 * unknown enum name) without writing anything: a session checks each call of a frame that
 * failed, to refuse only the bad one.
 */
export function checkSessionCall(c: WireSessionCallOut): void {
  sizeCall(new ProtoSizer(), c);
}

/** One sizer for every request frame (ProtoSizer.reset). */
const requestSizer = new ProtoSizer();

/** A SessionRequest's bytes: its calls in order. */
export function encodeSessionRequest(message: { calls: readonly WireSessionCallOut[] }): Buffer {
  const z = requestSizer;
  z.reset();
  let total = 0;
  for (const c of message.calls) total += sizeCall(z, c);
  const o = new ProtoOut(Buffer.allocUnsafe(total), z.lengths, z.measured);
  for (const c of message.calls) writeCall(o, c);
  z.reset(); // lets go at once of the room a very large frame grew
  if (o.pos !== total) throw new Error(`a session request measured ${total} bytes and wrote ${o.pos}`);
  return o.buf;
}

// ---- answers ------------------------------------------------------------------------------

function decodeColumn(r: ProtoIn): { name: string; decl_type: string } {
  const c = { name: '', decl_type: '' };
  while (r.pos < r.end) {
    const f = r.tag();
    if (f === 1 || f === 2) {
      r.expect(f, LEN);
      if (f === 1) c.name = r.string();
      else c.decl_type = r.string();
    } else r.skip(r.wireType, f);
  }
  return c;
}

function decodeRow(r: ProtoIn): { values: WireValue[] } {
  const values: WireValue[] = [];
  while (r.pos < r.end) {
    const f = r.tag();
    if (f === 1) {
      r.expect(f, LEN);
      values.push(r.within('Value', decodeWireValue));
    } else r.skip(r.wireType, f);
  }
  return { values };
}

type StatementResult = NonNullable<WireExecuteResponse['results']>[number];

/** A write's result has no columns and no rows (one per row of a batch): shared, never written to. */
const NO_COLUMNS: { name: string; decl_type: string }[] = Object.freeze([]) as unknown as { name: string; decl_type: string }[];
const NO_ROWS: { values: WireValue[] }[] = Object.freeze([]) as unknown as { values: WireValue[] }[];

function decodeStatementResult(r: ProtoIn): StatementResult {
  const s = { rows_affected: '0', last_insert_rowid: '0', columns: NO_COLUMNS, rows: NO_ROWS, truncated: false };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, VARINT);
        s.rows_affected = r.int64String();
        break;
      case 2:
        r.expect(f, VARINT);
        s.last_insert_rowid = r.int64String();
        break;
      case 3:
        r.expect(f, LEN);
        if (s.columns === NO_COLUMNS) s.columns = [];
        s.columns.push(r.within('Column', decodeColumn));
        break;
      case 4:
        r.expect(f, LEN);
        if (s.rows === NO_ROWS) s.rows = [];
        s.rows.push(r.within('Row', decodeRow));
        break;
      case 5:
        r.expect(f, VARINT);
        s.truncated = r.uint32() !== 0;
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  return s;
}

function decodeExecuteResponse(r: ProtoIn): WireExecuteResponse {
  const e = { results: [] as StatementResult[], index: '0', duplicate: false, uncommitted: false, leader_address: '' };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, LEN);
        e.results.push(r.within('StatementResult', decodeStatementResult));
        break;
      case 2:
        r.expect(f, VARINT);
        e.index = r.uint64String();
        break;
      case 3:
        r.expect(f, VARINT);
        e.duplicate = r.uint32() !== 0;
        break;
      case 4:
        r.expect(f, VARINT);
        e.uncommitted = r.uint32() !== 0;
        break;
      case 5:
        r.expect(f, LEN);
        e.leader_address = r.string();
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  return e;
}

function decodeQueryResponse(r: ProtoIn): WireQueryResponse {
  const q = { columns: [] as { name: string; decl_type: string }[], rows: [] as { values: WireValue[] }[], index: '0', truncated: false };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, LEN);
        q.columns.push(r.within('Column', decodeColumn));
        break;
      case 2:
        r.expect(f, LEN);
        q.rows.push(r.within('Row', decodeRow));
        break;
      case 3:
        r.expect(f, VARINT);
        q.index = r.uint64String();
        break;
      case 4:
        r.expect(f, VARINT);
        q.truncated = r.uint32() !== 0;
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  return q;
}

/** A map<string, string> entry into `into`. */
function decodeMetadataEntry(r: ProtoIn, into: Record<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const f = r.tag();
    if (f === 1 || f === 2) {
      r.expect(f, LEN);
      if (f === 1) key = r.string();
      else value = r.string();
    } else r.skip(r.wireType, f);
  }
  into[key] = value;
}

function decodeError(r: ProtoIn): NonNullable<WireSessionResult['error']> {
  const e = { code: 0, message: '', metadata: Object.create(null) as Record<string, string> };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, VARINT);
        e.code = r.uint32() | 0; // int32: the low 32 bits of its varint
        break;
      case 2:
        r.expect(f, LEN);
        e.message = r.string();
        break;
      case 3: {
        r.expect(f, LEN);
        const outer = r.enter('metadata entry');
        decodeMetadataEntry(r, e.metadata);
        r.leave(outer);
        break;
      }
      default:
        r.skip(r.wireType, f);
    }
  }
  return e;
}

function decodeResult(r: ProtoIn): WireSessionResult {
  const s: WireSessionResult = { id: '0' };
  while (r.pos < r.end) {
    const f = r.tag();
    switch (f) {
      case 1:
        r.expect(f, VARINT);
        s.id = r.uint64String();
        break;
      case 2:
        r.expect(f, LEN);
        s.execute = r.within('ExecuteResponse', decodeExecuteResponse);
        break;
      case 3:
        r.expect(f, LEN);
        s.query = r.within('QueryResponse', decodeQueryResponse);
        break;
      case 4:
        r.expect(f, LEN);
        s.error = r.within('SessionError', decodeError);
        break;
      default:
        r.skip(r.wireType, f);
    }
  }
  // As toObject: the oneof's name is the last member present, in field order.
  if (s.error !== undefined) s.result = 'error';
  else if (s.query !== undefined) s.result = 'query';
  else if (s.execute !== undefined) s.result = 'execute';
  return s;
}

/** A SessionResponse from its bytes; a frame that does not decode throws, naming where. */
export function decodeSessionResponse(buf: Buffer): { results: WireSessionResult[] } {
  const r = new ProtoIn(buf, 0, buf.length, 'SessionResponse');
  try {
    const results: WireSessionResult[] = [];
    while (r.pos < r.end) {
      const f = r.tag();
      if (f === 1) {
        r.expect(f, LEN);
        results.push(r.within('SessionResult', decodeResult));
      } else r.skip(r.wireType, f);
    }
    return { results };
  } catch (e: unknown) {
    if (e instanceof ProtoWireError) throw new TypeError(`malformed answer from the node: ${e.message}`);
    throw e;
  }
}
