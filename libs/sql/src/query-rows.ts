/** What a query returns: its arguments checked and bound, its rows read up to the limits, its errors mapped. */
import type Database from 'better-sqlite3';
import type { SqlValue } from '@quorumlite/proto';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { plural } from './limits';
import { namedKeys, type QueryInput, type QueryResult, type StatementInput } from './types';

export function checkQueryParams(input: QueryInput, positional: number, names: readonly string[]): void {
  const params: readonly unknown[] = input.params;
  for (let k = 0; k < params.length; k++) checkValueForQuery(params[k], k);
  if (params.length !== positional) {
    throw new SqlError('invalid', `the query has ${plural(positional, 'positional parameter')} but was given ${plural(params.length, 'value')}`);
  }
  const named = input.named;
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(named, name)) {
      throw new SqlError('invalid', `the query has no value for named parameter :${name}`);
    }
  }
  for (const key of Object.keys(named)) {
    if (!names.includes(key)) throw new SqlError('invalid', `the query has no parameter named :${key}`);
    checkValueForQuery(named[key], `:${key}`);
  }
}

/** `param`: a positional parameter's index, or a named one's `:name`. */
export function checkValueForQuery(v: unknown, param: number | string): void {
  const ok =
    v === null ||
    typeof v === 'string' ||
    typeof v === 'number' ||
    (typeof v === 'bigint' && BigInt.asIntN(64, v) === v) ||
    v instanceof Uint8Array;
  if (!ok) throw new SqlError('invalid', `query parameter ${param} is not a SQL value`);
}

export function clampLimit(requested: number, max: number): number {
  return requested > 0 && requested < max ? Math.floor(requested) : max;
}

/** `columns`: the statement's, when the caller knows them to be current (see readRows). */
export function collectRows(stmt: Database.Statement<unknown[]>, args: unknown[], maxRows: number, maxBytes: number, columns?: QueryResult['columns']): QueryResult {
  try {
    return readRows(stmt, args, maxRows, maxBytes, columns);
  } catch (e: unknown) {
    throw queryError(e);
  }
}

/**
 * Rows of a raw statement up to `maxRows` and `maxBytes`; errors are SQLite's own. The columns
 * are read after the statement ran: a prepared statement whose schema changed (ALTER TABLE
 * under a SELECT *) is prepared again by SQLite at its first step, and only then names the
 * columns its rows have. `columns`, when given, are the caller's, known to be current.
 */
export function readRows(
  stmt: Database.Statement<unknown[]>,
  args: unknown[],
  maxRows: number,
  maxBytes: number,
  known?: QueryResult['columns'],
): QueryResult {
  const rows: SqlValue[][] = [];
  let bytes = 0;
  let truncated = false;
  const it = stmt.iterate(...args);
  try {
    for (;;) {
      const next = it.next();
      if (next.done === true) break;
      const row = (next.value as unknown[]).map(toSqlValue);
      const rowBytes = row.reduce<number>((n, v) => n + valueBytes(v), 0);
      if (rows.length >= maxRows || bytes + rowBytes > maxBytes) {
        truncated = true;
        break;
      }
      rows.push(row);
      bytes += rowBytes;
    }
  } finally {
    it.return?.();
  }
  return { columns: known ?? columnsOf(stmt), rows, truncated };
}

/** A statement's result columns, as a query answers them. */
export function columnsOf(stmt: Database.Statement<unknown[]>): QueryResult['columns'] {
  return stmt.columns().map((c) => ({ name: c.name, declType: c.type ?? '' }));
}

export function queryError(e: unknown): SqlError {
  if (e instanceof SqlError) return e;
  const code = sqliteCodeOf(e);
  if (code === undefined) return new SqlError('invalid', messageOf(e), { cause: e });
  if (code.startsWith('SQLITE_READONLY')) return new SqlError('refused', `a query may only read: ${messageOf(e)}`, { cause: e });
  return new SqlError('sql_error', messageOf(e), { sqliteCode: code, cause: e });
}

export function toSqlValue(v: unknown): SqlValue {
  if (Buffer.isBuffer(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return v as SqlValue;
}

export function valueBytes(v: SqlValue): number {
  if (v === null) return 1;
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (typeof v === 'bigint' || typeof v === 'number') return 8;
  return v.byteLength;
}

/** better-sqlite3 arguments: `?` from an array in order, ?NNN and :name from one object. */
export function bindArguments(s: StatementInput, numbered: boolean): unknown[] {
  if (numbered) {
    const byNumber: Record<string, SqlValue> = {};
    s.params.forEach((v, k) => {
      byNumber[String(k + 1)] = v;
    });
    return [byNumber];
  }
  const hasNamed = namedKeys(s.named).length > 0;
  return hasNamed ? [...s.params, s.named] : s.params;
}
