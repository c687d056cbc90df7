/** Multi-Paxos, as a ProtocolModule: build a core, and put its messages on the wire. */
import type { CoreOptions, PersistedState, ProtocolModule } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import { PAXOS_ROLES, validateOptions } from './config';
import { PaxosCore } from './core';
import type { PaxosMessage } from './messages';

export const multipaxos: ProtocolModule<PaxosMessage> = {
  name: 'multipaxos',
  fencingName: 'ballot',
  // Slots are chosen one by one: two nodes holding one slot at one ballot agree on that slot only.
  logMatching: 'record',
  options: [],
  roles: PAXOS_ROLES,
  // A node's timeout is drawn from [t, 2t), so duelling proposers settle.
  electionTicksMax: (options) => 2 * options.electionTimeoutTicks,
  // A heartbeat's answer carries the acceptor's right prefix, which the leader reads as a gap
  // to fill when it is below what was sent: a heartbeat that overtook a large Accept would
  // make the leader send that Accept again. One FIFO lane, as for Zab.
  orderFree: () => false,
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
