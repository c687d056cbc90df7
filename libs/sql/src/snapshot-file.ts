/** Snapshot files: a VACUUM INTO copy made durable, and the check a file must pass to be restored. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { INTERNAL_PREFIX } from './policy';

/** VACUUM INTO reads one consistent transaction, so the copy holds the meta row of its own state. */
export function snapshotInto(db: Database.Database, destPath: string): void {
  if (fs.existsSync(destPath)) throw new SqlError('invalid', `snapshot destination ${destPath} already exists`);
  try {
    db.prepare('VACUUM INTO ?').run(destPath);
  } catch (e: unknown) {
    throw new SqlError('sql_error', `cannot write snapshot ${destPath}: ${messageOf(e)}`, {
      sqliteCode: sqliteCodeOf(e),
      cause: e,
    });
  }
  fsyncFile(destPath);
  fsyncDir(path.dirname(destPath));
}

/** Opens the file read-only, checks integrity and our meta table; SqlError('corrupt') naming the file otherwise. */
export function readSnapshotIndex(file: string, options: { integrityCheck?: boolean } = {}): number {
  const corrupt = (why: string, cause?: unknown): SqlError =>
    new SqlError('corrupt', `snapshot ${file} is not a usable quorumlite database: ${why}`, {
      sqliteCode: sqliteCodeOf(cause),
      cause,
    });
  if (!fs.existsSync(file)) throw corrupt('no such file');
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e: unknown) {
    throw corrupt(messageOf(e), e);
  }
  try {
    db.defaultSafeIntegers(true);
    // A copy this process just wrote needs no full scan; a file from elsewhere does.
    if (options.integrityCheck !== false) {
      const check = db.pragma('integrity_check(1)', { simple: true });
      if (check !== 'ok') throw corrupt(`integrity_check says ${String(check)}`);
    }
    const index = db.prepare(`SELECT applied_index FROM ${INTERNAL_PREFIX}meta WHERE id = 0`).pluck().get();
    if (typeof index !== 'bigint' || index < 0n) throw corrupt('it has no applied index');
    return Number(index);
  } catch (e: unknown) {
    throw e instanceof SqlError ? e : corrupt(messageOf(e), e);
  } finally {
    db.close();
  }
}

export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
