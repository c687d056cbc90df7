import * as fsSync from 'node:fs';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { ioError, isNotFound, StorageError } from './errors';

/** Suffix of every temporary file this library writes; leftovers are removed at open. */
export const TEMP_SUFFIX = '.tmp';

let tempCounter = 0;

/**
 * fsync and fdatasync calls this process made for the log, the hard state and the compaction
 * point (a snapshot file's own syncs are not counted): what a write costs on disk, for Status
 * and the comparison report. A node process holds one node's storage, so the count is its.
 */
let syncCount = 0;

export function storageSyncCount(): number {
  return syncCount;
}

/** fdatasync an open file, counted. */
export async function datasync(handle: FileHandle): Promise<void> {
  syncCount++;
  await handle.datasync();
}

/** A fresh name beside `file`, unique within this process and across processes. */
export function tempPathFor(file: string): string {
  tempCounter += 1;
  return `${file}.${process.pid}-${tempCounter}${TEMP_SUFFIX}`;
}

/** fsync a directory so that creations, renames and removals in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  await syncPath(dir, 'r', (h) => h.sync(), 'fsync directory');
}

/**
 * fdatasync a file that is already there: bytes a killed process wrote but never synced sit
 * in the page cache, and a power cut would still take them.
 */
export async function fsyncFile(file: string): Promise<void> {
  await syncPath(file, 'r+', (h) => h.datasync(), 'fsync');
}

async function syncPath(target: string, flags: string, sync: (h: FileHandle) => Promise<void>, what: string): Promise<void> {
  let handle: FileHandle | undefined;
  syncCount++;
  try {
    handle = await fs.open(target, flags);
    await sync(handle);
  } catch (e: unknown) {
    throw ioError(what, target, e);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes all of `data` at `position` (a single write unless the kernel returns short). */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    done += bytesWritten;
  }
}

/** Writes `chunks` back to back from `position` (one gathered write, continued if short). */
export async function writeChunksFully(handle: FileHandle, chunks: readonly Uint8Array[], position: number): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest as Uint8Array[], at);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
    at += bytesWritten;
    rest = dropWritten(rest, bytesWritten);
  }
}

/** What is left of `chunks` after its first `written` bytes. */
function dropWritten(chunks: readonly Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  const left: Uint8Array[] = [];
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    left.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return left;
}

/**
 * Replaces `file` with `data` so that after a crash it holds either the old or the new
 * bytes, never a mix: temp file, fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const temp = tempPathFor(file);
  try {
    const handle = await fs.open(temp, 'w');
    try {
      await writeFully(handle, data, 0);
      syncCount++;
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (e: unknown) {
    await fs.unlink(temp).catch(() => undefined);
    throw e instanceof StorageError ? e : ioError('write', file, e);
  }
  await fsyncDir(path.dirname(file));
}

/**
 * writeFileAtomic without yielding, for the rare small file a caller must have durable
 * before its next synchronous step (a peer's incarnation, recorded before its frame counts).
 */
export function writeFileAtomicSync(file: string, data: Uint8Array): void {
  const temp = tempPathFor(file);
  try {
    const fd = fsSync.openSync(temp, 'w');
    try {
      fsSync.writeFileSync(fd, data);
      syncCount++;
      fsSync.fsyncSync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    fsSync.renameSync(temp, file);
    const dir = fsSync.openSync(path.dirname(file), 'r');
    try {
      syncCount++;
      fsSync.fsyncSync(dir);
    } finally {
      fsSync.closeSync(dir);
    }
  } catch (e: unknown) {
    fsSync.rmSync(temp, { force: true });
    throw e instanceof StorageError ? e : ioError('write', file, e);
  }
}

/** Reads a whole file, or null when it does not exist. */
export async function readFileIfExists(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (e: unknown) {
    if (isNotFound(e)) return null;
    throw ioError('read', file, e);
  }
}

/** Removes a file; a file already gone is fine (removal is idempotent). */
export async function removeFile(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw ioError('remove', file, e);
  }
}

/** Creates `dir` (and parents); when it was new, makes its entry durable in the parent. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    const created = await fs.mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncDir(path.dirname(created));
  } catch (e: unknown) {
    throw e instanceof StorageError ? e : ioError('create directory', dir, e);
  }
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e: unknown) {
    throw ioError('list directory', dir, e);
  }
}
