/** Multi-Paxos settings, ballots and boot-state checks: one sentence per impossible value. */
import { refuseProtocolOptions, validateCoreOptions } from '../common';
import { ConsensusError, type CoreOptions, type HardState, type Member, type MemberRole, type NodeId, type PersistedState } from '../contract';

/**
 * A ballot is (round, proposer) encoded in one number so that a larger number always wins:
 * round × BALLOT_PROPOSERS_MAX + the proposer's rank (1-based, in the sorted ids of the member
 * list the node booted with). A higher round beats every proposer of a lower one. Members that
 * joined at runtime may rank from different lists, so two proposers can share a ballot: an
 * acceptor therefore promises a ballot to one proposer only (`promisedTo`; after a restart,
 * which forgets it, an equal-ballot Prepare is refused from anyone), so at most one proposer
 * wins phase 1 at a ballot (ballot-promise.test.ts).
 */
export const BALLOT_PROPOSERS_MAX = 1024;

export function ballotOf(round: number, rank: number): number {
  return round * BALLOT_PROPOSERS_MAX + rank;
}

export function roundOf(ballot: number): number {
  return Math.floor(ballot / BALLOT_PROPOSERS_MAX);
}

/** 1-based rank of `id` among the members' ids, sorted: the low part of its ballots. */
export function rankOf(members: readonly Member[], id: NodeId): number {
  const ids = members.map((m) => m.id).sort();
  return ids.indexOf(id) + 1;
}

function bad(sentence: string): ConsensusError {
  return new ConsensusError('bad_config', sentence);
}

function badState(sentence: string): ConsensusError {
  return new ConsensusError('bad_state', sentence);
}

/**
 * The member roles Multi-Paxos takes: acceptors that keep the database (voters), acceptors
 * that keep only what they need to vote (witnesses: they never run phase 1) and learners
 * (observers).
 */
export const PAXOS_ROLES: readonly MemberRole[] = ['voter', 'witness', 'observer'];

export function validateOptions(o: CoreOptions): void {
  validateCoreOptions('multipaxos', o, PAXOS_ROLES);
  if (o.members.length >= BALLOT_PROPOSERS_MAX) throw bad(`multipaxos supports at most ${BALLOT_PROPOSERS_MAX - 1} members.`);
  refuseProtocolOptions('multipaxos', o);
}

/**
 * An acceptor's durable promise: it accepts nothing below this ballot. A witness's also says
 * what it may forget and who holds it (`hold`): `to`, the highest dataHold a leader sent it,
 * and for each data voter a leader counted in one, the highest slot up to which it durably
 * holds every chosen value — the only candidates to which it lends its promise where it
 * forgot slots. Absent on every other node; a witness written before it existed has it absent
 * too (its configuration could not change then, and PaxosCore's constructor takes its
 * snapshot's data voters).
 */
export interface PaxosHardState {
  readonly promised: number;
  readonly hold?: WitnessHold;
}

export interface WitnessHold {
  readonly to: number;
  /** Data voter → the slot up to which it holds every chosen value. */
  readonly holders: ReadonlyMap<NodeId, number>;
}

export function toHardState(h: PaxosHardState): HardState {
  if (h.hold === undefined) return { promised: h.promised };
  return { promised: h.promised, holdTo: h.hold.to, holders: JSON.stringify(Object.fromEntries(h.hold.holders)) };
}

export function parseHardState(h: HardState | null): PaxosHardState {
  if (h === null) return { promised: 0 };
  const v = h['promised'];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw badState(`persisted multipaxos hard state: promised must be a non-negative integer, got ${JSON.stringify(v)} (was this data directory written by another protocol?).`);
  }
  if (h['holdTo'] === undefined && h['holders'] === undefined) return { promised: v };
  const to = h['holdTo'];
  if (!isSlot(to)) throw badState(`persisted multipaxos hard state: holdTo must be a non-negative integer, got ${JSON.stringify(to)}.`);
  return { promised: v, hold: { to, holders: parseHolders(h['holders']) } };
}

function isSlot(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseHolders(raw: HardState[string] | undefined): Map<NodeId, number> {
  let parsed: unknown = undefined;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    // named below
  }
  const entries = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : null;
  if (entries === null || !entries.every(([id, to]) => id.length > 0 && isSlot(to))) {
    throw badState(`persisted multipaxos hard state: holders must be a JSON object of member ids to slots, got ${JSON.stringify(raw)}.`);
  }
  return new Map(entries as [NodeId, number][]);
}

/**
 * The boot state must be slots the driver could have written: contiguous after the snapshot,
 * holes without values. A slot's ballot above the stored promise is allowed: accepting at a
 * ballot is a promise of it, and the core boots with the larger of the two.
 */
export function validatePersisted(p: PersistedState): void {
  const snapIndex = p.snapshot?.index ?? 0;
  let expected: number | null = null;
  for (const e of p.entries) {
    if (expected !== null && e.index !== expected) throw badState(`persisted multipaxos slots: slot ${e.index} follows ${expected - 1}.`);
    if (expected === null && e.index > snapIndex + 1) throw badState(`persisted multipaxos slots: first slot ${e.index} leaves a gap after the snapshot at ${snapIndex}.`);
    if (e.term === 0 && (e.kind !== 'noop' || e.data.length > 0)) throw badState(`persisted multipaxos slots: slot ${e.index} is a hole that carries a value.`);
    expected = e.index + 1;
  }
}

/**
 * A rejoining node's hard state before its core answers anything (ProtocolModule.fencedHardState):
 * it promises the highest ballot any other voter promised, so it accepts nothing below a promise
 * it may have made before it lost its disk.
 */
export function fencedHardState(h: HardState | null, promise: { readonly fence: number }): HardState {
  return rejoinedHardState(h, promise);
}

/** A rejoined voter's hard state: it has promised the leader's ballot, so nothing at or below it. */
export function rejoinedHardState(h: HardState | null, promise: { readonly fence: number }): HardState {
  const hard = parseHardState(h);
  return toHardState({ ...hard, promised: Math.max(hard.promised, promise.fence) });
}

/**
 * α, Lamport's window ("Paxos Made Simple" §3, end; Lamport, Malkhi and Zhou, "Reconfiguring a
 * State Machine"; the WINDOW of "Paxos Made Moderately Complex"): a configuration chosen in slot
 * i governs the slots from i + α on, so a leader knows the acceptors of every slot it proposes
 * once the slots α before it are chosen. 16 lets a leader keep 16 slots in flight past a change
 * it has not seen chosen, while a change takes effect after 15 padding no-ops (proposeMembership
 * proposes them with it), a few hundred bytes.
 *
 * Not a node setting: every node must read one configuration for each slot, so α is the
 * protocol's own (PaxosCore's third argument, for tests), never read from a node's config.
 */
export const CONFIG_WINDOW_SLOTS_DEFAULT = 16;
/** The largest α: each change proposes α − 1 padding no-ops, and a leader holds them in memory. */
export const CONFIG_WINDOW_SLOTS_MAX = 1024;

/** Multi-Paxos settings fixed for the whole cluster (not CoreOptions: see CONFIG_WINDOW_SLOTS_DEFAULT). */
export interface PaxosSettings {
  /** α: a configuration chosen in slot i governs the slots from i + α on. */
  readonly configWindowSlots: number;
}

export function paxosSettings(over: Partial<PaxosSettings> = {}): PaxosSettings {
  const configWindowSlots = over.configWindowSlots ?? CONFIG_WINDOW_SLOTS_DEFAULT;
  if (!Number.isSafeInteger(configWindowSlots) || configWindowSlots < 1 || configWindowSlots > CONFIG_WINDOW_SLOTS_MAX) {
    throw bad(`multipaxos configWindowSlots (α) must be an integer from 1 to ${CONFIG_WINDOW_SLOTS_MAX}, got ${String(configWindowSlots)}.`);
  }
  return { configWindowSlots };
}
