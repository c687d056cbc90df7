/** Multi-Paxos, as a ProtocolModule: build a core, and put its messages on the wire. */
import type { CoreOptions, PersistedState, ProtocolModule } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import { PAXOS_ROLES, fencedHardState, rejoinedHardState, roundOf, validateOptions } from './config';
import { PaxosCore } from './core';
import type { PaxosMessage } from './messages';

export const multipaxos: ProtocolModule<PaxosMessage> = {
  name: 'multipaxos',
  fencingName: 'ballot',
  // A ballot is round × BALLOT_PROPOSERS_MAX + the proposer's rank.
  fenceRound: roundOf,
  // Slots are chosen one by one: two nodes holding one slot at one ballot agree on that slot only.
  logMatching: 'record',
  options: [],
  roles: PAXOS_ROLES,
  // Configuration commands in the slots, each governing α slots after its own (configs.ts).
  membershipChanges: true,
  // A witness store forgets only what the data voters it names hold, and lends its promise
  // over forgotten slots only to them (PaxosCore.vouchesFor), whatever the configurations.
  witnessMembershipChanges: true,
  // A node's timeout is drawn from [t, 2t), so duelling proposers settle.
  electionTicksMax: (options) => 2 * options.electionTimeoutTicks,
  // Heartbeats and their answers carry a ballot, a chosen watermark capped by the acceptor's
  // own prefix, and that prefix (taken as the larger of what the leader knew and what it
  // says): they mean the same in any order, and travel apart so an Accept near the request
  // size limit never holds them past an election timeout. An answer that overtook Accepts is
  // read as a gap only once the prefix stops growing (PaxosCore.handleHeartbeatResponse).
  orderFree: (m) => m.type === 'heartbeat' || m.type === 'heartbeatResponse',
  promisedFence: (m) => (m.type === 'promise' && !m.reject ? m.ballot : null),
  rejoinedHardState,
  fencedHardState,
  validate: (options: CoreOptions): void => validateOptions(options),
  create: (options: CoreOptions, persisted: PersistedState): PaxosCore => new PaxosCore(options, persisted),
  encodeMessage,
  decodeMessage,
};

export { PaxosCore } from './core';
export { PAXOS_CODEC_VERSION } from './codec';
export { BALLOT_PROPOSERS_MAX, ballotOf, roundOf } from './config';
export type { PaxosHardState } from './config';
export type * from './messages';
export { PAXOS_MESSAGE_TYPES } from './messages';
