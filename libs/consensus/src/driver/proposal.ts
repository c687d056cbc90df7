import type { Entry, ProposalToken } from '../contract';

/**
 * Whether the committed record at a proposal's index is that proposal: a command (or a member
 * list, ConsensusCore.proposeMembership) with the proposed bytes. On the proposing leader the core hands back the very array it was given,
 * so the usual answer costs one comparison; bytes are compared only when the record came
 * from elsewhere. A record another leader wrote at that index (a different command, or a
 * noop) is not the proposal, whatever its fencing number, and neither is a record with the
 * proposal's fencing number but other bytes.
 */
export function isProposal(entry: Entry, token: ProposalToken): boolean {
  // A client's command or a member list (proposeMembership): a noop is never anyone's proposal.
  if (entry.kind === 'noop') return false;
  const data = entry.data;
  if (data === token) return true;
  // `length`, read once: `byteLength` in a loop's condition is a getter call per byte.
  const n = data.length;
  if (n !== token.length) return false;
  for (let i = 0; i < n; i++) if (data[i] !== token[i]) return false;
  return true;
}
