/**
 * The SQL layer's one error type. `code` is what callers branch on (and what travels as the
 * `ql-code` trailer); `sqliteCode` is SQLite's extended code for `sql_error`.
 */
import { CodedError } from '@quorumlite/errors';

export type SqlErrorCode = 'sql_error' | 'refused' | 'invalid' | 'too_large' | 'corrupt';

export class SqlError extends CodedError<SqlErrorCode> {
  readonly sqliteCode?: string;
  readonly statementIndex?: number;

  constructor(
    code: SqlErrorCode,
    message: string,
    details: { sqliteCode?: string; statementIndex?: number; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SqlError';
    if (details.sqliteCode !== undefined) this.sqliteCode = details.sqliteCode;
    if (details.statementIndex !== undefined) this.statementIndex = details.statementIndex;
  }
}

/** The `code` property SQLite errors carry (better-sqlite3's SqliteError), if any. */
export function sqliteCodeOf(e: unknown): string | undefined {
  if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  return undefined;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
