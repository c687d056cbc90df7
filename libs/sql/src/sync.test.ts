import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entry, exec, stmt, TempDbs } from './testing';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

/** The POSIX locks this process holds on `file`, as the kernel lists them (Linux), without their place in its list. */
function locksOn(file: string): string[] {
  const inode = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/).slice(1))
    .filter((f) => f[0] !== '->') // a lock waited for, not held
    .filter((f) => f[3] === String(process.pid) && f[4]?.endsWith(`:${inode}`))
    .map((f) => f.join(' '));
}

describe('syncAsync', () => {
  it('covers the applied index and leaves SQLite its locks on the database file', async () => {
    const dbPath = path.join(dbs.dir(), 'db.sqlite');
    const m = dbs.open(undefined, dbPath);
    const out = m.applyBatch([entry(m, 1, exec([stmt('CREATE TABLE t (x)')])), entry(m, 2, exec([stmt('INSERT INTO t VALUES (1)')]))]);
    expect(out.every((o) => o.ok)).toBe(true);
    // In WAL mode a connection holds a shared lock on the database file while it is open: that
    // is what keeps another process from checkpointing and deleting the log when it closes.
    // Closing any other descriptor of the file in this process would drop it.
    const shared = (locks: string[]): string[] => locks.filter((l) => l.startsWith('POSIX ADVISORY READ '));
    const held = shared(locksOn(dbPath));
    expect(held.length).toBeGreaterThan(0);
    expect(await m.syncAsync()).toEqual({ index: 2 });
    expect(shared(locksOn(dbPath))).toEqual(held);
    expect(fs.existsSync(`${dbPath}-wal`)).toBe(true);
  });
});
