/** Snapshot files: the check a file must pass to be restored, and the helpers that make copies durable. */
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { installDeterministicFunctions, wallClockContext } from './determinism';
import { INTERNAL_PREFIX } from './policy';

/**
 * Opens the file read-only, checks integrity and our meta table; SqlError('corrupt') naming
 * the file (as `what`: a snapshot, a backup) otherwise.
 */
export function readSnapshotIndex(file: string, options: { integrityCheck?: boolean; what?: string } = {}): number {
  const corrupt = (why: string, cause?: unknown): SqlError =>
    new SqlError('corrupt', `${options.what ?? 'snapshot'} ${file} is not a usable quorumlite database: ${why}`, {
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
  let closeBuiltins = (): void => undefined;
  try {
    db.defaultSafeIntegers(true);
    // The same functions and flags as the connections that wrote it, or a schema they accept
    // would read differently here.
    closeBuiltins = installDeterministicFunctions(db, wallClockContext);
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
    closeBuiltins();
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

/**
 * Flushes a file that something else is writing, a few MiB at a time in the background, so
 * it never holds much unwritten data: one large fsync at the end would fill the disk queue
 * for a second or more — and on ext4 every other file's fdatasync (the log's) waits behind it.
 */
export class GradualFlush {
  private fd: number | null = null;
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly file: string) {}

  /** Flushes what was written so far (after a running flush); throws if a flush failed. */
  async flushNow(): Promise<void> {
    await this.inFlight;
    this.kick();
    await this.inFlight;
    if (this.failure !== null) throw this.failure;
  }

  /** Starts a background flush of what was written so far, unless one is running. */
  kick(): void {
    if (this.inFlight !== null || this.failure !== null || !this.ensureOpen()) return;
    const fd = this.fd!;
    this.inFlight = new Promise<void>((resolve) => {
      fs.fdatasync(fd, (e) => {
        if (e) this.failure = e;
        this.inFlight = null;
        resolve();
      });
    });
  }

  /** The last flush (fsync), then close; throws if any flush failed. */
  async finish(): Promise<void> {
    await this.inFlight;
    try {
      if (this.failure === null) {
        if (!this.ensureOpen()) throw new Error(`cannot flush ${this.file}: it was never created`);
        const fd = this.fd!;
        await new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
      }
    } finally {
      this.closeFd();
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for a running flush and closes, without a last one (the file is being discarded). */
  async abandon(): Promise<void> {
    await this.inFlight;
    this.closeFd();
  }

  private ensureOpen(): boolean {
    if (this.fd !== null) return true;
    try {
      this.fd = fs.openSync(this.file, 'r+');
      return true;
    } catch (e: unknown) {
      // Not created yet: the next kick tries again, and finish() fails if it never is.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.failure = e;
      return false;
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** The step-by-step SQLite backup better-sqlite3 drives inside Database#backup(). */
interface NativeBackup {
  transfer(pages: number): { totalPages: number; remainingPages: number };
  close(): void;
}

/**
 * better-sqlite3's own backup() copies as fast as the event loop turns, which for a large
 * database fills the disk queue (and on one machine every node's log fsync waits behind it).
 * This drives the same native backup object itself, so it can wait between steps. The handle
 * is internal to better-sqlite3 (pinned in package.json); a test checks it is still there.
 */
export function nativeBackup(db: Database.Database, destPath: string): NativeBackup | null {
  // A runtime lookup of an internal module: a static import would pin its types, which it has none of.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const util = require('better-sqlite3/lib/util') as { cppdb?: symbol };
  const native = util.cppdb === undefined ? undefined : (db as unknown as Record<symbol, { backup?: unknown } | undefined>)[util.cppdb];
  if (typeof native?.backup !== 'function') return null;
  const open = native.backup as (db: unknown, attached: string, file: string, isNew: boolean) => NativeBackup;
  return open.call(native, db, 'main', destPath, !fs.existsSync(destPath));
}

/**
 * Copies the database to `destPath`, `pagesPerStep` pages at a time, awaiting `between()`
 * after each step (the caller flushes there, which paces the copy to what the disk absorbs).
 * Writes made meanwhile through the same connection are carried into the copy by SQLite.
 */
export async function pacedBackup(db: Database.Database, destPath: string, pagesPerStep: number, between: () => Promise<void>): Promise<void> {
  const backup = nativeBackup(db, destPath);
  if (backup === null) {
    await db.backup(destPath, { progress: () => pagesPerStep });
    return;
  }
  try {
    for (;;) {
      const { remainingPages } = backup.transfer(pagesPerStep);
      if (remainingPages === 0) return;
      await between();
    }
  } finally {
    backup.close();
  }
}

/**
 * Syncs a file another connection writes, off the event loop; `missingOk`: a file that is not
 * there is nothing to sync. Never a file SQLite locks (a live database file): closing this
 * descriptor would drop every POSIX lock the process holds on it.
 */
export async function fsyncFileAsync(file: string, { missingOk }: { missingOk: boolean }): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r+');
  } catch (e: unknown) {
    if (missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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

export function moveFile(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e: unknown) {
    if (!(e instanceof Error && 'code' in e && e.code === 'EXDEV')) throw e;
    fs.copyFileSync(from, to);
    fs.rmSync(from);
  }
}
