/** The checks of CoreOptions every protocol makes before its own: one sentence per impossible value (etcd Config.validate). */
import { ConsensusError, MEMBER_ROLES, type CoreOptions, type MemberRole } from '../contract';
import { validateMembers } from './members';

function bad(sentence: string): ConsensusError {
  return new ConsensusError('bad_config', sentence);
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw bad(`${name} must be a positive integer, got ${String(value)}.`);
}

/** Members, timers, limits and entropy; `roles` are the member roles `protocol` takes. */
export function validateCoreOptions(protocol: string, o: CoreOptions, roles: readonly MemberRole[]): void {
  validateMembers(protocol, o.id, o.members, MEMBER_ROLES.filter((r) => !roles.includes(r)));
  requirePositiveInteger(o.heartbeatTicks, 'heartbeatTicks');
  requirePositiveInteger(o.electionTimeoutTicks, 'electionTimeoutTicks');
  if (o.electionTimeoutTicks <= o.heartbeatTicks) {
    throw bad(`electionTimeoutTicks (${o.electionTimeoutTicks}) must be greater than heartbeatTicks (${o.heartbeatTicks}).`);
  }
  requirePositiveInteger(o.entriesPerMessageMax, 'entriesPerMessageMax');
  requirePositiveInteger(o.bytesPerMessageMax, 'bytesPerMessageMax');
  requirePositiveInteger(o.inflightMessagesMax, 'inflightMessagesMax');
  requirePositiveInteger(o.uncommittedEntriesMax, 'uncommittedEntriesMax');
  if (typeof o.random !== 'function') throw bad('random must be a function returning numbers in [0, 1).');
  if (typeof o.protocolOptions !== 'object' || o.protocolOptions === null) throw bad(`protocolOptions must be a record of ${protocol} settings.`);
}

/** For a protocol that declares no settings of its own: any key in protocolOptions is refused. */
export function refuseProtocolOptions(protocol: string, o: CoreOptions): void {
  const unknown = Object.keys(o.protocolOptions);
  if (unknown.length > 0) throw bad(`${protocol} has no setting '${unknown[0]}' (it has none).`);
}
