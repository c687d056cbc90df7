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
