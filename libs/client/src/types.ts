/** The client's public shapes: what callers pass and what they get back. */
import type { SqlValue } from '@quorumlite/proto';
import type { QuorumliteError } from './errors';

export type { SqlValue } from '@quorumlite/proto';

/**
 * When a write is acknowledged: quorum (committed), all (and on every data voter), semi (and on
 * another data node), leader (durable on the leader only, before commit — may be lost if the
 * leader fails; the result has no statement results and `uncommitted: true`).
 */
export type Durability = 'quorum' | 'all' | 'semi' | 'leader';
export type Consistency = 'linearizable' | 'stale' | 'session';
export type Params = SqlValue[] | Record<string, SqlValue>;

export interface StatementSpec {
  sql: string;
  params?: Params;
}

export interface ExecuteOptions {
  /** Idempotency key; a random 128-bit hex id when absent. Every retry of this call reuses it. */
  requestId?: string;
  durability?: Durability;
  timeoutMs?: number;
  /**
   * Send to this node only (it forwards to the leader; no moving to another address, no
   * following a leader hint): what one node offers its clients, e.g. across a partition.
   */
  address?: string;
}

export interface StatementResultInfo {
  rowsAffected: number;
  lastInsertRowid: bigint;
  /** Only for a statement that returns rows (SELECT, INSERT/UPDATE/DELETE … RETURNING). */
  rows?: Omit<QueryResult, 'index'>;
}

export interface ExecuteResult {
  results: StatementResultInfo[];
  index: bigint;
  duplicate: boolean;
  /** Acknowledged with durability 'leader' before it was committed: `results` is empty. */
  uncommitted: boolean;
}

export interface QueryOptions {
  consistency?: Consistency;
  minIndex?: bigint;
  maxLagEntries?: bigint;
  maxRows?: number;
  timeoutMs?: number;
  /** Send to this node only (no moving to another address on failure). */
  address?: string;
}

export interface ColumnInfo {
  name: string;
  declType: string;
}

export interface QueryResult {
  columns: ColumnInfo[];
  rows: SqlValue[][];
  index: bigint;
  truncated: boolean;
}

export interface MemberInfo {
  id: string;
  address: string;
  role: string;
  matchIndex: bigint;
  reachable: boolean;
}

export interface NodeStatus {
  nodeId: string;
  role: string;
  leaderId: string;
  leaderAddress: string;
  /** The protocol's fencing number (Raft term, ZAB epoch, Paxos ballot), named by `fencingName`. */
  term: bigint;
  /** What the protocol calls `term`: 'term', 'epoch', 'ballot'; empty from a node that does not say. */
  fencingName: string;
  commitIndex: bigint;
  appliedIndex: bigint;
  lastIndex: bigint;
  snapshotIndex: bigint;
  /**
   * Records and bytes this node's log holds on disk (all a witness stores besides its hard
   * state). The bytes are the records'; the files may hold up to two segments more of
   * preallocated zeros (libs/storage).
   */
  logRecords: bigint;
  logBytes: bigint;
  /** How far every data voter holds the log, as this node knows it (0: unknown). */
  dataVotersHold: bigint;
  /** What the process keeps: 'database' (voters, observers) or 'log' (a witness); empty from a node that does not say. */
  store: string;
  members: MemberInfo[];
  protocol: string;
  version: string;
  /** What the node did since it started; all zero from a node that does not report it. */
  counters: NodeCounters;
}

/** Messages of one type and their encoded bytes. */
export interface MessageTally {
  type: string;
  count: number;
  bytes: number;
}

/**
 * Monotonic since the node started: take the difference of two readings (see
 * `diffCounters`). Messages by type, storage syncs, elections, time in each driver step.
 */
export interface NodeCounters {
  sent: MessageTally[];
  received: MessageTally[];
  /** fsync/fdatasync calls for the log, hard state and compaction point. */
  storageSyncs: number;
  /** Times the node became a candidate. */
  elections: number;
  /** Times the leader it knows became another node. */
  leaderChanges: number;
  /** Milliseconds it knew no leader. */
  leaderlessMs: number;
  /** Client writes it proposed as leader and answered, and their total milliseconds from arrival to answer. */
  writesAnswered: number;
  writeMs: number;
  /** Client reads it answered (any consistency), and their total milliseconds from arrival to answer. */
  readsAnswered: number;
  readMs: number;
  /** Time in each driver step (decode, feed, ready, persist, send, apply) and wait (fsync). */
  steps: { step: string; count: number; totalMs: number }[];
  /** Times the log could not prepare its next segment ahead of time (a disk short of room, say). */
  logSpareFailures: number;
}

export type LinearizableReads = 'leader' | 'any';

export interface ClientOptions {
  /** host:port of one or more nodes; any node answers, writes are steered to the leader. */
  addresses: string[];
  /** Deadline of one call, default 10 s. */
  timeoutMs?: number;
  /** Total time spent retrying one operation, default 15 s. */
  retryBudgetMs?: number;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (e: QuorumliteError, attempt: number) => void;
  /**
   * Send Execute and Query over one long-lived Session stream per node (default true):
   * many calls in flight, batched per event-loop turn — far cheaper per call than unary.
   * false uses one unary call per request.
   */
  pipelining?: boolean;
  /**
   * Where linearizable reads go (default 'leader'). 'leader': to the leader, one network hop
   * shorter, so the lowest latency for a lone client — but every linearizable read of every
   * client then runs on one node. 'any': to this client's read node, picked at random (the
   * node stale and session reads go to), which asks the leader for the read index and answers
   * from its own database once it has applied that far: the same guarantee, and many clients
   * spread the reads' work over every data node. It pays where the other nodes have cores to
   * spare (3 nodes alone on one 2-core machine, 64 clients: about a fifth more reads per
   * second; nodes on their own machines have their own CPU); a lone client waits longer.
   * A read node that lost its leader fails the read once it learns so (it stands for
   * election after an election timeout), and the read moves on to the next node, as it does
   * from a witness (which keeps no database and says so: ql-no-data).
   */
  linearizableReads?: LinearizableReads;
  /**
   * Extra grpc-js channel options, over the client's own (e.g.
   * `{ 'grpc.initial_reconnect_backoff_ms': 100 }` to notice a restarted node sooner than
   * gRPC's default 1 s first reconnect backoff allows).
   */
  channelOptions?: Readonly<Record<string, string | number>>;
  /**
   * TLS to a secured cluster: the authority that signed the nodes' certificates, and this
   * client's certificate and key (signed by the same authority; its OU is the client's role:
   * read, write or admin). Absent: plaintext.
   */
  tls?: ClientTls;
  /**
   * A bearer token (`qlt_…`, made by `quorumlite tokens create`), sent with every call as
   * `authorization: Bearer <token>`; the node grants the role its token file names for it. Over
   * TLS it may replace the client certificate (give `tls.ca` alone).
   */
  token?: string;
}

/**
 * PEM bytes (or text) of the cluster's authority, and of this client's certificate and key
 * (both or neither: without them, the node must take bearer tokens).
 */
export interface ClientTls {
  ca: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
}
