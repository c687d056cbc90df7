/**
 * libs/storage: the node's durable state on disk — the replicated log (segments of
 * checksummed records with group commit), the protocol's hard state, the compaction point,
 * and state-machine snapshot files.
 */
export { StorageError, type StorageErrorCode } from './errors';
export { DurableLog, SEGMENT_BYTES_MAX_DEFAULT, type DurableLogOptions, type LoadedLog } from './durable-log';
export { SnapshotStore, type StoredSnapshot } from './snapshot-store';
export { fsyncDir, readFileIfExists, removeFile, storageSyncCount, writeFileAtomic, writeFileAtomicSync } from './files';
export { ENTRY_DATA_BYTES_MAX } from './record';
