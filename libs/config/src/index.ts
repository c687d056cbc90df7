export { ConfigError } from './types';
export type { ConfigErrorCode, LimitsConfig, LogLevel, MemberConfig, NodeConfig, Role } from './types';
export { CONFIG_DEFAULTS, KEYS } from './keys';
export type { KeyDef } from './keys';
export { loadConfig } from './load';
export { describeConfig } from './describe';
export { parseMembers } from './sources';
export { parseHostPort } from './address';
