/**
 * Binary encodings of what the SQL layer stores: commands (log entry payloads) and apply
 * outcomes (kept in the dedup table). Little-endian, length-prefixed, versioned:
 *
 *   command   := u8 version=1 · f64 timeMs · f64 seed · u8 hasRequestId [· str requestId]
 *                · varint statementCount · statement*
 *   statement := str sql · varint paramCount · value* · varint namedCount · (str key · value)*
 *   value     := u8 tag · payload   (0 null · 1 int64 · 2 float64 · 3 str text · 4 varint len, bytes)
 *   str       := varint byteLength · UTF-8 bytes
 *
 * Doubles keep every bit (including -0 and infinities); integers are full 64-bit.
 */
import { createHash } from 'node:crypto';
import { RepeatedText, type SqlValue } from '@quorumlite/proto';
import { SqlError } from './errors';
import { namedKeys, type ApplyOutcome, type Command, type QueryResult, type StatementInput, type StatementResult } from './types';

const COMMAND_VERSION = 1;
/** Strings shorter than this are tried byte by byte before a native UTF-8 write. */
const ASCII_FAST_PATH_CHARS_MAX = 256;
/** A writer starts at least this large; one sized by the caller starts at its size. */
const WRITER_INITIAL_BYTES = 256;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** A sign and the 16 digits of 2^53. */
const DECIMAL_SAFE_BYTES_MAX = 17;
/** Unused bytes a finished command may carry rather than be copied to its exact size. */
const WRITER_SLACK_BYTES_MAX = 4096;
const TAG_NULL = 0;
const TAG_INT = 1;
const TAG_REAL = 2;
const TAG_TEXT = 3;
const TAG_BLOB = 4;

class Writer {
  private buf: Buffer;
  private off = 0;

  /** `expectedBytes`: what the caller computed it will write, so a large value is copied once. */
  constructor(expectedBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(expectedBytes, WRITER_INITIAL_BYTES));
  }

  private ensure(bytes: number): void {
    if (this.off + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.off);
    this.off += 8;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.off);
    this.off += 8;
  }

  varint(v: number): void {
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.off++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.off++] = x;
  }

  str(s: string): void {
    if (s.length < ASCII_FAST_PATH_CHARS_MAX && this.ascii(s)) return;
    // Measured first (a native scan), so the text is written once, in place, after its length.
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.off += this.buf.write(s, this.off, n, 'utf8');
  }

  /** Short ASCII strings (SQL text, keys, most values) skip a native call; false if not ASCII. */
  private ascii(s: string): boolean {
    const n = s.length;
    this.ensure(5 + n);
    const start = this.off;
    this.varint(n);
    const buf = this.buf;
    let off = this.off;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.off = start;
        return false;
      }
      buf[off++] = c;
    }
    this.off = off;
    return true;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.off);
    this.off += b.byteLength;
  }

  /** ASCII text as its bytes, without a length (the fixed pieces of the outcome JSON). */
  asciiText(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.off++] = s.charCodeAt(i);
  }

  /** Any text as its UTF-8 bytes, without a length. */
  utf8Text(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n);
    this.off += this.buf.write(s, this.off, n, 'utf8');
  }

  /** A number as JSON.stringify gives it (a bigint in decimal); a safe integer without making the string. */
  decimal(v: number | bigint): void {
    const safe = typeof v === 'bigint' ? v >= SAFE_MIN && v <= SAFE_MAX : Number.isSafeInteger(v);
    if (!safe) {
      // As JSON.stringify writes it (a number that is not finite is null there).
      this.utf8Text(typeof v === 'bigint' ? v.toString() : JSON.stringify(v));
      return;
    }
    let x = Number(v);
    this.ensure(DECIMAL_SAFE_BYTES_MAX);
    if (x < 0) {
      this.buf[this.off++] = 0x2d; // '-'
      x = -x;
    }
    let digits = 1;
    for (let t = x; t >= 10; t = Math.floor(t / 10)) digits++;
    let at = this.off + digits;
    this.off = at;
    do {
      this.buf[--at] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
  }

  /** What was written, as a view of the writer's buffer: for bytes used at once, never kept. */
  view(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  finish(): Uint8Array {
    // Entries may stay in memory (log caches) long after encoding, so what is returned holds
    // no memory it does not use. A buffer much larger than its content is cut to size by a
    // copy, and so is a small one, which Node carves from a shared 8 KiB pool: a view of it
    // would keep the whole slab alive as long as the entry (a few hundred bytes of command
    // pinning kilobytes). One sized by the caller (the case of every large value) is
    // returned as it is, so a 16 MiB blob is not copied a second time.
    const pooled = this.buf.byteOffset !== 0 || this.buf.buffer.byteLength !== this.buf.length;
    if (pooled || this.buf.length - this.off > WRITER_SLACK_BYTES_MAX) return new Uint8Array(this.buf.subarray(0, this.off));
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.off);
  }
}

function varintBytes(n: number): number {
  let bytes = 1;
  for (let x = n >>> 7; x > 0; x >>>= 7) bytes++;
  return bytes;
}

/** Commands' SQL: a command repeats one statement (a batch), a log one command shape. */
const sqlTexts = new RepeatedText();

class Reader {
  private off = 0;
  private readonly buf: Buffer;
  /**
   * Where the reader is, for error messages: a label's {s} and {p} become these. Labels are
   * constant strings, so a command decodes without building a message per value.
   */
  statement = 0;
  param = 0;
  /** A named parameter's key ({k}), filled in last: a key's own text is never read as a label. */
  key = '';

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  label(what: string): string {
    return what.replace('{s}', String(this.statement)).replace('{p}', String(this.param)).replace('{k}', () => this.key);
  }

  /**
   * An array for `count` decoded items, sized once when the bytes left can hold them (each takes
   * at least a byte): V8 gives an array grown by push from empty room for 16 or more, which is
   * most of what a two-value statement allocates. A count past the bytes left gets an empty
   * array; decoding then fails on the truncation as it always did.
   */
  sized<T>(count: number): T[] {
    return count <= this.buf.length - this.off ? new Array<T>(count) : [];
  }

  private need(n: number, what: string): void {
    if (this.off + n > this.buf.length) {
      throw new SqlError('invalid', `command is truncated: ${this.label(what)} needs ${n} bytes at offset ${this.off} of ${this.buf.length}`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }

  i64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.off);
    this.off += 8;
    return v;
  }

  varint(what: string): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8(what);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new SqlError('invalid', `command has an over-long varint for ${this.label(what)} at offset ${this.off}`);
  }

  str(what: string): string {
    const n = this.varint(what);
    this.need(n, what);
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }

  /** str(), returning the previous SQL text's string when the bytes are the same. */
  sql(what: string): string {
    const n = this.varint(what);
    this.need(n, what);
    const start = this.off;
    this.off += n;
    return sqlTexts.decode(this.buf, start, start + n);
  }

  /**
   * A view into the command's bytes, not a copy: a decoded command lives only while its entry
   * is applied (SQLite copies what it binds), and the entry's bytes are never written to.
   */
  bytes(what: string): Uint8Array {
    const n = this.varint(what);
    this.need(n, what);
    const b = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.off, n);
    this.off += n;
    return b;
  }

  done(): boolean {
    return this.off === this.buf.length;
  }
}

function writeValue(w: Writer, v: SqlValue): void {
  if (v === null) return w.u8(TAG_NULL);
  switch (typeof v) {
    case 'bigint':
      w.u8(TAG_INT);
      return w.i64(v);
    case 'number':
      w.u8(TAG_REAL);
      return w.f64(v);
    case 'string':
      w.u8(TAG_TEXT);
      return w.str(v);
    default:
      w.u8(TAG_BLOB);
      return w.bytes(v);
  }
}

function readValue(r: Reader, what: string): SqlValue {
  const tag = r.u8(what);
  switch (tag) {
    case TAG_NULL:
      return null;
    case TAG_INT:
      return r.i64(what);
    case TAG_REAL:
      return r.f64(what);
    case TAG_TEXT:
      return r.str(what);
    case TAG_BLOB:
      return r.bytes(what);
    default:
      throw new SqlError('invalid', `command has unknown value tag ${tag} for ${r.label(what)}`);
  }
}

export function encodeCommand(c: Command): Uint8Array {
  const w = new Writer(commandBytesBound(c));
  w.u8(COMMAND_VERSION);
  w.f64(c.timeMs);
  w.f64(c.seed);
  if (c.requestId === null) w.u8(0);
  else {
    w.u8(1);
    w.str(c.requestId);
  }
  w.varint(c.statements.length);
  for (const s of c.statements) {
    w.str(s.sql);
    w.varint(s.params.length);
    for (let p = 0; p < s.params.length; p++) writeValue(w, s.params[p] as SqlValue);
    const keys = namedKeys(s.named);
    w.varint(keys.length);
    for (let k = 0; k < keys.length; k++) {
      w.str(keys[k]!);
      writeValue(w, s.named[keys[k]!] ?? null);
    }
  }
  return w.finish();
}

/**
 * An upper bound of encodeCommand's output, within a few bytes per value: the writer is
 * sized once, so a large blob or text is copied into the command exactly once.
 */
function commandBytesBound(c: Command): number {
  let n = 1 + 8 + 8 + 1 + (c.requestId === null ? 0 : strBytesBound(c.requestId)) + VARINT_BYTES_MAX;
  for (const s of c.statements) {
    n += strBytesBound(s.sql) + VARINT_BYTES_MAX * 2;
    for (let p = 0; p < s.params.length; p++) n += valueBytesBound(s.params[p] as SqlValue);
    const keys = namedKeys(s.named);
    for (let k = 0; k < keys.length; k++) n += strBytesBound(keys[k]!) + valueBytesBound(s.named[keys[k]!] ?? null);
  }
  return n;
}

const VARINT_BYTES_MAX = 5;

/** Short strings: three bytes per UTF-16 unit at most; long ones are measured (one pass, no copy). */
function strBytesBound(s: string): number {
  return VARINT_BYTES_MAX + (s.length < ASCII_FAST_PATH_CHARS_MAX ? s.length * 3 : Buffer.byteLength(s, 'utf8'));
}

function valueBytesBound(v: SqlValue): number {
  if (v === null) return 1;
  switch (typeof v) {
    case 'bigint':
    case 'number':
      return 9;
    case 'string':
      return 1 + strBytesBound(v);
    default:
      return 1 + VARINT_BYTES_MAX + v.byteLength;
  }
}

/** Throws SqlError('invalid') naming what is wrong; never a raw TypeError or RangeError. */
export function decodeCommand(bytes: Uint8Array): Command {
  if (!(bytes instanceof Uint8Array)) throw new SqlError('invalid', 'command is not a byte array');
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== COMMAND_VERSION) throw new SqlError('invalid', `command has unknown version ${version}`);
  const timeMs = r.f64('timeMs');
  const seed = r.f64('seed');
  const hasRequestId = r.u8('requestId flag');
  if (hasRequestId > 1) throw new SqlError('invalid', `command has a bad requestId flag ${hasRequestId}`);
  const requestId = hasRequestId === 1 ? r.str('requestId') : null;
  const count = r.varint('statement count');
  const statements = r.sized<StatementInput>(count);
  for (let i = 0; i < count; i++) statements[i] = readStatement(r, i);
  if (!r.done()) throw new SqlError('invalid', 'command has trailing bytes');
  return { statements, requestId, timeMs, seed };
}

/** Bytes of a request digest: 128 bits, so two different bodies never share one in practice. */
export const REQUEST_DIGEST_BYTES = 16;
/**
 * Bodies up to this size are hashed in JavaScript (cyrb128: about a tenth of the cost of a
 * native SHA-256 call for a one-row insert, whose fixed cost dominates); larger ones by
 * SHA-256, which is faster per byte. Part of the stored format: never change it.
 */
const REQUEST_DIGEST_JS_BYTES_MAX = 4096;

/**
 * The digest of a command's body — its statements and parameters as encoded, after the
 * request id — which tells a retry (the same body) from a reuse of the id (another body).
 * Computed from the log entry's bytes, so every replica gets the same digest; the header it
 * skips (time, seed, request id) differs between retries by design.
 */
export function requestDigest(bytes: Uint8Array, requestId: string): Buffer {
  const idBytes = Buffer.byteLength(requestId, 'utf8');
  const body = bytes.subarray(1 + 8 + 8 + 1 + varintBytes(idBytes) + idBytes);
  if (body.byteLength > REQUEST_DIGEST_JS_BYTES_MAX) {
    return createHash('sha256').update(body).digest().subarray(0, REQUEST_DIGEST_BYTES);
  }
  return cyrb128(body);
}

/** cyrb128 over bytes, seeded with the length: four 32-bit lanes, each mixed into the next. */
function cyrb128(b: Uint8Array): Buffer {
  // The length read once: `byteLength` in the loop's condition is a getter call per byte
  // (a 150-byte body took 1.45 µs with it, 0.32 µs without).
  const n = b.length;
  let h1 = 1779033703 ^ n;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < n; i++) {
    const k = b[i]!;
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  const out = Buffer.allocUnsafe(REQUEST_DIGEST_BYTES);
  out.writeUInt32LE(h1 >>> 0, 0);
  out.writeUInt32LE(h2 >>> 0, 4);
  out.writeUInt32LE(h3 >>> 0, 8);
  out.writeUInt32LE(h4 >>> 0, 12);
  return out;
}

/** The named values of every decoded statement that has none (shared: nothing writes to a command). */
const NO_NAMED: Record<string, SqlValue> = Object.freeze(Object.create(null) as Record<string, SqlValue>);

function readStatement(r: Reader, i: number): StatementInput {
  r.statement = i;
  const sql = r.sql('statement {s} sql');
  const nParams = r.varint('statement {s} parameter count');
  const params = r.sized<SqlValue>(nParams);
  for (let p = 0; p < nParams; p++) {
    r.param = p;
    params[p] = readValue(r, 'statement {s} parameter {p}');
  }
  const nNamed = r.varint('statement {s} named count');
  if (nNamed === 0) return { sql, params, named: NO_NAMED };
  // A null-prototype object: a key such as "__proto__" must stay an ordinary key.
  const named: Record<string, SqlValue> = Object.create(null) as Record<string, SqlValue>;
  for (let p = 0; p < nNamed; p++) {
    r.param = p;
    const key = r.str('statement {s} named key {p}');
    r.key = key;
    named[key] = readValue(r, 'statement {s} parameter :{k}');
  }
  return { sql, params, named };
}

// ---- outcomes (dedup table) ------------------------------------------------------------

type StoredResult = [number, string] | [number, string, QueryResult['columns'], string, boolean];

/**
 * JSON with rowids as decimal strings; rows a statement returned, as base64 of the value
 * encoding commands use (exact integers, reals and blobs). The stored form never has
 * `duplicate` (set on read).
 */
export function encodeOutcome(o: ApplyOutcome): Buffer {
  if (!o.ok) return Buffer.from(JSON.stringify({ ok: false, error: o.error }), 'utf8');
  // The bytes of JSON.stringify({ ok: true, results: o.results.map(storedResult) }), written out
  // for the results without rows (a batch of writes has one per row): no array or string per
  // result. The view is copied by SQLite as the row is saved.
  const w = new Writer(OUTCOME_BYTES_BASE + o.results.length * OUTCOME_RESULT_BYTES_TYPICAL);
  w.asciiText('{"ok":true,"results":[');
  for (let i = 0; i < o.results.length; i++) {
    const r = o.results[i]!;
    if (i > 0) w.u8(0x2c); // ','
    if (r.rows === undefined) {
      w.u8(0x5b); // '['
      w.decimal(r.rowsAffected);
      w.asciiText(',"');
      w.decimal(r.lastInsertRowid);
      w.asciiText('"]');
    } else w.utf8Text(JSON.stringify(storedResult(r)));
  }
  w.asciiText(']}');
  return w.view();
}

const OUTCOME_BYTES_BASE = 32;
/** `[1,"1234567"],`: a one-row write's result with a rowid of up to seven digits. */
const OUTCOME_RESULT_BYTES_TYPICAL = 16;

function storedResult(r: StatementResult): StoredResult {
  const head: [number, string] = [r.rowsAffected, r.lastInsertRowid.toString()];
  if (r.rows === undefined) return head;
  const w = new Writer(WRITER_INITIAL_BYTES);
  w.varint(r.rows.rows.length);
  for (const row of r.rows.rows) {
    w.varint(row.length);
    for (const v of row) writeValue(w, v);
  }
  return [...head, r.rows.columns, Buffer.from(w.finish()).toString('base64'), r.rows.truncated];
}

export function decodeOutcome(bytes: Uint8Array, duplicate: boolean): ApplyOutcome {
  const plain = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as
    | { ok: true; results: StoredResult[] }
    | { ok: false; error: Extract<ApplyOutcome, { ok: false }>['error'] };
  if (plain.ok) return { ok: true, results: plain.results.map(resultOf), duplicate };
  return { ok: false, error: plain.error, duplicate };
}

function resultOf(stored: StoredResult): StatementResult {
  const result: StatementResult = { rowsAffected: stored[0], lastInsertRowid: BigInt(stored[1]) };
  if (stored.length === 2) return result;
  const r = new Reader(Buffer.from(stored[3], 'base64'));
  const rows: SqlValue[][] = [];
  const count = r.varint('row count');
  for (let i = 0; i < count; i++) {
    const row: SqlValue[] = [];
    const n = r.varint(`row ${i} length`);
    for (let c = 0; c < n; c++) row.push(readValue(r, `row ${i} column ${c}`));
    rows.push(row);
  }
  result.rows = { columns: stored[2], rows, truncated: stored[4] };
  return result;
}
