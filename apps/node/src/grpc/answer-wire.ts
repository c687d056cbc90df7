/**
 * Session answers (SessionResponse) encoded straight into their bytes, in two passes: sizes,
 * then one buffer of exactly that size. proto-loader's serializer builds protobufjs message
 * objects first (fromObject) and then a list of write operations (830 B per row of a 100-row
 * batch's answer). The bytes decode, by proto-loader's own deserializer, to what its serializer
 * would have sent (answer-wire.test.ts); fields at their proto3 default are left out, except a
 * oneof's member, whose presence is its meaning.
 */
import type * as grpc from '@grpc/grpc-js';
import { int64Bytes, int64FieldBytes, ProtoOut, ProtoSizer, sizeWireValue, strBytes, writeWireValue, type Int64 } from '@quorumlite/proto';
import type { WireExecuteResponse, WireQueryResponse, WireStatementResult } from './codec';

type Column = WireQueryResponse['columns'][number];
type Row = WireQueryResponse['rows'][number];

export interface WireSessionAnswer {
  id: Int64;
  execute?: WireExecuteResponse;
  query?: WireQueryResponse;
  error?: { code: number; message: string; metadata: Record<string, string> };
}

function sizeColumn(z: ProtoSizer, c: Column): number {
  const slot = z.open();
  let n = 0;
  if (c.name !== '') n += ProtoSizer.field(strBytes(c.name));
  if (c.decl_type !== '') n += ProtoSizer.field(strBytes(c.decl_type));
  return z.close(slot, n);
}

function sizeRow(z: ProtoSizer, r: Row): number {
  const slot = z.open();
  let n = 0;
  for (const v of r.values) n += sizeWireValue(z, v);
  return z.close(slot, n);
}

function sizeRows(z: ProtoSizer, columns: readonly Column[] | undefined, rows: readonly Row[] | undefined): number {
  // A write's result has neither (one per row of a batch): no empty list made for it.
  let n = 0;
  if (columns !== undefined) for (const c of columns) n += sizeColumn(z, c);
  if (rows !== undefined) for (const r of rows) n += sizeRow(z, r);
  return n;
}

function sizeStatementResult(z: ProtoSizer, s: WireStatementResult): number {
  const slot = z.open();
  let n = 0;
  n += int64FieldBytes(s.rows_affected) + int64FieldBytes(s.last_insert_rowid);
  n += sizeRows(z, s.columns, s.rows);
  if (s.truncated === true) n += 2;
  return z.close(slot, n);
}

function sizeExecute(z: ProtoSizer, e: WireExecuteResponse): number {
  const slot = z.open();
  let n = 0;
  for (const s of e.results) n += sizeStatementResult(z, s);
  n += int64FieldBytes(e.index);
  if (e.duplicate) n += 2;
  if (e.uncommitted === true) n += 2;
  if (e.leader_address !== undefined && e.leader_address !== '') n += ProtoSizer.field(strBytes(e.leader_address));
  return z.close(slot, n);
}

function sizeQuery(z: ProtoSizer, q: WireQueryResponse): number {
  const slot = z.open();
  let n = sizeRows(z, q.columns, q.rows);
  n += int64FieldBytes(q.index);
  if (q.truncated === true) n += 2;
  return z.close(slot, n);
}

function sizeError(z: ProtoSizer, e: NonNullable<WireSessionAnswer['error']>): number {
  const slot = z.open();
  let n = 0;
  if (e.code !== 0) n += 1 + int64Bytes(e.code, false);
  if (e.message !== '') n += ProtoSizer.field(strBytes(e.message));
  for (const [k, v] of Object.entries(e.metadata)) {
    const entry = z.open();
    n += z.close(entry, ProtoSizer.field(strBytes(k)) + ProtoSizer.field(strBytes(v)));
  }
  return z.close(slot, n);
}

function sizeAnswer(z: ProtoSizer, a: WireSessionAnswer): number {
  const slot = z.open();
  let n = 0;
  n += int64FieldBytes(a.id);
  if (a.execute !== undefined) n += sizeExecute(z, a.execute);
  if (a.query !== undefined) n += sizeQuery(z, a.query);
  if (a.error !== undefined) n += sizeError(z, a.error);
  return z.close(slot, n);
}

function writeRows(o: ProtoOut, columnTag: number, rowTag: number, columns: readonly Column[] | undefined, rows: readonly Row[] | undefined): void {
  if (columns !== undefined) {
    for (const c of columns) {
      o.open(columnTag);
      if (c.name !== '') o.string((1 << 3) | 2, c.name);
      if (c.decl_type !== '') o.string((2 << 3) | 2, c.decl_type);
    }
  }
  if (rows !== undefined) {
    for (const r of rows) {
      o.open(rowTag);
      for (const v of r.values) writeWireValue(o, (1 << 3) | 2, v);
    }
  }
}


function writeAnswer(o: ProtoOut, a: WireSessionAnswer): void {
  o.open((1 << 3) | 2);
  o.int64Field((1 << 3) | 0, a.id);
  const e = a.execute;
  if (e !== undefined) {
    o.open((2 << 3) | 2);
    for (const s of e.results) {
      o.open((1 << 3) | 2);
      o.int64Field((1 << 3) | 0, s.rows_affected);
      o.int64Field((2 << 3) | 0, s.last_insert_rowid);
      writeRows(o, (3 << 3) | 2, (4 << 3) | 2, s.columns, s.rows);
      if (s.truncated === true) o.flag((5 << 3) | 0);
    }
    o.int64Field((2 << 3) | 0, e.index);
    if (e.duplicate) o.flag((3 << 3) | 0);
    if (e.uncommitted === true) o.flag((4 << 3) | 0);
    if (e.leader_address !== undefined && e.leader_address !== '') o.string((5 << 3) | 2, e.leader_address);
  }
  const q = a.query;
  if (q !== undefined) {
    o.open((3 << 3) | 2);
    writeRows(o, (1 << 3) | 2, (2 << 3) | 2, q.columns, q.rows);
    o.int64Field((3 << 3) | 0, q.index);
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

/** One sizer for every answer frame (ProtoSizer.reset). */
const answerSizer = new ProtoSizer();

/** A SessionResponse's bytes: its answers in order. */
export function encodeSessionAnswers(message: { results: readonly WireSessionAnswer[] }): Buffer {
  const z = answerSizer;
  z.reset();
  let total = 0;
  for (const a of message.results) total += sizeAnswer(z, a);
  const o = new ProtoOut(Buffer.allocUnsafe(total), z.lengths, z.measured);
  for (const a of message.results) writeAnswer(o, a);
  z.reset(); // lets go at once of the room a very large frame grew
  if (o.pos !== total) throw new Error(`a session answer measured ${total} bytes and wrote ${o.pos}`);
  return o.buf;
}

/** The SQL service's definition with this encoder for Session answers (a copy). */
export function withAnswerEncoder(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const session = service['Session'];
  if (session === undefined) throw new Error('SqlService has no method Session');
  return { ...service, Session: { ...session, responseSerialize: encodeSessionAnswers as (v: unknown) => Buffer } };
}
