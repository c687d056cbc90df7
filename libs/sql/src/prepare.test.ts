import { afterEach, describe, expect, it } from 'vitest';
import { SqlError } from './errors';
import { exec, stmt, T0, TempDbs } from './testing';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

function refusal(sql: string): { code: string; message: string } {
  const m = dbs.open();
  try {
    m.prepare(exec([sql]), T0, 1);
  } catch (e: unknown) {
    if (!(e instanceof SqlError)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error(`not refused: ${sql}`);
}

describe('PRAGMAs that set durability or locking', () => {
  it.each(['PRAGMA journal_mode', 'PRAGMA main.synchronous', 'PRAGMA locking_mode', 'PRAGMA busy_timeout'])('may be read: %s', (sql) => {
    const m = dbs.open();
    expect(m.prepare(exec([sql]), T0, 1).statements).toHaveLength(1);
    expect(m.query({ sql, params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows).toHaveLength(1);
  });

  it.each(['PRAGMA journal_mode = DELETE', 'PRAGMA journal_mode(DELETE)', 'PRAGMA wal_checkpoint', 'PRAGMA busy_timeout = 5'])(
    'may not be set: %s',
    (sql) => {
      const m = dbs.open();
      expect(() => m.prepare(exec([sql]), T0, 1)).toThrow(/is not allowed: it changes (durability|locking)/);
    },
  );
});

describe('prepare refuses what would make replicas differ, before the log', () => {
  it.each([
    ["ATTACH 'x.db' AS x", 'ATTACH is not allowed: every replica must keep one database file'],
    ['DETACH x', 'DETACH is not allowed: every replica must keep one database file'],
    ["SELECT load_extension('evil')", 'load_extension() is not allowed'],
    ['VACUUM', 'VACUUM is not allowed'],
    ["VACUUM INTO '/tmp/x.db'", 'VACUUM is not allowed'],
    ['PRAGMA journal_mode = DELETE', 'PRAGMA journal_mode is not allowed: it changes durability'],
    ['PRAGMA synchronous = OFF', 'PRAGMA synchronous is not allowed: it changes durability'],
    ['PRAGMA locking_mode = EXCLUSIVE', 'PRAGMA locking_mode is not allowed: it changes locking'],
    ['PRAGMA foreign_keys = OFF', 'PRAGMA foreign_keys may only be read here'],
    ['PRAGMA user_version = 3', 'PRAGMA user_version may only be read here'],
    ['PRAGMA user_version(3)', 'PRAGMA user_version may only be read here'],
    ['PRAGMA writable_schema = ON', 'PRAGMA writable_schema is not allowed: only read-only PRAGMAs are'],
    ['BEGIN', 'BEGIN is not allowed: the statements of one request already run as one transaction'],
    ['COMMIT', 'COMMIT is not allowed'],
    ['END TRANSACTION', 'END is not allowed'],
    ['ROLLBACK', 'ROLLBACK is not allowed'],
    ['SAVEPOINT s', 'SAVEPOINT is not allowed'],
    ['RELEASE s', 'RELEASE is not allowed'],
    ['INSERT OR ROLLBACK INTO t VALUES (1)', 'ROLLBACK conflict resolution is not allowed'],
    ['CREATE TABLE t (x UNIQUE ON CONFLICT ROLLBACK)', 'ROLLBACK conflict resolution is not allowed'],
    ['CREATE TABLE c (p REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)', 'INITIALLY DEFERRED constraints are not allowed'],
    ['ALTER TABLE c ADD COLUMN q REFERENCES t(id) deferrable /* x */ initially\n deferred', 'INITIALLY DEFERRED constraints are not allowed'],
    ['SELECT * FROM _quorumlite_meta', '_quorumlite_meta is not allowed: tables named _quorumlite_* are internal'],
    ['UPDATE "_QUORUMLITE_requests" SET outcome = NULL', '_QUORUMLITE_requests is not allowed'],
    ['DELETE FROM main.sqlite_sequence', 'writing sqlite_sequence is not allowed: sqlite_* tables belong to SQLite'],
    ['INSERT INTO sqlite_stat1 VALUES (1, 2, 3)', 'writing sqlite_stat1 is not allowed'],
    ['CREATE TEMP TABLE x (a)', 'CREATE TEMP is not allowed'],
    ['CREATE TABLE temp.x (a)', 'CREATE TEMP is not allowed'],
    ["SELECT datetime('now', 'localtime')", "is not allowed: it depends on the replica's time zone"],
    ["SELECT date(x, 'start of day', ' UTC ') FROM t", "is not allowed: it depends on the replica's time zone"],
    ['SELECT total_changes()', 'total_changes() is not allowed'],
  ])('%s', (sql, message) => {
    const r = refusal(sql);
    expect(r.code).toBe('refused');
    expect(r.message).toContain(message);
  });

  it('allows read-only PRAGMAs and the word UTC as data', () => {
    const m = dbs.open();
    for (const sql of ['PRAGMA table_info(t)', 'PRAGMA user_version', 'PRAGMA main.index_list(t)', "INSERT INTO t VALUES ('UTC')"]) {
      expect(() => m.prepare(exec([sql]), T0, 1)).not.toThrow();
    }
  });
});

describe('prepare checks syntax but leaves semantic errors to apply', () => {
  it.each(['SELEC 1', 'SELECT (1', "SELECT 'abc", 'CREATE TABLE (x)'])('refuses %s as sql_error', (sql) => {
    const m = dbs.open();
    try {
      m.prepare(exec(['SELECT 1', sql]), T0, 1);
      throw new Error('accepted');
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(SqlError);
      expect((e as SqlError).code).toBe('sql_error');
      expect((e as SqlError).sqliteCode).toBe('SQLITE_ERROR');
      expect((e as SqlError).statementIndex).toBe(1);
    }
  });

  it('accepts a statement on a table that an earlier statement creates', () => {
    const m = dbs.open();
    const c = m.prepare(exec(['CREATE TABLE t (x)', 'INSERT INTO t VALUES (1)']), T0, 1);
    expect(c.statements).toHaveLength(2);
  });
});

describe('prepare rewrites and splits', () => {
  it('rewrites CURRENT_* outside strings, identifiers and comments', () => {
    const m = dbs.open();
    const c = m.prepare(
      exec([
        `CREATE TABLE t (a DEFAULT CURRENT_TIMESTAMP, "current_date" TEXT DEFAULT 'CURRENT_TIME' /* CURRENT_DATE */, b DEFAULT current_time)`,
      ]),
      T0,
      1,
    );
    expect(c.statements[0]!.sql).toBe(
      `CREATE TABLE t (a DEFAULT (datetime('now')), "current_date" TEXT DEFAULT 'CURRENT_TIME' /* CURRENT_DATE */, b DEFAULT (time('now')))`,
    );
  });

  it.each([
    ['INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)', 2],
    ['CREATE TABLE a (x); CREATE TABLE b (y); SELECT 1', 3],
  ])('refuses %j: one Statement is one SQL statement', (sql, count) => {
    const m = dbs.open();
    let error: unknown;
    try {
      m.prepare(exec(['SELECT 1', sql]), T0, 1);
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(SqlError);
    expect((error as SqlError).code).toBe('invalid');
    expect((error as SqlError).statementIndex).toBe(1);
    expect((error as SqlError).message).toContain(`statement 1 holds ${count} SQL statements; a Statement is exactly one`);
  });

  it('takes one statement with a trailing semicolon and comments', () => {
    const m = dbs.open();
    const c = m.prepare(exec(['SELECT 1; -- done', 'SELECT 2 /* x */ ;  ']), T0, 1);
    expect(c.statements).toHaveLength(2);
  });
});

describe('triggers', () => {
  it('prepares and applies a trigger whose body holds semicolons, with the statements around it', async () => {
    const { entry } = await import('./testing');
    const m = dbs.open();
    const statements = [
      'CREATE TABLE a (x)',
      'CREATE TABLE b (y);',
      `CREATE TRIGGER a_b AFTER INSERT ON a BEGIN
        INSERT INTO b VALUES (CASE WHEN new.x > 1 THEN 'big;' ELSE 'small' END); -- ; in a comment
      END;`,
      'INSERT INTO a VALUES (1), (2)',
    ];
    expect(m.prepare(exec(statements), T0, 1).statements).toHaveLength(4);
    const [o] = m.applyBatch([entry(m, 1, exec(statements))]);
    expect(o?.ok).toBe(true);
    expect(m.query({ sql: 'SELECT y FROM b ORDER BY rowid', params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows).toEqual([
      ['small'],
      ['big;'],
    ]);
  });
});

describe('prepare checks parameters and limits', () => {
  const codeAndMessage = (f: () => unknown): [string, string] => {
    try {
      f();
    } catch (e: unknown) {
      if (e instanceof SqlError) return [e.code, e.message];
      throw e;
    }
    throw new Error('accepted');
  };

  it('names the statement and parameter when values do not fit', () => {
    const m = dbs.open();
    const p = (s: ReturnType<typeof stmt>): [string, string] => codeAndMessage(() => m.prepare(exec(['SELECT 1', s]), T0, 1));
    expect(p(stmt('SELECT ?, ?', [1n]))).toEqual(['invalid', 'statement 1 has 2 positional parameters but was given 1 value']);
    expect(p(stmt('SELECT :a'))).toEqual(['invalid', 'statement 1 has no value for named parameter :a']);
    expect(p(stmt('SELECT :a', [], { a: 1n, b: 2n }))[1]).toContain('statement 1 has no parameter named :b');
    expect(p(stmt('SELECT ?', [[1n] as unknown as bigint]))[1]).toContain('statement 1 parameter 0 is an array');
    expect(p(stmt('SELECT :a', [], { a: { x: 1 } as unknown as string }))[1]).toContain('parameter :a is an object');
    expect(p(stmt('SELECT ?', [2n ** 64n]))[1]).toContain('does not fit in 64 bits');
    expect(p(stmt('SELECT ?1, ?3', [1n, 2n, 3n]))[1]).toContain('uses ?3 but not ?2');
    expect(p(stmt('SELECT ?1, ?', [1n, 2n]))[1]).toContain('mixes ?NNN with other placeholders');
  });

  it('names the limit and the value', () => {
    const m = dbs.open({ limits: { statementBytesMax: 100, statementsPerRequestMax: 3, paramsPerStatementMax: 2, requestIdBytesMax: 4, requestBytesMax: 400 } });
    const big = `SELECT '${'x'.repeat(200)}'`;
    expect(codeAndMessage(() => m.prepare(exec(['SELECT 1', 'SELECT 2', 'SELECT 3', big]), T0, 1))).toEqual([
      'too_large',
      `statement 3 is ${big.length} bytes; the limit is 100 (--limit-statement-bytes-max)`,
    ]);
    expect(codeAndMessage(() => m.prepare(exec(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4']), T0, 1))[1]).toBe(
      'the request has more than 3 statements (--limit-statements-per-request-max)',
    );
    expect(codeAndMessage(() => m.prepare(exec([stmt('SELECT ?, ?, ?', [1n, 2n, 3n])]), T0, 1))[1]).toBe(
      'statement 0 has 3 parameters; the limit is 2 (--limit-params-per-statement-max)',
    );
    expect(codeAndMessage(() => m.prepare(exec(['SELECT 1'], 'abcde'), T0, 1))[1]).toBe(
      'requestId is 5 bytes; the limit is 4 (fixed)',
    );
    expect(codeAndMessage(() => m.prepare(exec([stmt('SELECT ?', ['y'.repeat(500)])]), T0, 1))[1]).toMatch(
      /^the request is \d+ bytes; the limit is 400 \(--limit-request-bytes-max\)$/,
    );
  });

  it('names limits by the flags libs/config declares for them', async () => {
    const { KEYS } = await import('@quorumlite/config');
    const { limitName, SQL_LIMITS } = await import('./limits');
    for (const name of Object.keys(SQL_LIMITS) as (keyof typeof SQL_LIMITS)[]) {
      const flag = limitName(name);
      if (flag !== 'fixed') expect(KEYS.find((k) => k.flag === flag)?.key).toBe(`limits.${name}`);
    }
  });

  it('has the documented defaults', async () => {
    const { SQL_LIMITS } = await import('./limits');
    expect(SQL_LIMITS).toEqual({
      statementBytesMax: 1048576,
      statementsPerRequestMax: 10000,
      paramsPerStatementMax: 999,
      requestBytesMax: 2097152,
      resultRowsMax: 100000,
      resultBytesMax: 33554432,
      requestIdBytesMax: 128,
      dedupWindowEntries: 100000,
    });
  });

  it('rejects a time the date functions cannot show and an empty request', () => {
    const m = dbs.open();
    expect(codeAndMessage(() => m.prepare(exec(['SELECT 1']), Number.NaN, 1))[0]).toBe('invalid');
    expect(codeAndMessage(() => m.prepare(exec([]), T0, 1))[0]).toBe('invalid');
    expect(codeAndMessage(() => m.prepare(exec(['  -- nothing\n']), T0, 1))[0]).toBe('invalid');
    // A library caller's list with a hole or a null: named, not a TypeError.
    const holey = exec(['SELECT 1', 'SELECT 2']);
    delete (holey.statements as unknown[])[1];
    expect(codeAndMessage(() => m.prepare(holey, T0, 1))).toEqual(['invalid', 'statement 1 has no sql text']);
    const withNull = { ...holey, statements: [holey.statements[0]!, null as unknown as (typeof holey.statements)[0]] };
    expect(codeAndMessage(() => m.prepare(withNull, T0, 1))).toEqual(['invalid', 'statement 1 has no sql text']);
  });
});
