/** The node's own snapshot files put to use: a database restored from one, never consuming the stored file. */
import type { SnapshotMeta } from '@quorumlite/consensus';
import type { SnapshotStore } from '@quorumlite/storage';
import { ReplicaError } from './errors';
import type { ReplicaLogger } from './ports';
import type { DataStateMachine } from './state-machine';

export async function restoreLatest(
  machine: DataStateMachine,
  snapshots: SnapshotStore,
  compacted: SnapshotMeta,
  logger: ReplicaLogger,
): Promise<number> {
  const latest = snapshots.latest();
  if (!latest || latest.meta.index < compacted.index) {
    throw new ReplicaError(
      'internal',
      `the log starts after index ${compacted.index} but the database is at ${machine.appliedIndex()} and no snapshot at or after ${compacted.index} exists`,
    );
  }
  const index = await restoreCopy(machine, snapshots, latest.path);
  logger.warn('restored the database from the latest snapshot', { index });
  return index;
}

/** restore() moves the file it is given into place: hand it a copy, keep the stored one. */
export async function restoreCopy(machine: DataStateMachine, snapshots: SnapshotStore, storedPath: string): Promise<number> {
  return machine.restoreFrom(await snapshots.durableCopy(storedPath, 'restore')).index;
}
