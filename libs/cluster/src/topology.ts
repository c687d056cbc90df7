/**
 * The cluster shapes quorumlite ships, named once: `quorumlite cluster --topology` runs one as
 * local processes, and the compose files are rendered from the same list (a test checks the
 * committed files match), so what compose describes is what the tests run.
 *
 * Members are numbered data voters first, then witnesses, then observers: in `2v1w` n1 and n2
 * keep the database and vote, n3 votes and keeps only log records.
 */
import type { LocalRole } from './manifest';

export interface Topology {
  /** `<voters>v[<witnesses>w][<observers>o]`, e.g. '2v1w'. */
  readonly name: string;
  readonly summary: string;
  readonly voters: number;
  readonly witnesses: number;
  readonly observers: number;
}

const shape = (voters: number, witnesses: number, observers: number, summary: string): Topology => ({
  name: `${voters}v${witnesses > 0 ? `${witnesses}w` : ''}${observers > 0 ? `${observers}o` : ''}`,
  summary,
  voters,
  witnesses,
  observers,
});

/** Every shipped topology; the first is the default. */
export const TOPOLOGIES: readonly Topology[] = [
  shape(3, 0, 0, '3 data voters: any one may fail'),
  shape(2, 1, 0, '2 data voters + 1 witness: any one may fail, with two copies of the database'),
  shape(3, 0, 2, '3 data voters + 2 observers: any one voter may fail; observers serve reads'),
  shape(5, 0, 0, '5 data voters: any two may fail'),
  shape(3, 2, 0, '3 data voters + 2 witnesses: any two may fail, with three copies of the database'),
];

export const DEFAULT_TOPOLOGY = TOPOLOGIES[0]!;

/** The topology a name stands for; an unknown name is refused with the known ones. */
export function parseTopology(name: string): Topology {
  const found = TOPOLOGIES.find((t) => t.name === name);
  if (found === undefined) {
    throw new RangeError(`unknown topology '${name}'; known: ${TOPOLOGIES.map((t) => `${t.name} (${t.summary})`).join(', ')}`);
  }
  return found;
}

/** n voters of the default kind: '3v', '5v', … (any count, for --nodes). */
export function votersOnly(voters: number): Topology {
  return TOPOLOGIES.find((t) => t.voters === voters && t.witnesses === 0 && t.observers === 0) ?? shape(voters, 0, 0, `${voters} data voters`);
}

export function topologySize(t: Topology): number {
  return t.voters + t.witnesses + t.observers;
}

/** n1… in the topology's order: data voters, witnesses, observers. */
export function topologyNodes(t: Topology): { id: string; role: LocalRole }[] {
  const roles: LocalRole[] = [
    ...Array.from({ length: t.voters }, (): LocalRole => 'voter'),
    ...Array.from({ length: t.witnesses }, (): LocalRole => 'witness'),
    ...Array.from({ length: t.observers }, (): LocalRole => 'observer'),
  ];
  return roles.map((role, i) => ({ id: `n${i + 1}`, role }));
}

/** Where a topology's compose file lives, relative to the repository root. */
export function composeFileOf(t: Topology): string {
  return t === DEFAULT_TOPOLOGY || t.name === DEFAULT_TOPOLOGY.name ? 'docker-compose.yml' : `deploy/compose/${t.name}.yml`;
}

const PORT_BASE = 7001;

/**
 * The compose file for a topology: one service per member, the protocol picked by
 * QUORUMLITE_PROTOCOL (raft unless set), ports published on 127.0.0.1 unless
 * QUORUMLITE_PUBLISH_HOST says otherwise, one named volume per member.
 */
export function renderCompose(t: Topology): string {
  const nodes = topologyNodes(t);
  const file = composeFileOf(t);
  const buildContext = file.includes('/') ? file.split('/').slice(0, -1).map(() => '..').join('/') : '.';
  const members = nodes.map((n) => `${n.id}=${n.id}:7001:${n.role}`).join(',');
  const flag = file === 'docker-compose.yml' ? '' : ` -f ${file}`;
  const lines = [
    `# ${t.summary} (topology ${t.name}). From the repository root:`,
    `#   docker-compose${flag} up --build`,
    '#   ./bin/quorumlite shell --addr 127.0.0.1:7001',
    '# QUORUMLITE_PROTOCOL=zab (or multipaxos) picks the consensus protocol; raft by default.',
    '# Ports are published on 127.0.0.1 only; QUORUMLITE_PUBLISH_HOST=0.0.0.0 publishes them on',
    '# every interface (the nodes have no authentication: mind who can reach them).',
    `# The same topology runs as local processes with \`npm run cluster -- --topology ${t.name}\` (no Docker needed).`,
    '# Generated from libs/cluster/src/topology.ts; a test keeps the two in step.',
    'version: "3.8"',
    '',
    'x-node: &node',
    `  build: ${buildContext}`,
    '  image: quorumlite:dev',
    '  restart: unless-stopped',
    '  environment: &env',
    '    QUORUMLITE_PROTOCOL: ${QUORUMLITE_PROTOCOL:-raft}',
    '    QUORUMLITE_CLUSTER: quorumlite',
    '    QUORUMLITE_LISTEN: 0.0.0.0:7001',
    '    QUORUMLITE_DATA_DIR: /data',
    `    QUORUMLITE_MEMBERS: ${members}`,
    '',
    'services:',
  ];
  nodes.forEach((n, i) => {
    lines.push(
      `  ${n.id}:`,
      '    <<: *node',
      `    hostname: ${n.id}`,
      '    environment:',
      '      <<: *env',
      `      QUORUMLITE_NODE_ID: ${n.id}`,
      `      QUORUMLITE_ADVERTISE: ${n.id}:7001`,
      `    ports: ["\${QUORUMLITE_PUBLISH_HOST:-127.0.0.1}:${PORT_BASE + i}:7001"]`,
      `    volumes: ["${n.id}-data:/data"]`,
    );
  });
  lines.push('', 'volumes:', ...nodes.map((n) => `  ${n.id}-data:`));
  return `${lines.join('\n')}\n`;
}
