/**
 * LocalCluster: real node processes on loopback, for the CLI `cluster` command, end-to-end
 * tests, benchmarks and fault injection. Each node logs to its own file so a failure can show
 * the tail of what the node said.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QuorumliteClient, type NodeStatus } from '@quorumlite/client';
import { writeClusterManifest, type LocalRole } from './manifest';
import { freePorts } from './ports';
import { processEnvironment } from '@quorumlite/config';
import { track, untrack, writeWatchdog, type Reapable } from './reaper';
import { CodedError } from '@quorumlite/errors';

const MIB = 1024 * 1024;

/**
 * glibc malloc settings every node starts with (an environment that sets them wins). By
 * default glibc maps each large buffer fresh and unmaps it when freed, so every copy of a
 * large request (decode, command, log record, each follower's message) first faults in its
 * pages — about 45 ms per 16 MiB on a two-core machine, on the event loop. With buffers up to
 * 32 MiB taken from the heap and 64 MiB of freed heap kept, they are reused: measured with
 * 16 MiB writes, page faults halved and each write took about half as long. The Dockerfile
 * sets the same.
 */
export const NODE_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * MIB),
  MALLOC_TRIM_THRESHOLD_: String(64 * MIB),
};

/**
 * V8 flags every node starts with, before any the caller gives (a later flag wins). By
 * default V8 lets the old generation grow to about four times what survived the last full
 * collection before collecting again; a node keeps some 35 MB live under load, so its heap
 * swelled to 130 MB. Half again instead kept it near 80 MB, about 55 MB less per node at
 * the peak of a C=64 bench run. A young generation of 8 MiB semi-spaces instead of 16 took
 * 13–15 MB more off; 4 MiB goes with the next flag.
 *
 * --single-threaded-gc: V8 collects on the node's own thread instead of handing parts of each
 * collection to helper threads (parallel young collections, concurrent marking and sweeping).
 * The nodes of a local cluster share the machine's cores, where the helpers' work and hand-offs
 * cost more CPU than they save, and a pause waits for helpers that wait for a core: without
 * them the longest full collection under batch100 was 7–15 ms against 17–47. In alternated
 * pairs of batch100 (raft, 3 voters, C=64, two cores) it gained 13 % alone (15 pairs); with
 * 4 MiB semi-spaces, as shipped, 117k against 108k rows/s (12 pairs, 10 higher; p99 109 → 100 ms
 * on average), the leader using 0.65–0.68 of a core against 0.71–0.77. Insert, select and
 * select-any stayed within noise; select-stale averaged 4 % lower (182k against 190k, 7 of 10
 * pairs lower, in runs that spread over 148–222k). Alone it kept the leader's array buffers
 * longer (peak 199–213 MB against 180–197; 203–206 with 6 MiB semi-spaces); with 4 MiB the peak
 * stayed where it was, at about 3 % of batch100 against the flag alone (docs/performance.md,
 * "Collections without helper threads"). It is a start-up flag only: set on a running isolate,
 * V8 aborts (apps/node/src/runtime-flags.ts).
 *
 * The Dockerfile sets the same. The node turns V8's allocation-site pretenuring off itself,
 * however it is started (apps/node/src/runtime-flags.ts).
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--heap-growing-percent=50', '--max-semi-space-size=4', '--single-threaded-gc'];

export interface LocalNodeSpec {
  id: string;
  role?: LocalRole;
}

export interface LocalClusterOptions {
  nodes: number | LocalNodeSpec[];
  dataDir: string;
  host?: string;
  /** First port; nodes take consecutive ports. 0 (default): free ports picked by the OS. */
  basePort?: number;
  /** Exact ports, one per node (wins over basePort); used to bring a recorded layout back. */
  ports?: number[];
  nodeArgs?: string[];
  /** Give every node a Prometheus metrics server on a free port (--metrics-listen; LocalNode.metricsAddress). */
  metrics?: boolean;
  /** Give every node a live dashboard on a free port (--dashboard-listen; LocalNode.dashboardAddress). */
  dashboard?: boolean;
  env?: Record<string, string>;
  /**
   * Flags for the Node.js runtime of every node process, after NODE_RUNTIME_FLAGS and before the script (e.g. --cpu-prof
   * --cpu-prof-dir=DIR, which NODE_OPTIONS refuses). Default: QL_NODE_RUNTIME_FLAGS, split on
   * spaces, so any command that starts a local cluster (bench, compare, cluster) can profile it.
   */
  runtimeFlags?: string[];
  /** Default: <repo>/dist/apps/node/main.js, found by walking up from this file. */
  nodeBin?: string;
  /** Node stdout/stderr files, default dataDir/logs. */
  logDir?: string;
  protocol?: string;
  startTimeoutMs?: number;
  /**
   * The address node `from` is given in --members for peer `to` (default: the real address).
   * Fault injection puts a proxy per directed link here; a node's own entry and all client
   * traffic keep the real addresses.
   */
  peerAddress?: (from: string, to: string, realAddress: string) => string;
  /**
   * TLS for every node and for the launcher's own status client: `files(name)` are the PEM
   * files of a node's (by member id) or a client's certificate (makeCerts in the transport
   * library writes them), `client` the name of the certificate the launcher calls with.
   */
  tls?: LocalClusterTls;
  /**
   * A backup file every data node starts its database from (`--from-backup`; a witness keeps
   * no database and takes none). Nodes ignore it once their data directory holds data, so a
   * restart keeps what they hold.
   */
  fromBackup?: string;
  /** Called when a node exits without being asked to (crash, bad config). */
  onNodeExit?: (id: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface LocalClusterTls {
  files(name: string): TlsFiles;
  client: string;
}

/** The client library's TLS option for one certificate of a local cluster. */
export function clientTlsOf(tls: LocalClusterTls, name = tls.client): { ca: Buffer; cert: Buffer; key: Buffer } {
  const f = tls.files(name);
  return { ca: fs.readFileSync(f.ca), cert: fs.readFileSync(f.cert), key: fs.readFileSync(f.key) };
}

export interface LocalNode {
  id: string;
  address: string;
  role: string;
  dataDir: string;
  /** host:port of its metrics server (GET /metrics) when the cluster was started with `metrics`. */
  metricsAddress?: string;
  /** host:port of its live dashboard (open http://host:port/) when the cluster was started with `dashboard`. */
  dashboardAddress?: string;
}

export const START_TIMEOUT_MS_DEFAULT = 30_000;
export const LEADER_TIMEOUT_MS_DEFAULT = 15_000;
/** How long stop() and kill(SIGTERM) wait for a graceful exit before SIGKILL. */
export const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 50;
const STATUS_TIMEOUT_MS = 1_000;
const LOG_TAIL_BYTES_MAX = 64 * 1024;
const NODE_BIN_RELATIVE = path.join('dist', 'apps', 'node', 'main.js');

interface Proc {
  node: LocalNode;
  args: string[];
  logFile: string;
  child: ChildProcess | null;
  exited: Promise<void>;
  paused: boolean;
  /** Set while this code is the one stopping the process, so its exit is not reported as a crash. */
  stopping: boolean;
}

/** Finds dist/apps/node/main.js above `from` (source tree or a bundle in dist/apps/cli). */
export function findNodeBin(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 10; i++) {
    const candidate = path.join(dir, NODE_BIN_RELATIVE);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('dist/apps/node/main.js not found: run `npm run build` first');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function normalizeSpecs(nodes: number | LocalNodeSpec[]): { id: string; role: LocalRole }[] {
  const specs: LocalNodeSpec[] = typeof nodes === 'number' ? Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}` })) : nodes;
  if (specs.length === 0) throw new RangeError('a local cluster needs at least one node');
  const ids = new Set<string>();
  return specs.map((s) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(s.id)) throw new TypeError(`node id '${s.id}' must be letters, digits, '-' or '_'`);
    if (ids.has(s.id)) throw new TypeError(`node id '${s.id}' appears twice`);
    ids.add(s.id);
    return { id: s.id, role: s.role ?? 'voter' };
  });
}

async function choosePorts(options: LocalClusterOptions, count: number, host: string): Promise<number[]> {
  if (options.ports) {
    if (options.ports.length !== count) throw new RangeError(`ports lists ${options.ports.length} ports for ${count} nodes`);
    return options.ports;
  }
  const base = options.basePort ?? 0;
  if (base === 0) return freePorts(count, host);
  if (!Number.isInteger(base) || base < 1 || base + count - 1 > 65535) throw new RangeError(`basePort ${base} does not leave room for ${count} ports`);
  return Array.from({ length: count }, (_, i) => base + i);
}

type PeerAddress = NonNullable<LocalClusterOptions['peerAddress']>;

/** The --members value node `self` starts with: its own real address, its peers as peerAddress says. */
export function membersFlag(nodes: LocalNode[], self: string, peerAddress?: PeerAddress): string {
  return nodes
    .map((n) => {
      const address = n.id === self || !peerAddress ? n.address : peerAddress(self, n.id, n.address);
      return `${n.id}=${address}${n.role === 'voter' ? '' : `:${n.role}`}`;
    })
    .join(',');
}

function fail(id: string): never {
  throw new Error(`no node ${id} in this local cluster`);
}

/** A node process ended while the cluster waited for it. */
export class NodeExitedError extends CodedError<'node_exited'> {
  override readonly name = 'NodeExitedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('node_exited', message, options);
  }
}

export class LocalCluster implements Reapable {
  readonly nodes: LocalNode[];
  private readonly procs = new Map<string, Proc>();
  private readonly client: QuorumliteClient;
  private stopped: Promise<void> | null = null;

  private constructor(
    nodes: LocalNode[],
    private readonly options: LocalClusterOptions,
    private readonly nodeBin: string,
    private readonly watchdog: string,
    logDir: string,
  ) {
    this.nodes = nodes;
    for (const node of nodes) {
      const members = membersFlag(nodes, node.id, options.peerAddress);
      const args = ['--node-id', node.id, '--listen', node.address, '--data-dir', node.dataDir, '--members', members];
      if (options.protocol !== undefined) args.push('--protocol', options.protocol);
      if (node.metricsAddress !== undefined) args.push('--metrics-listen', node.metricsAddress);
      if (node.dashboardAddress !== undefined) args.push('--dashboard-listen', node.dashboardAddress);
      if (options.tls) {
        const f = options.tls.files(node.id);
        args.push('--tls-cert', f.cert, '--tls-key', f.key, '--tls-ca', f.ca);
      }
      if (options.fromBackup !== undefined && node.role !== 'witness') args.push('--from-backup', path.resolve(options.fromBackup));
      args.push(...(options.nodeArgs ?? []));
      this.procs.set(node.id, { node, args, logFile: path.join(logDir, `${node.id}.log`), child: null, exited: Promise.resolve(), paused: false, stopping: false });
    }
    this.client = new QuorumliteClient({
      addresses: nodes.map((n) => n.address),
      timeoutMs: STATUS_TIMEOUT_MS,
      retryBudgetMs: 0,
      // Readiness polls a node that is starting: gRPC's reconnect backoff (1 s, then 1.6x) would
      // otherwise decide when a restarted node is seen, not the node. Its own options also give
      // this client its own connections, apart from other clients' backoff towards a dead node.
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 },
      ...(options.tls ? { tls: clientTlsOf(options.tls) } : {}),
    });
  }

  /**
   * Spawns every node and waits (bounded by startTimeoutMs) until each answers Status and a
   * leader is known. On failure everything started is stopped and the error carries the logs.
   */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const specs = normalizeSpecs(options.nodes);
    const host = options.host ?? '127.0.0.1';
    const nodeBin = options.nodeBin ?? findNodeBin();
    if (!fs.existsSync(nodeBin)) throw new Error(`${nodeBin} not found: run \`npm run build\` first`);
    const dataDir = path.resolve(options.dataDir);
    const logDir = path.resolve(options.logDir ?? path.join(dataDir, 'logs'));
    fs.mkdirSync(logDir, { recursive: true });
    const ports = await choosePorts(options, specs.length, host);
    const metricsPorts = options.metrics ? await freePorts(specs.length, host) : null;
    const dashboardPorts = options.dashboard ? await freePorts(specs.length, host) : null;
    const nodes: LocalNode[] = specs.map((s, i) => ({
      id: s.id,
      role: s.role,
      address: `${host}:${ports[i]}`,
      dataDir: path.join(dataDir, s.id),
      ...(metricsPorts ? { metricsAddress: `${host}:${metricsPorts[i]}` } : {}),
      ...(dashboardPorts ? { dashboardAddress: `${host}:${dashboardPorts[i]}` } : {}),
    }));
    for (const n of nodes) fs.mkdirSync(n.dataDir, { recursive: true });
    writeClusterManifest(dataDir, {
      version: 1,
      host,
      nodes: specs.map((s, i) => ({ id: s.id, role: s.role, port: ports[i]! })),
      ...(options.protocol !== undefined ? { protocol: options.protocol } : {}),
    });
    const cluster = new LocalCluster(nodes, options, nodeBin, writeWatchdog(logDir), logDir);
    track(cluster);
    try {
      for (const n of nodes) cluster.spawnNode(n.id);
      await cluster.waitUntil(options.startTimeoutMs ?? START_TIMEOUT_MS_DEFAULT, 'every node to answer Status and a leader to be elected', () =>
        cluster.allAnswerWithLeader(),
      );
      return cluster;
    } catch (e: unknown) {
      await cluster.stop();
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(`local cluster failed to start: ${message}\n${cluster.allLogTails(20)}`, { cause: e });
    }
  }

  addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  address(id: string): string {
    return this.proc(id).node.address;
  }

  pid(id: string): number | null {
    const p = this.proc(id);
    return this.isRunning(id) ? (p.child?.pid ?? null) : null;
  }

  isRunning(id: string): boolean {
    const child = this.proc(id).child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  /** Signals the node (SIGKILL by default) and resolves once it has exited. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc(id);
    if (!this.isRunning(id) || !p.child) return;
    p.stopping = true;
    if (p.paused && signal !== 'SIGKILL') this.signal(p, 'SIGCONT');
    p.paused = false;
    this.signal(p, signal);
    if (signal === 'SIGKILL') return p.exited;
    const exitedInTime = await Promise.race([p.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!exitedInTime) {
      this.signal(p, 'SIGKILL');
      await p.exited;
    }
  }

  /**
   * Starts a stopped node again with the same arguments and data dir; resolves when it answers
   * Status. `extraArgs` go to this run only (e.g. `--rejoin`).
   */
  async restart(id: string, extraArgs: readonly string[] = []): Promise<void> {
    if (this.isRunning(id)) throw new Error(`node ${id} is still running; kill it before restarting it`);
    this.spawnNode(id, extraArgs);
    const address = this.address(id);
    await this.waitUntil(this.options.startTimeoutMs ?? START_TIMEOUT_MS_DEFAULT, `node ${id} to answer Status after a restart`, async () => {
      // A node that refuses its data dir exits at once: say so now, not at the timeout.
      if (!this.isRunning(id)) throw new NodeExitedError(`node ${id} exited while restarting:\n${this.logTail(id, 20)}`);
      await this.client.status(address);
      return true;
    });
  }

  pause(id: string): void {
    const p = this.proc(id);
    if (!this.isRunning(id)) throw new Error(`node ${id} is not running`);
    this.signal(p, 'SIGSTOP');
    p.paused = true;
  }

  resume(id: string): void {
    const p = this.proc(id);
    if (!this.isRunning(id)) throw new Error(`node ${id} is not running`);
    this.signal(p, 'SIGCONT');
    p.paused = false;
  }

  /** A node that says it leads (the highest term wins if a deposed one has not noticed yet). */
  async waitForLeader(timeoutMs = LEADER_TIMEOUT_MS_DEFAULT, exclude: string[] = []): Promise<{ id: string; address: string }> {
    let found: { id: string; address: string } | null = null;
    await this.waitUntil(timeoutMs, `a leader${exclude.length ? ` other than ${exclude.join(', ')}` : ''}`, async () => {
      found = await this.findLeader(exclude);
      return found !== null;
    });
    return found!;
  }

  /**
   * Starts one more node to join the running cluster: it boots knowing the nodes `knows` (by
   * default every node of this cluster; a witness as a witness, the others as voters) and itself
   * as an observer, on a fresh data dir and a free port; the log it receives tells it the members
   * as they are. The members themselves change only through AdminService.ChangeMembers
   * (quorumlite members add): this only runs the process. Resolves once it answers Status. A
   * cluster started from a backup gives it the same backup (its database must begin where
   * theirs did), unless `fromBackup` says otherwise (null: none). `store` 'witness' starts a
   * process that keeps only the log (it lists itself as a witness, and takes no backup).
   */
  async addNode(id: string, knows: readonly string[] = this.nodes.map((n) => n.id), fromBackup: string | null | undefined = this.options.fromBackup, store: 'data' | 'witness' = 'data'): Promise<LocalNode> {
    if (this.procs.has(id)) throw new Error(`node ${id} is already part of this local cluster`);
    const host = this.options.host ?? '127.0.0.1';
    const [port] = await freePorts(1, host);
    const root = path.dirname(this.nodes[0]!.dataDir);
    const node: LocalNode = { id, role: store === 'witness' ? 'witness' : 'observer', address: `${host}:${port}`, dataDir: path.join(root, id) };
    fs.mkdirSync(node.dataDir, { recursive: true });
    const args = store === 'witness' ? this.joinArgs(node, knows, 'witness', null) : this.joinArgs(node, knows, 'observer', fromBackup);
    const logDir = path.dirname(this.proc(this.nodes[0]!.id).logFile);
    this.procs.set(id, { node, args, logFile: path.join(logDir, `${id}.log`), child: null, exited: Promise.resolve(), paused: false, stopping: false });
    this.nodes.push(node);
    await this.spawnUntilStatus(id, 'starting');
    return node;
  }

  /**
   * Starts node `id`, stopped, again as a new process on an empty data directory at the same
   * address: how a member changes what it keeps (a data voter into a witness, or back), once
   * every other node applied its removal (each then forgets its old data directory's
   * incarnation). `store` 'witness' starts a process that keeps only the log (it lists itself
   * as a witness, which fixes its store at boot); 'data' one that keeps a database (it lists
   * itself as an observer, and takes this cluster's backup if it started from one). It knows
   * every other node; the members change only through AdminService.ChangeMembers. Resolves
   * once it answers Status.
   */
  async startEmpty(id: string, store: 'data' | 'witness'): Promise<LocalNode> {
    const p = this.proc(id);
    if (this.isRunning(id)) throw new Error(`node ${id} is still running; stop it before starting it again empty`);
    fs.rmSync(p.node.dataDir, { recursive: true, force: true });
    fs.mkdirSync(p.node.dataDir, { recursive: true });
    p.node.role = store === 'witness' ? 'witness' : 'observer';
    const knows = this.nodes.filter((n) => n.id !== id).map((n) => n.id);
    p.args = this.joinArgs(p.node, knows, store === 'witness' ? 'witness' : 'observer', store === 'witness' ? null : this.options.fromBackup);
    await this.spawnUntilStatus(id, 'starting again empty');
    return p.node;
  }

  /** The arguments of a node joining a running cluster: it knows `knows` (a witness as a witness, the others as voters), and itself as `selfRole`. */
  private joinArgs(node: LocalNode, knows: readonly string[], selfRole: 'observer' | 'witness', fromBackup: string | null | undefined): string[] {
    const list = [
      ...knows.map((k) => this.nodes.find((n) => n.id === k) ?? fail(k)).map((n) => ({ id: n.id, address: n.address, role: n.role === 'witness' ? 'witness' : 'voter' })),
      { id: node.id, address: node.address, role: selfRole },
    ];
    const args = ['--node-id', node.id, '--listen', node.address, '--data-dir', node.dataDir, '--members', list.map((m) => `${m.id}=${m.address}${m.role === 'voter' ? '' : `:${m.role}`}`).join(',')];
    if (this.options.protocol !== undefined) args.push('--protocol', this.options.protocol);
    if (this.options.tls) {
      const f = this.options.tls.files(node.id);
      args.push('--tls-cert', f.cert, '--tls-key', f.key, '--tls-ca', f.ca);
    }
    if (fromBackup !== undefined && fromBackup !== null) args.push('--from-backup', path.resolve(fromBackup));
    args.push(...(this.options.nodeArgs ?? []));
    return args;
  }

  private async spawnUntilStatus(id: string, what: string): Promise<void> {
    const address = this.address(id);
    this.spawnNode(id);
    await this.waitUntil(this.options.startTimeoutMs ?? START_TIMEOUT_MS_DEFAULT, `node ${id} to answer Status`, async () => {
      if (!this.isRunning(id)) throw new NodeExitedError(`node ${id} exited while ${what}:\n${this.logTail(id, 20)}`);
      await this.client.status(address);
      return true;
    });
  }

  status(id: string): Promise<NodeStatus> {
    return this.client.status(this.address(id));
  }

  /** The arguments node `id` is started with (after the watchdog and the node binary). */
  nodeArgs(id: string): readonly string[] {
    return this.proc(id).args;
  }

  /** The file node `id` writes its stdout/stderr to. */
  logFile(id: string): string {
    return this.proc(id).logFile;
  }

  /** Whether node `id` is stopped with SIGSTOP by pause(). */
  isPaused(id: string): boolean {
    return this.isRunning(id) && this.proc(id).paused;
  }

  /** The last lines the node wrote to stdout/stderr (this and earlier runs). */
  logTail(id: string, lines = 50): string {
    const file = this.proc(id).logFile;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return '';
    }
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, LOG_TAIL_BYTES_MAX);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      const all = buf.toString('utf8').split('\n');
      if (all[all.length - 1] === '') all.pop();
      return all.slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Stops every node (SIGTERM, SIGKILL after STOP_GRACE_MS). Safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  killAllNow(): void {
    for (const p of this.procs.values()) {
      if (p.child && p.child.exitCode === null && p.child.signalCode === null) {
        p.stopping = true;
        this.signal(p, 'SIGKILL');
      }
    }
  }

  private async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id, 'SIGTERM')));
    this.client.close();
    untrack(this);
  }

  private proc(id: string): Proc {
    const p = this.procs.get(id);
    if (!p) throw new Error(`no node '${id}' in this cluster (nodes: ${[...this.procs.keys()].join(', ')})`);
    return p;
  }

  private signal(p: Proc, signal: NodeJS.Signals): void {
    try {
      p.child?.kill(signal);
    } catch {
      // Already gone: its exit event settles `exited`.
    }
  }

  private spawnNode(id: string, extraArgs: readonly string[] = []): void {
    if (this.stopped) throw new Error('this local cluster has been stopped');
    const p = this.proc(id);
    const fd = fs.openSync(p.logFile, 'a');
    let child: ChildProcess;
    try {
      const runtimeFlags = this.options.runtimeFlags ?? (processEnvironment()['QL_NODE_RUNTIME_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
      child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, ...runtimeFlags, '--require', this.watchdog, this.nodeBin, ...p.args, ...extraArgs], {
        stdio: ['ignore', fd, fd],
        // Children inherit this process's environment, plus what the caller adds.
        env: { ...NODE_MALLOC_ENV, ...processEnvironment(), ...this.options.env },
        // Own process group: a terminal's Ctrl-C reaches the parent only, which stops nodes in order.
        detached: true,
      });
    } finally {
      fs.closeSync(fd);
    }
    p.child = child;
    p.paused = false;
    p.stopping = false;
    p.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (!p.stopping) this.options.onNodeExit?.(id, code, signal);
        resolve();
      });
      child.once('error', () => resolve());
    });
  }

  private async statusOrNull(id: string): Promise<NodeStatus | null> {
    try {
      return await this.status(id);
    } catch {
      return null;
    }
  }

  private async allAnswerWithLeader(): Promise<boolean> {
    const dead = this.nodes.find((n) => !this.isRunning(n.id));
    if (dead) {
      const child = this.proc(dead.id).child;
      throw new Error(`node ${dead.id} exited (code ${child?.exitCode ?? 'none'}, signal ${child?.signalCode ?? 'none'}) while the cluster was starting`);
    }
    const statuses = await Promise.all(this.nodes.map((n) => this.statusOrNull(n.id)));
    return statuses.every((s) => s !== null) && statuses.some((s) => s?.role === 'leader');
  }

  private async findLeader(exclude: string[]): Promise<{ id: string; address: string } | null> {
    const candidates = this.nodes.filter((n) => this.isRunning(n.id) && !this.proc(n.id).paused && !exclude.includes(n.id));
    const statuses = await Promise.all(candidates.map((n) => this.statusOrNull(n.id)));
    let best: { id: string; address: string } | null = null;
    let bestTerm = -1n;
    for (const [i, n] of candidates.entries()) {
      const s = statuses[i];
      if (s?.role === 'leader' && s.term > bestTerm) {
        best = { id: n.id, address: n.address };
        bestTerm = s.term;
      }
    }
    return best;
  }

  private async waitUntil(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown = null;
    while (Date.now() < deadline) {
      try {
        if (await check()) return;
      } catch (e: unknown) {
        if (e instanceof NodeExitedError || (e instanceof Error && /exited .* while the cluster was starting/.test(e.message))) throw e;
        lastError = e;
      }
      await sleep(POLL_INTERVAL_MS);
    }
    const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
  }

  private allLogTails(lines: number): string {
    return this.nodes.map((n) => `--- ${n.id} (${this.proc(n.id).logFile}) ---\n${this.logTail(n.id, lines)}`).join('\n');
  }
}
