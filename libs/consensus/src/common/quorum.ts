/** Majority arithmetic over the voters (etcd quorum/majority.go). Observers never count. */
import type { NodeId } from '../contract';

export type VoteResult = 'won' | 'lost' | 'pending';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The largest value that a majority of voters has reached (e.g. the quorum match index). */
export function quorumValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  if (voters.length === 0) throw new Error('quorum: no voters');
  const values = voters.map(valueOf).sort((a, b) => b - a);
  const v = values[majority(voters.length) - 1];
  if (v === undefined) throw new Error('quorum: majority index out of range');
  return v;
}

/** Tally of an election: granted/rejected votes by voter; missing voters have not answered. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (granted + missing >= need) return 'pending';
  return 'lost';
}

/** Whether `ids` include a majority of `voters` (ids that are not voters count for nothing). */
export function hasQuorum(voters: readonly NodeId[], ids: Iterable<NodeId>): boolean {
  const present = new Set(ids);
  let n = 0;
  for (const v of voters) if (present.has(v)) n++;
  return n >= majority(voters.length);
}
