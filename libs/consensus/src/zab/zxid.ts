/**
 * zxid = (epoch, counter), ZooKeeper's transaction id, compared epoch first.
 *
 * Here a record's zxid is (its epoch, its log index): the contract's `Entry.term` carries the
 * epoch and `Entry.index` the position in the history. ZooKeeper restarts the counter at 0 in
 * each epoch; using the position instead orders the records of one history the same way
 * (within an epoch both grow by one per proposal, and a later epoch always sorts after), and
 * lets the contract's dense log index stay the driver's only position.
 */
import type { LogIndex, NodeId, Term } from '../contract';
import type { Vote } from './messages';

export interface Zxid {
  readonly epoch: number;
  readonly index: number;
}

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareZxid(a: Zxid, b: Zxid): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  return 0;
}

export function zxid(epoch: Term | number, index: LogIndex | number): Zxid {
  return { epoch, index };
}

/**
 * FastLeaderElection.totalOrderPredicate: does `a` beat `b`? Higher current epoch first,
 * then the higher last zxid, then a data voter over a witness (`isWitness` names the
 * candidates that keep no database: with the same history, one that can serve clients
 * should lead), then the higher server id (ids compare as strings here). Every node knows
 * the members' roles, so the order stays total and the same everywhere.
 */
export function voteBeats(a: Vote, b: Vote, isWitness: (id: NodeId) => boolean): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  const c = compareZxid(zxid(a.zxidEpoch, a.zxidIndex), zxid(b.zxidEpoch, b.zxidIndex));
  if (c !== 0) return c > 0;
  const aw = isWitness(a.leader);
  if (aw !== isWitness(b.leader)) return !aw;
  return a.leader > b.leader;
}

export function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.epoch === b.epoch && a.zxidEpoch === b.zxidEpoch && a.zxidIndex === b.zxidIndex;
}
