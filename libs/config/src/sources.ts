/**
 * Reads the four layers (defaults, JSON file, environment, flags) into plain key -> value
 * maps that remember where each value came from, so a bad value is reported with its source.
 */
import * as fs from 'node:fs';
import { CONFIG_ENV, CONFIG_FLAG, KEY_BY_ENV, KEY_BY_FLAG, KEY_BY_NAME, KEYS, ROLES, type KeyDef } from './keys';
import { ConfigError, type MemberConfig, type Role } from './types';

export interface Sourced {
  readonly value: unknown;
  /** 'flag --tick-ms', 'env QUORUMLITE_TICK_MS', 'file /etc/q.json', 'default'. */
  readonly source: string;
}

export type Layer = Map<string, Sourced>;

const MEMBERS_FORMAT = 'id=host:port[:role]';

/** Parses `id=host:port[:role],...`; role defaults to voter ('arbiter' is an alias of witness). */
export function parseMembers(text: string, source: string): MemberConfig[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return items.map((item) => parseMember(item, source));
}

function parseMember(item: string, source: string): MemberConfig {
  const eq = item.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError('invalid', 'members', `config key 'members' (${source}): member '${item}' is not in the form ${MEMBERS_FORMAT}`);
  }
  const id = item.slice(0, eq).trim();
  const rest = item.slice(eq + 1).trim();
  const withRole = /^(.*):([a-z]+)$/.exec(rest);
  if (withRole) return { id, address: withRole[1] ?? '', role: parseRole(withRole[2] ?? '', id, source) };
  return { id, address: rest, role: 'voter' };
}

function parseRole(name: string, id: string, source: string): Role {
  if (name === 'arbiter') return 'witness';
  if ((ROLES as readonly string[]).includes(name)) return name as Role;
  throw new ConfigError('invalid', 'members', `config key 'members' (${source}): member '${id}' has role '${name}'; valid roles are ${ROLES.join(', ')}`);
}

/** A flag or environment string becomes the key's type; unparseable text is kept so the schema reports it. */
function coerce(def: KeyDef, raw: string, source: string): unknown {
  switch (def.kind) {
    case 'string':
      return raw;
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      return raw;
    case 'members':
      return parseMembers(raw, source);
  }
}

export interface FlagLayer {
  readonly layer: Layer;
  readonly configPath: Sourced | null;
}

/** argv is the arguments after the script (process.argv.slice(2) or a subcommand's rest). */
export function readFlags(argv: readonly string[]): FlagLayer {
  const layer: Layer = new Map();
  let configPath: Sourced | null = null;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (!token.startsWith('--')) {
      throw new ConfigError('unknown_key', token, `config argument '${token}' (command line): unexpected argument; every setting is a --flag (see --help)`);
    }
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const negated = name.startsWith('--no-') ? KEY_BY_FLAG.get(`--${name.slice(5)}`) : undefined;
    if (negated && negated.kind === 'bool' && inline === undefined) {
      layer.set(negated.key, { value: false, source: `flag ${name}` });
      continue;
    }
    const def = KEY_BY_FLAG.get(name);
    if (name !== CONFIG_FLAG && !def) {
      throw new ConfigError('unknown_key', name, `config flag '${name}' (command line): unknown flag; see --help for the valid flags`);
    }
    if (def?.kind === 'bool' && inline === undefined) {
      layer.set(def.key, { value: true, source: `flag ${name}` });
      continue;
    }
    const raw = inline ?? argv[i + 1];
    if (raw === undefined || (inline === undefined && raw.startsWith('--'))) {
      throw new ConfigError('missing', def?.key ?? 'config', `config flag '${name}' (command line): needs a value`);
    }
    if (inline === undefined) i++;
    const source = `flag ${name}`;
    if (!def) configPath = { value: raw, source };
    else layer.set(def.key, { value: coerce(def, raw, source), source });
  }
  return { layer, configPath };
}

/** Every QUORUMLITE_* variable must be known (a typo would otherwise be silently ignored); empty means unset. */
export function readEnv(env: Record<string, string | undefined>): FlagLayer {
  const layer: Layer = new Map();
  let configPath: Sourced | null = null;
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('QUORUMLITE_') || raw === undefined || raw === '') continue;
    const source = `env ${name}`;
    if (name === CONFIG_ENV) {
      configPath = { value: raw, source };
      continue;
    }
    const def = KEY_BY_ENV.get(name);
    if (!def) {
      throw new ConfigError('unknown_key', name, `config variable '${name}' (environment): unknown variable; see --help for the valid QUORUMLITE_* names`);
    }
    layer.set(def.key, { value: coerce(def, raw, source), source });
  }
  return { layer, configPath };
}

/** A JSON object with the NodeConfig shape (limits nested); members as a list or the flag's string form. */
export function readFile(configPath: Sourced): Layer {
  const file = String(configPath.value);
  const text = readText(file, configPath.source);
  const parsed = parseJson(text, file, configPath.source);
  const source = `file ${file}`;
  const layer: Layer = new Map();
  for (const [name, value] of Object.entries(parsed)) {
    if (name === 'limits') {
      for (const [limitName, limitValue] of Object.entries(asObject(value, 'limits', source))) {
        setFileKey(layer, `limits.${limitName}`, limitValue, source);
      }
      continue;
    }
    setFileKey(layer, name, value, source);
  }
  return layer;
}

function setFileKey(layer: Layer, key: string, value: unknown, source: string): void {
  const def = KEY_BY_NAME.get(key);
  if (!def) {
    const valid = KEYS.map((k) => k.key).join(', ');
    throw new ConfigError('unknown_key', key, `config key '${key}' (${source}): unknown key; valid keys are ${valid}`);
  }
  const v = def.kind === 'members' && typeof value === 'string' ? parseMembers(value, source) : value;
  layer.set(def.key, { value: v, source });
}

function readText(file: string, source: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError('unreadable', 'config', `config key 'config' (${source}): cannot read ${file}: ${why}`, { cause: e });
  }
}

function parseJson(text: string, file: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError('unreadable', 'config', `config key 'config' (${source}): ${file} is not valid JSON: ${why}`, { cause: e });
  }
  return asObject(value, 'config', source);
}

function asObject(value: unknown, key: string, source: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('invalid', key, `config key '${key}' (${source}): must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
