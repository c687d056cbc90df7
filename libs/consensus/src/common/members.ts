/** Member-list checks every protocol makes before its own (one sentence per impossible list). */
import { ConsensusError, MEMBER_ROLES, type Member, type MemberRole, type NodeId } from '../contract';
import { majority } from './quorum';

/**
 * Refuses an empty or duplicated list, an unknown role, a role the protocol does not take
 * (`refusedRoles`, named with the protocol), a list without a voter, and a node that is not
 * a member.
 */
export function validateMembers(protocol: string, self: NodeId, members: readonly Member[], refusedRoles: readonly MemberRole[] = []): void {
  if (typeof self !== 'string' || self.length === 0) throw bad('id must be a non-empty node id.');
  const problem = memberListProblem(protocol, members, refusedRoles);
  if (problem !== null) throw bad(problem);
  if (!members.some((m) => m.id === self)) throw bad(`this node (${self}) must be one of the members.`);
  const shortfall = witnessShortfall(members);
  if (shortfall !== null) throw bad(shortfall);
}

/**
 * What makes a member list impossible, in one sentence, or null: empty or duplicated, an
 * unknown role or one the protocol does not take (`refusedRoles`), no voter. Witness
 * shortfall is witnessShortfall's.
 */
export function memberListProblem(protocol: string, members: readonly Member[], refusedRoles: readonly MemberRole[] = []): string | null {
  if (!Array.isArray(members) || members.length === 0) return 'members must list at least one member.';
  const seen = new Set<string>();
  for (const m of members) {
    if (typeof m.id !== 'string' || m.id.length === 0) return 'every member needs a non-empty id.';
    if (seen.has(m.id)) return `member ${m.id} is listed twice.`;
    seen.add(m.id);
    if (refusedRoles.includes(m.role)) return `${protocol} does not support ${m.role} members yet (member ${m.id})`;
    if (!MEMBER_ROLES.includes(m.role)) return `member ${m.id} has an unknown role ${String(m.role)}.`;
  }
  if (!members.some((m) => m.role === 'voter')) return 'members must include at least one voter.';
  return null;
}

/**
 * Why witnesses make a member list tolerate fewer failures than its quorum suggests, or null.
 * A quorum of n voters survives f = n − majority(n) failures, but only a data voter serves and
 * leads a cluster that writes: a witness keeps no database (a Multi-Paxos witness never runs
 * phase 1; a Raft witness leads only to hand over to a data voter). With f data voters or fewer,
 * f failures may stop all of them while a quorum is up, and the cluster stops: 1v2w when its
 * data voter is down, 2v3w when its two are. 2v1w and 3v2w keep a data voter through f.
 */
export function witnessShortfall(members: readonly Pick<Member, 'role'>[]): string | null {
  const voting = members.filter((m) => m.role === 'voter' || m.role === 'witness').length;
  const data = members.filter((m) => m.role === 'voter').length;
  const tolerated = voting - majority(voting);
  if (data > tolerated) return null;
  return (
    `members list ${counted(data, 'data voter')} and ${counted(voting - data, 'witness')}: a quorum of ${majority(voting)} of ${voting} ` +
    `survives ${counted(tolerated, 'failure')}, but ${tolerated} may stop every data voter, and witnesses keep no database to serve or lead from; ` +
    `list at least ${tolerated + 1} data voters, or fewer witnesses.`
  );
}

function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`;
}

function bad(sentence: string): ConsensusError {
  return new ConsensusError('bad_config', sentence);
}

/**
 * The members that vote and count toward quorums: data voters and witnesses (a witness keeps
 * no database but holds records durably). Observers never count.
 */
export function votingMembers(members: readonly Member[]): NodeId[] {
  return members.filter((m) => m.role === 'voter' || m.role === 'witness').map((m) => m.id);
}

/** The voters that keep the database: the only members a witness may hand leadership to. */
export function dataVoters(members: readonly Member[]): NodeId[] {
  return members.filter((m) => m.role === 'voter').map((m) => m.id);
}

/** The voters that keep no database: they take a snapshot only as a position. */
export function witnesses(members: readonly Member[]): NodeId[] {
  return members.filter((m) => m.role === 'witness').map((m) => m.id);
}
