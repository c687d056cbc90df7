/**
 * Backup and restore: a consistent copy of this node's database for an operator (made by the
 * snapshot path, in a snapshot's place), and a fresh data directory's first database taken
 * from such a copy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry, SnapshotMeta } from '@quorumlite/consensus';
import { importBackup, SqlError } from '@quorumlite/sql';
import { heldState } from './boot';
import { ReplicaError } from './errors';
import type { ReplicaLogger } from './ports';

/** A copy of the database in this node's snapshot staging area, until `discard()`. */
export interface BackupCopy {
  readonly file: string;
  /** The last record the copy holds: it is exactly the database after that record. */
  readonly appliedIndex: number;
  readonly bytes: number;
  /** Removes the file; call it once the copy was sent (or could not be). */
  discard(): Promise<void>;
}

/** What boot did with a `fromBackup` setting. */
export type FromBackupOutcome =
  | { readonly kind: 'imported'; readonly sourceIndex: number }
  /** The data directory already held data: it is kept and the setting is ignored. */
  | { readonly kind: 'ignored'; readonly held: string };

/**
 * Boots a data node's database from a backup file, only when its data directory is fresh: no
 * log record, snapshot or hard state, and no database file. On a directory that holds any of
 * them the setting is ignored with a warning — a node restarted with the same flag (a unit
 * file that keeps it) must go on with what it holds, never lose it to the backup. A file that
 * is not a quorumlite database, or fails `PRAGMA integrity_check`, stops the boot with an
 * error naming it, before anything is written.
 */
export function bootFromBackup(
  file: string,
  dataDir: string,
  loaded: { hardState: unknown; snapshot: SnapshotMeta | null; entries: readonly Entry[] },
  logger: ReplicaLogger,
): FromBackupOutcome {
  const dbPath = path.join(dataDir, DATABASE_FILE);
  const held = heldState(loaded, 0) ?? (fs.existsSync(dbPath) ? `a database (${dbPath})` : null);
  if (held !== null) {
    logger.warn('fromBackup is ignored: the data directory already holds data, which is kept', { fromBackup: file, holds: held });
    return { kind: 'ignored', held };
  }
  try {
    const { sourceIndex } = importBackup(file, dbPath);
    logger.info('booted the database from a backup: the new log starts empty, the backup holds the source through its applied index', { fromBackup: file, sourceIndex });
    return { kind: 'imported', sourceIndex };
  } catch (e: unknown) {
    const why = e instanceof SqlError ? e.message : `cannot import ${file}: ${e instanceof Error ? e.message : String(e)}`;
    throw new ReplicaError('invalid', `fromBackup: ${why}`, {}, { cause: e });
  }
}

/** The database file of a data directory. */
export const DATABASE_FILE = 'db.sqlite';
