/**
 * What an operator asks of the members (add, remove, change a role), as the member lists the
 * core takes one at a time. A new voter or witness joins as an observer first and is promoted
 * once it holds every committed record, so adding one never stalls commits; the core refuses
 * whatever its protocol forbids, with its own sentence.
 *
 * A process keeps a database or (a witness) only the log, from its start on; a role needs one
 * of them. Before a node is added or given a role whose store may differ from its own, the node
 * is asked (its Status) what it keeps: a witness made an observer would serve reads without a
 * database, and a data node made a witness would stop receiving the statements its database
 * needs, so it would diverge if it ever served again.
 */
import { nodeId, type MemberRole, type MemberSpec } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
import type { ReplicaMember } from './membership';
import type { Timer } from './ports';
import type { NodeStore } from './rejoin';

export type MemberChange =
  | { readonly kind: 'add'; readonly id: string; readonly address: string; readonly role: MemberRole }
  | { readonly kind: 'remove'; readonly id: string }
  | { readonly kind: 'set-role'; readonly id: string; readonly role: MemberRole };

export interface MemberChangesHost {
  members(): { members: ReplicaMember[]; pending: boolean };
  /** Proposes the whole next list; resolves once it is committed and applied here. */
  propose(next: readonly MemberSpec[], timeoutMs: number): Promise<{ index: number }>;
  /** Leader: whether `id` holds every committed record. */
  caughtUp(id: string): boolean;
  /** What the process at `address` keeps (null: it predates the answer); rejects when it does not answer. */
  storeAt(id: string, address: string, timeoutMs: number): Promise<NodeStore | null>;
  now(): number;
  after(ms: number, fn: () => void): Timer;
  /**
   * How long a leader may need to hear from every voter that is up: a leader elected or handed
   * leadership a moment ago has not yet heard from followers still finding it, so a change it
   * refuses for want of a quorum that answered lately is asked again until this has passed.
   */
  settleMs(): number;
}

export interface MemberChangeOutcome {
  readonly members: ReplicaMember[];
  /** The log index of the last member list this change committed. */
  readonly index: number;
}

/** How often a promotion looks whether the new member caught up. */
const CATCH_UP_POLL_MS = 25;
/** How often a change refused for want of a quorum that answered lately is asked again. */
const QUORUM_POLL_MS = 50;
/** Longest the check of what a node keeps waits for its Status. */
const STORE_CHECK_MS_MAX = 2_000;

/** What a member in `role` must keep. */
export function storeOfRole(role: MemberRole): NodeStore {
  return role === 'witness' ? 'log' : 'database';
}

export async function changeMembers(given: MemberChangesHost, change: MemberChange, timeoutMs: number): Promise<MemberChangeOutcome> {
  const host = settling(given, given.now() + given.settleMs());
  const deadlineMs = host.now() + timeoutMs;
  const left = (): number => Math.max(1, deadlineMs - host.now());
  const current = host.members().members;
  const existing = current.find((m) => m.id === change.id);
  const names = current.map((m) => `${m.id} (${m.role})`).join(', ');
  switch (change.kind) {
    case 'add': {
      if (change.address.trim() === '') throw new ReplicaError('invalid', `adding ${change.id} needs its address (host:port)`);
      // A retried add (its answer was lost) finds the member there: it goes on from where it is.
      const resumes = existing !== undefined && existing.address === change.address && (existing.role === change.role || existing.role === 'observer');
      if (existing && !resumes) throw new ReplicaError('invalid', `${change.id} is already a member (${existing.role} at ${existing.address}); members are ${names}`);
      if (existing?.role === change.role) return { members: current, index: 0 };
      await checkStore(host, change.id, change.address, change.role, `adding ${change.id} as ${change.role === 'observer' ? 'an' : 'a'} ${change.role}`, left());
      let index = 0;
      if (!existing) {
        index = (await host.propose([...current.map(spec), { id: nodeId(change.id), role: 'observer', address: change.address }], left())).index;
      }
      if (change.role === 'observer' || host.members().members.find((m) => m.id === change.id)?.role === change.role) return { members: host.members().members, index };
      const promoted = await promote(host, change.id, change.role, deadlineMs, `${change.id} joined as an observer but did not catch up within ${timeoutMs} ms; it stays an observer: promote it once it has`);
      return { members: host.members().members, index: promoted };
    }
    case 'remove': {
      if (!existing) throw new ReplicaError('invalid', `no member '${change.id}'; members are ${names}`);
      const next = current.filter((m) => m.id !== change.id).map(spec);
      const removed = await host.propose(next, left());
      return { members: host.members().members, index: removed.index };
    }
    case 'set-role': {
      if (!existing) throw new ReplicaError('invalid', `no member '${change.id}'; members are ${names}`);
      if (existing.role === change.role) return { members: current, index: 0 };
      if (storeOfRole(existing.role) !== storeOfRole(change.role) && existing.role !== 'observer') {
        throw new ReplicaError('refused', `${change.id} is a ${existing.role}; ${restartSentence(change.id, change.role)}`);
      }
      if (existing.role === 'observer') {
        // An observer may be a witness process still catching up: ask the node what it keeps.
        await checkStore(host, change.id, existing.address, change.role, `making ${change.id} a ${change.role}`, left());
        const index = await promote(host, change.id, change.role, deadlineMs, `${change.id} has not caught up within ${timeoutMs} ms: it stays an observer`);
        return { members: host.members().members, index };
      }
      const changed = await host.propose(withRole(host, change.id, change.role), left());
      return { members: host.members().members, index: changed.index };
    }
  }
}

/**
 * `host`, whose propose asks again, until `settledAtMs` (and within its own timeout), a change
 * the core refused because too few of the next voters answered lately: right after an election
 * or a transfer the leader has not heard from every follower yet. Past then, the refusal stands.
 */
function settling(host: MemberChangesHost, settledAtMs: number): MemberChangesHost {
  return {
    ...host,
    propose: async (next, timeoutMs) => {
      const deadlineMs = host.now() + timeoutMs;
      for (;;) {
        try {
          return await host.propose(next, Math.max(1, deadlineMs - host.now()));
        } catch (e: unknown) {
          const waitMs = Math.min(settledAtMs, deadlineMs) - host.now();
          if (!(e instanceof ReplicaError) || e.details.refusal !== 'no_quorum' || waitMs <= 0) throw e;
          await new Promise<void>((resolve) => host.after(Math.min(QUORUM_POLL_MS, waitMs), resolve));
        }
      }
    },
  };
}

/** The list as it is now (a step before may have changed it), with `id` in `role`. */
function withRole(host: MemberChangesHost, id: string, role: MemberRole): MemberSpec[] {
  return host.members().members.map((m) => spec(m.id === id ? { ...m, role } : m));
}

/**
 * An observer takes `role` once it holds every committed record. Under writes the commit point
 * moves between this look and the core's own, so a refusal as not caught up is retried until
 * the deadline, which then fails with `why`.
 */
async function promote(host: MemberChangesHost, id: string, role: MemberRole, deadlineMs: number, why: string): Promise<number> {
  for (;;) {
    await waitCaughtUp(host, id, deadlineMs, why);
    try {
      return (await host.propose(withRole(host, id, role), Math.max(1, deadlineMs - host.now()))).index;
    } catch (e: unknown) {
      if (!(e instanceof ReplicaError) || e.code !== 'unavailable') throw e;
      if (host.now() >= deadlineMs) throw new ReplicaError('timeout', why, {}, { cause: e });
      await new Promise<void>((resolve) => host.after(CATCH_UP_POLL_MS, resolve));
    }
  }
}

/** Refuses, with a sentence, when the process at `address` cannot keep what `role` needs. */
async function checkStore(host: MemberChangesHost, id: string, address: string, role: MemberRole, doing: string, timeoutMs: number): Promise<void> {
  let store: NodeStore | null;
  try {
    store = await host.storeAt(id, address, Math.min(timeoutMs, STORE_CHECK_MS_MAX));
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ReplicaError('refused', `${doing} needs to know what the node keeps, and ${id} at ${address} did not answer Status (${why}): start it first`, {}, { cause: e });
  }
  if (store === null) throw new ReplicaError('refused', `${doing}: ${id} at ${address} does not say what it keeps (it runs an older version); upgrade it first`);
  if (store !== storeOfRole(role)) {
    const keeps = store === 'log' ? 'runs as a witness and keeps no database' : 'keeps a database';
    throw new ReplicaError('refused', `${doing}: ${id} ${keeps}; ${restartSentence(id, role)}`);
  }
}

function restartSentence(id: string, role: MemberRole): string {
  const a = role === 'observer' ? 'an' : 'a';
  return `${a} ${role} keeps ${role === 'witness' ? 'no database' : 'the database'}, so the node itself must change: remove ${id}, start it again as ${a} ${role} with an empty data directory, and add it back as ${a} ${role}`;
}

function spec(m: ReplicaMember): MemberSpec {
  return { id: nodeId(m.id), role: m.role, address: m.address };
}

async function waitCaughtUp(host: MemberChangesHost, id: string, deadlineMs: number, why: string): Promise<void> {
  while (!host.caughtUp(id)) {
    if (host.now() >= deadlineMs) throw new ReplicaError('timeout', why);
    await new Promise<void>((resolve) => host.after(Math.min(CATCH_UP_POLL_MS, Math.max(1, deadlineMs - host.now())), resolve));
  }
}
