/**
 * Membership at runtime, protocol-neutral: the one codec of a `config` record's data (the whole
 * next member list) and the checks every protocol makes before it proposes one. Each protocol
 * takes a configuration into effect by its own rule (Raft: the latest in its log, §4.1).
 */
import { MEMBER_ROLES, type ConsensusCore, type Member, type MemberRole, type MemberSpec, type MembershipRefusal, type NodeId } from '../contract';
import { memberListProblem, witnessShortfall } from './members';
import { majority } from './quorum';
import { WireReader, WireWriter } from './wire';

/**
 * config record = version:u8 count:uint { id:str role:u8 address:str }, roles as positions in
 * MEMBER_ROLES. A decoder refuses a version it does not know rather than guess at a member list.
 */
export const CONFIG_CODEC_VERSION = 1;

/** Most members in one configuration: a bound on what one record may make a core track. */
export const CONFIG_MEMBERS_MAX = 64;

const LABEL = 'config';
const MEMBER_SPEC_BYTES_MIN = 3;

export function encodeConfig(members: readonly MemberSpec[]): Uint8Array {
  const w = new WireWriter(LABEL);
  w.u8(CONFIG_CODEC_VERSION);
  w.uint(members.length, 'member count');
  for (const m of members) {
    const role = MEMBER_ROLES.indexOf(m.role);
    if (role < 0) throw w.fail(`member ${m.id} has an unknown role ${String(m.role)}`);
    w.str(m.id);
    w.u8(role);
    w.str(m.address);
  }
  return w.finish();
}

/** Throws ConsensusError('bad_message') naming what is wrong: these bytes are in a replicated log. */
export function decodeConfig(data: Uint8Array): MemberSpec[] {
  const r = new WireReader(data, LABEL, 'record');
  const version = r.u8('version');
  if (version !== CONFIG_CODEC_VERSION) throw r.bad(`version ${version} is not ${CONFIG_CODEC_VERSION}`);
  const n = r.count('member count', MEMBER_SPEC_BYTES_MIN);
  if (n > CONFIG_MEMBERS_MAX) throw r.bad(`${n} members, over CONFIG_MEMBERS_MAX ${CONFIG_MEMBERS_MAX}`);
  const members: MemberSpec[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.nodeId('member id') as NodeId;
    const role = MEMBER_ROLES[r.u8('member role')];
    if (role === undefined) throw r.bad(`member ${id} has an unknown role`);
    members.push({ id, role, address: r.str('member address') });
  }
  r.end('config record');
  const problem = memberListProblem(LABEL, members);
  if (problem !== null) throw r.bad(problem);
  return members;
}

/** For a protocol whose membership is static: ConsensusCore.proposeMembership refusing by name. */
export function membershipUnsupported(protocol: string): ConsensusCore['proposeMembership'] {
  return () => ({ ok: false, reason: 'unsupported', message: `${protocol} does not change membership at runtime yet.` });
}

export interface MembershipRefused {
  readonly reason: MembershipRefusal;
  readonly message: string;
}

/** What a leader knows when it checks a change (each protocol fills it from its own progress). */
export interface MembershipChange {
  readonly protocol: string;
  /** The roles the protocol takes. */
  readonly roles: readonly MemberRole[];
  readonly current: readonly Member[];
  readonly next: readonly MemberSpec[];
  /** Whether the leader heard from `id` lately (itself: always). */
  readonly reachable: (id: NodeId) => boolean;
  /** Whether `id` holds every record committed so far. */
  readonly caughtUp: (id: NodeId) => boolean;
  /**
   * Whether every data voter durably holds every committed record; a protocol with witnesses
   * gives it, and a member becomes a witness only then (witnessJoiningRefusal).
   */
  readonly dataVotersHoldCommitted?: () => boolean;
}

const isVoting = (m: Member | undefined): boolean => m !== undefined && (m.role === 'voter' || m.role === 'witness');

/**
 * Why `next` may not follow `current`, or null. One member changes at a time (thesis §4.1: any
 * majority of the old voters then meets any majority of the new, so no two leaders of one term
 * can be elected across the change); a member joins as an observer and votes only once it holds
 * every committed record (§4.2.1: a new voter that must first catch up would stall commits); and
 * the next voters that answered lately must be a quorum of them — "a member cannot be removed if
 * the rest would lose a quorum".
 */
export function membershipChangeRefusal(c: MembershipChange): MembershipRefused | null {
  const refusedRoles = MEMBER_ROLES.filter((r) => !c.roles.includes(r));
  const problem = memberListProblem(c.protocol, c.next, refusedRoles);
  if (problem !== null) return { reason: 'invalid', message: problem };
  if (c.next.length > CONFIG_MEMBERS_MAX) return { reason: 'invalid', message: `${c.next.length} members, over CONFIG_MEMBERS_MAX ${CONFIG_MEMBERS_MAX}.` };
  const shortfall = witnessShortfall(c.next);
  if (shortfall !== null) return { reason: 'witness_shortfall', message: shortfall };
  const before = new Map(c.current.map((m) => [m.id, m]));
  const after = new Map(c.next.map((m) => [m.id, m]));
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((id) => differs(before.get(id), after.get(id)));
  if (changed.length !== 1) {
    const message = changed.length === 0 ? 'the list names the current members: nothing changes.' : `members ${changed.join(', ')} change at once: change one member at a time.`;
    return { reason: 'too_many_changes', message };
  }
  const id = changed[0] as NodeId;
  const was = before.get(id);
  const becomes = after.get(id);
  if (was !== undefined && becomes !== undefined && inPlaceStoreChange(was.role, becomes.role)) {
    return { reason: 'invalid', message: `${id} is a ${was.role}; a ${becomes.role} keeps ${becomes.role === 'witness' ? 'no database' : 'the database'}, so the node itself must change: remove it, start it again on an empty data directory, and add it back.` };
  }
  if (was === undefined && becomes !== undefined && becomes.role !== 'observer') {
    return { reason: 'invalid', message: `${id} is new: add it as an observer, and make it a ${becomes.role} once it has caught up.` };
  }
  if (!isVoting(was) && isVoting(becomes) && !(c.reachable(id) && c.caughtUp(id))) {
    return { reason: 'not_caught_up', message: `${id} has not caught up with the committed records (or has not answered lately): it would stall commits as a ${String(becomes?.role)}.` };
  }
  return quorumRefusal(c, id) ?? witnessJoiningRefusal(c, id, was, becomes);
}

/**
 * A member that becomes a witness may have taken a snapshot as a position while it did not
 * vote, forgetting every record below it; as a witness it must hold what no data voter lacks,
 * so it joins only while every data voter holds every committed record.
 */
function witnessJoiningRefusal(c: MembershipChange, id: NodeId, was: Member | undefined, becomes: Member | undefined): MembershipRefused | null {
  if (becomes?.role !== 'witness' || was?.role === 'witness' || c.dataVotersHoldCommitted?.() !== false) return null;
  return {
    reason: 'not_caught_up',
    message: `${id} would vote as a witness, which keeps only records that every data voter holds, but a data voter lacks committed records: bring it up to date first.`,
  };
}

/** A voter made a witness or a witness a voter: what the process keeps is fixed at its start. */
function inPlaceStoreChange(was: MemberRole, becomes: MemberRole): boolean {
  return (was === 'voter' && becomes === 'witness') || (was === 'witness' && becomes === 'voter');
}

function differs(a: Member | undefined, b: Member | undefined): boolean {
  if (a === undefined || b === undefined) return a !== b;
  return a.role !== b.role || (a.address !== undefined && a.address !== b.address);
}

function quorumRefusal(c: MembershipChange, changed: NodeId): MembershipRefused | null {
  const voters = c.next.filter(isVoting).map((m) => m.id);
  const up = voters.filter((id) => c.reachable(id));
  const need = majority(voters.length);
  if (up.length >= need) return null;
  return {
    reason: 'no_quorum',
    message:
      `changing ${changed} leaves voters ${voters.join(', ')}, of which ${up.length === 0 ? 'none' : up.join(', ')} answered lately: ` +
      `a quorum of them is ${need}, so the cluster would stop committing; bring a voter back first.`,
  };
}
