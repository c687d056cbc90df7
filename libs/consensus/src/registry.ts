/**
 * The one list of protocols. Config checks a protocol name against it, the node builds its
 * core from it, and the simulator's conformance suite runs every entry. A new protocol is
 * one folder beside raft/ and one line here.
 */
import type { ProtocolModule } from './contract';
import { multipaxos } from './multipaxos';
import { raft } from './raft';
import { zab } from './zab';

export const PROTOCOLS = {
  raft,
  zab,
  multipaxos,
} as const satisfies Readonly<Record<string, ProtocolModule>>;

export type ProtocolName = keyof typeof PROTOCOLS;

export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as readonly ProtocolName[];

export function isProtocolName(name: string): name is ProtocolName {
  return Object.prototype.hasOwnProperty.call(PROTOCOLS, name);
}

/** The module registered under `name`; undefined for a name the registry does not hold. */
export function findProtocol(name: string): ProtocolModule | undefined {
  return isProtocolName(name) ? (PROTOCOLS[name] as ProtocolModule) : undefined;
}
