export * from './errors';
export * from './ports';
export * from './replica';
export * from './loop-monitor';
export { REJOIN_MARKER_FILE, planRejoin, type PeerStatusReader, type NodeStore, type PeerView, type RejoinPlan } from './rejoin';
export { NodeCounters, type CountersReading, type MessageTally } from './counters';
export { DATABASE_FILE, type BackupCopy, type FromBackupOutcome } from './backup';
export type { MemberChange, MemberChangeOutcome } from './member-changes';
