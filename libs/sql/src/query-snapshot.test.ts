import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlError } from './errors';
import { GradualFlush, nativeBackup } from './snapshot-file';
import { entry, exec, rows, stmt, TempDbs } from './testing';
import type { SqlStateMachine } from './state-machine';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

function seeded(): SqlStateMachine {
  const m = dbs.open();
  const out = m.applyBatch([
    entry(m, 1, exec(['CREATE TABLE q (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)'])),
    entry(m, 2, exec([
      stmt(`WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50)
            INSERT INTO q (name, score) SELECT printf('n%03d', v), v / 2.0 FROM s`),
    ])),
  ]);
  expect(out.every((o) => o.ok)).toBe(true);
  return m;
}

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e: unknown) {
    if (e instanceof SqlError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('query', () => {
  it('returns declared types and typed values', () => {
    const m = seeded();
    const r = m.query({ sql: 'SELECT id, name, score, 1 + 1 AS two FROM q WHERE id = :id', params: [], named: { id: 3n }, maxRows: 0, maxBytes: 0 });
    expect(r).toEqual({
      columns: [
        { name: 'id', declType: 'INTEGER' },
        { name: 'name', declType: 'TEXT' },
        { name: 'score', declType: 'REAL' },
        { name: 'two', declType: '' },
      ],
      rows: [[3n, 'n003', 1.5, 2n]],
      truncated: false,
    });
  });

  it('cuts at maxRows and maxBytes and says so', () => {
    const m = seeded();
    const byRows = m.query({ sql: 'SELECT id FROM q ORDER BY id', params: [], named: {}, maxRows: 10, maxBytes: 0 });
    expect(byRows.rows).toHaveLength(10);
    expect(byRows.truncated).toBe(true);
    const exact = m.query({ sql: 'SELECT id FROM q', params: [], named: {}, maxRows: 50, maxBytes: 0 });
    expect(exact.truncated).toBe(false);
    const byBytes = m.query({ sql: 'SELECT name FROM q ORDER BY id', params: [], named: {}, maxRows: 0, maxBytes: 20 });
    expect(byBytes.rows).toEqual([['n001'], ['n002'], ['n003'], ['n004'], ['n005']]);
    expect(byBytes.truncated).toBe(true);
    // The statement is reusable after an early stop.
    expect(rows(m, 'SELECT count(*) FROM q')).toEqual([[50n]]);
  });

  it('refuses writes and internal tables, and reports bad SQL', () => {
    const m = seeded();
    const q = (sql: string): string => codeOf(() => m.query({ sql, params: [], named: {}, maxRows: 0, maxBytes: 0 }));
    expect(q("INSERT INTO q (name) VALUES ('x')")).toBe('refused');
    expect(q("INSERT INTO q (name) VALUES ('x') RETURNING id")).toBe('refused');
    expect(q('DELETE FROM q')).toBe('refused');
    expect(q('CREATE TABLE z (a)')).toBe('refused');
    expect(q('SELECT * FROM _quorumlite_requests')).toBe('refused');
    expect(q("ATTACH 'x' AS x")).toBe('refused');
    expect(q('SELECT * FROM nope')).toBe('sql_error');
    expect(q('SELEKT 1')).toBe('sql_error');
    expect(q('SELECT 1; SELECT 2')).toBe('invalid');
    expect(codeOf(() => m.query({ sql: 'SELECT ?', params: [], named: {}, maxRows: 0, maxBytes: 0 }))).toBe('invalid');
    expect(rows(m, 'SELECT count(*) FROM q')).toEqual([[50n]]);
  });

  it('answers a text it has checked before as it did the first time (the checks are cached by text)', () => {
    const m = seeded();
    const q = (sql: string, params: bigint[] = []): string => codeOf(() => m.query({ sql, params, named: {}, maxRows: 0, maxBytes: 0 }));
    for (let round = 0; round < 3; round++) {
      expect(q('SELECT name FROM q WHERE id = ?', [1n])).toBe('ok');
      expect(q('SELECT name FROM q WHERE id = ?')).toBe('invalid');
      expect(q('SELECT name FROM q WHERE id = ?', [1n, 2n])).toBe('invalid');
      expect(q('DELETE FROM q')).toBe('refused');
      expect(q('SELECT * FROM _quorumlite_requests')).toBe('refused');
      expect(q('SELECT 1; SELECT 2')).toBe('invalid');
      expect(q('PRAGMA table_info(q)')).toBe('ok');
    }
    expect(m.query({ sql: 'SELECT name FROM q WHERE id = ?', params: [2n], named: {}, maxRows: 0, maxBytes: 0 }).rows).toEqual([['n002']]);
  });

  it('answers the columns the schema has now, after a change of it between two reads of one text', () => {
    const m = seeded();
    const all = () => m.query({ sql: 'SELECT * FROM q WHERE id = 1', params: [], named: {}, maxRows: 0, maxBytes: 0 });
    expect(all().columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'data']);
    expect(all().rows[0]).toHaveLength(4);
    expect(m.applyBatch([entry(m, 3, exec(["ALTER TABLE q ADD COLUMN extra TEXT DEFAULT 'e'"]))])[0]!.ok).toBe(true);
    expect(all().columns).toEqual([
      { name: 'id', declType: 'INTEGER' },
      { name: 'name', declType: 'TEXT' },
      { name: 'score', declType: 'REAL' },
      { name: 'data', declType: 'BLOB' },
      { name: 'extra', declType: 'TEXT' },
    ]);
    expect(all().rows[0]).toEqual([1n, 'n001', 0.5, null, 'e']);
    expect(m.applyBatch([entry(m, 4, exec(['DROP TABLE q', 'CREATE TABLE q (id INTEGER PRIMARY KEY, z INT)', 'INSERT INTO q VALUES (1, 7)']))])[0]!.ok).toBe(true);
    expect(all()).toMatchObject({ columns: [{ name: 'id', declType: 'INTEGER' }, { name: 'z', declType: 'INT' }], rows: [[1n, 7n]] });
  });

  it('names the columns a RETURNING statement has now, when the schema changed since it was prepared (same batch or an earlier one)', () => {
    const m = seeded();
    const insert = "INSERT INTO q (name) VALUES ('r') RETURNING *";
    const returned = (o: ReturnType<SqlStateMachine['applyBatch']>[number], at: number) => {
      if (!o.ok) throw new Error(o.error.message);
      return o.results[at]!.rows!;
    };
    expect(returned(m.applyBatch([entry(m, 3, exec([insert]))])[0]!, 0).columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'data']);
    const same = returned(m.applyBatch([entry(m, 4, exec(["ALTER TABLE q ADD COLUMN extra TEXT DEFAULT 'e'", insert]))])[0]!, 1);
    expect(same.columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'data', 'extra']);
    expect(same.rows[0]).toHaveLength(5);
    m.applyBatch([entry(m, 5, exec(['ALTER TABLE q DROP COLUMN extra']))]);
    const later = returned(m.applyBatch([entry(m, 6, exec([insert]))])[0]!, 0);
    expect(later.columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'data']);
    expect(later.rows[0]).toHaveLength(4);
  });

  it('queries of one turn share a read transaction, which ends before every apply and at the end of the turn', async () => {
    const m = seeded();
    const reading = (): boolean => (m as unknown as { conn: { read: Database.Database } }).conn.read.inTransaction;
    const count = (): unknown => m.query({ sql: 'SELECT count(*) FROM q', params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows;
    expect(count()).toEqual([[50n]]);
    expect(reading()).toBe(true);
    // Applied in the same turn: the next query must see it, not the transaction's older snapshot.
    m.applyBatch([entry(m, 3, exec([stmt('INSERT INTO q (name) VALUES (?)', ['late'])]))]);
    expect(reading()).toBe(false);
    expect(count()).toEqual([[51n]]);
    expect(reading()).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(reading()).toBe(false);
    expect(count()).toEqual([[51n]]);
    m.close();
  });

  it('a restore in the turn of a query ends its read first: the next query reads the restored data', async () => {
    const a = seeded();
    const file = path.join(dbs.dir(), 'snap-turn.sqlite');
    expect(await a.snapshotAsync(file)).toEqual({ index: 2 });
    const m = seeded();
    m.applyBatch([entry(m, 3, exec([stmt('INSERT INTO q (name) VALUES (?)', ['only here'])]))]);
    const count = (): unknown => m.query({ sql: 'SELECT count(*) FROM q', params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows;
    expect(count()).toEqual([[51n]]);
    expect(m.restore(file)).toEqual({ index: 2 });
    expect(count()).toEqual([[50n]]);
    await new Promise((r) => setImmediate(r));
    expect(count()).toEqual([[50n]]);
    m.close();
  });

  it('hides internal tables from tables(), schema() and digest()', () => {
    const m = seeded();
    expect(m.tables()).toEqual(['q']);
    expect(m.schema()).toBe('CREATE TABLE q (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB);');
    const other = dbs.open();
    const before = other.digest();
    other.applyBatch([{ index: 1, kind: 'noop', data: new Uint8Array(0) }]);
    expect(other.digest()).toBe(before); // the applied index moved, the user state did not
  });
});

describe('snapshot and restore', () => {
  it('copies the state at the applied index and restores it elsewhere', async () => {
    const a = seeded();
    const file = path.join(dbs.dir(), 'snap-2.sqlite');
    expect(await a.snapshotAsync(file)).toEqual({ index: 2 });
    a.applyBatch([entry(a, 3, exec(["INSERT INTO q (name) VALUES ('after')"]))]);

    const b = dbs.open();
    b.applyBatch([entry(b, 1, exec(['CREATE TABLE junk (x)']))]);
    expect(b.restore(file)).toEqual({ index: 2 });
    expect(b.appliedIndex()).toBe(2);
    expect(b.tables()).toEqual(['q']);
    expect(fs.existsSync(file)).toBe(false); // consumed
    // Catching up from the snapshot's index gives the same state as the source.
    b.applyBatch([entry(a, 3, exec(["INSERT INTO q (name) VALUES ('after')"]))]);
    expect(b.digest()).toBe(a.digest());
    expect(rows(b, 'SELECT count(*) FROM q')).toEqual([[51n]]);
  });

  it('snapshotAsync copies without blocking, carrying applies made meanwhile, and restores elsewhere', async () => {
    const a = seeded();
    for (let i = 0; i < 40; i++) a.applyBatch([entry(a, 3 + i, exec([`INSERT INTO q (name) VALUES ('bulk ${i} ${'x'.repeat(2000)}')`]))]);
    const file = path.join(dbs.dir(), 'snap-async.sqlite');
    const pending = a.snapshotAsync(file);
    // Applied while the copy is in progress, through the same connection.
    a.applyBatch([entry(a, 43, exec(["INSERT INTO q (name) VALUES ('during')"]))]);
    const { index } = await pending;
    expect(index).toBeGreaterThanOrEqual(42);
    expect(index).toBeLessThanOrEqual(43);
    const b = dbs.open();
    expect(b.restore(file)).toEqual({ index });
    for (let i = index + 1; i <= 43; i++) b.applyBatch([entry(a, i, exec(["INSERT INTO q (name) VALUES ('during')"]))]);
    expect(b.digest()).toBe(a.digest());
  });

  it('refuses a file that is not a quorumlite database and keeps the current one', async () => {
    const m = seeded();
    const dir = dbs.dir();
    const garbage = path.join(dir, 'garbage.sqlite');
    fs.writeFileSync(garbage, Buffer.alloc(8192, 7));
    // A plain SQLite file without our meta table.
    const plain = path.join(dir, 'plain.sqlite');
    const digest = m.digest();
    await m.snapshotAsync(plain);
    const db = new Database(plain);
    db.exec('DROP TABLE _quorumlite_meta');
    db.close();
    for (const bad of [garbage, plain, path.join(dir, 'missing.sqlite')]) {
      try {
        m.restore(bad);
        throw new Error(`restored ${bad}`);
      } catch (e: unknown) {
        expect(e).toBeInstanceOf(SqlError);
        expect((e as SqlError).code).toBe('corrupt');
        expect((e as SqlError).message).toContain(bad);
      }
    }
    expect(m.digest()).toBe(digest);
    expect(m.appliedIndex()).toBe(2);
    expect(fs.existsSync(garbage)).toBe(true);
  });

  it('puts the previous database back when the restored one will not open, and cleans up what a cut-short restore left', async () => {
    const a = seeded();
    const file = path.join(dbs.dir(), 'snap-2.sqlite');
    await a.snapshotAsync(file);
    const dir = dbs.dir();
    const dbPath = path.join(dir, 'db.sqlite');
    const b = dbs.open(undefined, dbPath);
    b.applyBatch([entry(b, 1, exec(['CREATE TABLE kept (x)']))]);
    const digest = b.digest();
    // The first reopen after the swap fails, as a disk that went away would make it.
    const inner = b as unknown as { openConnections: () => unknown };
    const openConnections = inner.openConnections.bind(b);
    let opens = 0;
    inner.openConnections = () => {
      if (opens++ === 0) throw new Error('EIO: the disk went away');
      return openConnections();
    };
    expect(() => b.restore(file)).toThrow(/cannot open the database restored from .*EIO: the disk went away; the previous database is back/);
    expect(b.appliedIndex()).toBe(1);
    expect(b.tables()).toEqual(['kept']);
    expect(b.digest()).toBe(digest);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.previous') || f.endsWith('.restoring'))).toEqual([]);
    b.close();
    // A crash in the middle of a restore leaves these beside the database; opening removes them.
    fs.writeFileSync(`${dbPath}.previous`, 'old');
    fs.writeFileSync(`${dbPath}.restoring`, 'new');
    const reopened = dbs.open(undefined, dbPath);
    expect(reopened.digest()).toBe(digest);
    expect(fs.existsSync(`${dbPath}.previous`) || fs.existsSync(`${dbPath}.restoring`)).toBe(false);
  });

  it('refuses to overwrite an existing snapshot file', async () => {
    const m = seeded();
    const file = path.join(dbs.dir(), 'exists.sqlite');
    fs.writeFileSync(file, 'x');
    await expect(m.snapshotAsync(file)).rejects.toMatchObject({ code: 'invalid' });
  });
});

describe('GradualFlush', () => {
  const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

  it('flushes a file while it grows, then fsyncs it once more and closes', async () => {
    const file = path.join(dbs.dir(), 'growing');
    const flush = new GradualFlush(file);
    flush.kick(); // not created yet: nothing to do, no failure
    const fdsBefore = openFds();
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 8; i++) {
      fs.appendFileSync(file, chunk);
      flush.kick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flush.finish();
    expect(fs.statSync(file).size).toBe(8 * chunk.length);
    expect(openFds()).toBe(fdsBefore);
  });

  it('fails finish() for a file that never came, and abandon() just closes', async () => {
    const dir = dbs.dir();
    await expect(new GradualFlush(path.join(dir, 'never')).finish()).rejects.toThrow(/never created/);
    const file = path.join(dir, 'dropped');
    fs.writeFileSync(file, 'x');
    const fdsBefore = openFds();
    const flush = new GradualFlush(file);
    flush.kick();
    await flush.abandon();
    expect(openFds()).toBe(fdsBefore);
  });
});

describe('paced snapshot copy', () => {
  it("drives better-sqlite3's native backup step by step (not its unpaced fallback)", () => {
    const dir = dbs.dir();
    const db = new Database(path.join(dir, 'src.db'));
    try {
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      const backup = nativeBackup(db, path.join(dir, 'copy.db'));
      expect(backup, 'better-sqlite3 no longer exposes its backup handle: snapshots would copy unpaced').not.toBeNull();
      expect(backup!.transfer(1).totalPages).toBeGreaterThan(0);
      while (backup!.transfer(1).remainingPages > 0);
      backup!.close();
      const copy = new Database(path.join(dir, 'copy.db'), { readonly: true });
      expect(copy.prepare('SELECT x FROM t').pluck().get()).toBe(1);
      copy.close();
    } finally {
      db.close();
    }
  });
});
