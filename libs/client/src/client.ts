/**
 * QuorumliteClient: one lazily created grpc-js channel per node address (calls multiplex on
 * its HTTP/2 connection), writes steered to the known leader, and bounded retries that are
 * safe because every Execute attempt carries the same request id.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Writable } from 'node:stream';
import { adminServiceCtor, sqlServiceCtor, wireInt64 } from '@quorumlite/proto';
import { BackupStartedError, receiveBackup, type BackupOptions, type BackupResult } from './backup';
import { Session } from './session';
import { decodeError, isElsewhere, isRetryable, QuorumliteError } from './errors';
import { decodeExecute, decodeQuery, decodeStatus, type WireExecuteResponse, type WireQueryResponse, type WireStatusResponse } from './decode';
import { toWireParams } from './params';
import { backoffMs } from './retry';
import type {
  ClientOptions,
  ClientTls,
  Consistency,
  Durability,
  ExecuteOptions,
  ExecuteResult,
  NodeStatus,
  Params,
  QueryOptions,
  QueryResult,
  StatementSpec,
} from './types';

export const CLIENT_TIMEOUT_MS_DEFAULT = 10_000;
export const CLIENT_RETRY_BUDGET_MS_DEFAULT = 15_000;
/** Extra client-side deadline over the server-side one, so the node's own timeout answer arrives. */
const DEADLINE_SLACK_MS = 500;
/** Leader discovery before a first write is a courtesy: it must not hold the write up for long. */
const LEADER_PROBE_TIMEOUT_MS = 2_000;
const RECEIVE_MESSAGE_BYTES_MAX = 128 * 1024 * 1024;

const DURABILITY: Record<Durability, string> = { quorum: 'DURABILITY_QUORUM', all: 'DURABILITY_ALL', semi: 'DURABILITY_SEMI', leader: 'DURABILITY_LEADER' };
const CONSISTENCY: Record<Consistency, string> = {
  linearizable: 'CONSISTENCY_LINEARIZABLE',
  stale: 'CONSISTENCY_STALE',
  session: 'CONSISTENCY_SESSION',
};

type Method = 'Execute' | 'Query' | 'Status';

interface Route {
  /** Only this address; failures do not move the call elsewhere. */
  pinned?: string;
  /** Whether a single failure ends the call (Status of one named node). */
  once?: boolean;
  /** Any node will do (stale and session reads): this client's read node, not the leader. */
  spread?: boolean;
  /** Whether a timeout ends the call (an admin change the node may still be carrying out). */
  finalOnTimeout?: boolean;
}

/** 64 random bits per process, then a counter: unique ids without entropy on every call. */
const REQUEST_ID_PREFIX = randomBytes(8).toString('hex');
let requestIdCounter = 0;

export function newRequestId(): string {
  requestIdCounter++;
  return `${REQUEST_ID_PREFIX}${requestIdCounter.toString(16).padStart(16, '0')}`;
}

function normalizeStatements(statements: string | StatementSpec | StatementSpec[]): StatementSpec[] {
  if (typeof statements === 'string') return [{ sql: statements }];
  return Array.isArray(statements) ? statements : [statements];
}

function wireStatement(s: StatementSpec, i: number): { sql: string; params: unknown[]; named: Record<string, unknown> } {
  if (typeof s.sql !== 'string' || s.sql.trim() === '') throw new TypeError(`statement ${i + 1}: sql must be a non-empty string`);
  // Named fields, not a spread: V8 builds `{ sql, ...params }` one property at a time.
  const wire = toWireParams(s.params);
  return { sql: s.sql, params: wire.params, named: wire.named };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function checkTimeout(ms: number | undefined, what: string): void {
  if (ms !== undefined && (!Number.isInteger(ms) || ms <= 0 || ms > 0xffffffff)) {
    throw new RangeError(`${what} must be a positive integer number of milliseconds, got ${ms}`);
  }
}

/** Most rows a query may return (0 or absent: the node's limit); the node reads it as uint32. */
function checkMaxRows(n: number | undefined): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`maxRows must be an integer from 0 to 2^32 - 1, got ${n}`);
  return n;
}

const UINT64_LIMIT = 2n ** 64n;

/** A log position or count the node reads as uint64: a bigint from 0 to 2^64 − 1. */
function checkUint64(v: bigint | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== 'bigint' || v < 0n || v >= UINT64_LIMIT) throw new RangeError(`${what} must be a bigint from 0 to 2^64 - 1, got ${String(v)}`);
  return v;
}

export class QuorumliteClient {
  private readonly addressList: string[];
  private readonly timeoutMs: number;
  private readonly retryBudgetMs: number;
  private readonly onRetry: ClientOptions['onRetry'];
  /** `Bearer <token>`, sent with every call; null: no token. */
  private readonly authorization: string | null;
  private readonly channels = new Map<string, grpc.Client>();
  private readonly sessions = new Map<string, Session>();
  private readonly pipelining: boolean;
  private readonly service = sqlServiceCtor();
  private readonly adminService = adminServiceCtor();
  private readonly adminChannels = new Map<string, grpc.Client>();
  private leader: string | null = null;
  private cursor = 0;
  private readonly channelOptions: Readonly<Record<string, string | number>>;
  private readonly credentials: grpc.ChannelCredentials;
  /**
   * The address this client sends stale and session reads to: picked at random, so many
   * clients spread over the nodes while each keeps its calls batched on one stream; moved
   * on when that node fails.
   */
  private readNode: string;
  /** Addresses that refused a read for keeping no database (witnesses): never a read node again. */
  private readonly noData = new Set<string>();
  /** ClientOptions.linearizableReads is 'any': linearizable reads go to the read node too. */
  private readonly linearizableAnywhere: boolean;
  private closed = false;

  constructor(options: ClientOptions) {
    const addresses = (options.addresses ?? []).map((a) => a.trim()).filter((a) => a !== '');
    if (addresses.length === 0) throw new TypeError('QuorumliteClient needs at least one address (host:port)');
    checkTimeout(options.timeoutMs, 'timeoutMs');
    this.addressList = [...new Set(addresses)];
    this.timeoutMs = options.timeoutMs ?? CLIENT_TIMEOUT_MS_DEFAULT;
    this.retryBudgetMs = Math.max(0, options.retryBudgetMs ?? CLIENT_RETRY_BUDGET_MS_DEFAULT);
    this.onRetry = options.onRetry;
    this.pipelining = options.pipelining ?? true;
    const reads = options.linearizableReads ?? 'leader';
    if (reads !== 'leader' && reads !== 'any') throw new TypeError(`linearizableReads must be 'leader' or 'any', got ${JSON.stringify(options.linearizableReads)}`);
    this.linearizableAnywhere = reads === 'any';
    this.channelOptions = { ...options.channelOptions };
    this.credentials = credentialsOf(options.tls);
    this.authorization = authorizationOf(options.token);
    this.readNode = this.addressList[Math.floor(Math.random() * this.addressList.length)]!;
  }

  /** Runs the statements atomically through the replicated log. */
  async execute(statements: string | StatementSpec | StatementSpec[], options: ExecuteOptions = {}): Promise<ExecuteResult> {
    checkTimeout(options.timeoutMs, 'timeoutMs');
    const list = normalizeStatements(statements);
    if (list.length === 0) throw new TypeError('execute needs at least one statement');
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const durability = options.durability ?? 'quorum';
    if (!Object.prototype.hasOwnProperty.call(DURABILITY, durability)) throw new TypeError(`durability must be 'quorum', 'all', 'semi' or 'leader', got ${JSON.stringify(durability)}`);
    if (options.requestId !== undefined && typeof options.requestId !== 'string') throw new TypeError(`requestId must be a string, got ${typeof options.requestId}`);
    const request = {
      statements: list.map(wireStatement),
      request_id: options.requestId ?? newRequestId(),
      durability: DURABILITY[durability],
      timeout_ms: timeoutMs,
    };
    const route: Route = options.address !== undefined ? { pinned: options.address } : {};
    if (this.leader === null && route.pinned === undefined) await this.probeLeader();
    const res = await this.withRetry(route, (address) => this.call<WireExecuteResponse>(address, 'Execute', request, timeoutMs));
    // The node that answered names the leader that ordered the write: the next one goes there.
    if (res.leader_address) this.leader = res.leader_address;
    return decodeExecute(res);
  }

  /** Runs one read-only statement at the requested consistency (linearizable by default). */
  async query(sql: string, params?: Params, options: QueryOptions = {}): Promise<QueryResult> {
    checkTimeout(options.timeoutMs, 'timeoutMs');
    if (typeof sql !== 'string' || sql.trim() === '') throw new TypeError('query: sql must be a non-empty string');
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const consistency = options.consistency ?? 'linearizable';
    if (!Object.prototype.hasOwnProperty.call(CONSISTENCY, consistency)) throw new TypeError(`consistency must be 'linearizable', 'session' or 'stale', got ${JSON.stringify(consistency)}`);
    // Named fields, not a spread (see wireStatement): this cost 3 us a query.
    const wire = toWireParams(params);
    const request = {
      sql,
      params: wire.params,
      named: wire.named,
      consistency: CONSISTENCY[consistency],
      min_index: wireInt64(checkUint64(options.minIndex, 'minIndex')),
      max_lag_entries: wireInt64(checkUint64(options.maxLagEntries, 'maxLagEntries')),
      max_rows: checkMaxRows(options.maxRows),
      timeout_ms: timeoutMs,
    };
    // A linearizable read is quickest at the leader (a follower asks it for the read index),
    // unless the client spreads them (linearizableReads: 'any'); stale and session reads are
    // answered by any node, so they share the load.
    const anyNode = consistency !== 'linearizable' || this.linearizableAnywhere;
    const route: Route = options.address !== undefined ? { pinned: options.address } : anyNode ? { spread: true } : {};
    const res = await this.withRetry(route, (address) => this.call<WireQueryResponse>(address, 'Query', request, timeoutMs));
    return decodeQuery(res);
  }

  /**
   * One node's view of the cluster. With an address, asks that node once (its failure is the
   * answer); without, asks any reachable node, retrying within the budget.
   */
  async status(address?: string): Promise<NodeStatus> {
    const route: Route = address === undefined ? {} : { pinned: address, once: true };
    const res = await this.withRetry(route, (address) => this.call<WireStatusResponse>(address, 'Status', {}, this.timeoutMs));
    const status = decodeStatus(res);
    if (status.leaderAddress !== '') this.leader = status.leaderAddress;
    return status;
  }

  /**
   * A consistent copy of a node's database (AdminService.Backup), written to a file path
   * (created or truncated; removed if the transfer fails) or to a writable (written, not
   * ended). The size and SHA-256 the node announced are checked before this resolves. Without
   * `options.address`, each address is tried in turn while a node cannot serve it (unreachable,
   * or a witness, which keeps no database) and nothing was written yet. With TLS, the client's
   * certificate needs role admin.
   */
  async backup(target: string | Writable, options: BackupOptions = {}): Promise<BackupResult> {
    checkTimeout(options.timeoutMs, 'timeoutMs');
    const method = this.adminService.service['Backup'];
    if (!method) throw new Error('AdminService has no method Backup');
    const addresses = options.address !== undefined ? [options.address] : this.addressList;
    let last: unknown = null;
    for (const address of addresses) {
      try {
        return await receiveBackup(this.adminChannel(address), method, address, target, options.timeoutMs, this.metadata());
      } catch (e: unknown) {
        last = e;
        const err = decodeError(e, address);
        if (e instanceof BackupStartedError || !(isRetryable(err) || err.code === 'refused')) throw err;
      }
    }
    throw decodeError(last);
  }

  /**
   * Hands leadership to member `to` (absent: the most caught-up other data voter) through
   * AdminService.TransferLeadership, and resolves once another node leads. The call goes to the
   * leader: a node that does not lead names it and the call follows. With TLS, the client's
   * certificate needs role admin.
   */
  async transferLeadership(options: TransferLeadershipOptions = {}): Promise<TransferLeadershipResult> {
    checkTimeout(options.timeoutMs, 'timeoutMs');
    const request = { to: options.to ?? '', timeout_ms: options.timeoutMs ?? 0 };
    // The node's own wait (two elections by default) plus room for the answer.
    const res = await this.adminOnLeader<{ from: string; to: string; to_address: string; elapsed_ms: number }>('TransferLeadership', request, (options.timeoutMs ?? this.timeoutMs) + DEADLINE_SLACK_MS, options.address);
    if (res.to_address !== '') this.leader = res.to_address;
    return { from: res.from, to: res.to, toAddress: res.to_address, elapsedMs: res.elapsed_ms };
  }

  /** The members a node works with (any node; default: the first address), and whether a change is in flight. */
  async members(options: { address?: string } = {}): Promise<MembersResult> {
    const address = options.address ?? this.addressList[0]!;
    const res = await this.withRetry({ pinned: address, once: true }, (at) =>
      this.adminUnaryAt<{ members: MemberEntry[]; change_pending: boolean; node_id: string; leader_id: string }>(at, 'ListMembers', {}, this.timeoutMs),
    );
    return { members: res.members.map(memberOf), changePending: res.change_pending, nodeId: res.node_id, leaderId: res.leader_id === '' ? null : res.leader_id };
  }

  /**
   * Adds, removes or changes the role of one member (AdminService.ChangeMembers) and resolves
   * with the members once the change committed. The call goes to the leader. A new voter or
   * witness joins as an observer and is promoted once it caught up. With TLS, role admin.
   */
  async changeMembers(change: MemberChangeRequest, options: { timeoutMs?: number } = {}): Promise<{ members: MemberEntry[]; index: bigint }> {
    checkTimeout(options.timeoutMs, 'timeoutMs');
    const request =
      change.kind === 'add'
        ? { add: { id: change.id, address: change.address, role: change.role ?? 'voter' } }
        : change.kind === 'remove'
          ? { remove: change.id }
          : { set_role: { id: change.id, role: change.role } };
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const res = await this.adminOnLeader<{ members: MemberEntry[]; index: string }>('ChangeMembers', { ...request, timeout_ms: timeoutMs }, timeoutMs + DEADLINE_SLACK_MS);
    return { members: res.members.map(memberOf), index: BigInt(res.index) };
  }

  /**
   * An AdminService call to the leader: not_leader answers name it, unavailable ones are
   * retried within the budget. A timeout ends it: the node may still be carrying it out.
   */
  private adminOnLeader<Res>(method: string, request: object, timeoutMs: number, only?: string): Promise<Res> {
    const route: Route = only !== undefined ? { pinned: only, once: true } : { finalOnTimeout: true };
    return this.withRetry(route, (address) => this.adminUnaryAt<Res>(address, method, request, timeoutMs));
  }

  private adminUnaryAt<Res>(address: string, method: string, request: object, timeoutMs: number): Promise<Res> {
    const def = this.adminService.service[method];
    if (!def) throw new Error(`AdminService has no method ${method}`);
    return unaryCall<Res>(this.adminChannel(address), def, request, timeoutMs, method, this.metadata());
  }

  /** Fresh metadata for one call: grpc-js may change what it is given. */
  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.authorization !== null) md.set('authorization', this.authorization);
    return md;
  }

  /** The leader's address as last learned, or null when unknown. */
  leaderAddress(): string | null {
    return this.leader;
  }

  close(): void {
    this.closed = true;
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
    for (const channel of [...this.channels.values(), ...this.adminChannels.values()]) channel.close();
    this.channels.clear();
    this.adminChannels.clear();
  }

  private channel(address: string): grpc.Client {
    if (this.closed) throw new QuorumliteError('client is closed', { code: 'invalid', grpcCode: grpc.status.CANCELLED });
    let channel = this.channels.get(address);
    if (!channel) {
      channel = new this.service(address, this.credentials, {
        'grpc.max_receive_message_length': RECEIVE_MESSAGE_BYTES_MAX,
        'grpc.max_send_message_length': RECEIVE_MESSAGE_BYTES_MAX,
        ...this.channelOptions,
      });
      this.channels.set(address, channel);
    }
    return channel;
  }

  /** AdminService calls go on their own channel to the node: they are rare and long. */
  private adminChannel(address: string): grpc.Client {
    if (this.closed) throw new QuorumliteError('client is closed', { code: 'invalid', grpcCode: grpc.status.CANCELLED });
    let channel = this.adminChannels.get(address);
    if (!channel) {
      channel = new this.adminService(address, this.credentials, { ...this.channelOptions });
      this.adminChannels.set(address, channel);
    }
    return channel;
  }

  private call<Res>(address: string, method: Method, request: object, timeoutMs: number): Promise<Res> {
    if (this.pipelining && method !== 'Status') {
      const session = this.session(address);
      if (!session.unsupported) {
        return session.call<Res>(method === 'Execute' ? 'execute' : 'query', request, timeoutMs + DEADLINE_SLACK_MS).catch((e: unknown) => {
          // A node without Session: from now on this address gets unary calls.
          if (session.unsupported) return this.unary<Res>(address, method, request, timeoutMs);
          throw e;
        });
      }
    }
    return this.unary<Res>(address, method, request, timeoutMs);
  }

  private unary<Res>(address: string, method: Method, request: object, timeoutMs: number): Promise<Res> {
    const def = this.service.service[method];
    if (!def) throw new Error(`SqlService has no method ${method}`);
    return unaryCall<Res>(this.channel(address), def, request, timeoutMs + DEADLINE_SLACK_MS, method, this.metadata());
  }

  private session(address: string): Session {
    let session = this.sessions.get(address);
    if (!session) {
      const def = this.service.service['Session'];
      if (!def) throw new Error('SqlService has no method Session');
      session = new Session(this.channel(address), def as grpc.MethodDefinition<unknown, unknown>, address, () => this.metadata());
      this.sessions.set(address, session);
    }
    return session;
  }

  private firstAddress(route: Route): string {
    if (route.pinned !== undefined) return route.pinned;
    if (route.spread) return this.readNode;
    return this.leader ?? this.addressList[this.cursor % this.addressList.length]!;
  }

  /**
   * Makes `attempt` at the route's first address and again, after a backoff, wherever each
   * retryable failure points (the leader it names, the next address, the next read node),
   * until it succeeds or the retry budget is spent.
   */
  private async withRetry<Res>(route: Route, attempt: (address: string) => Promise<Res>): Promise<Res> {
    const startedMs = Date.now();
    let address = this.firstAddress(route);
    for (let n = 1; ; n++) {
      try {
        return await attempt(address);
      } catch (raw: unknown) {
        const e = decodeError(raw, address);
        this.learn(e, address);
        // A witness's refused read (noData) goes to another node, never to a witness again.
        const elsewhere = isElsewhere(e);
        if (route.once || this.closed || !(isRetryable(e) || elsewhere) || (route.finalOnTimeout && e.code === 'timeout')) throw e;
        const next = route.pinned ?? (route.spread ? this.nextReadNode(address, elsewhere) : this.nextAddress(e, address));
        if (elsewhere && this.noData.has(next)) throw e;
        const delayMs = elsewhere ? 0 : backoffMs(n, Math.random());
        if (Date.now() - startedMs + delayMs > this.retryBudgetMs) throw e;
        this.onRetry?.(e, n);
        await sleep(delayMs);
        address = next;
      }
    }
  }

  /** Keeps the leader cache honest after a failure, and remembers the nodes that keep no database. */
  private learn(e: QuorumliteError, address: string): void {
    if (isElsewhere(e)) this.noData.add(address);
    if (e.leaderAddress !== undefined) {
      this.leader = e.leaderAddress;
    } else if (this.leader === address && (isElsewhere(e) || e.code === 'unavailable' || e.code === 'timeout' || e.code === 'not_leader' || e.code === 'no_leader')) {
      this.leader = null;
    }
  }

  /**
   * A read that any node may answer failed at `failed`: this client reads from another node
   * from now on — the next one, or, when `failed` keeps no database, one picked at random among
   * those not known to be witnesses (so the clients that picked a witness spread again).
   */
  private nextReadNode(failed: string, witness = false): string {
    const n = this.addressList.length;
    const at = this.addressList.indexOf(failed);
    const others = Array.from({ length: n - 1 }, (_, k) => this.addressList[(at + 1 + k) % n]!).filter((a) => !this.noData.has(a));
    // None left that keeps data: the failed node again (a witness there ends the call).
    this.readNode = others.length === 0 ? failed : witness ? others[Math.floor(Math.random() * others.length)]! : others[0]!;
    return this.readNode;
  }

  /**
   * Where the next attempt goes: the leader hint if it names another node, else the next
   * address (past those known to keep no database, when a read failed for that reason).
   */
  private nextAddress(e: QuorumliteError, failed: string): string {
    if (e.leaderAddress !== undefined && e.leaderAddress !== failed) return e.leaderAddress;
    if (e.code === 'overloaded') return failed;
    const at = this.addressList.indexOf(failed);
    this.cursor = (at < 0 ? this.cursor : at) + 1;
    if (isElsewhere(e)) {
      for (let k = 0; k < this.addressList.length - 1 && this.noData.has(this.addressList[this.cursor % this.addressList.length]!); k++) this.cursor++;
    }
    return this.addressList[this.cursor % this.addressList.length]!;
  }

  /** Best effort: learn the leader before a first write to save the follower's forwarding hop. */
  private async probeLeader(): Promise<void> {
    const address = this.firstAddress({});
    try {
      const res = await this.call<WireStatusResponse>(address, 'Status', {}, Math.min(this.timeoutMs, LEADER_PROBE_TIMEOUT_MS));
      if (res.leader_address) this.leader = res.leader_address;
    } catch {
      // The write's own attempts will report a real failure.
    }
  }
}

function credentialsOf(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('tls: give cert and key together (or neither, with a token)');
  const bytes = (pem: Buffer | string): Buffer => (typeof pem === 'string' ? Buffer.from(pem) : pem);
  return grpc.credentials.createSsl(bytes(tls.ca), tls.key === undefined ? null : bytes(tls.key), tls.cert === undefined ? null : bytes(tls.cert));
}

function authorizationOf(token: string | undefined): string | null {
  if (token === undefined) return null;
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) throw new TypeError('token must be one word of printable ASCII (as made by quorumlite tokens create)');
  return `Bearer ${token}`;
}

export interface TransferLeadershipOptions {
  /** The member to hand over to; absent: the most caught-up other data voter. */
  to?: string;
  /** How long the leader waits for the new one; default two of the longest elections. */
  timeoutMs?: number;
  /** Ask this node only (it must lead); default: the leader, found by following not_leader answers. */
  address?: string;
}

export interface TransferLeadershipResult {
  /** The node that led, and the one that leads now (the target, unless another voter won). */
  from: string;
  to: string;
  toAddress: string;
  elapsedMs: number;
}

/** One unary call on `channel`, with a deadline `timeoutMs` from now. */
function unaryCall<Res>(channel: grpc.Client, def: grpc.MethodDefinition<unknown, unknown>, request: object, timeoutMs: number, method: string, metadata: grpc.Metadata): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    channel.makeUnaryRequest<object, Res>(
      def.path,
      def.requestSerialize as (value: object) => Buffer,
      def.responseDeserialize as (value: Buffer) => Res,
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, res) => (err || res === undefined ? reject(err ?? new Error(`${method}: empty response`)) : resolve(res)),
    );
  });
}

export interface MemberEntry {
  id: string;
  /** voter, witness or observer. */
  role: string;
  /** host:port; empty when the node knows none. */
  address: string;
}

export interface MembersResult {
  members: MemberEntry[];
  /** A change of the members is proposed and not yet committed. */
  changePending: boolean;
  /** The node that answered, and the leader it knows (null: none). */
  nodeId: string;
  leaderId: string | null;
}

export type MemberChangeRequest =
  | { kind: 'add'; id: string; address: string; role?: 'voter' | 'witness' | 'observer' }
  | { kind: 'remove'; id: string }
  | { kind: 'set-role'; id: string; role: 'voter' | 'witness' | 'observer' };

function memberOf(m: MemberEntry): MemberEntry {
  return { id: m.id, role: m.role, address: m.address };
}
