import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { entry, exec, rows, stmt, TempDbs } from './testing';
import type { SqlStateMachine } from './state-machine';
import { WAL_CHECKPOINT_BYTES, WalCheckpointer } from './wal-checkpointer';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

const MIB = 1024 * 1024;
const WAIT_MS_MAX = 20_000;

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Applies `count` commands of one `bytes`-sized blob each, from index `first`. */
function writeBlobs(m: SqlStateMachine, first: number, count: number, bytes: number): void {
  for (let i = 0; i < count; i++) {
    const index = first + i;
    m.applyBatch([entry(m, index, exec([stmt('INSERT INTO b (id, v) VALUES (?, ?)', [BigInt(index), Buffer.alloc(bytes, index % 251)])]))]);
  }
}

function walBytes(dbPath: string): number {
  return fs.statSync(`${dbPath}-wal`).size;
}

describe('WAL checkpoints off the event loop', () => {
  it('the worker checkpoints what the write connection commits and the log starts over', async () => {
    const dir = dbs.dir();
    const dbPath = path.join(dir, 'db.sqlite');
    const m = dbs.open(undefined, dbPath);
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)']))]);
    // 48 MiB in 1 MiB commands, waiting for each checkpoint the commands asked for.
    let index = 2;
    for (let round = 0; round < 8; round++) {
      const before = m.walCheckpoints().runs;
      writeBlobs(m, index, 6, MIB);
      index += 6;
      await until('a checkpoint', () => m.walCheckpoints().runs > before);
    }
    expect(m.walCheckpoints().failure).toBeNull();
    // Without checkpoints the log would hold all 48 MiB; each restart after a complete one reuses it.
    expect(walBytes(dbPath)).toBeLessThan(24 * MIB);
    expect(rows(m, 'SELECT count(*), sum(length(v)) FROM b')).toEqual([[48n, BigInt(48 * MIB)]]);
    // What the worker copied is the database file itself: reopened without the log, it is all there.
    m.close();
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM b').get()).toEqual({ n: 48 });
    } finally {
      db.close();
    }
  });

  it('queries take their own locks while a checkpoint is under way, and a checkpoint ends the shared read first', async () => {
    const m = dbs.open();
    const reading = (): boolean => (m as unknown as { conn: { read: Database.Database } }).conn.read.inTransaction;
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)']))]);
    const before = m.walCheckpoints().runs;
    // Past the threshold: the batch asks the worker for a checkpoint, which cannot have answered yet.
    writeBlobs(m, 2, 5, MIB);
    expect(rows(m, 'SELECT count(*) FROM b')).toEqual([[5n]]);
    expect(m.query({ sql: 'SELECT count(*) FROM b', params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows).toEqual([[5n]]);
    expect(reading()).toBe(false);
    await until('the checkpoint', () => m.walCheckpoints().runs > before);
    await new Promise((r) => setImmediate(r));
    m.query({ sql: 'SELECT count(*) FROM b', params: [], named: {}, maxRows: 0, maxBytes: 0 });
    expect(reading()).toBe(true);

    const asked: string[] = [];
    const db = new Database(path.join(dbs.dir(), 'hook.sqlite'));
    try {
      db.pragma('journal_mode = WAL');
      const checkpointer = new WalCheckpointer(path.join(dbs.dir(), 'hook.sqlite'), () => db, () => asked.push('end reads'));
      checkpointer.committed(WAL_CHECKPOINT_BYTES);
      expect(asked).toEqual(['end reads']);
      checkpointer.close();
    } finally {
      db.close();
    }
  });

  it('a restore waits for a checkpoint under way and swaps the file while the worker holds none', async () => {
    const source = dbs.open();
    source.applyBatch([entry(source, 1, exec(['CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)']))]);
    writeBlobs(source, 2, 3, 100);
    const snapshot = path.join(dbs.dir(), 'snap.sqlite');
    await source.snapshotAsync(snapshot);

    const m = dbs.open();
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)']))]);
    const before = m.walCheckpoints().runs;
    writeBlobs(m, 2, 5, MIB);
    // The commands crossed the threshold: a checkpoint is asked for, likely still running now.
    expect(m.restore(snapshot)).toEqual({ index: 4 });
    expect(rows(m, 'SELECT count(*) FROM b')).toEqual([[3n]]);
    writeBlobs(m, 5, 6, MIB);
    await until('a checkpoint after the restore', () => m.walCheckpoints().runs > before);
    expect(m.walCheckpoints().failure).toBeNull();
    expect(rows(m, 'SELECT count(*) FROM b')).toEqual([[9n]]);
  });

  it('falls back to the write connection when the worker cannot checkpoint', async () => {
    const dir = dbs.dir();
    const dbPath = path.join(dir, 'db.sqlite');
    const db = new Database(dbPath);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.exec('CREATE TABLE b (v BLOB)');
      // The worker is pointed at a file that does not exist: it fails, and says why.
      const checkpointer = new WalCheckpointer(path.join(dir, 'missing.sqlite'), () => db);
      checkpointer.committed(WAL_CHECKPOINT_BYTES);
      await until('the worker to fail', () => checkpointer.stats().failure !== null);
      expect(checkpointer.stats().failure).toMatch(/unable to open|missing\.sqlite|SQLITE_CANTOPEN/i);
      const insert = db.prepare('INSERT INTO b VALUES (?)');
      for (let i = 0; i < 8; i++) insert.run(Buffer.alloc(MIB));
      const frames = (): { log: number; checkpointed: number } => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[])[0]!;
      // Written and committed; the next committed() call checkpoints on the write connection itself.
      checkpointer.committed(8 * MIB);
      insert.run(Buffer.alloc(16));
      const after = frames();
      expect(after.log).toBeLessThan(200);
      checkpointer.close();
    } finally {
      db.close();
    }
  });
});
