import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpSql, importBackup, sqlLiteral } from './backup-file';
import { SqlError } from './errors';
import { entry, exec, rows, stmt, TempDbs } from './testing';
import type { SqlStateMachine } from './state-machine';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

/** A machine at applied index 3 with a table, an index, a view, a trigger and a request id in its window. */
function source(): SqlStateMachine {
  const m = dbs.open();
  const out = m.applyBatch([
    entry(m, 1, exec(['CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, twice INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL)'])),
    entry(m, 2, exec([stmt('INSERT INTO t (id, name, score, data) VALUES (?, ?, ?, ?)', [1n, "it's", 1, new Uint8Array([0, 255])]), stmt("INSERT INTO t (id, name, score) VALUES (2, 'a\nb', 2.5)"), stmt('INSERT INTO t (id) VALUES (3)')], 'req-1')),
    entry(m, 3, exec(['CREATE INDEX t_name ON t (name)', 'CREATE VIEW v AS SELECT id FROM t', 'CREATE TABLE log (n INTEGER)', 'CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.id); END'])),
  ]);
  expect(out.every((o) => o.ok)).toBe(true);
  return m;
}

async function backupOf(m: SqlStateMachine): Promise<string> {
  const file = path.join(dbs.dir(), 'backup.sqlite');
  await m.snapshotAsync(file);
  return file;
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('importBackup', () => {
  it('makes a backup the first database of a new log: same rows, applied index 0, no request ids', async () => {
    const m = source();
    const backup = await backupOf(m);
    const dbPath = path.join(dbs.dir(), 'db.sqlite');
    expect(importBackup(backup, dbPath)).toEqual({ sourceIndex: 3, origin: `sha256:${sha256(backup)}` });
    const restored = dbs.open(undefined, dbPath);
    expect(restored.appliedIndex()).toBe(0);
    // It says where it began; a database that began empty says nothing.
    expect(restored.origin()).toBe(`sha256:${sha256(backup)}`);
    expect(m.origin()).toBe('');
    expect(rows(restored, 'SELECT id, name, score, data, twice FROM t ORDER BY id')).toEqual(rows(m, 'SELECT id, name, score, data, twice FROM t ORDER BY id'));
    // The old log's request ids are gone: the same id in the new log is a new request.
    const again = restored.applyBatch([entry(restored, 1, exec(["INSERT INTO t (id) VALUES (4)"], 'req-1'))]);
    expect(again[0]!.ok).toBe(true);
    expect(rows(restored, 'SELECT n FROM log')).toEqual([[4n]]);
  });

  it('gives every replica that imports the same backup the same bytes', async () => {
    const backup = await backupOf(source());
    const a = path.join(dbs.dir(), 'db.sqlite');
    const b = path.join(dbs.dir(), 'db.sqlite');
    importBackup(backup, a);
    importBackup(backup, b);
    expect(sha256(a)).toBe(sha256(b));
  });

  it('refuses a file that is not a quorumlite database, and writes nothing', () => {
    const dir = dbs.dir();
    const plain = path.join(dir, 'plain.sqlite');
    const db = new Database(plain);
    db.exec('CREATE TABLE x (a)');
    db.close();
    const dbPath = path.join(dir, 'db.sqlite');
    expect(() => importBackup(plain, dbPath)).toThrow(/backup .*plain\.sqlite is not a usable quorumlite database/);
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello, this is not a database at all'.repeat(200));
    expect(() => importBackup(text, dbPath)).toThrow(SqlError);
    expect(fs.existsSync(dbPath)).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['notes.txt', 'plain.sqlite']);
  });

  it('refuses a truncated backup', async () => {
    const backup = await backupOf(source());
    fs.truncateSync(backup, Math.floor(fs.statSync(backup).size / 2));
    const dbPath = path.join(dbs.dir(), 'db.sqlite');
    expect(() => importBackup(backup, dbPath)).toThrow(/is not a usable quorumlite database/);
    expect(fs.existsSync(dbPath)).toBe(false);
  });

  it('never writes over an existing database', async () => {
    const backup = await backupOf(source());
    const dbPath = path.join(dbs.dir(), 'db.sqlite');
    fs.writeFileSync(dbPath, 'data a user cares about');
    expect(() => importBackup(backup, dbPath)).toThrow(/already exists/);
    expect(fs.readFileSync(dbPath, 'utf8')).toBe('data a user cares about');
  });
});

describe('dumpSql', () => {
  it('writes text that sqlite loads back to the same rows, without quorumlite tables', async () => {
    const m = source();
    const backup = await backupOf(m);
    let text = '';
    const counts = dumpSql(backup, (t) => (text += t), ['a header']);
    expect(counts).toEqual({ tables: 2, rows: 3 });
    expect(text.startsWith('-- a header\nBEGIN TRANSACTION;\n')).toBe(true);
    expect(text.endsWith('COMMIT;\n')).toBe(true);
    expect(text).not.toContain('_quorumlite_');
    const fresh = new Database(':memory:');
    fresh.defaultSafeIntegers(true);
    fresh.exec(text);
    expect(fresh.prepare('SELECT id, name, score, data, twice FROM t ORDER BY id').raw(true).all()).toEqual(
      rows(m, 'SELECT id, name, score, data, twice FROM t ORDER BY id').map((r) => r.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v))),
    );
    // Rows go in before the trigger exists: loading them fires nothing.
    expect(fresh.prepare('SELECT count(*) FROM log').pluck().get()).toBe(0n);
    expect(fresh.prepare("SELECT name FROM sqlite_schema WHERE type IN ('index', 'view', 'trigger') ORDER BY name").pluck().all()).toEqual(['t_ins', 't_name', 'v']);
  });

  it('writes each value so that it reads back with its type', () => {
    expect([null, 7n, 1, 2.5, -0.5e-300, Infinity, -Infinity, "o'k", 'a\0b', new Uint8Array([1, 171])].map(sqlLiteral)).toEqual([
      'NULL', '7', '1.0', '2.5', '-5e-301', '1e999', '-1e999', "'o''k'", "CAST(X'610062' AS TEXT)", "X'01ab'",
    ]);
    const db = new Database(':memory:');
    expect(db.prepare(`SELECT typeof(${sqlLiteral(1)}), typeof(${sqlLiteral('a\0b')}), length(${sqlLiteral('a\0b')})`).raw(true).get()).toEqual(['real', 'text', 1]);
  });
});
