/**
 * How apply tells a command's own failure (an outcome every replica records alike) from a
 * failure of this machine (disk, memory, locks: the batch is undone and the node stops), and
 * the per-command context (time, PRNG) its statements run under.
 */
import { type CommandContext, nowText, Prng } from './determinism';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import type { ApplyError, Command } from './types';

/** SQLite codes that say something about this machine (disk, memory, locks), not the command. */
export const LOCAL_FAILURE_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_NOMEM',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
  'SQLITE_INTERRUPT',
  'SQLITE_PERM',
  'SQLITE_NOLFS',
  'SQLITE_INTERNAL',
  'SQLITE_MISUSE',
];

export function isLocalFailure(e: unknown): boolean {
  const code = sqliteCodeOf(e);
  return code !== undefined && LOCAL_FAILURE_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

export function localFailure(e: unknown, first: number, last: number): Error {
  if (e instanceof SqlError) return e;
  const code = sqliteCodeOf(e);
  return new SqlError(
    code?.startsWith('SQLITE_CORRUPT') || code?.startsWith('SQLITE_NOTADB') ? 'corrupt' : 'sql_error',
    `applying entries ${first}..${last} failed on this replica (${messageOf(e)}); none of them was applied`,
    { sqliteCode: code, cause: e },
  );
}

export function toApplyError(e: unknown, statementIndex: number | undefined): ApplyError {
  const error: ApplyError =
    e instanceof SqlError
      ? { code: e.code, message: e.message }
      : sqliteCodeOf(e) !== undefined
        ? { code: 'sql_error', message: messageOf(e) }
        : // better-sqlite3 reports binding problems as RangeError/TypeError: the same bytes fail the same way everywhere.
          { code: 'invalid', message: messageOf(e) };
  const sqliteCode = e instanceof SqlError ? e.sqliteCode : sqliteCodeOf(e);
  if (sqliteCode !== undefined) error.sqliteCode = sqliteCode;
  if (statementIndex !== undefined) error.statementIndex = statementIndex;
  return error;
}

/**
 * The command's time and PRNG, built on first use: most commands never call random() or a
 * date function, and apply pays per command. A bad time fails the statement that needs it.
 *
 * A class, not an object literal with getters made per command: with the literal, most of
 * what apply allocated (the decoded command's statements and values) survived young
 * collections and was promoted — V8 keeps such literals' accessors in structures that outlive
 * the object, and their closures held the command. A class's getters are shared, and it holds
 * only the two numbers it needs.
 */
class LazyCommandContext implements CommandContext {
  private text: string | null = null;
  private prng: Prng | null = null;

  constructor(
    private readonly timeMs: number,
    private readonly seed: number,
  ) {}

  get nowText(): string {
    this.text ??= nowText(this.timeMs);
    return this.text;
  }

  get random(): Prng {
    this.prng ??= new Prng(this.seed);
    return this.prng;
  }
}

export function lazyContext(command: Command): CommandContext {
  return new LazyCommandContext(command.timeMs, command.seed);
}

/** Longest statement text an error quotes; longer ones keep their start and end. */
export const QUOTED_SQL_CHARS_MAX = 60;

/** The statement as an error quotes it: whitespace collapsed, the middle cut when long. */
export function shortText(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  if (flat.length <= QUOTED_SQL_CHARS_MAX) return flat;
  const half = Math.floor((QUOTED_SQL_CHARS_MAX - 1) / 2);
  return `${flat.slice(0, half)}…${flat.slice(flat.length - half)}`;
}
