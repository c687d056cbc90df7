/**
 * What boot reads from a data directory besides the log: what a rejoin would throw away, and
 * how far the database's applied index may be trusted as committed.
 */
import type { Entry, SnapshotMeta } from '@quorumlite/consensus';
import { committedByDatabase, readInstall, settleInstall } from './install-marker';
import type { ReplicaLogger } from './ports';

/** What a data directory still holds that a rejoin would throw away, or null when it holds nothing. */
export function heldState(loaded: { hardState: unknown; snapshot: SnapshotMeta | null; entries: readonly Entry[] }, appliedIndex: number): string | null {
  if (loaded.entries.length > 0) return `a log up to index ${loaded.entries[loaded.entries.length - 1]!.index}`;
  if (loaded.snapshot !== null) return `a snapshot at index ${loaded.snapshot.index}`;
  if (loaded.hardState !== null) return 'a hard state';
  if (appliedIndex > 0) return `a database applied to index ${appliedIndex}`;
  return null;
}

/**
 * The database's applied index if the log vouches for every record up to it (see
 * install-marker.ts), else null. A marker the log's compaction point has passed is removed.
 */
export async function committedAtBoot(dataDir: string, appliedIndex: number, logSnapshotIndex: number, restoredFromStore: boolean, logger: ReplicaLogger): Promise<number | null> {
  const pending = await readInstall(dataDir);
  const vouched = committedByDatabase(appliedIndex, logSnapshotIndex, pending, restoredFromStore);
  await settleInstall(dataDir, logSnapshotIndex);
  if (vouched === null) {
    logger.warn('the database is ahead of what the log was cut after (a snapshot install cut short, or restored from the store): the log\'s records below it are relearned from the leader', { appliedIndex, pendingInstall: pending, logStartsAfter: logSnapshotIndex });
  }
  return vouched;
}
