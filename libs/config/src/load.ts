/**
 * Merges defaults < JSON file < environment < flags, validates each key with its zod schema,
 * then checks the rules that span keys. Every failure is one ConfigError sentence naming the
 * key and where its value came from.
 */
import * as fs from 'node:fs';
import { isWildcardHost, parseHostPort } from './address';
import { PROTOCOL_NAMES, PROTOCOLS, isProtocolName, witnessShortfall, type ProtocolName, type ProtocolOptionValue } from '@quorumlite/consensus';
import { CONFIG_FLAG, CONFIG_ENV, defaultElectionTimeoutTicks, KEYS, PROTOCOL_OPTION_OWNERS, type KeyDef } from './keys';
import { readEnv, readFile, readFlags, type Layer, type Sourced } from './sources';
import { loadTls } from './tls';
import { ConfigError, type MemberConfig, type NodeConfig } from './types';

const MEMBER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The caller passes process.env; nothing else in the code base reads the environment. */
export function loadConfig(input: { argv: string[]; env: Record<string, string | undefined> }): NodeConfig {
  const flags = readFlags(input.argv);
  const env = readEnv(input.env);
  const configPath = flags.configPath ?? env.configPath;
  const file: Layer = configPath ? readFile(configPath) : new Map();
  const merged = mergeLayers([file, env.layer, flags.layer]);
  const values = new Map<string, unknown>();
  for (const def of KEYS) {
    const sourced = merged.get(def.key);
    if (sourced) values.set(def.key, validateKey(def, sourced));
  }
  const config = assemble(values);
  const sourceOf: SourceOf = (key) => merged.get(key)?.source ?? 'default';
  checkConfig(config, sourceOf);
  const path = (key: string): string | undefined => values.get(key) as string | undefined;
  config.tls = loadTls({ tlsCert: path('tlsCert'), tlsKey: path('tlsKey'), tlsCa: path('tlsCa') }, config.nodeId, sourceOf);
  config.authTokensFile = path('authTokens') ?? null;
  config.protocolOptions = protocolOptionsOf(config.protocol, values, sourceOf);
  return config;
}

/** Later layers win; a key no layer sets falls back to its default (or stays unset if required). */
function mergeLayers(layers: readonly Layer[]): Map<string, Sourced> {
  const merged = new Map<string, Sourced>();
  for (const def of KEYS) {
    if (def.defaultValue !== undefined) merged.set(def.key, { value: def.defaultValue, source: 'default' });
  }
  for (const layer of layers) {
    for (const [key, sourced] of layer) merged.set(key, sourced);
  }
  return merged;
}

function validateKey(def: KeyDef, sourced: Sourced): unknown {
  const result = def.schema.safeParse(sourced.value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
  const why = issue?.message ?? 'is invalid';
  throw fail(def.key, sourced.source, `${why}${where}, got ${show(sourced.value)}`);
}

function assemble(values: Map<string, unknown>): NodeConfig {
  const required = (key: string): unknown => {
    const v = values.get(key);
    if (v !== undefined) return v;
    const def = KEYS.find((k) => k.key === key);
    const how = def ? `set flag ${def.flag}, env ${def.env} or '${key}' in the ${CONFIG_FLAG} file (${CONFIG_ENV})` : '';
    throw new ConfigError('missing', key, `config key '${key}' (not set): required; ${how}`);
  };
  const limit = (name: string): number => required(`limits.${name}`) as number;
  const listen = required('listen') as string;
  return {
    nodeId: required('nodeId') as string,
    listen,
    advertise: (values.get('advertise') as string | undefined) ?? listen,
    metricsListen: (values.get('metricsListen') as string | undefined) ?? null,
    dashboardListen: (values.get('dashboardListen') as string | undefined) ?? null,
    tls: null,
    authTokensFile: null,
    cluster: required('cluster') as string,
    protocol: required('protocol') as ProtocolName,
    dataDir: required('dataDir') as string,
    members: required('members') as MemberConfig[],
    tickMs: required('tickMs') as number,
    electionTimeoutTicks:
      (values.get('electionTimeoutTicks') as number | undefined) ??
      defaultElectionTimeoutTicks(required('tickMs') as number, limit('requestBytesMax'), required('heartbeatTicks') as number),
    heartbeatTicks: required('heartbeatTicks') as number,
    protocolOptions: {},
    faultInjection: required('faultInjection') as boolean,
    logPreallocate: required('logPreallocate') as boolean,
    rejoin: required('rejoin') as boolean,
    fromBackup: (values.get('fromBackup') as string | undefined) ?? null,
    snapshotEveryEntries: required('snapshotEveryEntries') as number,
    snapshotRetainEntries: required('snapshotRetainEntries') as number,
    snapshotLogBytesMax: required('snapshotLogBytesMax') as number,
    requestTimeoutMs: required('requestTimeoutMs') as number,
    logLevel: required('logLevel') as NodeConfig['logLevel'],
    limits: {
      statementBytesMax: limit('statementBytesMax'),
      statementsPerRequestMax: limit('statementsPerRequestMax'),
      paramsPerStatementMax: limit('paramsPerStatementMax'),
      requestBytesMax: limit('requestBytesMax'),
      resultRowsMax: limit('resultRowsMax'),
      resultBytesMax: limit('resultBytesMax'),
      grpcMessageBytesMax: limit('grpcMessageBytesMax'),
      entriesPerMessageMax: limit('entriesPerMessageMax'),
      bytesPerMessageMax: limit('bytesPerMessageMax'),
      inflightMessagesMax: limit('inflightMessagesMax'),
      uncommittedEntriesMax: limit('uncommittedEntriesMax'),
      proposalBatchMax: limit('proposalBatchMax'),
    },
  };
}

type SourceOf = (key: string) => string;

/** Rules that span keys, in the order an operator would fix them. */
function checkConfig(c: NodeConfig, sourceOf: SourceOf): void {
  checkProtocol(c.protocol, sourceOf('protocol'));
  checkAddresses(c, sourceOf);
  checkMembers(c.members, c.protocol, sourceOf('members'));
  checkSelf(c, sourceOf);
  if (c.rejoin && c.members.find((m) => m.id === c.nodeId)?.role === 'witness') {
    throw fail('rejoin', sourceOf('rejoin'), `a witness cannot rejoin yet (member '${c.nodeId}' is a witness)`);
  }
  checkFromBackup(c, sourceOf);
  if (c.electionTimeoutTicks <= c.heartbeatTicks) {
    const key = sourceOf('electionTimeoutTicks') === 'default' ? 'heartbeatTicks' : 'electionTimeoutTicks';
    const msg =
      key === 'electionTimeoutTicks'
        ? `must be greater than heartbeatTicks (${c.heartbeatTicks}), got ${c.electionTimeoutTicks}`
        : `must be less than electionTimeoutTicks (${c.electionTimeoutTicks}), got ${c.heartbeatTicks}`;
    throw fail(key, sourceOf(key), msg);
  }
  checkLimits(c.limits, sourceOf);
}

/** A backup is a database: a witness keeps none, a rejoin learns its own from the leader. */
function checkFromBackup(c: NodeConfig, sourceOf: SourceOf): void {
  if (c.fromBackup === null) return;
  const source = sourceOf('fromBackup');
  if (c.members.find((m) => m.id === c.nodeId)?.role === 'witness') {
    throw fail('fromBackup', source, `member '${c.nodeId}' is a witness: it keeps no database to start from a backup (give the backup to the data nodes only)`);
  }
  if (c.rejoin) throw fail('fromBackup', source, 'cannot be combined with rejoin: a rejoining node takes its database from the leader');
  if (!fs.existsSync(c.fromBackup)) throw fail('fromBackup', source, `no such file: ${show(c.fromBackup)}`);
}

function checkProtocol(protocol: string, source: string): void {
  if (isProtocolName(protocol)) return;
  throw fail('protocol', source, `must be one of ${PROTOCOL_NAMES.map((p) => `'${p}'`).join(', ')}, got ${show(protocol)}`);
}

/**
 * The chosen protocol's options, from their top-level keys; a key another protocol declares
 * may not be set (it would have no effect).
 */
function protocolOptionsOf(protocol: ProtocolName, values: ReadonlyMap<string, unknown>, sourceOf: (key: string) => string): Record<string, ProtocolOptionValue> {
  const options: Record<string, ProtocolOptionValue> = {};
  for (const spec of PROTOCOLS[protocol].options) options[spec.key] = (values.get(spec.key) as ProtocolOptionValue | undefined) ?? spec.defaultValue;
  for (const [key, owner] of PROTOCOL_OPTION_OWNERS) {
    if (owner !== protocol && sourceOf(key) !== 'default') throw fail(key, sourceOf(key), `is a setting of protocol '${owner}', not of '${protocol}'`);
  }
  return options;
}

function checkAddresses(c: NodeConfig, sourceOf: SourceOf): void {
  const listen = parseHostPort(c.listen);
  if (typeof listen === 'string') throw fail('listen', sourceOf('listen'), `must be host:port with port 1..65535: ${listen}`);
  if (c.metricsListen !== null) {
    const metrics = parseHostPort(c.metricsListen);
    if (typeof metrics === 'string') throw fail('metricsListen', sourceOf('metricsListen'), `must be host:port with port 1..65535: ${metrics}`);
    if (c.metricsListen === c.listen) throw fail('metricsListen', sourceOf('metricsListen'), `must differ from listen (${c.listen}): the gRPC server binds it`);
  }
  if (c.dashboardListen !== null) {
    const dashboard = parseHostPort(c.dashboardListen);
    if (typeof dashboard === 'string') throw fail('dashboardListen', sourceOf('dashboardListen'), `must be host:port with port 1..65535: ${dashboard}`);
    if (c.dashboardListen === c.listen) throw fail('dashboardListen', sourceOf('dashboardListen'), `must differ from listen (${c.listen}): the gRPC server binds it`);
    if (c.dashboardListen === c.metricsListen) throw fail('dashboardListen', sourceOf('dashboardListen'), `must differ from metricsListen (${c.metricsListen}): the metrics server binds it`);
  }
  const advertiseSource = sourceOf('advertise');
  if (advertiseSource === 'default' && isWildcardHost(listen.host)) {
    throw fail('advertise', `not set, listen is ${c.listen}`, `must be given when listen binds all interfaces (${listen.host}), so peers get a reachable address`);
  }
  const advertise = parseHostPort(c.advertise);
  const source = advertiseSource === 'default' ? `defaulted from listen, ${sourceOf('listen')}` : advertiseSource;
  if (typeof advertise === 'string') throw fail('advertise', source, `must be host:port with port 1..65535: ${advertise}`);
  if (isWildcardHost(advertise.host)) throw fail('advertise', source, `must be an address peers can reach, got ${show(c.advertise)}`);
}

function checkMembers(members: readonly MemberConfig[], protocol: ProtocolName, source: string): void {
  const ids = new Set<string>();
  const addresses = new Map<string, string>();
  for (const m of members) {
    if (!MEMBER_ID.test(m.id)) throw fail('members', source, `member id ${show(m.id)} must be 1-64 letters, digits, '_', '.' or '-'`);
    if (ids.has(m.id)) throw fail('members', source, `member id '${m.id}' appears twice`);
    ids.add(m.id);
    const parsed = parseHostPort(m.address);
    if (typeof parsed === 'string') throw fail('members', source, `member '${m.id}' address must be host:port with port 1..65535: ${parsed}`);
    const normal = m.address.toLowerCase();
    const other = addresses.get(normal);
    if (other !== undefined) throw fail('members', source, `members '${other}' and '${m.id}' have the same address ${m.address}`);
    addresses.set(normal, m.id);
    if (!PROTOCOLS[protocol].roles.includes(m.role)) throw fail('members', source, `role '${m.role}' is not supported by protocol '${protocol}' yet (member '${m.id}')`);
  }
  if (!members.some((m) => m.role === 'voter')) throw fail('members', source, 'must include at least one voter');
  const shortfall = witnessShortfall(members);
  if (shortfall !== null) throw fail('members', source, shortfall);
}

function checkSelf(c: NodeConfig, sourceOf: SourceOf): void {
  const self = c.members.find((m) => m.id === c.nodeId);
  if (!self) {
    throw fail('nodeId', sourceOf('nodeId'), `must be one of the members (${c.members.map((m) => m.id).join(', ')}), got ${show(c.nodeId)}`);
  }
  if (self.address.toLowerCase() !== c.advertise.toLowerCase()) {
    const source = sourceOf('advertise') === 'default' ? `defaulted from listen, ${sourceOf('listen')}` : sourceOf('advertise');
    throw fail('advertise', source, `must equal member '${self.id}''s address in members (${self.address}), got ${show(c.advertise)}`);
  }
}

/** Each size must fit inside the one that carries it. */
function checkLimits(l: NodeConfig['limits'], sourceOf: SourceOf): void {
  const nested: [keyof NodeConfig['limits'], keyof NodeConfig['limits']][] = [
    ['statementBytesMax', 'requestBytesMax'],
    ['requestBytesMax', 'grpcMessageBytesMax'],
    ['resultBytesMax', 'grpcMessageBytesMax'],
    ['bytesPerMessageMax', 'grpcMessageBytesMax'],
  ];
  for (const [inner, outer] of nested) {
    if (l[inner] <= l[outer]) continue;
    const key = `limits.${inner}`;
    throw fail(key, sourceOf(key), `must be at most limits.${outer} (${l[outer]}), got ${l[inner]}`);
  }
}

function fail(key: string, source: string, why: string): ConfigError {
  return new ConfigError('invalid', key, `config key '${key}' (${source}): ${why}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
