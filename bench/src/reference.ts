/**
 * The pure parts of measuring the peers in the same run (issue 18): which systems are asked
 * for, whether their Debian packages are installed (the bench says how to install them and
 * never installs), each 3-member cluster's configuration on loopback ports with its default
 * durable settings, and the report rows that put them beside quorumlite. Starting the
 * clusters is reference-clusters.ts; their clients' operations, reference-targets.ts.
 */
import * as path from 'node:path';
import { BenchArgsError, parseList } from './argv';

export const REFERENCE_SYSTEMS = ['zookeeper', 'etcd'] as const;
export type ReferenceSystem = (typeof REFERENCE_SYSTEMS)[number];

/** The one command that installs both peers on Debian; the bench prints it and never runs it. */
export const REFERENCE_INSTALL_COMMAND = 'sudo apt-get install zookeeper etcd-server';

/** Where each Debian package puts what the bench runs. */
export const REFERENCE_PATHS: Readonly<Record<ReferenceSystem, { path: string; pkg: string }>> = {
  zookeeper: { path: '/usr/share/zookeeper', pkg: 'zookeeper' },
  etcd: { path: '/usr/bin/etcd', pkg: 'etcd-server' },
};

/** 'zookeeper, etcd' → ['zookeeper', 'etcd']; 'none' → []. */
export function parseReference(text: string): ReferenceSystem[] {
  if (text.trim() === 'none') return [];
  const names = parseList(text);
  if (names.length === 0) throw new BenchArgsError(`--reference: give at least one (known: ${REFERENCE_SYSTEMS.join(', ')}, none)`);
  const seen = new Set<ReferenceSystem>();
  for (const name of names) {
    if (!(REFERENCE_SYSTEMS as readonly string[]).includes(name)) throw new BenchArgsError(`--reference: unknown system '${name}' (known: ${REFERENCE_SYSTEMS.join(', ')}, none)`);
    if (seen.has(name as ReferenceSystem)) throw new BenchArgsError(`--reference: '${name}' is listed twice`);
    seen.add(name as ReferenceSystem);
  }
  return [...seen];
}

/**
 * null when every asked-for system is installed; else one sentence naming what is missing
 * and the command that installs it. `exists` is injected so tests need no packages.
 */
export function missingReferences(systems: readonly ReferenceSystem[], exists: (file: string) => boolean): string | null {
  const missing = systems.filter((s) => !exists(REFERENCE_PATHS[s].path));
  if (missing.length === 0) return null;
  const what = missing.map((s) => `${s} (Debian package ${REFERENCE_PATHS[s].pkg}: ${REFERENCE_PATHS[s].path} not found)`).join(', ');
  return `--reference: not installed: ${what}. Install with: ${REFERENCE_INSTALL_COMMAND} — the bench never installs anything itself`;
}

export interface ZookeeperMember {
  id: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
}

export interface ReferencePortPlan {
  zookeeper: ZookeeperMember[];
  etcd: EtcdMember[];
}

/** Ports each plan needs: ZooKeeper 3 per member (client, quorum, election), etcd 2 (client, peer). */
export const REFERENCE_PORTS_NEEDED = 3 * 3 + 3 * 2;

/**
 * Lays out free ports (found by the caller, all distinct) over the two 3-member clusters, so
 * neither collides with the other, with quorumlite's nodes, or with fixed defaults (2181, 2379).
 */
export function planReferencePorts(free: readonly number[]): ReferencePortPlan {
  if (free.length < REFERENCE_PORTS_NEEDED) throw new Error(`need ${REFERENCE_PORTS_NEEDED} free ports, got ${free.length}`);
  if (new Set(free).size !== free.length) throw new Error('the free ports given are not distinct');
  const p = (i: number): number => free[i]!;
  return {
    zookeeper: [0, 1, 2].map((i) => ({ id: i + 1, clientPort: p(3 * i), quorumPort: p(3 * i + 1), electionPort: p(3 * i + 2) })),
    etcd: [0, 1, 2].map((i) => ({ name: `etcd${i + 1}`, clientPort: p(9 + 2 * i), peerPort: p(9 + 2 * i + 1) })),
  };
}

/**
 * One member's zoo.cfg. ZooKeeper's defaults are kept (tickTime 2000, forceSync on: every
 * transaction fsync'd before it is acknowledged), so it is measured as shipped; only what
 * would collide is set: the ports, the data dir, and the AdminServer (it binds 8080 by default).
 */
export function zookeeperConfig(dataDir: string, self: ZookeeperMember, members: readonly ZookeeperMember[]): string {
  return [
    'tickTime=2000',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${self.clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    ...members.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`),
    '',
  ].join('\n');
}

/** What each ZooKeeper member's data dir holds: its myid file beside zoo.cfg. */
export function zookeeperFiles(baseDir: string, members: readonly ZookeeperMember[]): Array<{ member: ZookeeperMember; dataDir: string; files: Record<string, string> }> {
  return members.map((member) => {
    const dataDir = path.join(baseDir, `zk${member.id}`);
    return { member, dataDir, files: { [path.join(dataDir, 'zoo.cfg')]: zookeeperConfig(dataDir, member, members), [path.join(dataDir, 'myid')]: `${member.id}\n` } };
  });
}

/**
 * One etcd member's command line: loopback URLs and a fresh cluster; everything else at
 * etcd's defaults (heartbeat 100 ms, election 1000 ms, fsync of the WAL on every commit).
 */
export function etcdArgs(baseDir: string, self: EtcdMember, members: readonly EtcdMember[], token: string): string[] {
  const peer = (m: EtcdMember): string => `http://127.0.0.1:${m.peerPort}`;
  const client = `http://127.0.0.1:${self.clientPort}`;
  return [
    '--name', self.name,
    '--data-dir', path.join(baseDir, self.name),
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer(self),
    '--initial-advertise-peer-urls', peer(self),
    '--initial-cluster', members.map((m) => `${m.name}=${peer(m)}`).join(','),
    '--initial-cluster-token', token,
    '--initial-cluster-state', 'new',
  ];
}

/**
 * The scenarios every system runs, and the quorumlite scenario each stands beside. ZooKeeper's
 * getData alone may answer from a lagging member; sync first makes it linearizable. Note that
 * node-zookeeper-client 1.1.3 has no sync(): its jute table knows op code 9 but has no
 * SyncRequest record, so the live path must send that request itself.
 */
export const REFERENCE_SCENARIOS = {
  write: { quorumlite: 'insert', zookeeper: 'setData', etcd: 'put' },
  'read-linearizable': { quorumlite: 'select', zookeeper: 'sync + getData', etcd: 'range' },
  'read-local': { quorumlite: 'select-stale', zookeeper: 'getData', etcd: 'serializable range' },
} as const;
export type ReferenceScenario = keyof typeof REFERENCE_SCENARIOS;

export interface SideBySideInput {
  system: string;
  scenario: ReferenceScenario;
  concurrency: number;
  opsPerSec: number;
  p99Ms: number;
}

/**
 * Markdown: one line per scenario × concurrency, each system's ops/s and p99, and the first
 * system's ops/s ÷ each peer's (the ratio issue 18's targets are stated in). The first system
 * is the one measured against the others: a quorumlite protocol.
 */
export function renderReferenceMarkdown(rows: readonly SideBySideInput[], systems: readonly string[]): string[] {
  const [ours, ...peers] = systems;
  if (ours === undefined) return [];
  const header = `| scenario | C | ${systems.map((s) => `${s} ops/s | ${s} p99 ms`).join(' | ')} | ${peers.map((s) => `${ours} ÷ ${s}`).join(' | ')} |`;
  const rule = `|---|---:|${systems.map(() => '---:|---:|').join('')}${peers.map(() => '---:|').join('')}`;
  const keys = [...new Map(rows.map((r) => [`${r.scenario}@${r.concurrency}`, { scenario: r.scenario, concurrency: r.concurrency }])).values()];
  const order = Object.keys(REFERENCE_SCENARIOS);
  keys.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || a.concurrency - b.concurrency);
  const num = (n: number | undefined, digits: number): string => (n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const body = keys.map(({ scenario, concurrency }) => {
    const find = (system: string): SideBySideInput | undefined => rows.find((r) => r.system === system && r.scenario === scenario && r.concurrency === concurrency);
    const mine = find(ours);
    const cells = systems.map((s) => `${num(find(s)?.opsPerSec, 0)} | ${num(find(s)?.p99Ms, 1)}`);
    const ratios = peers.map((s) => {
      const peer = find(s);
      return num(mine && peer && peer.opsPerSec > 0 ? mine.opsPerSec / peer.opsPerSec : undefined, 2);
    });
    return `| ${scenario} | ${concurrency} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`;
  });
  return [header, rule, ...body];
}
