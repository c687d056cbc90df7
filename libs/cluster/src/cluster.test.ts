/**
 * LocalCluster's process management against a stand-in node program (a few lines of grpc-js
 * answering Status), so spawning, readiness, kill/restart, pause and cleanup are checked
 * without the real node. The real node is exercised in cluster.e2e.test.ts.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, NODE_RUNTIME_FLAGS, findNodeBin } from './cluster';
import { readClusterManifest } from './manifest';
import { freePorts } from './ports';
import { watchdogSource } from './reaper';

const REPO = path.resolve(__dirname, '../../..');

/** Answers Status; the first member leads. FAKE_FAIL=1 makes it exit at once, like a bad config. */
const FAKE_NODE = `'use strict';
const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))});
const loader = require(${JSON.stringify(require.resolve('@grpc/proto-loader'))});
const flag = (name) => { const i = process.argv.indexOf(name); return i < 0 ? '' : process.argv[i + 1]; };
if (process.env.FAKE_FAIL === '1') { console.error('{"level":"error","msg":"bad config: members must list this node"}'); process.exit(2); }
const id = flag('--node-id');
const listen = flag('--listen');
const members = flag('--members').split(',').map((m) => { const [mid, rest] = m.split('='); return { id: mid, address: rest }; });
const def = loader.loadSync('quorumlite/v1/sql.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [${JSON.stringify(path.join(REPO, 'proto'))}] });
const svc = grpc.loadPackageDefinition(def).quorumlite.v1.SqlService;
const server = new grpc.Server();
const leader = members[0];
server.addService(svc.service, {
  Status: (_call, cb) => cb(null, { node_id: id, role: leader.id === id ? 'leader' : 'follower', leader_id: leader.id, leader_address: leader.address, term: '1' }),
  Execute: (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'fake' }),
  Query: (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'fake' }),
});
server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(JSON.stringify({ level: 'error', msg: err.message })); process.exit(1); }
  console.log(JSON.stringify({ level: 'info', msg: 'serving', id, listen, dataDir: flag('--data-dir') }));
});
process.on('SIGTERM', () => { console.log('{"level":"info","msg":"stopping"}'); server.tryShutdown(() => process.exit(0)); });
`;

let tmp: string;
let fakeBin: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cluster-unit-'));
  fakeBin = path.join(tmp, 'fake-node.cjs');
  fs.writeFileSync(fakeBin, FAKE_NODE);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('freePorts', () => {
  it('returns distinct ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

describe('findNodeBin', () => {
  it('names the build step when dist is missing', () => {
    expect(() => findNodeBin(tmp)).toThrow('dist/apps/node/main.js not found: run `npm run build` first');
  });
});

describe('LocalCluster (stand-in node)', () => {
  it('starts nodes, kills, restarts, pauses and stops them', async () => {
    const dataDir = path.join(tmp, 'c1');
    const cluster = await LocalCluster.start({ nodes: [{ id: 'a' }, { id: 'b' }, { id: 'w', role: 'witness' }], dataDir, nodeBin: fakeBin, nodeArgs: ['--tick-ms', '10'] });
    try {
      expect(cluster.nodes.map((n) => [n.id, n.role])).toEqual([['a', 'voter'], ['b', 'voter'], ['w', 'witness']]);
      expect(cluster.addresses()).toHaveLength(3);
      expect(cluster.nodes[1]!.dataDir).toBe(path.join(dataDir, 'b'));
      expect(await cluster.waitForLeader()).toEqual({ id: 'a', address: cluster.address('a') });
      expect((await cluster.status('b')).leaderId).toBe('a');
      expect(cluster.logTail('a')).toContain('"msg":"serving"');

      const manifest = readClusterManifest(dataDir);
      expect(manifest?.nodes.map((n) => `${n.id}:${n.role}:${n.port}`)).toEqual(cluster.nodes.map((n) => `${n.id}:${n.role}:${n.address.split(':')[1]}`));

      const pid = cluster.pid('a')!;
      await cluster.kill('a');
      expect(cluster.isRunning('a')).toBe(false);
      expect(cluster.pid('a')).toBeNull();
      expect(alive(pid)).toBe(false);
      await expect(cluster.status('a')).rejects.toMatchObject({ code: 'unavailable' });

      await cluster.restart('a');
      expect(cluster.isRunning('a')).toBe(true);
      await expect(cluster.restart('a')).rejects.toThrow(/still running/);

      cluster.pause('b');
      cluster.resume('b');
      expect((await cluster.status('b')).nodeId).toBe('b');

      cluster.pause('b');
      await cluster.kill('b', 'SIGTERM');
      expect(cluster.isRunning('b')).toBe(false);
      expect(cluster.logTail('b', 1)).toContain('stopping');
    } finally {
      await cluster.stop();
    }
    for (const n of cluster.nodes) expect(cluster.isRunning(n.id)).toBe(false);
    await cluster.stop();
  });

  it('gives each node its peers as peerAddress says, and its own entry as its real address', async () => {
    const dataDir = path.join(tmp, 'c4');
    const seen: string[] = [];
    const cluster = await LocalCluster.start({
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'o', role: 'observer' }],
      dataDir,
      nodeBin: fakeBin,
      peerAddress: (from, to) => {
        seen.push(`${from}->${to}`);
        return `127.0.0.1:${to === 'a' ? 1 : to === 'b' ? 2 : 3}${from === 'a' ? '1' : from === 'b' ? '2' : '3'}`;
      },
    });
    try {
      const members = (id: string): string => {
        const args = cluster.nodeArgs(id);
        return args[args.indexOf('--members') + 1]!;
      };
      expect(members('a')).toBe(`a=${cluster.address('a')},b=127.0.0.1:21,o=127.0.0.1:31:observer`);
      expect(members('b')).toBe(`a=127.0.0.1:12,b=${cluster.address('b')},o=127.0.0.1:32:observer`);
      expect(members('o')).toBe(`a=127.0.0.1:13,b=127.0.0.1:23,o=${cluster.address('o')}:observer`);
      expect(seen.sort()).toEqual(['a->b', 'a->o', 'b->a', 'b->o', 'o->a', 'o->b']);
      // Clients keep the real addresses.
      expect(cluster.addresses()).toEqual(['a', 'b', 'o'].map((id) => cluster.address(id)));
      expect((await cluster.status('b')).nodeId).toBe('b');
    } finally {
      await cluster.stop();
    }
  });

  it("passes runtime flags to each node's Node.js, before the script: a CPU profile per node", async () => {
    const profiles = path.join(tmp, 'profiles');
    const cluster = await LocalCluster.start({ nodes: 2, dataDir: path.join(tmp, 'c5'), nodeBin: fakeBin, runtimeFlags: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] });
    // The project's own flags first, so the caller's win where they overlap.
    for (const id of ['n1', 'n2']) {
      const argv = fs.readFileSync(`/proc/${cluster.pid(id)}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, NODE_RUNTIME_FLAGS.length + 3)).toEqual([...NODE_RUNTIME_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profiles}`]);
    }
    await cluster.stop();
    await waitFor('two profiles', () => fs.existsSync(profiles) && fs.readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile')).length === 2);
  });

  it('fails fast with the node log when a node exits during start', async () => {
    const err = await LocalCluster.start({ nodes: 2, dataDir: path.join(tmp, 'c2'), nodeBin: fakeBin, env: { FAKE_FAIL: '1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited \(code 2/);
    expect((err as Error).message).toContain('bad config: members must list this node');
  });

  it('explains a missing node binary', async () => {
    await expect(LocalCluster.start({ nodes: 1, dataDir: path.join(tmp, 'c3'), nodeBin: path.join(tmp, 'nope.js') })).rejects.toThrow(/run `npm run build` first/);
  });
});

describe('parent watchdog', () => {
  it('stops a child whose parent died', async () => {
    const watchdog = path.join(tmp, 'orphan-watchdog.cjs');
    // The intermediate parent writes the watchdog with its own pid, as LocalCluster does.
    const parentSrc = `const { spawn } = require('node:child_process');
require('node:fs').writeFileSync(${JSON.stringify(watchdog)}, ${JSON.stringify(watchdogSource('PARENT_PID'))}.replace('PARENT_PID', String(process.pid)));
const c = spawn(process.execPath, ['--require', ${JSON.stringify(watchdog)}, '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', detached: true });
console.log(c.pid);`;
    const parent = spawn(process.execPath, ['-e', `${parentSrc}\nsetInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    try {
      await waitFor('the orphaned child to exit', () => !alive(pid));
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    expect(alive(pid)).toBe(false);
  });
});
