/**
 * Makes SQLite's non-deterministic built-ins deterministic per command: random() and
 * randomblob(N) draw from a PRNG seeded with the command's seed, and the date/time functions
 * read the command's fixed time wherever SQLite would read the clock ('now', or no time
 * value). Installed on every connection that opens a database (write, read, snapshot
 * check) with the same determinism flags, so all of them accept the same schema; the read and
 * check connections have no command, and read the wall clock instead. Application-defined
 * functions take precedence over built-ins of the same name and arity (sqlite3FindFunction).
 */
import Database from 'better-sqlite3';
import { SqlError } from './errors';

/** What apply is currently running; null between commands. */
export interface CommandContext {
  readonly nowText: string; // 'YYYY-MM-DD HH:MM:SS.SSS' (UTC)
  readonly random: Prng;
}

/** Largest randomblob(N) served (SQLite's own limit is 1e9 bytes, far more than a log entry should make). */
export const RANDOMBLOB_BYTES_MAX = 16 * 1024 * 1024;

/** Earliest and latest command times SQLite's date functions represent as 'YYYY-MM-DD'. */
export const COMMAND_TIME_MS_MIN = 0;
export const COMMAND_TIME_MS_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The text the date functions see instead of 'now'; millisecond precision, as SQLite's clock. */
export function nowText(timeMs: number): string {
  checkCommandTime(timeMs);
  return new Date(Math.floor(timeMs)).toISOString().slice(0, 23).replace('T', ' ');
}

/** Throws 'invalid' for a time SQLite's date functions cannot show. */
export function checkCommandTime(timeMs: number): void {
  if (!Number.isFinite(timeMs) || timeMs < COMMAND_TIME_MS_MIN || timeMs > COMMAND_TIME_MS_MAX) {
    throw new SqlError('invalid', `command time ${timeMs} ms is outside ${COMMAND_TIME_MS_MIN}..${COMMAND_TIME_MS_MAX}`);
  }
}

/**
 * sfc32 seeded through splitmix32. Owned here rather than shared with the consensus PRNG on
 * purpose: its output is part of the replicated state (what random() wrote), so it must never
 * change between releases, while the consensus jitter source is free to.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = (seed >>> 0) ^ Math.floor(Math.abs(seed) / 0x1_0000_0000);
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  int64(): bigint {
    const hi = this.next32();
    const lo = this.next32();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  fill(out: Buffer): void {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.next32();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }
}

/** The context of a connection that applies no command (reads, checks): the wall clock, a fresh seed. */
export function wallClockContext(): CommandContext {
  const timeMs = Math.min(Math.max(Date.now(), COMMAND_TIME_MS_MIN), COMMAND_TIME_MS_MAX);
  return { nowText: nowText(timeMs), random: new Prng(Math.floor(Math.random() * 0x1_0000_0000)) };
}

type DateArg = unknown;

/** Which arguments of each date function are time values (the rest are format or modifiers). */
const DATE_FUNCTIONS: Readonly<Record<string, { timeArgs: readonly number[]; defaultAt: number }>> = {
  date: { timeArgs: [0], defaultAt: 0 },
  time: { timeArgs: [0], defaultAt: 0 },
  datetime: { timeArgs: [0], defaultAt: 0 },
  julianday: { timeArgs: [0], defaultAt: 0 },
  unixepoch: { timeArgs: [0], defaultAt: 0 },
  strftime: { timeArgs: [1], defaultAt: 1 },
  timediff: { timeArgs: [0, 1], defaultAt: -1 },
};

export const TIME_ZONE_MODIFIERS: ReadonlySet<string> = new Set(['localtime', 'utc']);

export function timeZoneRefusal(fn: string, modifier: string): SqlError {
  return new SqlError(
    'refused',
    `${fn}(…, '${modifier}') is not allowed: it depends on the replica's time zone, and replicas may differ`,
  );
}

/**
 * Installs the overrides on `db`. `context()` returns the running command's context; the
 * built-ins themselves are evaluated on a private in-memory connection with 'now' replaced.
 */
export function installDeterministicFunctions(db: Database.Database, context: () => CommandContext): () => void {
  const builtins = new Database(':memory:');
  builtins.defaultSafeIntegers(true);
  const calls = new Map<string, Database.Statement<unknown[]>>();
  const callBuiltin = (name: string, args: DateArg[]): unknown => {
    const key = `${name}/${args.length}`;
    let stmt = calls.get(key);
    if (!stmt) {
      stmt = builtins.prepare<unknown[]>(`SELECT ${name}(${args.map(() => '?').join(', ')})`).pluck();
      calls.set(key, stmt);
    }
    return stmt.get(...args);
  };

  db.function('random', { deterministic: false, safeIntegers: true }, () => context().random.int64());
  db.function('randomblob', { deterministic: false, safeIntegers: true }, (n: unknown) => {
    const bytes = Math.max(1, toInteger(n));
    if (bytes > RANDOMBLOB_BYTES_MAX) {
      throw new SqlError('too_large', `randomblob(${bytes}) is larger than ${RANDOMBLOB_BYTES_MAX} bytes`);
    }
    const out = Buffer.allocUnsafe(bytes);
    context().random.fill(out);
    return out;
  });

  for (const [name, shape] of Object.entries(DATE_FUNCTIONS)) {
    // deterministic: true keeps date(x) usable in indexes and generated columns as with the
    // built-ins; within one command 'now' is a constant, so constant folding is still right.
    db.function(name, { deterministic: true, varargs: true, safeIntegers: true }, (...args: DateArg[]) => {
      checkModifiers(name, args, shape.timeArgs);
      const fixed = withFixedNow(args, shape, () => context().nowText);
      return callBuiltin(name, fixed);
    });
  }
  return () => builtins.close();
}

function checkModifiers(name: string, args: readonly DateArg[], timeArgs: readonly number[]): void {
  const firstModifier = Math.max(...timeArgs) + 1;
  for (let i = firstModifier; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'string' && TIME_ZONE_MODIFIERS.has(a.trim().toLowerCase())) throw timeZoneRefusal(name, a);
  }
}

function withFixedNow(
  args: readonly DateArg[],
  shape: { timeArgs: readonly number[]; defaultAt: number },
  now: () => string,
): DateArg[] {
  const out = args.slice();
  if (shape.defaultAt >= 0 && out.length === shape.defaultAt) {
    out.push(now());
    return out;
  }
  for (const i of shape.timeArgs) {
    const a = out[i];
    // SQLite compares 'now' case-insensitively and exactly (no surrounding spaces).
    if (typeof a === 'string' && a.length === 3 && a.toLowerCase() === 'now') out[i] = now();
  }
  return out;
}

/** sqlite3_value_int64's reading of a value, close enough for a blob length. */
function toInteger(v: unknown): number {
  if (typeof v === 'bigint') return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'string') {
    const n = Number.parseInt(v.trim(), 10);
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
}
