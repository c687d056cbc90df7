/** Zab, as a ProtocolModule: build a core, and put its messages on the wire. */
import type { CoreOptions, PersistedState, ProtocolModule } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import { ZAB_ROLES, fencedHardState, rejoinedHardState, validateOptions } from './config';
import { FINALIZE_TICKS, ZabCore } from './core';
import type { ZabMessage } from './messages';

export const zab: ProtocolModule<ZabMessage> = {
  name: 'zab',
  fencingName: 'epoch',
  // Records of one epoch come from its one leader, after a history synchronized to it.
  logMatching: 'prefix',
  options: [],
  roles: ZAB_ROLES,
  membershipChanges: true,
  witnessMembershipChanges: true,
  appliedMembersInForce: true,
  // A follower notices a silent leader within its sync limit (drawn in [t, 1.5t) of the election
  // timeout), then FLE decides within its finalize window; discovery and synchronization are a
  // few round trips.
  electionTicksMax: (options) => 3 * options.electionTimeoutTicks + FINALIZE_TICKS,
  // Zab assumes FIFO channels for its history; PING and PINGACK carry only the liveness of a
  // synchronized pair, a commit point and acknowledgements (all monotone), and travel apart so
  // a proposal near the request size limit never holds them past a sync limit. A PING that
  // overtakes proposals is no loss while proposals keep arriving (ZabCore.handlePing).
  orderFree: (m) => m.type === 'ping' || m.type === 'pingAck',
  // ACKEPOCH promises acceptedEpoch; a repeat to another leader of the same epoch is not fresh.
  promisedFence: (m) => (m.type === 'ackEpoch' && m.fresh ? m.epoch : null),
  rejoinedHardState,
  fencedHardState,
  validate: (options: CoreOptions): void => validateOptions(options),
  create: (options: CoreOptions, persisted: PersistedState): ZabCore => new ZabCore(options, persisted),
  encodeMessage,
  decodeMessage,
};

export { ZabCore, FINALIZE_TICKS, INIT_LIMIT_ELECTIONS } from './core';
export { ZAB_CODEC_VERSION } from './codec';
export type { ZabHardState } from './config';
export type * from './messages';
export { ZAB_MESSAGE_TYPES } from './messages';
