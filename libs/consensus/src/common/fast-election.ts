/**
 * When every follower loses its leader at the same moment (its stream breaks: the process
 * died), they must not all campaign in the same tick: two candidates of one round split the
 * vote (Raft: each votes for itself, and both wait a whole randomized timeout), or duel
 * (Multi-Paxos). A random jitter only makes that unlikely (one chance in four with four
 * ticks); a stagger by rank rules it out: the data voters other than the lost leader, in
 * member order (the same on every node), each take their own slot of ticks. The first one's
 * request reaches the others long before their slots come (a tick is tens of milliseconds,
 * a message on the cluster's network far less), and they vote for it — or, when it arrives
 * before they saw the break themselves and their leader's lease refuses it, they answer it
 * once they do (Raft's heldPreVote; a Multi-Paxos acceptor refuses outright, and its own
 * question, two ticks later, is granted).
 */
import type { NodeId } from '../contract';

/** Ticks each rank's slot spans; the delay within a slot is random. */
export const FAST_ELECTION_STAGGER_TICKS = 2;

/**
 * The plain random jitter over the same span as two slots (1 to 2·FAST_ELECTION_STAGGER_TICKS
 * ticks), where a stagger by rank does not pay: Raft without PreVote, a deposed Multi-Paxos
 * proposer.
 */
export function fastElectionJitterTicks(random: () => number): number {
  return 1 + Math.floor(random() * 2 * FAST_ELECTION_STAGGER_TICKS);
}

/**
 * Ticks from now until `self` campaigns, having lost `lost`: its rank's slot + a random tick
 * within it, 0 meaning at once (the first-ranked survivor does not wait for a tick half the
 * time). A node outside `dataVoters` (a witness) ranks after all of them.
 */
export function fastElectionDelayTicks(dataVoters: readonly NodeId[], self: NodeId, lost: NodeId | null, random: () => number): number {
  const survivors = dataVoters.filter((id) => id !== lost);
  const at = survivors.indexOf(self);
  const rank = at === -1 ? survivors.length : at;
  return FAST_ELECTION_STAGGER_TICKS * rank + Math.floor(random() * FAST_ELECTION_STAGGER_TICKS);
}
