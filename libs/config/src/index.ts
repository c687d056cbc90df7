export { ConfigError } from './types';
export type { ConfigErrorCode, LimitsConfig, LogLevel, MemberConfig, NodeConfig, Role, TlsConfig } from './types';
export { CONFIG_DEFAULTS, KEYS } from './keys';
export type { KeyDef } from './keys';
export { loadConfig } from './load';
export { describeConfig } from './describe';
export { parseMembers } from './sources';
export { parseHostPort } from './address';

/**
 * The process's own arguments and environment. The config library is the one place that
 * reads process.env: the node's entry point and the local-cluster launcher (which passes the
 * environment on to the nodes it starts) ask here.
 */
export function processInput(): { argv: string[]; env: Record<string, string | undefined> } {
  return { argv: process.argv.slice(2), env: process.env };
}

export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
