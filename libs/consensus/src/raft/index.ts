/** Raft, as a ProtocolModule: build a core, and put its messages on the wire. */
import type { CoreOptions, PersistedState, ProtocolModule } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import { RAFT_OPTIONS, RAFT_ROLES, fencedHardState, rejoinedHardState, validateOptions } from './config';
import { RaftCore } from './core';
import type { RaftMessage } from './messages';

export const raft: ProtocolModule<RaftMessage> = {
  name: 'raft',
  fencingName: 'term',
  logMatching: 'prefix',
  roles: RAFT_ROLES,
  membershipChanges: true,
  appliedMembersInForce: true,
  witnessMembershipChanges: true,
  options: RAFT_OPTIONS,
  // A follower's timeout is drawn from [t, 2t) (thesis §3.4).
  // A witness waits one election timeout more than a data voter before it campaigns.
  electionTicksMax: (options) => 3 * options.electionTimeoutTicks,
  // A heartbeat's commit is at most what the follower acknowledged to this leader in this
  // term, which it holds; the answers only refresh liveness and read confirmations.
  orderFree: (m) => m.type === 'heartbeat' || m.type === 'heartbeatResponse',
  promisedFence: (m) => (m.type === 'voteResponse' && !m.reject ? m.term : null),
  rejoinedHardState,
  fencedHardState,
  validate: (options: CoreOptions): void => validateOptions(options),
  create: (options: CoreOptions, persisted: PersistedState): RaftCore => new RaftCore(options, persisted),
  encodeMessage,
  decodeMessage,
};

export { RaftCore } from './core';
export { COMMITTED_BYTES_PER_READY_MAX, COMMITTED_ENTRIES_PER_READY_MAX } from '../common';
export { READS_PENDING_MAX } from '../common';
export { RAFT_CODEC_VERSION } from './codec';
export type { RaftHardState } from './config';
export type * from './messages';
export { RAFT_MESSAGE_TYPES } from './messages';
