/**
 * A snapshot from the leader is installed in steps no single file operation joins: the
 * database is replaced first, then the log is cut after the snapshot. A crash between them
 * leaves a database at S over a log that still holds its old records below S — records this
 * node accepted but never applied, which a protocol without log matching (Multi-Paxos) may
 * hold with values that were never chosen.
 *
 * Outside that window, every record of the log up to the database's applied index is the
 * committed one (the driver applies only committed records, after they are durable in the
 * log, and committed records are never replaced by other values). That is what lets a
 * protocol whose commit point is not durable start from the applied index
 * (`PersistedState.appliedIndex`). This marker, durable before the database is replaced and
 * removed once the log starts after the snapshot, tells boot when the window was open.
 */
import * as path from 'node:path';
import { readFileIfExists, removeFile, writeFileAtomic } from '@quorumlite/storage';
import { ReplicaError } from './errors';

/** `{ "index": S }`: a snapshot at S is being installed; the log may not start after S yet. */
export const INSTALL_MARKER_FILE = 'INSTALLING_SNAPSHOT';

/**
 * Written (durably) before the database is replaced by the snapshot at `index`. Never lowered:
 * a lower install after one cut short leaves the higher snapshot in the store, which a boot
 * may restore (restoreLatest) over a log that was never cut after it.
 */
export async function markInstall(dataDir: string, index: number): Promise<void> {
  const pending = await readInstall(dataDir);
  if (pending !== null && pending >= index) return;
  await writeFileAtomic(path.join(dataDir, INSTALL_MARKER_FILE), new TextEncoder().encode(JSON.stringify({ index }) + '\n'));
}

/**
 * Removed once the log starts after the marked snapshot (`logSnapshotIndex`: its compaction
 * point, durable); a marker left behind only costs a slower boot.
 */
export async function settleInstall(dataDir: string, logSnapshotIndex: number): Promise<void> {
  const pending = await readInstall(dataDir);
  if (pending !== null && pending <= logSnapshotIndex) await removeFile(path.join(dataDir, INSTALL_MARKER_FILE));
}

/** The index of an install that may not have reached the log, or null. */
export async function readInstall(dataDir: string): Promise<number | null> {
  const file = path.join(dataDir, INSTALL_MARKER_FILE);
  const bytes = await readFileIfExists(file);
  if (bytes === null) return null;
  let index: unknown;
  try {
    index = (JSON.parse(bytes.toString('utf8')) as { index?: unknown }).index;
  } catch {
    // Reported below with the file's name.
  }
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) {
    throw new ReplicaError('internal', `${file} is not a valid snapshot-install marker (want {"index": N}); it was damaged or edited by hand — remove it only if the log starts after the database's applied index`);
  }
  return index;
}

/**
 * How far boot may take the log's records as committed because the database applied them:
 * the applied index, unless an install at an index past the log's compaction point may have
 * replaced the database without cutting the log, or boot itself restored the database from a
 * stored snapshot past that point (`restoredFromStore`) — then nothing beyond what the log
 * itself says.
 */
export function committedByDatabase(appliedIndex: number, logSnapshotIndex: number, pendingInstall: number | null, restoredFromStore: boolean): number | null {
  if (pendingInstall !== null && pendingInstall > logSnapshotIndex) return null;
  if (restoredFromStore && appliedIndex > logSnapshotIndex) return null;
  return appliedIndex;
}
