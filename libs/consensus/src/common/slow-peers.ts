/**
 * Log compaction that waits for slow peers: every protocol's leader keeps, for a while, the
 * records a peer still replicating from it lacks, so that peer catches up by replication
 * (appends, proposals, accepts) instead of a whole-database snapshot transfer and install.
 * Keeping records longer is always safe — compaction is a node's own business — and costs
 * memory, which the bounds below cap.
 */
import type { SnapshotMeta } from '../contract';

/**
 * How far behind its snapshot a leader keeps records for a peer that is replicating but slow,
 * in multiples of retainEntries. The replica passes the default of 1,000 records for small
 * ones, fewer for large ones (about 340 batches of 100 rows, 4 MiB): ten times that is 10,000
 * inserts or 3,400 batches, seconds of either at full load, so a follower that stalls for a
 * second or two stays on replication. A peer further behind, or silent, still gets the snapshot.
 */
export const SLOW_PEER_RETAIN_FACTOR = 10;

/**
 * A peer holds records back only while it answered within this many election timeouts.
 * A liveness round (Raft's CheckQuorum, Zab's sync limit, Multi-Paxos's lease) is one election
 * timeout, shorter than the fsync stalls a loaded follower goes silent for; a dead peer stops
 * holding records after this.
 */
export const SLOW_PEER_SILENCE_ELECTIONS_MAX = 10;

/** A compact() request, remembered while records behind it are kept for a slow peer. */
export interface CompactionRequest {
  readonly meta: SnapshotMeta;
  readonly retainEntries: number;
}

/**
 * Carries out a compaction request: cuts the log (`cut`) where `c` allows — retainEntries
 * behind the snapshot — but never past `cap` (the applied and stable records) nor past the
 * match point of a slow peer in `held()` (keptForSlowPeers). `offset` is where the log is cut
 * now. Returns the request while records it allows to forget are still kept, for the next call
 * (each tick) to forget them; null once all are gone, or when there was no request.
 */
export function compactHolding(
  c: CompactionRequest | null,
  cap: number,
  offset: number,
  held: () => Iterable<number>,
  cut: (meta: SnapshotMeta, to: number) => void,
): CompactionRequest | null {
  if (c === null) return null;
  const allowed = Math.max(0, c.meta.index - c.retainEntries);
  const to = Math.min(keptForSlowPeers(c, allowed, held(), offset), cap);
  cut(c.meta, to);
  return to >= allowed ? null : c;
}

/**
 * `to` lowered to the match point (the last record it holds) of every peer in `held` that is at
 * most SLOW_PEER_RETAIN_FACTOR × retainEntries behind the snapshot. The caller passes the match
 * points of the peers it replicates to that answered lately, by its protocol's reckoning; peers
 * further behind get the snapshot anyway: keeping records for them would only cost memory. So
 * does a peer whose match is below `offset`, where the log is cut now: it lacks records already
 * gone, and holding the rest back would save it nothing. With retainEntries 0 nothing is kept
 * (the floor is the snapshot itself).
 */
export function keptForSlowPeers(c: CompactionRequest, to: number, held: Iterable<number>, offset: number): number {
  const floor = Math.max(offset, c.meta.index - SLOW_PEER_RETAIN_FACTOR * c.retainEntries);
  let keepAfter = to;
  for (const match of held) if (match >= floor && match < keepAfter) keepAfter = match;
  return keepAfter;
}

/** Whether a peer last heard from at `heardAtTick` still holds records back at `nowTick`. */
export function answeredWithinSilenceBound(nowTick: number, heardAtTick: number, electionTimeoutTicks: number): boolean {
  return nowTick - heardAtTick < SLOW_PEER_SILENCE_ELECTIONS_MAX * electionTimeoutTicks;
}
