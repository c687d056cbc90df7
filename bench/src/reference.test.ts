import { describe, expect, it } from 'vitest';
import { BenchArgsError } from './argv';
import {
  etcdArgs,
  missingReferences,
  parseReference,
  planReferencePorts,
  REFERENCE_INSTALL_COMMAND,
  REFERENCE_PORTS_NEEDED,
  renderReferenceMarkdown,
  zookeeperConfig,
  zookeeperFiles,
} from './reference';

const FREE = Array.from({ length: REFERENCE_PORTS_NEEDED }, (_, i) => 41000 + i * 7);

describe('--reference', () => {
  it('takes the systems in the order given, and none for neither', () => {
    expect(parseReference('etcd, zookeeper')).toEqual(['etcd', 'zookeeper']);
    expect(parseReference('none')).toEqual([]);
  });

  it('refuses an unknown system, naming the known ones, and a system listed twice', () => {
    expect(() => parseReference('consul')).toThrow(new BenchArgsError("--reference: unknown system 'consul' (known: zookeeper, etcd, none)"));
    expect(() => parseReference('etcd,etcd')).toThrow(/'etcd' is listed twice/);
    expect(() => parseReference(',')).toThrow(/give at least one/);
  });
});

describe('a missing peer', () => {
  it('is named with its Debian package and the command that installs it', () => {
    const message = missingReferences(['zookeeper', 'etcd'], (file) => file === '/usr/bin/etcd');
    expect(message).toContain('zookeeper (Debian package zookeeper: /usr/share/zookeeper not found)');
    expect(message).not.toContain('etcd-server:');
    expect(message).toContain(`Install with: ${REFERENCE_INSTALL_COMMAND}`);
    expect(REFERENCE_INSTALL_COMMAND).toBe('sudo apt-get install zookeeper etcd-server');
  });

  it('is nothing to say when every asked-for system is installed', () => {
    expect(missingReferences(['zookeeper', 'etcd'], () => true)).toBeNull();
    expect(missingReferences([], () => false)).toBeNull();
  });
});

describe('the ports of the two clusters', () => {
  it('gives every member of both clusters its own ports, none shared', () => {
    const plan = planReferencePorts(FREE);
    const used = [...plan.zookeeper.flatMap((m) => [m.clientPort, m.quorumPort, m.electionPort]), ...plan.etcd.flatMap((m) => [m.clientPort, m.peerPort])];
    expect(used).toHaveLength(REFERENCE_PORTS_NEEDED);
    expect(new Set(used).size).toBe(REFERENCE_PORTS_NEEDED);
    expect(plan.zookeeper.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(plan.etcd.map((m) => m.name)).toEqual(['etcd1', 'etcd2', 'etcd3']);
  });

  it('refuses too few or repeated ports', () => {
    expect(() => planReferencePorts(FREE.slice(1))).toThrow(/need 15 free ports/);
    expect(() => planReferencePorts([...FREE.slice(1), FREE[1]!])).toThrow(/not distinct/);
  });
});

describe('ZooKeeper configuration', () => {
  const plan = planReferencePorts(FREE);

  it('keeps the durable defaults (forceSync is not turned off) and binds only loopback ports of the plan', () => {
    const cfg = zookeeperConfig('/tmp/x/zk2', plan.zookeeper[1]!, plan.zookeeper);
    const lines = cfg.trim().split('\n');
    expect(lines).toContain('tickTime=2000');
    expect(lines).toContain(`clientPort=${plan.zookeeper[1]!.clientPort}`);
    expect(lines).toContain('clientPortAddress=127.0.0.1');
    expect(lines).toContain('dataDir=/tmp/x/zk2');
    // The AdminServer would bind 8080 on every member: three members on one machine collide.
    expect(lines).toContain('admin.enableServer=false');
    expect(cfg).not.toMatch(/forceSync/);
    const [one, two, three] = plan.zookeeper;
    expect(lines.filter((l) => l.startsWith('server.'))).toEqual([
      `server.1=127.0.0.1:${one!.quorumPort}:${one!.electionPort}`,
      `server.2=127.0.0.1:${two!.quorumPort}:${two!.electionPort}`,
      `server.3=127.0.0.1:${three!.quorumPort}:${three!.electionPort}`,
    ]);
  });

  it('gives each member its own data dir with its myid', () => {
    const files = zookeeperFiles('/tmp/x', plan.zookeeper);
    expect(files.map((f) => f.dataDir)).toEqual(['/tmp/x/zk1', '/tmp/x/zk2', '/tmp/x/zk3']);
    expect(files[2]!.files['/tmp/x/zk3/myid']).toBe('3\n');
    expect(files[2]!.files['/tmp/x/zk3/zoo.cfg']).toContain('dataDir=/tmp/x/zk3');
  });
});

describe('etcd command lines', () => {
  it('form one new 3-member cluster on loopback, everything else at the defaults', () => {
    const plan = planReferencePorts(FREE);
    const args = etcdArgs('/tmp/e', plan.etcd[0]!, plan.etcd, 'tok');
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(flag('--name')).toBe('etcd1');
    expect(flag('--data-dir')).toBe('/tmp/e/etcd1');
    expect(flag('--listen-client-urls')).toBe(`http://127.0.0.1:${plan.etcd[0]!.clientPort}`);
    expect(flag('--initial-cluster')).toBe(plan.etcd.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(','));
    expect(flag('--initial-cluster-state')).toBe('new');
    // Durability and timing are etcd's own defaults: nothing here changes them.
    expect(args.some((a) => /heartbeat|election|unsafe|snapshot-count/.test(a))).toBe(false);
  });
});

describe('the side-by-side report rows', () => {
  it('puts each peer beside the first system per scenario × concurrency, with the first system ÷ each peer', () => {
    const md = renderReferenceMarkdown(
      [
        { system: 'zookeeper', scenario: 'write', concurrency: 64, opsPerSec: 8000, p99Ms: 17.1 },
        { system: 'quorumlite', scenario: 'write', concurrency: 64, opsPerSec: 16000, p99Ms: 20 },
        { system: 'etcd', scenario: 'write', concurrency: 64, opsPerSec: 4000, p99Ms: 37.6 },
        { system: 'quorumlite', scenario: 'read-local', concurrency: 64, opsPerSec: 40000, p99Ms: 3 },
        { system: 'quorumlite', scenario: 'write', concurrency: 1, opsPerSec: 500, p99Ms: 8 },
      ],
      ['quorumlite', 'zookeeper', 'etcd'],
    );
    expect(md[0]).toBe('| scenario | C | quorumlite ops/s | quorumlite p99 ms | zookeeper ops/s | zookeeper p99 ms | etcd ops/s | etcd p99 ms | quorumlite ÷ zookeeper | quorumlite ÷ etcd |');
    expect(md.slice(2)).toEqual([
      '| write | 1 | 500 | 8.0 | — | — | — | — | — | — |',
      '| write | 64 | 16,000 | 20.0 | 8,000 | 17.1 | 4,000 | 37.6 | 2.00 | 4.00 |',
      '| read-local | 64 | 40,000 | 3.0 | — | — | — | — | — | — |',
    ]);
  });
});
