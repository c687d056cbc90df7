import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SnapshotMeta } from '@quorumlite/consensus';
import { decodeCheckedFile, encodeCheckedFile, parseSnapshotMeta, snapshotMetaProblem, toSnapshotMeta } from './checked-file';
import { ioError, isNotFound, StorageError } from './errors';
import { ensureDir, fsyncDir, listDir, readFileIfExists, removeFile, TEMP_SUFFIX, writeFileAtomic } from './files';

export interface StoredSnapshot {
  meta: SnapshotMeta;
  path: string;
  bytes: number;
}

const STAGING_DIR = 'staging';
const DATA_SUFFIX = '.snap';
const META_SUFFIX = '.meta';
const STAGED_SUFFIX = '.partial';
const META_MAGIC = 'QLSN';
const NAME_DIGITS = 20;
const LABEL_CHARS_MAX = 40;

const baseName = (meta: SnapshotMeta): string =>
  `${String(meta.index).padStart(NAME_DIGITS, '0')}-${String(meta.term).padStart(NAME_DIGITS, '0')}`;

const newerFirst = (a: StoredSnapshot, b: StoredSnapshot): number => b.meta.index - a.meta.index || b.meta.term - a.meta.term;

/**
 * State-machine snapshots in <data-dir>/snapshots: `<index>-<term>.snap` holds the bytes and
 * `<index>-<term>.meta` (CRC-protected) says what they are. The meta is written last, so a
 * snapshot exists only once its bytes are complete and durable. Files being written (by
 * VACUUM INTO or a transfer from a peer) live in `staging/` until committed.
 */
export class SnapshotStore {
  /** Staging paths handed out and not yet committed or discarded: prune leaves them alone. */
  private readonly staged = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly stagingDir: string,
    /** Newest first. */
    private snapshots: StoredSnapshot[],
  ) {}

  static async open(dir: string): Promise<SnapshotStore> {
    const stagingDir = path.join(dir, STAGING_DIR);
    await ensureDir(dir);
    await ensureDir(stagingDir);
    const names = await listDir(dir);
    for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX))) await removeFile(path.join(dir, name));
    const snapshots: StoredSnapshot[] = [];
    for (const name of names.filter((n) => n.endsWith(META_SUFFIX))) {
      snapshots.push(await readStored(dir, name));
    }
    return new SnapshotStore(dir, stagingDir, snapshots.sort(newerFirst));
  }

  /** A fresh path in the staging area for a file being written (by VACUUM INTO, or a transfer). */
  stagingPath(label: string): string {
    const safe = label.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, LABEL_CHARS_MAX) || 'snapshot';
    const staged = path.join(this.stagingDir, `${safe}-${randomBytes(6).toString('hex')}${STAGED_SUFFIX}`);
    this.staged.add(staged);
    return staged;
  }

  /** fsync the staged file, move it into place atomically with its meta (CRC-protected JSON). */
  commit(stagedPath: string, meta: SnapshotMeta): Promise<StoredSnapshot> {
    const problem = snapshotMetaProblem(meta);
    if (problem !== null) return Promise.reject(new StorageError('bad_input', `invalid snapshot meta: ${problem}`));
    if (path.dirname(path.resolve(stagedPath)) !== path.resolve(this.stagingDir)) {
      return Promise.reject(new StorageError('bad_input', `${stagedPath} is not in the staging area ${this.stagingDir}`));
    }
    return this.serialize(() => this.commitNow(stagedPath, toSnapshotMeta(meta)));
  }

  /**
   * A copy of a stored snapshot in the staging area, fsync'd (off the event loop) before it is
   * returned: whoever consumes it — a restore renaming it over the database — writes nothing.
   */
  async durableCopy(storedPath: string, label: string): Promise<string> {
    const copy = this.stagingPath(label);
    try {
      await fs.copyFile(storedPath, copy);
    } catch (e: unknown) {
      throw ioError('copy', storedPath, e);
    }
    await syncFile(copy);
    return copy;
  }

  latest(): StoredSnapshot | null {
    return this.snapshots[0] ?? null;
  }

  /** Keep the newest `keep` snapshots, delete the rest and any leftover staging files. */
  prune(keep: number): Promise<void> {
    if (!Number.isSafeInteger(keep) || keep < 0) {
      return Promise.reject(new StorageError('bad_input', `keep must be a non-negative integer, got ${keep}`));
    }
    return this.serialize(() => this.pruneNow(keep));
  }

  discard(stagedPath: string): Promise<void> {
    this.staged.delete(stagedPath);
    return this.serialize(() => removeFile(stagedPath));
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async commitNow(stagedPath: string, meta: SnapshotMeta): Promise<StoredSnapshot> {
    const bytes = await syncFile(stagedPath);
    const base = baseName(meta);
    const dataPath = path.join(this.dir, `${base}${DATA_SUFFIX}`);
    try {
      await fs.rename(stagedPath, dataPath);
    } catch (e: unknown) {
      throw ioError('move into place', stagedPath, e);
    }
    this.staged.delete(stagedPath);
    // The meta's own rename + directory fsync also makes the data file's rename durable.
    const { index, term, members } = meta;
    await writeFileAtomic(path.join(this.dir, `${base}${META_SUFFIX}`), encodeCheckedFile(META_MAGIC, { index, term, members, bytes }));
    const stored: StoredSnapshot = { meta, path: dataPath, bytes };
    this.snapshots = [stored, ...this.snapshots.filter((s) => s.path !== dataPath)].sort(newerFirst);
    return stored;
  }

  private async pruneNow(keep: number): Promise<void> {
    const doomed = this.snapshots.slice(keep);
    this.snapshots = this.snapshots.slice(0, keep);
    for (const snapshot of doomed) {
      // Meta first (made durable), so a crash never leaves a meta naming a missing file.
      await removeFile(metaPathOf(snapshot.path));
      await fsyncDir(this.dir);
      await removeFile(snapshot.path);
    }
    const kept = new Set(this.snapshots.map((s) => s.path));
    for (const name of await listDir(this.dir)) {
      const file = path.join(this.dir, name);
      if ((name.endsWith(DATA_SUFFIX) && !kept.has(file)) || name.endsWith(TEMP_SUFFIX)) await removeFile(file);
    }
    for (const name of await listDir(this.stagingDir)) {
      const file = path.join(this.stagingDir, name);
      if (!this.staged.has(file)) await removeFile(file);
    }
  }
}

function metaPathOf(dataPath: string): string {
  return `${dataPath.slice(0, -DATA_SUFFIX.length)}${META_SUFFIX}`;
}

/** fsync a finished file and return its size. */
async function syncFile(file: string): Promise<number> {
  try {
    const handle = await fs.open(file, 'r+');
    try {
      await handle.sync();
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch (e: unknown) {
    if (isNotFound(e)) throw new StorageError('bad_input', `staged snapshot ${file} does not exist`, { file, cause: e });
    throw ioError('fsync', file, e);
  }
}

async function readStored(dir: string, metaName: string): Promise<StoredSnapshot> {
  const metaPath = path.join(dir, metaName);
  const bytes = await readFileIfExists(metaPath);
  if (bytes === null) throw new StorageError('io', `${metaPath} vanished while opening the snapshot store`, { file: metaPath });
  const payload = decodeCheckedFile(META_MAGIC, bytes, metaPath);
  const meta = parseSnapshotMeta(payload, metaPath);
  const size = (payload as { bytes?: unknown }).bytes;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new StorageError('corrupt', `${metaPath} is corrupt: bytes is not a non-negative integer`, { file: metaPath });
  }
  const dataPath = path.join(dir, `${metaName.slice(0, -META_SUFFIX.length)}${DATA_SUFFIX}`);
  const actual = await fileSize(dataPath);
  if (actual !== size) {
    const found = actual === null ? 'is missing' : `holds ${actual} bytes`;
    throw new StorageError('corrupt', `snapshot ${dataPath} ${found} but ${metaPath} records ${size} bytes`, { file: dataPath });
  }
  return { meta, path: dataPath, bytes: size };
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await fs.stat(file)).size;
  } catch (e: unknown) {
    if (isNotFound(e)) return null;
    throw ioError('stat', file, e);
  }
}
