/**
 * Loads proto/quorumlite/v1/*.proto with explicit loader options, and converts between the
 * wire `Value` and the SQL layer's values. Shared by the node, the client and the transport.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** int64 as decimal strings (no precision loss), enums as names, defaults filled, oneof names set. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Finds the repository's proto/ folder from source (libs/proto/src) or a build (dist/apps/x). */
export function protoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'proto', 'quorumlite', 'v1', 'sql.proto');
    if (fs.existsSync(candidate)) return path.join(dir, 'proto');
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find proto/quorumlite/v1/sql.proto above ${__dirname}`);
}

export const SQL_PROTO_FILE = 'quorumlite/v1/sql.proto';
export const PEER_PROTO_FILE = 'quorumlite/v1/peer.proto';
export const ADMIN_PROTO_FILE = 'quorumlite/v1/admin.proto';

export interface PackageDefinitions {
  readonly sql: protoLoader.PackageDefinition;
  readonly peer: protoLoader.PackageDefinition;
  readonly admin: protoLoader.PackageDefinition;
}

let cached: PackageDefinitions | null = null;

export function packageDefinitions(): PackageDefinitions {
  if (cached) return cached;
  const includeDirs = [protoRoot()];
  const load = (file: string): protoLoader.PackageDefinition => protoLoader.loadSync(file, { ...PROTO_LOADER_OPTIONS, includeDirs });
  cached = { sql: load(SQL_PROTO_FILE), peer: load(PEER_PROTO_FILE), admin: load(ADMIN_PROTO_FILE) };
  return cached;
}

interface ServiceCtor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): grpc.Client;
  service: grpc.ServiceDefinition;
}

function serviceOf(def: protoLoader.PackageDefinition, name: string): ServiceCtor {
  const loaded = grpc.loadPackageDefinition(def) as unknown as { quorumlite: { v1: Record<string, ServiceCtor> } };
  const ctor = loaded.quorumlite.v1[name];
  if (!ctor) throw new Error(`service quorumlite.v1.${name} not found in proto`);
  return ctor;
}

export function sqlServiceCtor(): ServiceCtor {
  return serviceOf(packageDefinitions().sql, 'SqlService');
}

export function peerServiceCtor(): ServiceCtor {
  return serviceOf(packageDefinitions().peer, 'PeerService');
}

export function adminServiceCtor(): ServiceCtor {
  return serviceOf(packageDefinitions().admin, 'AdminService');
}

// ---- values -------------------------------------------------------------------------

/** A SQLite value as the SQL layer sees it. Integers are bigint so 64 bits survive. */
export type SqlValue = null | bigint | number | string | Uint8Array;

/** The wire form produced by proto-loader with PROTO_LOADER_OPTIONS. */
export interface WireValue {
  kind?: 'null' | 'integer' | 'real' | 'text' | 'blob';
  null?: boolean;
  integer?: string | number;
  real?: number;
  text?: string;
  blob?: Uint8Array | Buffer;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit integer field as a message to send gives it: a number when it is a safe integer,
 * else its decimal string. The bytes on the wire are the same; protobufjs turns a number into
 * its Long directly, and parses a string digit by digit (about 0.6 µs each, several per
 * answer on the hot paths). Not for a negative value in a uint64 field: protobufjs makes a
 * negative number 0 there (and wraps a negative string around), so check the range first.
 */
export function wireInt64(v: bigint | number): string | number {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : String(v);
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v.toString();
}

export function toWireValue(v: SqlValue): WireValue {
  if (v === null) return { null: true };
  switch (typeof v) {
    case 'bigint':
      if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`integer ${v} does not fit in 64 bits`);
      return { integer: wireInt64(v) };
    case 'number':
      return { real: v };
    case 'string':
      return { text: v };
    default:
      return { blob: Buffer.from(v.buffer, v.byteOffset, v.byteLength) };
  }
}

/** Throws a TypeError naming what is wrong with a value a client sent. */
export function fromWireValue(w: WireValue | null | undefined, where = 'value'): SqlValue {
  const v = wireValueOrProblem(w);
  if (v instanceof WireValueProblem) throw new TypeError(`${where}: ${v.why}`);
  return v;
}

/** Why a wire value is not a SQL value; wireValueOrProblem returns it rather than throw. */
export class WireValueProblem {
  constructor(readonly why: string) {}
}

const NO_VALUE = new WireValueProblem('no value is set; set one of null, integer, real, text or blob');

/**
 * fromWireValue for a hot path: a problem comes back as a value, so the caller names where
 * the value was only when there is one (no label built per value).
 */
export function wireValueOrProblem(w: WireValue | null | undefined): SqlValue | WireValueProblem {
  // An unset oneof is not NULL: a client that forgot to fill a value must hear so.
  if (!w) return NO_VALUE;
  const kind = w.kind ?? inferKind(w);
  switch (kind) {
    case 'null':
      return null;
    case undefined:
      return new WireValueProblem('no value is set; set one of null, integer, real, text or blob (null: true for SQL NULL)');
    case 'integer': {
      const raw = w.integer ?? '0';
      if (typeof raw === 'number') {
        if (!Number.isSafeInteger(raw)) return new WireValueProblem(`integer ${raw} is not a safe integer; send it as a string`);
        return BigInt(raw);
      }
      if (!/^-?\d{1,19}$/.test(raw)) return new WireValueProblem(`integer '${raw}' is not a 64-bit integer`);
      const n = BigInt(raw);
      if (n < INT64_MIN || n > INT64_MAX) return new WireValueProblem(`integer ${raw} does not fit in 64 bits`);
      return n;
    }
    case 'real':
      if (typeof w.real !== 'number') return new WireValueProblem('real is not a number');
      return w.real;
    case 'text':
      if (typeof w.text !== 'string') return new WireValueProblem('text is not a string');
      return w.text;
    case 'blob': {
      const b = w.blob ?? Buffer.alloc(0);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    default:
      return new WireValueProblem(`unknown value kind '${String(kind)}'`);
  }
}

function inferKind(w: WireValue): WireValue['kind'] {
  if (w.null) return 'null';
  if (w.integer !== undefined) return 'integer';
  if (w.real !== undefined) return 'real';
  if (w.text !== undefined) return 'text';
  if (w.blob !== undefined) return 'blob';
  return undefined;
}

// ---- repeated text ---------------------------------------------------------------------

/** Texts longer than this are decoded every time (comparing would cost as much). */
const REPEATED_TEXT_BYTES_MAX = 1024;

/**
 * UTF-8 text that repeats (the SQL of a batch's statements, a client's one query, a log of one
 * command shape): the string decoded last comes back while the bytes are the same. That saves
 * the string and the hash a statement cache computes for a new one. It keeps its own copy of
 * the bytes, so equal bytes always give the same text.
 */
export class RepeatedText {
  private bytes = Buffer.alloc(0);
  private text = '';

  /** The text of buf[start, end). */
  decode(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === this.bytes.length && buf.compare(this.bytes, 0, n, start, end) === 0) return this.text;
    const text = buf.toString('utf8', start, end);
    if (n <= REPEATED_TEXT_BYTES_MAX) {
      this.bytes = Buffer.from(buf.subarray(start, end));
      this.text = text;
    }
    return text;
  }
}

// ---- error codes ----------------------------------------------------------------------

/**
 * The `ql-code` values a node puts in trailing metadata (see the top of sql.proto): one list
 * for the node, which sends them, and the client, which reads them.
 */
export const QL_ERROR_CODES = [
  'sql_error',
  'refused',
  'invalid',
  'too_large',
  'not_leader',
  'no_leader',
  'timeout',
  'overloaded',
  'unavailable',
  'stale',
  'internal',
  'unauthenticated',
  'permission_denied',
] as const;

export type QlErrorCode = (typeof QL_ERROR_CODES)[number];

/** The gRPC status each ql-code travels with: one table for the node and the client. */
export const QL_ERROR_STATUS: Readonly<Record<QlErrorCode, grpc.status>> = {
  sql_error: grpc.status.INVALID_ARGUMENT,
  refused: grpc.status.INVALID_ARGUMENT,
  invalid: grpc.status.INVALID_ARGUMENT,
  too_large: grpc.status.RESOURCE_EXHAUSTED,
  not_leader: grpc.status.UNAVAILABLE,
  no_leader: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  stale: grpc.status.FAILED_PRECONDITION,
  internal: grpc.status.INTERNAL,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
};

/**
 * The ql-code of a status that came without one — from gRPC itself, not a node: a
 * RESOURCE_EXHAUSTED is then a message over the receiver's size limit (too_large, not worth
 * a retry); a node that is overloaded always says so in ql-code.
 */
export function qlCodeOfStatus(status: number): QlErrorCode {
  switch (status) {
    case grpc.status.DEADLINE_EXCEEDED:
      return 'timeout';
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return 'unavailable';
    case grpc.status.INVALID_ARGUMENT:
      return 'invalid';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'too_large';
    case grpc.status.FAILED_PRECONDITION:
      return 'stale';
    case grpc.status.UNAUTHENTICATED:
      return 'unauthenticated';
    case grpc.status.PERMISSION_DENIED:
      return 'permission_denied';
    default:
      return 'internal';
  }
}

/** A ql-code read from metadata, checked against the list (undefined when it is not one). */
export function parseQlCode(raw: string | undefined): QlErrorCode | undefined {
  return raw !== undefined && (QL_ERROR_CODES as readonly string[]).includes(raw) ? (raw as QlErrorCode) : undefined;
}
export * from './wire-codec';
