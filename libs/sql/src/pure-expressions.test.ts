import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlError } from './errors';
import { readSnapshotIndex } from './snapshot-file';
import { entry, exec, rows, T0, TempDbs } from './testing';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

function refusal(sqls: string[]): SqlError {
  const m = dbs.open();
  for (let k = 0; k < sqls.length - 1; k++) expect(m.applyBatch([entry(m, k + 1, exec([sqls[k]!]))])[0]!.ok).toBe(true);
  try {
    m.prepare(exec([sqls[sqls.length - 1]!]), T0, 1);
  } catch (e: unknown) {
    if (e instanceof SqlError) return e;
    throw e;
  }
  throw new Error(`not refused: ${sqls[sqls.length - 1]}`);
}

describe('index, generated-column and CHECK expressions may not hang on the command time or seed', () => {
  it.each([
    [['CREATE TABLE t (a TEXT)', 'CREATE INDEX t_ix ON t (datetime(a))'], 'datetime() is not allowed in an index'],
    [['CREATE TABLE t (a TEXT)', "CREATE INDEX t_ix ON t (datetime('now', a || ' seconds'))"], 'datetime() is not allowed in an index'],
    [['CREATE TABLE t (a TEXT)', 'CREATE UNIQUE INDEX t_ix ON t (a) WHERE julianday(a) > 0'], 'julianday() is not allowed in an index'],
    [['CREATE TABLE t (a INTEGER)', 'CREATE INDEX t_ix ON t (a + random())'], 'random() is not allowed in an index'],
    [["CREATE TABLE g (a TEXT, b AS (datetime('now')))"], 'datetime() is not allowed in a generated column'],
    [['CREATE TABLE g (a TEXT, b TEXT GENERATED ALWAYS AS (strftime(\'%s\', a)) STORED)'], 'strftime() is not allowed in a generated column'],
    [['CREATE TABLE c (a TEXT CHECK (a < CURRENT_TIMESTAMP))'], 'not allowed in a CHECK constraint'],
    [['CREATE TABLE c (a BLOB, CHECK (length(a) < length(randomblob(4))))'], 'randomblob() is not allowed in a CHECK constraint'],
    [['CREATE TABLE t (a TEXT)', "ALTER TABLE t ADD COLUMN b AS (date(a, '+1 day'))"], 'date() is not allowed in a generated column'],
  ])('%j is refused before the log', (sqls, message) => {
    const e = refusal(sqls);
    expect(e.code).toBe('refused');
    expect(e.message).toContain(message);
    expect(e.message).toContain("depends on the command's time or random seed");
  });

  it('still allows them in DEFAULT clauses, triggers and ordinary statements, and the snapshot checks clean', async () => {
    const m = dbs.open();
    const out = m.applyBatch([
      entry(m, 1, exec(["CREATE TABLE t (a TEXT, at TEXT DEFAULT (datetime('now')), n INTEGER CHECK (n > 0), g AS (upper(a)))"])),
      entry(m, 2, exec(['CREATE INDEX t_ix ON t (lower(a)) WHERE n > 1'])),
      entry(m, 3, exec(["INSERT INTO t (a, n) VALUES (datetime('now'), 2), ('now', 3)"])),
    ]);
    expect(out.map((o) => o.ok)).toEqual([true, true, true]);
    const file = path.join(dbs.dir(), 'snap.sqlite');
    expect((await m.snapshotAsync(file)).index).toBe(3);
    expect(readSnapshotIndex(file)).toBe(3);
    expect(rows(m, 'PRAGMA integrity_check')).toEqual([['ok']]);
  });

  it('a read, the write and a snapshot check agree on a schema: a date function with a literal time reads the same everywhere', () => {
    const m = dbs.open();
    expect(m.applyBatch([entry(m, 1, exec(["CREATE VIEW v AS SELECT datetime('2020-01-01', '+1 day') AS d"]))])[0]!.ok).toBe(true);
    expect(rows(m, 'SELECT d FROM v')).toEqual([['2020-01-02 00:00:00']]);
  });
});

describe('restore', () => {
  it('leaves the database as it was when the snapshot fails its check, and says why', () => {
    const m = dbs.open();
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE t (a)'])), entry(m, 2, exec(["INSERT INTO t VALUES ('kept')"]))]);
    const bad = path.join(dbs.dir(), 'bad.sqlite');
    fs.writeFileSync(bad, Buffer.alloc(8192, 7));
    let error: unknown;
    try {
      m.restore(bad);
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(SqlError);
    expect((error as SqlError).code).toBe('corrupt');
    expect((error as SqlError).message).toContain(`snapshot ${bad} is not a usable quorumlite database`);
    expect(m.appliedIndex()).toBe(2);
    expect(rows(m, 'SELECT a FROM t')).toEqual([['kept']]);
    expect(m.applyBatch([entry(m, 3, exec(["INSERT INTO t VALUES ('after')"]))])[0]!.ok).toBe(true);
  });
});
