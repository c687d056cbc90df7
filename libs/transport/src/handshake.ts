/**
 * The protocol half of a peer stream's handshake. The first frame of a stream (and the first
 * chunk of a snapshot) names the sender's cluster and consensus protocol; a node refuses a
 * stream of another protocol, whose bytes its codec would reject or, worse, misread.
 */
import { quote } from './frame-check';

/** A sentence naming the mismatch, or null when the peer speaks this node's protocol. */
export function protocolMismatch(theirs: string | undefined, ours: string, what: 'stream' | 'snapshot'): string | null {
  const named = theirs ?? '';
  return named === ours ? null : `${what} speaks protocol ${quote(named)}, this node runs '${ours}'`;
}

/**
 * The identity half: the data directory a member speaks from. Each directory gets a random
 * incarnation at its first start; a member that comes back under another one lost the votes,
 * promises and acknowledgements it gave, and counting anything from it could elect two leaders
 * in one term or forget a chosen value. Only a directory that began with --rejoin (an
 * observer until it has caught up, rejoin.ts in the replica) may replace a known incarnation.
 */
export interface Incarnation {
  readonly id: string;
  /** The directory began with --rejoin. */
  readonly rejoined: boolean;
}

/**
 * This node's incarnation, and what it knows of its peers'. `admit` records a new or
 * replaced incarnation durably before it returns null (accept); otherwise it returns the
 * sentence refusing the member.
 */
export interface PeerIdentity {
  readonly self: Incarnation;
  /** Where this node's database began (originMismatch); absent: not checked (tests). */
  readonly origin?: string;
  admit(member: string, presented: Incarnation | null): string | null;
}

export type IncarnationVerdict =
  | { readonly kind: 'accept' }
  | { readonly kind: 'record'; readonly id: string }
  | { readonly kind: 'refuse'; readonly why: string };

/**
 * The rule, pure. `recorded` is the incarnation this node first saw from `member` (null: never
 * heard from it); `presented` is null from a sender that predates incarnations, accepted
 * unrecorded so a cluster can be upgraded one node at a time.
 */
export function judgeIncarnation(member: string, recorded: string | null, presented: Incarnation | null): IncarnationVerdict {
  if (presented === null || presented.id === recorded) return { kind: 'accept' };
  if (recorded === null || presented.rejoined) return { kind: 'record', id: presented.id };
  return { kind: 'refuse', why: incarnationRefusal(member, presented.id, recorded) };
}

/** The sentence both sides log: the refusing peer, and the refused member before it stops. */
export function incarnationRefusal(member: string, presented: string, recorded: string): string {
  return (
    `member ${quote(member)} came back with a different data directory (incarnation ${quote(presented)}, expected ${quote(recorded)}): ` +
    'it lost its state; empty its data directory and restart it with --rejoin'
  );
}

/** What a stream's first frame says of its sender's incarnation (null when it says nothing). */
export function presentedIncarnation(frame: { incarnation?: string; rejoined?: boolean }): Incarnation | null {
  return frame.incarnation ? { id: frame.incarnation, rejoined: frame.rejoined === true } : null;
}

/** The origin a witness presents: it keeps no database, so any origin suits it. */
export const ANY_ORIGIN = '*';

/**
 * A sentence naming the mismatch when the sender's database began elsewhere than this node's
 * (PeerFrame.origin: '' empty, 'sha256:…' a backup, '*' a witness), or null. Every data node
 * applies the same records from index 1, so databases that began differently would diverge.
 */
export function originMismatch(theirs: string, ours: string): string | null {
  if (theirs === ours || theirs === ANY_ORIGIN || ours === ANY_ORIGIN) return null;
  return (
    `stream comes from a node whose database began ${describeOrigin(theirs)}, and this node's began ${describeOrigin(ours)}: ` +
    'every data node of a cluster restored from a backup, and every node added to it later, starts with --from-backup of that same file'
  );
}

function describeOrigin(origin: string): string {
  if (origin === '') return 'empty';
  const sha = /^sha256:([0-9a-f]{64})$/.exec(origin);
  return sha ? `from the backup with SHA-256 ${sha[1]!.slice(0, 16)}…` : `from ${quote(origin)}`;
}

/** Trailing metadata key on a stream refused for its incarnation: the sender stops for good. */
export const REFUSED_INCARNATION_KEY = 'quorumlite-refused-incarnation';
