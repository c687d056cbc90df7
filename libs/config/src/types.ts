import { CodedError } from '@quorumlite/errors';
import type { MemberRole, ProtocolName, ProtocolOptions } from '@quorumlite/consensus';

/** A member's role: the consensus contract's one list (MEMBER_ROLES). */
export type Role = MemberRole;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface MemberConfig {
  id: string;
  address: string;
  role: Role;
}

export interface LimitsConfig {
  statementBytesMax: number;
  statementsPerRequestMax: number;
  paramsPerStatementMax: number;
  requestBytesMax: number;
  resultRowsMax: number;
  resultBytesMax: number;
  grpcMessageBytesMax: number;
  entriesPerMessageMax: number;
  bytesPerMessageMax: number;
  inflightMessagesMax: number;
  uncommittedEntriesMax: number;
  proposalBatchMax: number;
}

/** The three TLS files, read and checked at boot (the node never reads them again). */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  caFile: string;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface NodeConfig {
  nodeId: string;
  /** host:port to bind. */
  listen: string;
  /** This node's address as written in `members`. */
  advertise: string;
  /** host:port of the Prometheus metrics HTTP server, or null: none. */
  metricsListen: string | null;
  /** host:port of the live dashboard's HTTP server (a page and its event stream), or null: none. */
  dashboardListen: string | null;
  /** TLS for client and peer traffic, or null: plaintext. */
  tls: TlsConfig | null;
  /** The bearer token file (the node checks it at boot and reads it again when it changes); null: no tokens. */
  authTokensFile: string | null;
  cluster: string;
  /** A name from the consensus protocol registry. */
  protocol: ProtocolName;
  dataDir: string;
  members: MemberConfig[];
  tickMs: number;
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /**
   * The chosen protocol's own settings (Raft: preVote, checkQuorum), one top-level config key
   * each, as its ProtocolModule declares them.
   */
  protocolOptions: ProtocolOptions;
  /** Testing only: SIGUSR2 simulates a power cut (unsynced log writes lost, then death). */
  faultInjection: boolean;
  /**
   * Log segments are written ahead as zeros (libs/storage SpareSegment), so an append's
   * fdatasync commits no file-system journal. Off: segments grow with their appends (for
   * copy-on-write file systems, where the zeros buy nothing).
   */
  logPreallocate: boolean;
  /**
   * This voter lost its data directory and rejoins: refused on a directory that still holds a
   * log or hard state; a restart during the rejoin resumes it (a marker file says so).
   */
  rejoin: boolean;
  /**
   * A backup file (`quorumlite backup`) a data node's database starts from when its data
   * directory is fresh; ignored, with a warning, once the directory holds data. Null: none.
   */
  fromBackup: string | null;
  snapshotEveryEntries: number;
  snapshotRetainEntries: number;
  snapshotLogBytesMax: number;
  requestTimeoutMs: number;
  logLevel: LogLevel;
  limits: LimitsConfig;
}

export type ConfigErrorCode = 'invalid' | 'missing' | 'unknown_key' | 'unreadable';

/** A config value that stops the node at boot; `message` is one sentence naming key and source. */
export class ConfigError extends CodedError<ConfigErrorCode> {
  constructor(
    code: ConfigErrorCode,
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ConfigError';
  }
}
