/**
 * The table of every config key: its flag, environment variable, default, schema and help
 * line. Sources, validation and --help are all derived from this one table so they never drift.
 */
import { z } from 'zod';
import { MEMBER_ROLES, PROTOCOL_NAMES, PROTOCOLS, type ProtocolName, type ProtocolOptionSpec } from '@quorumlite/consensus';
import type { NodeConfig } from './types';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** Every default; keys without one (nodeId, listen, dataDir, members) are required, advertise defaults to listen. */
export const CONFIG_DEFAULTS = {
  cluster: 'quorumlite',
  protocol: 'raft',
  tickMs: 25,
  heartbeatTicks: 2,
  faultInjection: false,
  logPreallocate: true,
  rejoin: false,
  snapshotEveryEntries: 10_000,
  snapshotRetainEntries: 1_000,
  snapshotLogBytesMax: 64 * MIB,
  requestTimeoutMs: 10_000,
  logLevel: 'info',
  limits: {
    statementBytesMax: 1 * MIB,
    statementsPerRequestMax: 10_000,
    paramsPerStatementMax: 999,
    requestBytesMax: 2 * MIB,
    resultRowsMax: 100_000,
    resultBytesMax: 32 * MIB,
    grpcMessageBytesMax: 64 * MIB,
    entriesPerMessageMax: 512,
    bytesPerMessageMax: 4 * MIB,
    inflightMessagesMax: 64,
    uncommittedEntriesMax: 100_000,
    proposalBatchMax: 1_024,
  },
} as const satisfies Omit<NodeConfig, 'nodeId' | 'listen' | 'advertise' | 'metricsListen' | 'dashboardListen' | 'tls' | 'authTokensFile' | 'dataDir' | 'members' | 'protocolOptions' | 'electionTimeoutTicks' | 'fromBackup'>;

/** The election timeout when none is set: this long while requests are limited to… */
export const ELECTION_TIMEOUT_MS_BASE = 300;
/** …this many MiB (the default limit, about 100 ms of a busy loop at most)… */
export const ELECTION_TIMEOUT_REQUEST_MIB_FREE = 2;
/**
 * …and this much longer for every further MiB of requestBytesMax. One request that large
 * holds a node's event loop while it is decoded, copied, logged, sent and applied to SQLite —
 * on a two-core machine about 40 ms per MiB on the leader, and as much again on a follower
 * writing it to its database — and a loop that is held sends no heartbeat and answers none.
 * A timeout shorter than that hold lets followers depose a leader that is merely busy (or a
 * leader give up on followers that are), again at every such request: measured with 16 MiB
 * requests, 300–600 ms saw 3 to 9 leaders in 30 s where 1–2 s saw one. Failover after a
 * crash does not wait for the timeout (peers see the connection break); a leader cut off
 * silently is replaced one timeout later.
 */
export const ELECTION_TIMEOUT_MS_PER_REQUEST_MIB = 45;

/** The default electionTimeoutTicks for a tick length and a request size limit. */
export function defaultElectionTimeoutTicks(tickMs: number, requestBytesMax: number, heartbeatTicks: number): number {
  const ms = ELECTION_TIMEOUT_MS_BASE + ELECTION_TIMEOUT_MS_PER_REQUEST_MIB * Math.max(0, requestBytesMax / MIB - ELECTION_TIMEOUT_REQUEST_MIB_FREE);
  return Math.max(Math.ceil(ms / tickMs), heartbeatTicks + 1);
}

const D = CONFIG_DEFAULTS;
const L = CONFIG_DEFAULTS.limits;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const ROLES = MEMBER_ROLES;

/** How a string from a flag or the environment becomes a value before schema checks. */
export type ValueKind = 'string' | 'int' | 'bool' | 'members';

export interface KeyDef {
  /** Path in NodeConfig: 'tickMs' or 'limits.statementBytesMax'. */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly kind: ValueKind;
  /** undefined: required (or derived, see `derivedDefault`). */
  readonly defaultValue: unknown;
  readonly derivedDefault?: string;
  readonly schema: z.ZodType;
  readonly help: string;
  /** The key's former name, with its flag and variable: still read, so existing setups keep working. */
  readonly formerly?: { readonly key: string; readonly flag: string; readonly env: string };
}

const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });

function int(min: number, max: number): z.ZodType {
  const range = `an integer from ${min} to ${max}`;
  return z
    .number({ error: `must be ${range}` })
    .int({ error: `must be ${range}` })
    .min(min, { error: `must be ${range}` })
    .max(max, { error: `must be ${range}` });
}

const oneOf = (values: readonly [string, ...string[]]) =>
  z.enum(values, { error: `must be one of ${values.map((v) => `'${v}'`).join(', ')}` });

const memberSchema = z.strictObject(
  {
    id: text('a non-empty member id'),
    address: text('a host:port address'),
    role: oneOf(ROLES),
  },
  { error: 'each member must be an object { id, address, role }' },
);

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

interface Spec {
  kind: ValueKind;
  defaultValue: unknown;
  schema: z.ZodType;
  help: string;
  derivedDefault?: string;
}

function top(name: string, spec: Spec): KeyDef {
  return { key: name, flag: `--${kebab(name)}`, env: `QUORUMLITE_${snake(name)}`, ...spec };
}

function limit(name: string, defaultValue: number, max: number, help: string, min = 1, formerly?: string): KeyDef {
  const names = (n: string) => ({ key: `limits.${n}`, flag: `--limit-${kebab(n)}`, env: `QUORUMLITE_LIMIT_${snake(n)}` });
  return {
    ...names(name),
    kind: 'int',
    defaultValue,
    schema: int(min, max),
    help,
    ...(formerly !== undefined ? { formerly: names(formerly) } : {}),
  };
}

export const KEYS: readonly KeyDef[] = [
  top('nodeId', { kind: 'string', defaultValue: undefined, schema: text('a non-empty member id'), help: "this node's id; must be one of members" }),
  top('listen', { kind: 'string', defaultValue: undefined, schema: text('a host:port address'), help: 'host:port the gRPC server binds' }),
  top('advertise', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'same as listen',
    schema: text('a host:port address'),
    help: "this node's address as written in members (required when listen binds 0.0.0.0)",
  }),
  top('metricsListen', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'off',
    schema: text('a host:port address'),
    help: 'host:port of an HTTP server for Prometheus metrics (GET /metrics); off when not set',
  }),
  top('dashboardListen', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'off',
    schema: text('a host:port address'),
    help: 'host:port of an HTTP server for the live dashboard (open http://host:port/ in a browser); off when not set',
  }),
  top('tlsCert', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'off',
    schema: text('a file path'),
    help: "PEM certificate of this node (subject CN = its member id, OU = node); with tlsKey and tlsCa, every client and peer connection is TLS with a certificate signed by tlsCa",
  }),
  top('tlsKey', { kind: 'string', defaultValue: undefined, derivedDefault: 'off', schema: text('a file path'), help: "PEM private key of tlsCert" }),
  top('tlsCa', { kind: 'string', defaultValue: undefined, derivedDefault: 'off', schema: text('a file path'), help: 'PEM certificate of the authority that signs members\' and clients\' certificates' }),
  top('authTokens', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'off',
    schema: text('a file path'),
    help: "JSON file of bearer tokens (made by 'quorumlite tokens create'): each names a role (read, write, admin); with it set, a client calling without a valid token or client certificate is refused (Status stays open)",
  }),
  top('cluster', { kind: 'string', defaultValue: D.cluster, schema: text('a non-empty cluster name'), help: 'cluster name; peers of another cluster are refused' }),
  top('protocol', { kind: 'string', defaultValue: D.protocol, schema: z.string({ error: 'must be a string' }), help: `consensus protocol (${PROTOCOL_NAMES.join(', ')})` }),
  top('dataDir', { kind: 'string', defaultValue: undefined, schema: text('a directory path'), help: 'directory for the log, hard state, database and snapshots' }),
  top('members', {
    kind: 'members',
    defaultValue: undefined,
    schema: z.array(memberSchema, { error: 'must be a list of members' }).min(1, { error: 'must list at least one member' }),
    help: 'cluster members: id=host:port[:role],... (role voter|witness|observer, default voter)',
  }),
  top('tickMs', { kind: 'int', defaultValue: D.tickMs, schema: int(1, 60_000), help: 'length of one consensus tick in milliseconds' }),
  top('electionTimeoutTicks', {
    kind: 'int',
    defaultValue: undefined,
    derivedDefault: `${ELECTION_TIMEOUT_MS_BASE} ms plus ${ELECTION_TIMEOUT_MS_PER_REQUEST_MIB} ms per MiB of limits.requestBytesMax beyond ${ELECTION_TIMEOUT_REQUEST_MIB_FREE} MiB, in ticks (${defaultElectionTimeoutTicks(D.tickMs, L.requestBytesMax, D.heartbeatTicks)} with the other defaults)`,
    schema: int(2, 100_000),
    help: 'ticks without a leader before campaigning (randomized in [t, 2t)); large requests hold a node busy for longer, so the default grows with the request size limit',
  }),
  top('heartbeatTicks', { kind: 'int', defaultValue: D.heartbeatTicks, schema: int(1, 10_000), help: 'ticks between leader heartbeats' }),
  ...protocolOptionKeys(),
  top('faultInjection', { kind: 'bool', defaultValue: D.faultInjection, schema: z.boolean({ error: 'must be true or false' }), help: 'testing only: SIGUSR2 makes the node lose its unsynced log writes and die, as in a power cut' }),
  top('logPreallocate', {
    kind: 'bool',
    defaultValue: D.logPreallocate,
    schema: z.boolean({ error: 'must be true or false' }),
    help: "write the log's next segment ahead as zeros, so an append's fdatasync commits no file-system journal (up to two segments of zeros on disk); --no-log-preallocate on copy-on-write file systems (btrfs, ZFS), where it buys nothing",
  }),
  top('rejoin', {
    kind: 'bool',
    defaultValue: D.rejoin,
    schema: z.boolean({ error: 'must be true or false' }),
    help: 'bring back a voter whose data directory was lost: start on an empty directory, follow as an observer (no votes, no acknowledgements counted) until caught up with the newest leader, then vote again',
  }),
  top('fromBackup', {
    kind: 'string',
    defaultValue: undefined,
    derivedDefault: 'off',
    schema: text('a file path'),
    help: "a backup file (quorumlite backup) this data node's database starts from, only when its data directory is fresh (ignored with a warning once it holds data); give every data node of the new cluster the same file",
  }),
  top('snapshotEveryEntries', { kind: 'int', defaultValue: D.snapshotEveryEntries, schema: int(1, 1_000_000_000), help: 'applied records after which a snapshot syncs the database and cuts the log, unless a sixteenth of snapshotLogBytesMax in log bytes comes first' }),
  top('snapshotLogBytesMax', {
    kind: 'int',
    defaultValue: D.snapshotLogBytesMax,
    schema: int(1, 64 * GIB),
    help: 'bounds the log kept in memory: a snapshot is taken once a sixteenth of this in log bytes was applied since the last one (or snapshotEveryEntries records), and the records kept behind its cut are as many as about a sixteenth of it holds (at least 8); a peer being sent a snapshot file holds snapshots back until the log reaches all of it',
  }),
  top('snapshotRetainEntries', { kind: 'int', defaultValue: D.snapshotRetainEntries, schema: int(0, 1_000_000_000), help: 'records kept in the log behind a snapshot for slow followers (fewer when they are large: as many as a sixteenth of snapshotLogBytesMax holds at the recent mean record size, at least 8)' }),
  top('requestTimeoutMs', { kind: 'int', defaultValue: D.requestTimeoutMs, schema: int(1, 3_600_000), help: 'deadline for a client request inside the node' }),
  top('logLevel', { kind: 'string', defaultValue: D.logLevel, schema: oneOf(LOG_LEVELS), help: `log level (${LOG_LEVELS.join(', ')})` }),
  limit('statementBytesMax', L.statementBytesMax, 1 * GIB, 'largest SQL statement text in bytes'),
  limit('statementsPerRequestMax', L.statementsPerRequestMax, 10_000_000, 'most statements in one request'),
  limit('paramsPerStatementMax', L.paramsPerStatementMax, 32_766, 'most bound parameters in one statement'),
  limit('requestBytesMax', L.requestBytesMax, 1 * GIB, 'largest client request in bytes'),
  limit('resultRowsMax', L.resultRowsMax, 100_000_000, 'most rows a query returns'),
  limit('resultBytesMax', L.resultBytesMax, 1 * GIB, 'largest query result in bytes'),
  // At least 4 MiB: a 1 MiB snapshot chunk and a frame of peer messages must fit with room to spare.
  limit('grpcMessageBytesMax', L.grpcMessageBytesMax, 2 * GIB - 1, 'largest gRPC message sent or received in bytes', 4 * MIB),
  // Named max… before limit names put their unit last; the old names are still read.
  limit('entriesPerMessageMax', L.entriesPerMessageMax, 1_000_000, 'most log records in one append message', 1, 'maxEntriesPerMessage'),
  limit('bytesPerMessageMax', L.bytesPerMessageMax, 1 * GIB, 'most record payload bytes in one append message', 1, 'maxBytesPerMessage'),
  limit('inflightMessagesMax', L.inflightMessagesMax, 100_000, 'most append messages in flight to one peer', 1, 'maxInflightMessages'),
  limit('uncommittedEntriesMax', L.uncommittedEntriesMax, 100_000_000, 'most uncommitted records before proposals are refused', 1, 'maxUncommittedEntries'),
  limit('proposalBatchMax', L.proposalBatchMax, 1_000_000, 'most client commands proposed in one batch'),
];

/** Each key by its flag, variable and name, former ones included. */
const byName = (name: (n: { key: string; flag: string; env: string }) => string): ReadonlyMap<string, KeyDef> =>
  new Map(KEYS.flatMap((k) => [[name(k), k] as const, ...(k.formerly ? [[name(k.formerly), k] as const] : [])]));

export const KEY_BY_FLAG = byName((n) => n.flag);
export const KEY_BY_ENV = byName((n) => n.env);
export const KEY_BY_NAME = byName((n) => n.key);

export const CONFIG_FLAG = '--config';
export const CONFIG_ENV = 'QUORUMLITE_CONFIG';

/** Which protocol declared each protocol-option key (a key is declared by one protocol only). */
export const PROTOCOL_OPTION_OWNERS: ReadonlyMap<string, ProtocolName> = new Map(
  PROTOCOL_NAMES.flatMap((name) => PROTOCOLS[name].options.map((spec) => [spec.key, name] as const)),
);

/** One top-level key per option a registered protocol declares (Raft: preVote, checkQuorum). */
function protocolOptionKeys(): KeyDef[] {
  return PROTOCOL_NAMES.flatMap((name) => PROTOCOLS[name].options.map((spec) => protocolOptionKey(name, spec)));
}

function protocolOptionKey(protocol: ProtocolName, spec: ProtocolOptionSpec): KeyDef {
  switch (spec.kind) {
    case 'bool':
      return top(spec.key, { kind: 'bool', defaultValue: spec.defaultValue, schema: z.boolean({ error: 'must be true or false' }), help: `${spec.help} (${protocol})` });
  }
}
