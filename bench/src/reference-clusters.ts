/**
 * The peers' 3-member clusters on loopback, started from their Debian packages with the
 * configurations reference.ts lays out (their default durable settings): ZooKeeper 3.8 as
 * three JVMs running QuorumPeerMain, etcd 3.4 as three etcd processes. Each cluster says which
 * member leads, kills and restarts one (the failover trials), and stops every process it
 * started — on any exit of this process too (the cluster library's reaper).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePorts, track, untrack, type Reapable } from '@quorumlite/cluster';
import { etcdArgs, planReferencePorts, REFERENCE_PATHS, REFERENCE_PORTS_NEEDED, zookeeperFiles, type ReferenceSystem } from './reference';

/** How long a cluster may take to elect its first leader (three JVMs start slowly on 2 cores). */
const START_TIMEOUT_MS = 90_000;
const POLL_MS = 200;
const PROBE_TIMEOUT_MS = 2_000;
const STOP_GRACE_MS = 5_000;

export interface ReferenceCluster {
  readonly system: ReferenceSystem;
  /** Client addresses (host:port), one per member, in member order. */
  readonly addresses: string[];
  /** Each running member's pid, labelled for the CPU columns. */
  pids(): Record<string, number>;
  /** The index of the member that leads now, waiting (bounded) for one. */
  leader(timeoutMs?: number): Promise<number>;
  /** SIGKILL of one member; resolves once it has exited. */
  kill(member: number): Promise<void>;
  /** Starts a killed member again on its data; resolves once it answers. */
  restart(member: number): Promise<void>;
  stop(): Promise<void>;
}

interface MemberProcess {
  label: string;
  command: string;
  args: string[];
  logFile: string;
  child: ChildProcess | null;
  exited: Promise<void>;
}

export async function startReferenceCluster(system: ReferenceSystem, baseDir: string, log: (line: string) => void): Promise<ReferenceCluster> {
  fs.mkdirSync(baseDir, { recursive: true });
  const plan = planReferencePorts(await freePorts(REFERENCE_PORTS_NEEDED));
  const cluster = system === 'zookeeper' ? zookeeperCluster(baseDir, plan.zookeeper) : etcdCluster(baseDir, plan.etcd);
  log(`${system} cluster: starting 3 members in ${baseDir}`);
  try {
    cluster.startAll();
    const leader = await cluster.leader(START_TIMEOUT_MS);
    log(`${system} cluster: member ${leader + 1} leads; clients at ${cluster.addresses.join(', ')}`);
  } catch (e: unknown) {
    const tails = cluster.members.map((m) => `--- ${m.label} (${m.logFile}):\n${tail(m.logFile, 15)}`).join('\n');
    await cluster.stop();
    throw new Error(`${system} cluster did not start: ${e instanceof Error ? e.message : String(e)}\n${tails}`);
  }
  return cluster;
}

class ProcessCluster implements ReferenceCluster, Reapable {
  constructor(
    readonly system: ReferenceSystem,
    readonly addresses: string[],
    readonly members: MemberProcess[],
    /** The role one member reports, or null while it does not answer. */
    private readonly probe: (member: number) => Promise<'leader' | 'follower' | null>,
  ) {}

  startAll(): void {
    track(this);
    for (let i = 0; i < this.members.length; i++) this.spawn(i);
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.members) if (m.child?.pid !== undefined && m.child.exitCode === null && m.child.signalCode === null) out[m.label] = m.child.pid;
    return out;
  }

  async leader(timeoutMs = START_TIMEOUT_MS): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.members.length; i++) {
        if (!this.running(i)) continue;
        if ((await this.probe(i)) === 'leader') return i;
      }
      const dead = this.members.filter((m, i) => m.child !== null && !this.running(i) && !m.child.killed);
      if (dead.length === this.members.length) throw new Error('every member exited');
      if (Date.now() > deadline) throw new Error(`no member reported itself leader within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  async kill(member: number): Promise<void> {
    const m = this.members[member]!;
    if (!this.running(member)) return;
    m.child!.kill('SIGKILL');
    await m.exited;
  }

  async restart(member: number): Promise<void> {
    if (this.running(member)) throw new Error(`${this.members[member]!.label} is still running`);
    this.spawn(member);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while ((await this.probe(member)) === null) {
      if (!this.running(member)) throw new Error(`${this.members[member]!.label} exited on restart:\n${tail(this.members[member]!.logFile, 15)}`);
      if (Date.now() > deadline) throw new Error(`${this.members[member]!.label} did not answer within ${START_TIMEOUT_MS} ms of a restart`);
      await sleep(POLL_MS);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m, i) => {
        if (!this.running(i)) return;
        m.child!.kill('SIGTERM');
        const exited = await Promise.race([m.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
        if (!exited) {
          m.child!.kill('SIGKILL');
          await m.exited;
        }
      }),
    );
    untrack(this);
  }

  killAllNow(): void {
    for (const m of this.members) if (m.child && m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
  }

  private running(member: number): boolean {
    const c = this.members[member]!.child;
    return c !== null && c.exitCode === null && c.signalCode === null;
  }

  private spawn(member: number): void {
    const m = this.members[member]!;
    const out = fs.openSync(m.logFile, 'a');
    const child = spawn(m.command, m.args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    m.child = child;
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
  }
}

function zookeeperCluster(baseDir: string, plan: ReturnType<typeof planReferencePorts>['zookeeper']): ProcessCluster {
  const members = zookeeperFiles(baseDir, plan).map(({ member, dataDir, files }) => {
    fs.mkdirSync(dataDir, { recursive: true });
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(file, text);
    // What Debian's zkServer.sh runs, in the foreground, with the package's own classpath.
    const classpath = ['/etc/zookeeper/conf', path.join('/usr/share/java', 'zookeeper.jar')].join(':');
    return processOf(`zookeeper-${member.id}`, '/usr/bin/java', ['-cp', classpath, `-Dzookeeper.log.dir=${dataDir}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(dataDir, 'zoo.cfg')], path.join(dataDir, 'server.log'));
  });
  const ports = plan.map((m) => m.clientPort);
  return new ProcessCluster('zookeeper', ports.map((p) => `127.0.0.1:${p}`), members, async (i) => {
    // `srvr` is the one four-letter command ZooKeeper 3.8 allows by default.
    const text = await fourLetter(ports[i]!, 'srvr');
    const mode = /^Mode: (\w+)/m.exec(text ?? '')?.[1];
    return mode === 'leader' ? 'leader' : mode === 'follower' ? 'follower' : null;
  });
}

function etcdCluster(baseDir: string, plan: ReturnType<typeof planReferencePorts>['etcd']): ProcessCluster {
  const token = `ql-bench-${process.pid}-${Date.now().toString(36)}`;
  const members = plan.map((m) => processOf(m.name, REFERENCE_PATHS.etcd.path, etcdArgs(baseDir, m, plan, token), path.join(baseDir, `${m.name}.log`)));
  const ports = plan.map((m) => m.clientPort);
  return new ProcessCluster('etcd', ports.map((p) => `127.0.0.1:${p}`), members, async (i) => {
    // The v3 gateway's maintenance status: the member's own id beside the leader's.
    const body = await httpPost(ports[i]!, '/v3/maintenance/status', '{}');
    if (body === null) return null;
    try {
      const s = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
      if (!s.header?.member_id || !s.leader || s.leader === '0') return null;
      return s.header.member_id === s.leader ? 'leader' : 'follower';
    } catch {
      return null;
    }
  });
}

function processOf(label: string, command: string, args: string[], logFile: string): MemberProcess {
  return { label, command, args, logFile, child: null, exited: Promise.resolve() };
}

/** One ZooKeeper four-letter command's answer, or null when the member does not answer. */
function fourLetter(port: number, command: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.end(command));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null);
    });
  });
}

/** A small JSON POST on loopback; null when the member does not answer or fails. */
async function httpPost(port: number, urlPath: string, body: string): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
