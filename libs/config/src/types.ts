export type Role = 'voter' | 'witness' | 'observer';
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
  maxEntriesPerMessage: number;
  maxBytesPerMessage: number;
  maxInflightMessages: number;
  maxUncommittedEntries: number;
  proposalBatchMax: number;
}

export interface NodeConfig {
  nodeId: string;
  /** host:port to bind. */
  listen: string;
  /** This node's address as written in `members`. */
  advertise: string;
  cluster: string;
  protocol: 'raft';
  dataDir: string;
  members: MemberConfig[];
  tickMs: number;
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Testing only: SIGUSR2 simulates a power cut (unsynced log writes lost, then death). */
  faultInjection: boolean;
  snapshotEveryEntries: number;
  snapshotRetainEntries: number;
  snapshotLogBytesMax: number;
  requestTimeoutMs: number;
  logLevel: LogLevel;
  limits: LimitsConfig;
}

export type ConfigErrorCode = 'invalid' | 'missing' | 'unknown_key' | 'unreadable';

/** A config value that stops the node at boot; `message` is one sentence naming key and source. */
export class ConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
