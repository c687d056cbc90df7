/**
 * A compose file checked the way `docker-compose config` (1.29, file format 3.x) checks it, for
 * machines without docker-compose: YAML with merge keys, `${VAR:-default}` interpolation, known
 * top-level and service keys, an image or a build per service, port and volume syntax,
 * environment values, depends_on naming services, and networks and named volumes declared.
 * Both paths give the same shape: the resolved file as a plain object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parse } from 'yaml';

export type ComposeChecker = 'docker-compose config' | 'the built-in check';

export interface ComposeService {
  image?: string;
  build?: unknown;
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  depends_on: string[];
  networks: string[];
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: string[];
  networks: string[];
}

/** A compose file that docker-compose would refuse; the message names the key. */
export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  readonly code = 'invalid_compose_file';
}

const TOP_LEVEL_KEYS = new Set(['version', 'services', 'volumes', 'networks', 'secrets', 'configs']);
const SERVICE_KEYS = new Set([
  'build', 'cap_add', 'cap_drop', 'cgroup_parent', 'command', 'configs', 'container_name', 'credential_spec', 'depends_on',
  'deploy', 'devices', 'dns', 'dns_search', 'domainname', 'entrypoint', 'env_file', 'environment', 'expose', 'external_links',
  'extra_hosts', 'healthcheck', 'hostname', 'image', 'init', 'ipc', 'isolation', 'labels', 'links', 'logging', 'mac_address',
  'network_mode', 'networks', 'pid', 'ports', 'privileged', 'read_only', 'restart', 'security_opt', 'shm_size', 'secrets',
  'sysctls', 'stdin_open', 'stop_grace_period', 'stop_signal', 'storage_opt', 'tmpfs', 'tty', 'ulimits', 'user',
  'userns_mode', 'volumes', 'working_dir',
]);
const PORT_KEYS = new Set(['mode', 'target', 'published', 'protocol']);
/** docker-compose 1.29's port grammar: [[ip:][host[-end]]:]container[-end][/proto]. */
const PORT = /^(?:(?:\[?([0-9a-fA-F.:]+)\]?:)?(\d*)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(?:tcp|udp|sctp))?$/;
const SERVICE_NAME = /^[a-zA-Z0-9._-]+$/;
const VOLUME_MODES = new Set(['rw', 'ro', 'z', 'Z', 'nocopy', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'cached', 'delegated', 'consistent']);
const PORT_MAX = 65_535;

type Env = Record<string, string | undefined>;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string): never {
  throw new ComposeError(message);
}

/** ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR and $$, as docker-compose resolves them. */
export function interpolate(text: string, env: Env, where: string): string {
  return text.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|)/g, (match, braced: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    if (bare !== undefined) return env[bare] ?? '';
    if (braced === undefined) fail(`${where}: invalid interpolation format in '${text}' (write $$ for a literal $)`);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced);
    if (!m) fail(`${where}: invalid interpolation format in '${text}'`);
    const [, name, colon, op, arg] = m;
    const value = env[name!];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === undefined) return value ?? '';
    if (!missing) return value!;
    if (op === '-') return arg ?? '';
    return fail(`${where}: required variable ${name} is missing a value: ${arg ?? ''}`);
  });
}

function interpolateAll(v: unknown, env: Env, where: string): unknown {
  if (typeof v === 'string') return interpolate(v, env, where);
  if (Array.isArray(v)) return v.map((x, i) => interpolateAll(x, env, `${where}[${i}]`));
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x, env, `${where}.${k}`)]));
  return v;
}

function checkKeys(obj: Record<string, unknown>, known: Set<string>, where: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key) && !key.startsWith('x-')) fail(`${where} has an unsupported key '${key}'`);
  }
}

function names(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) {
    return v.map((x, i) => (typeof x === 'string' ? x : fail(`${where}[${i}] must be a string`)));
  }
  if (isMapping(v)) return Object.keys(v);
  return fail(`${where} must be a list or a mapping`);
}

function environment(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) {
      if (typeof item !== 'string') fail(`${where}[${i}] must be a string KEY=value`);
      const eq = item.indexOf('=');
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
    }
    return out;
  }
  if (!isMapping(v)) return fail(`${where} must be a mapping or a list of KEY=value`);
  for (const [key, value] of Object.entries(v)) {
    // docker-compose refuses booleans here: YAML's true would not survive as the text "true".
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      fail(`${where}.${key} contains ${JSON.stringify(value)}, which is an invalid type, it should be a string, number, or a null`);
    }
    out[key] = value === null ? '' : String(value);
  }
  return out;
}

function port(v: unknown, where: string): string {
  if (isMapping(v)) {
    checkKeys(v, PORT_KEYS, where);
    if (!Number.isInteger(v.target)) fail(`${where}.target must be a port number`);
    return `${v.published === undefined ? '' : `${String(v.published)}:`}${String(v.target)}`;
  }
  if (typeof v !== 'string' && typeof v !== 'number') return fail(`${where} must be a port string or mapping`);
  const text = String(v);
  const m = PORT.exec(text);
  if (!m) fail(`${where}: invalid port '${text}', should be [[remote_ip:]remote_port[-remote_port]:]port[/protocol]`);
  for (const p of m.slice(2)) {
    if (p !== undefined && p !== '' && Number(p) > PORT_MAX) fail(`${where}: port ${p} in '${text}' is above ${PORT_MAX}`);
  }
  return text.replace(/\/tcp$/, '');
}

function volume(v: unknown, declared: Set<string>, where: string): string {
  if (isMapping(v)) {
    if (typeof v.target !== 'string') fail(`${where}.target must be a path`);
    if (v.type === 'volume' && typeof v.source === 'string' && !declared.has(v.source)) fail(`${where}: named volume '${v.source}' is not declared under volumes`);
    return `${typeof v.source === 'string' ? `${v.source}:` : ''}${v.target}`;
  }
  if (typeof v !== 'string') return fail(`${where} must be a string or mapping`);
  const parts = v.split(':');
  if (parts.length > 3) fail(`${where}: invalid volume '${v}'`);
  if (parts.length === 1) return v;
  const [source, target, mode] = parts as [string, string, string | undefined];
  if (!target.startsWith('/')) fail(`${where}: volume '${v}' needs an absolute container path`);
  if (mode !== undefined && !mode.split(',').every((m) => VOLUME_MODES.has(m))) fail(`${where}: volume '${v}' has an unknown mode '${mode}'`);
  const isPath = /^[./~]/.test(source);
  if (!isPath && !declared.has(source)) fail(`${where}: named volume '${source}' is not declared under volumes`);
  return mode === undefined || mode === 'rw' ? `${source}:${target}` : v;
}

/** Validates a parsed, interpolated compose document and returns its resolved shape. */
export function checkCompose(doc: unknown): ComposeFile {
  if (!isMapping(doc)) fail('the file is not a mapping');
  checkKeys(doc, TOP_LEVEL_KEYS, 'the top level');
  if (doc.version !== undefined && (typeof doc.version !== 'string' || !/^\d+(\.\d+)?$/.test(doc.version))) {
    fail(`version must be a quoted string like "3.8", got ${JSON.stringify(doc.version)}`);
  }
  if (!isMapping(doc.services) || Object.keys(doc.services).length === 0) fail('services must be a mapping with at least one service');
  const volumes = new Set(names(doc.volumes, 'volumes'));
  const networks = new Set(names(doc.networks, 'networks'));
  const serviceNames = Object.keys(doc.services);
  const services: Record<string, ComposeService> = {};
  for (const [name, raw] of Object.entries(doc.services)) {
    const where = `services.${name}`;
    if (!SERVICE_NAME.test(name)) fail(`${where}: service names are letters, digits, '.', '_' and '-'`);
    if (!isMapping(raw)) fail(`${where} must be a mapping`);
    checkKeys(raw, SERVICE_KEYS, where);
    if (raw.image === undefined && raw.build === undefined) fail(`${where} has neither an image nor a build context specified; at least one must be provided`);
    if (raw.image !== undefined && typeof raw.image !== 'string') fail(`${where}.image must be a string`);
    const dependsOn = names(raw.depends_on, `${where}.depends_on`);
    for (const d of dependsOn) if (!serviceNames.includes(d)) fail(`${where}.depends_on names '${d}', which is not a service`);
    const serviceNetworks = names(raw.networks, `${where}.networks`);
    for (const n of serviceNetworks) if (n !== 'default' && !networks.has(n)) fail(`${where} uses network '${n}', which is not declared under networks`);
    const ports = raw.ports ?? [];
    if (!Array.isArray(ports)) fail(`${where}.ports must be a list`);
    const vols = raw.volumes ?? [];
    if (!Array.isArray(vols)) fail(`${where}.volumes must be a list`);
    services[name] = {
      ...raw,
      environment: environment(raw.environment, `${where}.environment`),
      ports: ports.map((p, i) => port(p, `${where}.ports[${i}]`)),
      volumes: vols.map((v, i) => volume(v, volumes, `${where}.volumes[${i}]`)),
      depends_on: dependsOn,
      networks: serviceNetworks,
    };
  }
  return { services, volumes: [...volumes], networks: [...networks] };
}

/** Parses compose YAML (merge keys on), interpolates it with `env` and checks it. */
export function checkComposeText(text: string, env: Env = process.env): ComposeFile {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, prettyErrors: false });
  } catch (e: unknown) {
    return fail(`not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  return checkCompose(interpolateAll(doc, env, 'file'));
}

let dockerComposeInstalled: boolean | undefined;

export function hasDockerCompose(): boolean {
  dockerComposeInstalled ??= spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
  return dockerComposeInstalled;
}

/** `docker-compose config` of a file, read back into the same shape (it checks, interpolates and merges). */
export function dockerComposeConfig(file: string, env: Env = process.env): ComposeFile {
  let out: string;
  try {
    out = execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e: unknown) {
    const stderr = isMapping(e) && e.stderr !== undefined ? String(e.stderr) : String(e);
    throw new ComposeError(`docker-compose config refused ${file}: ${stderr.trim()}`);
  }
  return checkComposeText(out, {});
}

/**
 * Which checker to use: QL_COMPOSE_CHECK=docker-compose insists on the real one (test:all
 * installs it), QL_COMPOSE_CHECK=built-in on the built-in one; otherwise the real one when
 * installed, else the built-in check.
 */
export function composeChecker(env: Env = process.env): ComposeChecker {
  if (env.QL_COMPOSE_CHECK === 'built-in') return 'the built-in check';
  if (hasDockerCompose()) return 'docker-compose config';
  if (env.QL_COMPOSE_CHECK === 'docker-compose') throw new Error('QL_COMPOSE_CHECK=docker-compose but docker-compose is not installed: apt-get install docker-compose');
  return 'the built-in check';
}

export function loadCompose(file: string, checker: ComposeChecker, env: Env = process.env): ComposeFile {
  return checker === 'docker-compose config' ? dockerComposeConfig(file, env) : checkComposeText(fs.readFileSync(file, 'utf8'), env);
}
