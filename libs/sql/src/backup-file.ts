/**
 * Backup files: a consistent copy of a node's database (the snapshot path makes it), made the
 * first database of a new cluster (`importBackup`), or written out as SQL text (`dumpSql`).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { installDeterministicFunctions, wallClockContext } from './determinism';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { INTERNAL_PREFIX } from './policy';
import { fsyncDir, fsyncFile, readSnapshotIndex } from './snapshot-file';

/** Beside the database while a backup becomes it: whole or absent, so a crash leaves no half. */
const IMPORTING_SUFFIX = '.importing';

/**
 * Makes `backupFile` the database at `dbPath`, which must not exist yet. The file is checked
 * first (SQLite opens it, `PRAGMA integrity_check` passes, it holds quorumlite's meta table),
 * so a file that is not a quorumlite backup is refused with SqlError('corrupt') naming it and
 * nothing is written. The copy then forgets the source cluster's log: its applied index goes
 * to 0 — the new cluster's log starts empty, and its record 1 is the first one this database
 * has not applied — and its request-id window is emptied (those ids and log indexes belong to
 * the old log). VACUUM then rewrites the file from its rows alone, so every replica that
 * imports the same backup starts from the same bytes. The database records where it began
 * (`ORIGIN_TABLE`: the backup file's SHA-256), so nodes that began elsewhere — empty, or from
 * another backup — refuse each other (databaseOrigin). Returns the source's applied index and
 * that origin.
 */
export function importBackup(backupFile: string, dbPath: string): { sourceIndex: number; origin: string } {
  if (fs.existsSync(dbPath)) throw new SqlError('invalid', `cannot import backup ${backupFile}: ${dbPath} already exists`);
  const sourceIndex = readSnapshotIndex(backupFile, { what: 'backup' });
  const origin = `sha256:${fileSha256(backupFile)}`;
  const importing = `${dbPath}${IMPORTING_SUFFIX}`;
  fs.rmSync(importing, { force: true });
  try {
    fs.copyFileSync(backupFile, importing);
    resetForNewLog(importing, origin);
    fsyncFile(importing);
    fs.renameSync(importing, dbPath);
    fsyncDir(path.dirname(dbPath));
  } catch (e: unknown) {
    fs.rmSync(importing, { force: true });
    for (const suffix of ['-wal', '-shm', '-journal']) fs.rmSync(`${importing}${suffix}`, { force: true });
    throw e instanceof SqlError ? e : new SqlError('sql_error', `cannot import backup ${backupFile} into ${dbPath}: ${messageOf(e)}`, { sqliteCode: sqliteCodeOf(e), cause: e });
  }
  return { sourceIndex, origin };
}

/** Where a database began, kept in the database itself (so a snapshot carries it). */
export const ORIGIN_TABLE = `${INTERNAL_PREFIX}origin`;

/**
 * Where the database at `db` began: '' (empty, the first database of a new cluster) or
 * 'sha256:<hex>' of the backup file a restored cluster began from.
 */
export function databaseOrigin(db: Database.Database): string {
  const table = db.prepare<[string], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(ORIGIN_TABLE);
  if (Number(table) === 0) return '';
  const origin = db.prepare<[], string>(`SELECT origin FROM ${ORIGIN_TABLE} WHERE id = 0`).pluck().get();
  return typeof origin === 'string' ? origin : '';
}

function fileSha256(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function resetForNewLog(file: string, origin: string): void {
  const db = new Database(file, { fileMustExist: true });
  // The functions the schema may call (a VACUUM rebuilds expression indexes).
  const closeBuiltins = installDeterministicFunctions(db, wallClockContext);
  try {
    // A rollback journal, not WAL: the file alone is the database when it is closed.
    db.pragma('journal_mode = DELETE');
    db.pragma('trusted_schema = ON');
    db.transaction(() => {
      db.prepare(`UPDATE ${INTERNAL_PREFIX}meta SET applied_index = 0 WHERE id = 0`).run();
      db.prepare(`DELETE FROM ${INTERNAL_PREFIX}dedup`).run();
      db.exec(`CREATE TABLE IF NOT EXISTS ${ORIGIN_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 0), origin TEXT NOT NULL)`);
      db.prepare(`INSERT OR REPLACE INTO ${ORIGIN_TABLE} (id, origin) VALUES (0, ?)`).run(origin);
    })();
    db.exec('VACUUM');
  } finally {
    db.close();
    closeBuiltins();
  }
}

/** Text the dump buffers before handing it to `write`: memory stays bounded however large the database. */
const DUMP_CHUNK_CHARS = 64 * 1024;

/**
 * Writes the database in `file` as SQL text in the manner of sqlite3's `.dump`: one
 * transaction, each table's CREATE then its rows as INSERTs, then indexes, triggers and
 * views. quorumlite's own tables (applied index, request ids) and SQLite's are left out, so
 * the text loads into sqlite3 or into a quorumlite cluster alike; AUTOINCREMENT counters
 * (sqlite_sequence) are not carried. A virtual table is refused by name: its rows live in
 * shadow tables only its module may write.
 */
export function dumpSql(file: string, write: (text: string) => void, header: readonly string[] = []): { tables: number; rows: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const closeBuiltins = installDeterministicFunctions(db, wallClockContext);
  let buffered = '';
  const emit = (line: string): void => {
    buffered += `${line}\n`;
    if (buffered.length < DUMP_CHUNK_CHARS) return;
    write(buffered);
    buffered = '';
  };
  try {
    db.defaultSafeIntegers(true);
    const objects = db
      .prepare(`SELECT type, name, tbl_name AS tableName, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '${INTERNAL_PREFIX.replace(/_/g, '\\_')}%' ESCAPE '\\' ORDER BY rowid`)
      .all() as { type: string; name: string; tableName: string; sql: string }[];
    for (const line of header) emit(`-- ${line}`);
    emit('BEGIN TRANSACTION;');
    let rows = 0;
    const tables = objects.filter((o) => o.type === 'table');
    for (const t of tables) {
      if (/^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(t.sql)) {
        throw new SqlError('invalid', `cannot dump virtual table '${t.name}' as SQL: its rows live in its module's shadow tables; take the backup in the sqlite format`);
      }
      emit(`${t.sql};`);
      rows += dumpRows(db, t.name, emit);
    }
    for (const o of objects.filter((x) => x.type !== 'table')) emit(`${o.sql};`);
    emit('COMMIT;');
    if (buffered !== '') write(buffered);
    return { tables: tables.length, rows };
  } finally {
    db.close();
    closeBuiltins();
  }
}

function dumpRows(db: Database.Database, table: string, emit: (line: string) => void): number {
  // Generated columns (hidden 2 and 3) are computed on insert, never written.
  const columns = (db.prepare(`SELECT name, hidden FROM pragma_table_xinfo(?)`).all(table) as { name: string; hidden: bigint }[])
    .filter((c) => c.hidden === 0n)
    .map((c) => quoteName(c.name));
  const target = `${quoteName(table)}(${columns.join(',')})`;
  const select = db.prepare(`SELECT ${columns.join(',')} FROM ${quoteName(table)}`).raw(true);
  let rows = 0;
  for (const row of select.iterate() as Iterable<unknown[]>) {
    emit(`INSERT INTO ${target} VALUES(${row.map(sqlLiteral).join(',')});`);
    rows++;
  }
  return rows;
}

export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A value as SQL text that reads back as the same value and type. */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (v === Infinity) return '1e999';
    if (v === -Infinity) return '-1e999';
    const s = String(v);
    // 1.0 must stay a REAL: "1" would read back as an INTEGER.
    return /[.eE]/.test(s) ? s : `${s}.0`;
  }
  if (typeof v === 'string') {
    // A NUL cannot sit inside a quoted literal (SQLite stops the text there).
    if (v.includes('\0')) return `CAST(X'${Buffer.from(v, 'utf8').toString('hex')}' AS TEXT)`;
    return `'${v.replace(/'/g, "''")}'`;
  }
  if (v instanceof Uint8Array) return `X'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'`;
  throw new TypeError(`cannot write a ${typeof v} as SQL`);
}
