/** Zab's settings and boot-state checks: one sentence per impossible value. */
import { refuseProtocolOptions, validateCoreOptions } from '../common';
import { ConsensusError, type CoreOptions, type HardState, type MemberRole, type PersistedState } from '../contract';

function badState(sentence: string): ConsensusError {
  return new ConsensusError('bad_state', sentence);
}

/**
 * The member roles Zab takes: followers, witnesses (they vote and acknowledge proposals but
 * keep no database) and observers.
 */
export const ZAB_ROLES: readonly MemberRole[] = ['voter', 'witness', 'observer'];

export function validateOptions(o: CoreOptions): void {
  validateCoreOptions('zab', o, ZAB_ROLES);
  refuseProtocolOptions('zab', o);
}

/**
 * Zab's durable state (ZooKeeper's acceptedEpoch and currentEpoch files): the newest epoch
 * this node promised to follow (it refuses LEADERINFO below it), and the epoch whose history
 * it last synchronized to (NEWLEADER). currentEpoch ≤ acceptedEpoch.
 */
export interface ZabHardState {
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
}

export function toHardState(h: ZabHardState): HardState {
  return { acceptedEpoch: h.acceptedEpoch, currentEpoch: h.currentEpoch };
}

function readEpoch(h: HardState, key: string): number {
  const v = h[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badState(`persisted zab hard state: ${key} must be a non-negative integer, got ${JSON.stringify(v)}.`);
  return v;
}

export function parseHardState(h: HardState | null): ZabHardState {
  if (h === null) return { acceptedEpoch: 0, currentEpoch: 0 };
  if ('term' in h || 'vote' in h) throw badState('persisted hard state was written by raft, not zab: a data directory keeps the protocol it was created with.');
  const acceptedEpoch = readEpoch(h, 'acceptedEpoch');
  const currentEpoch = readEpoch(h, 'currentEpoch');
  if (currentEpoch > acceptedEpoch) throw badState(`persisted zab hard state: currentEpoch ${currentEpoch} is above acceptedEpoch ${acceptedEpoch}.`);
  return { acceptedEpoch, currentEpoch };
}

/**
 * A rejoining node's hard state before its core answers anything (ProtocolModule.fencedHardState):
 * it acknowledges no new epoch below the highest accepted epoch of the other voters, among which
 * is any epoch it acknowledged before it lost its disk. Its current epoch stays: it holds no
 * history of a newer one yet.
 */
export function fencedHardState(h: HardState | null, promise: { readonly fence: number }): HardState {
  const hard = parseHardState(h);
  return toHardState({ acceptedEpoch: Math.max(hard.acceptedEpoch, promise.fence), currentEpoch: hard.currentEpoch });
}

/**
 * A rejoined voter's hard state: it synchronized with the leader of epoch `fence`, so that epoch
 * is current, and it acknowledges no new epoch at or below it.
 */
export function rejoinedHardState(h: HardState | null, promise: { readonly fence: number }): HardState {
  const hard = parseHardState(h);
  if (promise.fence < hard.currentEpoch) throw badState(`zab rejoin: epoch ${promise.fence} is below the current epoch ${hard.currentEpoch} already held.`);
  return toHardState({ acceptedEpoch: Math.max(hard.acceptedEpoch, promise.fence), currentEpoch: promise.fence });
}

/** The boot state must be a history the driver could have written: contiguous, epochs in order. */
export function validatePersisted(p: PersistedState, hard: ZabHardState): void {
  const snapIndex = p.snapshot?.index ?? 0;
  let expected: number | null = null;
  let prevEpoch = 0;
  for (const e of p.entries) {
    if (expected !== null && e.index !== expected) throw badState(`persisted zab history: record ${e.index} follows ${expected - 1}.`);
    if (expected === null && e.index > snapIndex + 1) throw badState(`persisted zab history: first record ${e.index} leaves a gap after the snapshot at ${snapIndex}.`);
    if (e.term < prevEpoch) throw badState(`persisted zab history: epoch ${e.term} at ${e.index} is below the previous epoch ${prevEpoch}.`);
    if (e.term > hard.acceptedEpoch) throw badState(`persisted zab history: epoch ${e.term} at ${e.index} is above the accepted epoch ${hard.acceptedEpoch}.`);
    prevEpoch = e.term;
    expected = e.index + 1;
  }
  if (p.snapshot !== null && p.snapshot.term > hard.acceptedEpoch) {
    throw badState(`persisted zab snapshot: epoch ${p.snapshot.term} is above the accepted epoch ${hard.acceptedEpoch}.`);
  }
}
