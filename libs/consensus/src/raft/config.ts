/** Settings and boot-state checks: one sentence per impossible value (etcd Config.validate). */
import { validateCoreOptions } from '../common';
import { ConsensusError, type CoreOptions, type MemberRole, type HardState, type NodeId, type PersistedState, type ProtocolOptions, type ProtocolOptionSpec } from '../contract';

function bad(sentence: string): ConsensusError {
  return new ConsensusError('bad_config', sentence);
}

export function validateOptions(o: CoreOptions): void {
  validateCoreOptions('raft', o, RAFT_ROLES);
  raftOptions(o.protocolOptions);
}

/** The member roles Raft takes: voters, witnesses (vote, keep no database) and observers (learners). */
export const RAFT_ROLES: readonly MemberRole[] = ['voter', 'witness', 'observer'];

/** Raft's own settings, declared once: config keys, flags, help and the simulator's draws come from here. */
export const RAFT_OPTIONS: readonly ProtocolOptionSpec[] = [
  { key: 'preVote', kind: 'bool', defaultValue: true, help: 'pre-vote before campaigning (avoids term inflation)' },
  { key: 'checkQuorum', kind: 'bool', defaultValue: true, help: 'a leader steps down when it loses contact with a quorum' },
];

export interface RaftOptions {
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
}

/** Raft's settings from `protocolOptions`, defaults filled in; an unknown key or a non-boolean is refused. */
export function raftOptions(p: ProtocolOptions): RaftOptions {
  if (typeof p !== 'object' || p === null) throw bad('protocolOptions must be a record of raft settings.');
  const known = RAFT_OPTIONS.map((s) => s.key);
  for (const key of Object.keys(p)) {
    if (!known.includes(key)) throw bad(`raft has no setting '${key}' (it has ${known.join(', ')}).`);
    if (typeof p[key] !== 'boolean') throw bad(`${key} must be true or false.`);
  }
  return { preVote: p['preVote'] ?? true, checkQuorum: p['checkQuorum'] ?? true };
}

/** Raft's durable state: the current term, who we voted for in it, and the commit index. */
export interface RaftHardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export function toHardState(h: RaftHardState): HardState {
  return { term: h.term, vote: h.vote, commit: h.commit };
}

function badState(sentence: string): ConsensusError {
  return new ConsensusError('bad_state', sentence);
}

function readCount(h: HardState, key: string): number {
  const v = h[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badState(`persisted raft hard state: ${key} must be a non-negative integer, got ${JSON.stringify(v)}.`);
  return v;
}

export function parseHardState(h: HardState | null): RaftHardState {
  if (h === null) return { term: 0, vote: null, commit: 0 };
  const vote = h['vote'];
  if (vote !== null && vote !== undefined && (typeof vote !== 'string' || vote.length === 0)) {
    throw badState(`persisted raft hard state: vote must be a node id or null, got ${JSON.stringify(vote)}.`);
  }
  return { term: readCount(h, 'term'), vote: (vote ?? null) as NodeId | null, commit: readCount(h, 'commit') };
}

/**
 * The hard state to boot with. Storage makes a Ready's records durable before its hard state
 * (libs/storage writes the state file after the records' fdatasync), so a power cut between
 * the two leaves records, or a snapshot, of a term the state file never reached: a follower
 * that took a new leader's records in the Ready that raised its term — and that may, in the
 * same Ready, have granted its vote in that term. The node had reached that term: it boots
 * in it with its vote counted as given, to itself, so it grants none in that term (it may have
 * granted one it no longer knows). Never less safe than the term it lost.
 */
export function recoverHardState(p: PersistedState, hard: RaftHardState, self: NodeId): RaftHardState {
  let seen = p.snapshot?.term ?? 0;
  for (const e of p.entries) seen = Math.max(seen, e.term);
  if (seen <= hard.term) return hard;
  return { term: seen, vote: self, commit: hard.commit };
}

/**
 * A rejoining node's hard state before its core answers anything (ProtocolModule.fencedHardState):
 * the highest term any other voter is in, with a vote for itself. It never campaigns while
 * rejoining, so the vote only stops it from granting one in that term — where it may have
 * granted one before it lost its disk.
 */
export function fencedHardState(h: HardState | null, promise: { readonly fence: number; readonly self: NodeId }): HardState {
  const hard = parseHardState(h);
  if (promise.fence < hard.term) return toHardState(hard);
  return toHardState({ term: promise.fence, vote: promise.fence === hard.term ? (hard.vote ?? promise.self) : promise.self, commit: hard.commit });
}

/**
 * A rejoined voter's hard state: the leader's term, a vote for it (so none for another in that
 * term). A vote for itself there is the one fencedHardState (or recoverHardState) gave: a
 * rejoining core grants none, so it stands for no vote given.
 */
export function rejoinedHardState(h: HardState | null, promise: { readonly fence: number; readonly leader: NodeId; readonly self: NodeId }): HardState {
  const hard = parseHardState(h);
  if (promise.fence < hard.term) throw badState(`raft rejoin: term ${promise.fence} is below the term ${hard.term} already held.`);
  if (promise.fence === hard.term && hard.vote !== null && hard.vote !== promise.leader && hard.vote !== promise.self) {
    throw badState(`raft rejoin: term ${hard.term} already has a vote for ${hard.vote}, not ${promise.leader}.`);
  }
  return toHardState({ term: promise.fence, vote: promise.leader, commit: hard.commit });
}

/** The boot state must be a log the driver could have written: contiguous, terms in order. */
export function validatePersisted(p: PersistedState, hard: RaftHardState): void {
  const snapIndex = p.snapshot?.index ?? 0;
  let expected: number | null = null;
  let prevTerm = 0;
  for (const e of p.entries) {
    if (expected !== null && e.index !== expected) throw badState(`persisted raft log: record ${e.index} follows ${expected - 1}.`);
    if (expected === null && e.index > snapIndex + 1) throw badState(`persisted raft log: first record ${e.index} leaves a gap after the snapshot at ${snapIndex}.`);
    if (e.term < prevTerm) throw badState(`persisted raft log: term ${e.term} at ${e.index} is below the previous term ${prevTerm}.`);
    if (e.term > hard.term) throw badState(`persisted raft log: term ${e.term} at ${e.index} is above the current term ${hard.term}.`);
    if (e.index === snapIndex && p.snapshot !== null && e.term !== p.snapshot.term) {
      throw badState(`persisted raft log: record ${e.index} has term ${e.term} but the snapshot there has term ${p.snapshot.term}.`);
    }
    prevTerm = e.term;
    expected = e.index + 1;
  }
  const lastIndex = Math.max(snapIndex, expected === null ? 0 : expected - 1);
  if (hard.commit > lastIndex) throw badState(`persisted raft hard state: commit ${hard.commit} is beyond the last record ${lastIndex}.`);
  if (p.snapshot !== null && p.snapshot.term > hard.term) throw badState(`persisted raft snapshot: term ${p.snapshot.term} is above the current term ${hard.term}.`);
}
