/**
 * `quorumlite cluster`: a local cluster in the foreground. The data dir remembers its layout
 * (cluster.json), so running the same command again brings the same cluster back with its data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { certFilesOf, makeCerts, readTokenFile } from '@quorumlite/transport';
import { LocalCluster, NodeSupervisor, parseTopology, readClusterManifest, RESTART_POLICY_DEFAULT, TOPOLOGIES, topologyNodes, votersOnly, type ClusterManifest, type LocalClusterTls, type LocalRole, type Topology } from '@quorumlite/cluster';
import { EXIT_OK, UsageError } from '../errors';
import { parseClients, CLIENTS_DEFAULT } from './certs';
import { positiveInt, runCommand } from './common';

interface ClusterOptions {
  nodes?: string;
  topology?: string;
  dataDir: string;
  host: string;
  basePort: string;
  tickMs?: string;
  protocol?: string;
  fresh?: boolean;
  metrics?: boolean;
  dashboard?: boolean;
  tls?: boolean;
  authTokens?: string;
  fromBackup?: string;
  restart: boolean;
}

const NODES_MAX = 9;
/** Second Ctrl-C while stopping: stop waiting for a graceful exit. */
const EXIT_INTERRUPTED = 130;

export interface Layout {
  host: string;
  nodes: { id: string; role: LocalRole }[];
  ports: number[];
}

export function layoutOf(opts: { topology: Topology; host: string; basePort: number }): Layout {
  const nodes = topologyNodes(opts.topology);
  return { host: opts.host, nodes, ports: nodes.map((_, i) => opts.basePort + i) };
}

/** Whether a recorded cluster is the one asked for (same node ids, roles, host and ports). */
export function sameLayout(manifest: ClusterManifest, wanted: Layout): boolean {
  return (
    manifest.host === wanted.host &&
    manifest.nodes.length === wanted.nodes.length &&
    manifest.nodes.every((n, i) => n.id === wanted.nodes[i]!.id && n.role === wanted.nodes[i]!.role && n.port === wanted.ports[i])
  );
}

/** --topology names a shipped shape; --nodes n alone means n data voters; not both. */
export function topologyOf(opts: { nodes?: string; topology?: string }): Topology {
  if (opts.topology !== undefined && opts.nodes !== undefined) throw new UsageError('--nodes and --topology cannot be combined: a topology fixes the node count');
  if (opts.topology !== undefined) {
    try {
      return parseTopology(opts.topology);
    } catch (e: unknown) {
      throw new UsageError(`--topology: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const nodes = positiveInt(opts.nodes ?? '3', '--nodes')!;
  if (nodes > NODES_MAX) throw new UsageError(`--nodes must be at most ${NODES_MAX}`);
  return votersOnly(nodes);
}

function describe(m: ClusterManifest): string {
  return `${m.nodes.length} nodes at ${m.nodes.map((n) => `${m.host}:${n.port}${n.role === 'voter' ? '' : ` (${n.role})`}`).join(', ')}`;
}

/** --fresh wipes only what looks like a cluster data dir, never an arbitrary folder. */
function wipe(dataDir: string): void {
  if (!fs.existsSync(dataDir)) return;
  const entries = fs.readdirSync(dataDir);
  if (entries.length > 0 && !entries.includes('cluster.json')) {
    throw new UsageError(`--fresh: ${dataDir} is not a quorumlite cluster data dir (no cluster.json); refusing to wipe it`);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

function prepareDataDir(dataDir: string, wanted: Layout, fresh: boolean): 'new' | 'restart' {
  if (fresh) {
    wipe(dataDir);
    return 'new';
  }
  const manifest = readClusterManifest(dataDir);
  if (manifest === null) return 'new';
  if (!sameLayout(manifest, wanted)) {
    throw new UsageError(`${dataDir} holds a different cluster (${describe(manifest)}); pass --fresh to wipe it or choose another --data-dir`);
  }
  return 'restart';
}

/**
 * --tls: the cluster's certificates live in <data-dir>/certs, made at its first TLS start (a
 * node and the default clients each) and kept, so a restart and its clients keep them.
 */
function certsFor(dataDir: string, layout: Layout): LocalClusterTls {
  const dir = path.join(dataDir, 'certs');
  const nodes = layout.nodes.map((n) => n.id).filter((id) => !fs.existsSync(certFilesOf(dir, id).cert));
  const clients = parseClients(CLIENTS_DEFAULT).filter((c) => !fs.existsSync(certFilesOf(dir, c.name).cert));
  if (nodes.length > 0 || clients.length > 0) makeCerts(dir, { nodes, clients, hosts: [layout.host] });
  return { files: (name) => certFilesOf(dir, name), client: 'admin' };
}

function printBanner(
  cluster: LocalCluster,
  topology: Topology,
  dataDir: string,
  leader: { id: string; address: string },
  mode: 'new' | 'restart',
  protocol: string,
  restart: boolean,
  tls: LocalClusterTls | undefined,
): void {
  const out = (s = ''): boolean => process.stdout.write(`${s}\n`);
  out(`quorumlite local cluster: ${cluster.nodes.length} nodes (${topology.name}: ${topology.summary}), ${protocol}, ${mode === 'restart' ? 'restarted with its data' : 'new'} in ${dataDir}`);
  for (const n of cluster.nodes) {
    const metrics = n.metricsAddress ? `  metrics http://${n.metricsAddress}/metrics` : '';
    const dashboard = n.dashboardAddress ? `  dashboard http://${n.dashboardAddress}/` : '';
    out(`  ${n.id}  ${n.address}  ${n.role}  pid ${cluster.pid(n.id) ?? '-'}  data ${n.dataDir}  log ${cluster.logFile(n.id)}${metrics}${dashboard}`);
  }
  out(`leader: ${leader.id} at ${leader.address}`);
  const dashboard = cluster.nodes.find((n) => n.dashboardAddress !== undefined);
  if (dashboard) {
    out();
    out(`open the dashboard (every node serves one; it shows the whole cluster): http://${dashboard.dashboardAddress}/`);
  }
  out();
  out('open a shell:');
  const admin = tls?.files(tls.client);
  out(`  ${launcher()} shell --addr ${cluster.addresses().join(',')}${admin ? ` --tls-ca ${admin.ca} --tls-cert ${admin.cert} --tls-key ${admin.key}` : ''}`);
  if (tls) out(`  (TLS: certificates in ${path.dirname(admin!.ca)}; writer.crt and reader.crt are clients of roles write and read)`);
  out();
  out(restart ? 'A node that exits is restarted (--no-restart turns this off). Ctrl-C stops every node.' : 'Ctrl-C stops every node.');
}

const LAUNCHER_RELATIVE = path.join('bin', 'quorumlite');

/**
 * How to run this CLI from the current directory: `quorumlite` is on PATH only after
 * `npm link`, so the banner names the repository's bin/quorumlite (relative when below here).
 */
export function launcher(from: string = __dirname, cwd: string = process.cwd()): string {
  for (let dir = from, i = 0; i < 10; i++) {
    const candidate = path.join(dir, LAUNCHER_RELATIVE);
    if (fs.existsSync(candidate)) {
      const relative = path.relative(cwd, candidate);
      return relative.startsWith('..') || path.isAbsolute(relative) ? candidate : `.${path.sep}${relative}`;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'quorumlite';
}

/** The --from-backup file, resolved: it must exist (each node checks what it holds). */
function backupFile(file: string): string {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new UsageError(`--from-backup: no such file ${resolved}`);
  return resolved;
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
function untilInterrupted(cluster: LocalCluster): Promise<void> {
  return new Promise((resolve) => {
    let interrupted = false;
    const onSignal = (): void => {
      if (interrupted) {
        cluster.killAllNow();
        process.exit(EXIT_INTERRUPTED);
      }
      interrupted = true;
      process.stdout.write('\nstopping the cluster...\n');
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function clusterCommand(): Command {
  return new Command('cluster')
    .description('run a local cluster in the foreground (Ctrl-C stops it; running it again keeps the data)')
    .option('--nodes <n>', 'number of data voters (default 3)')
    .option('--topology <name>', `a shipped topology, as its compose file describes it: ${TOPOLOGIES.map((t) => t.name).join(', ')}`)
    .option('--data-dir <dir>', 'where each node keeps its data (one folder per node)', './data')
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--base-port <port>', 'first node port; nodes take consecutive ports', '7001')
    .option('--tick-ms <ms>', 'consensus tick length passed to every node')
    .option('--protocol <name>', 'consensus protocol passed to every node')
    .option('--fresh', 'wipe the data dir first')
    .option('--tls', 'mutual TLS for client and peer traffic, with certificates made in <data-dir>/certs (a local authority, one per node, clients admin, writer, reader)')
    .option('--auth-tokens <file>', 'a bearer token file (quorumlite tokens create) every node reads: clients then need a token (--token) or, with --tls, a certificate')
    .option('--from-backup <file>', 'start a new cluster whose every data node boots from this backup (quorumlite backup); refused on a data dir that holds a cluster (add --fresh)')
    .option('--metrics', 'give every node a Prometheus metrics server (GET /metrics) on a free port; the banner lists them')
    .option('--dashboard', 'give every node a live dashboard in the browser on a free port; the banner prints its URL')
    .option(
      '--no-restart',
      `do not restart a node that exits (by default it is restarted after ${RESTART_POLICY_DEFAULT.firstDelayMs} ms, doubling up to ${RESTART_POLICY_DEFAULT.delayMaxMs} ms, at most ${RESTART_POLICY_DEFAULT.attemptsMax} times in a row)`,
    )
    .action(async (opts: ClusterOptions) =>
      runCommand(false, async () => {
        const topology = topologyOf(opts);
        const basePort = positiveInt(opts.basePort, '--base-port')!;
        const tickMs = positiveInt(opts.tickMs, '--tick-ms');
        const dataDir = path.resolve(opts.dataDir);
        const layout = layoutOf({ topology, host: opts.host, basePort });
        if (layout.ports[layout.ports.length - 1]! > 65535) throw new UsageError(`--base-port ${basePort} leaves no room for ${layout.nodes.length} ports`);
        const fromBackup = opts.fromBackup === undefined ? undefined : backupFile(opts.fromBackup);
        if (fromBackup !== undefined && opts.fresh && !path.relative(dataDir, fromBackup).startsWith('..')) {
          throw new UsageError(`--from-backup: ${fromBackup} is inside ${dataDir}, which --fresh wipes; move it elsewhere first`);
        }
        const mode = prepareDataDir(dataDir, layout, Boolean(opts.fresh));
        if (fromBackup !== undefined && mode === 'restart') {
          throw new UsageError(`--from-backup: ${dataDir} already holds this cluster, whose data is kept; pass --fresh to wipe it and start from the backup, or choose another --data-dir`);
        }
        const log = (line: string): boolean => process.stderr.write(`${line}\n`);
        const tls = opts.tls ? certsFor(dataDir, layout) : undefined;
        const authTokens = opts.authTokens === undefined ? undefined : tokenFile(opts.authTokens);
        let supervisor: NodeSupervisor | null = null;
        const cluster: LocalCluster = await LocalCluster.start({
          nodes: layout.nodes,
          dataDir,
          host: opts.host,
          ports: layout.ports,
          nodeArgs: [...(tickMs ? ['--tick-ms', String(tickMs)] : []), ...(authTokens !== undefined ? ['--auth-tokens', authTokens] : [])],
          metrics: Boolean(opts.metrics),
          dashboard: Boolean(opts.dashboard),
          ...(tls ? { tls } : {}),
          ...(opts.protocol ? { protocol: opts.protocol } : {}),
          ...(fromBackup !== undefined ? { fromBackup } : {}),
          onNodeExit: (id, code, signal) => {
            log(`node ${id} exited (${signal ?? `code ${code}`}); last log lines (${cluster.logFile(id)}):\n${cluster.logTail(id, 10)}`);
            supervisor?.nodeExited(id);
          },
        });
        if (opts.restart) supervisor = new NodeSupervisor(cluster, log);
        const interrupted = untilInterrupted(cluster);
        const leader = await cluster.waitForLeader();
        printBanner(cluster, topology, dataDir, leader, mode, opts.protocol ?? 'raft', opts.restart, tls);
        if (authTokens !== undefined) process.stdout.write(`  (bearer tokens from ${authTokens}: add --token <token> to the commands above; quorumlite tokens create --file ${authTokens} makes one)\n`);
        await interrupted;
        supervisor?.stop();
        await cluster.stop();
        process.stdout.write('stopped\n');
        return EXIT_OK;
      }),
    );
}

/** The token file, checked here so a mistake is one line instead of every node failing to start. */
function tokenFile(file: string): string {
  const abs = path.resolve(file);
  try {
    readTokenFile(abs);
  } catch (e: unknown) {
    throw new UsageError(`--auth-tokens: ${e instanceof Error ? e.message : String(e)}`);
  }
  return abs;
}
