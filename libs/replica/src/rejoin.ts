/**
 * Rejoining after a lost data directory (`quorumlite node --rejoin`). A voter that lost its
 * disk may have granted votes, promises and acknowledgements it no longer remembers: started
 * empty as a voter it could vote twice in one term or let a quorum forget a committed record.
 * So it comes back as an observer (CoreOptions.rejoining):
 *   0. before its core answers anything, every other voting member answers its status and F is
 *      the highest number any of them promised (CoreStatus.promisedFence): every number a lost
 *      promise or acknowledgement of ours carried is at or below it, since the member it went
 *      to holds that number itself. The node persists a hard state that never goes below F
 *      (ProtocolModule.fencedHardState) and only then starts its core — so a deposed leader
 *      below F never again counts an answer of ours.
 * It becomes a voter again only once
 *   1. a later round of answers names a member that leads at the highest number among them
 *      (the newest leader: any quorum a lost promise or acknowledgement of ours was part of
 *      holds some other member at or above its number);
 *   2. it holds and applied every record up to that leader's last index L (every record
 *      chosen with a lost acknowledgement of ours is in the newest leader's log);
 *   3. a later round of answers still names a leader at the number the core follows.
 * Then its hard state promises that number to that leader (ProtocolModule.rejoinedHardState),
 * durably, and only then the marker file goes. docs/architecture.md has the argument.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, writeFileAtomic } from '@quorumlite/storage';
import { ReplicaError } from './errors';

/** Present while a node rejoins: a restart resumes the rejoin instead of starting as a voter. */
export const REJOIN_MARKER_FILE = 'REJOINING';

/** What a peer's Status says, as far as a rejoin needs it. */
export interface PeerView {
  readonly role: string;
  readonly leaderId: string | null;
  /** The protocol's fencing number: term, epoch or ballot. */
  readonly term: number;
  /** The highest number it promised (CoreStatus.promisedFence); never below `term`. */
  readonly promised: number;
  readonly lastIndex: number;
  /** What the process keeps (StatusResponse.store); null from a node that predates the field. */
  readonly store?: NodeStore | null;
}

/** What a node process keeps, fixed when it starts: a database, or (a witness) only the log. */
export type NodeStore = 'database' | 'log';

/** Reads a peer's status over its client API (the node's gRPC client); rejects when it cannot. */
export interface PeerStatusReader {
  status(address: string, timeoutMs: number): Promise<PeerView>;
}

export type RejoinPlan =
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'target'; readonly fence: number; readonly leader: string; readonly index: number };

/**
 * From the answers of every other voting member (an Error where one did not answer): the
 * highest number any of them promised, or why to wait. Pure.
 */
export function promisedFence(answers: ReadonlyMap<string, PeerView | Error>): { readonly kind: 'wait'; readonly why: string } | { readonly kind: 'fence'; readonly fence: number } {
  // Nobody to ask is not "nobody promised anything": fencing at 0 would follow a leader never seen.
  if (answers.size === 0) return { kind: 'wait', why: 'this node knows no other voting member to ask what was promised (its member list names none)' };
  const silent = [...answers].filter(([, a]) => a instanceof Error).map(([id]) => id);
  if (silent.length > 0) return { kind: 'wait', why: `waiting for every other voter to answer (${silent.join(', ')} did not)` };
  const views = [...answers.values()] as PeerView[];
  return { kind: 'fence', fence: Math.max(0, ...views.map((v) => Math.max(v.term, v.promised))) };
}

/**
 * From the answers of every other voting member: the newest leader's fencing number and last
 * index, or why to wait. A leader counts only at the highest number promised. Pure.
 */
export function planRejoin(answers: ReadonlyMap<string, PeerView | Error>): RejoinPlan {
  const promised = promisedFence(answers);
  if (promised.kind === 'wait') return promised;
  const fence = promised.fence;
  const leader = [...answers].find(([, a]) => !(a instanceof Error) && a.role === 'leader' && a.term === fence);
  if (leader === undefined) return { kind: 'wait', why: `no member leads at the highest fencing number ${fence} yet` };
  return { kind: 'target', fence, leader: leader[0], index: (leader[1] as PeerView).lastIndex };
}

/**
 * Whether this node starts rejoining: the marker is there (a rejoin a restart interrupted), or
 * the operator asked for it on a data directory that holds nothing — asking for it on one that
 * still holds a log or hard state is refused, since that node remembers its promises.
 */
export async function beginRejoin(dataDir: string, requested: boolean, holds: string | null): Promise<boolean> {
  const marker = path.join(dataDir, REJOIN_MARKER_FILE);
  if (fs.existsSync(marker)) return true;
  if (!requested) return false;
  if (holds !== null) {
    throw new ReplicaError(
      'invalid',
      `--rejoin is for a node whose data directory was lost, but ${dataDir} still holds ${holds}; start without --rejoin (the node remembers its promises), or move the directory away to rejoin empty`,
    );
  }
  await writeFileAtomic(marker, new TextEncoder().encode('this node lost its data directory and rejoins as an observer until it catches up\n'));
  return true;
}

/** The rejoin is over: called only once the voter's hard state is durable. */
export async function endRejoin(dataDir: string): Promise<void> {
  await fs.promises.rm(path.join(dataDir, REJOIN_MARKER_FILE), { force: true });
  await fsyncDir(dataDir);
}
