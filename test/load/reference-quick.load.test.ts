/**
 * `quorumlite bench --reference zookeeper,etcd` as a user runs it: the built CLI starts
 * 3-member ZooKeeper and etcd clusters from their Debian packages beside a quorumlite cluster,
 * runs the same scenarios through each system's own Node client, and a failover trial each;
 * the report puts them side by side. Checks that every peer cell was measured (no error, a
 * figure in every column), that the failover trials ran, and that no peer process outlives
 * the run; it never judges speed. Needs `npm run build` and Debian's zookeeper and etcd-server
 * (scripts/test-all.sh installs them).
 *
 * A load test: it runs alone, after the rest of the suite (vitest.load.config.mts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './cli';



/** Command lines of running processes that are one of the peers' servers started by a bench. */
function strayPeers(): string[] {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes('quorumlite-bench-') && (l.includes('QuorumPeerMain') || l.includes('etcd')));
}

describe('quorumlite bench --reference zookeeper,etcd', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-reference-test-'));
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it('measures both peers beside raft in one run, with a failover trial each, and leaves no peer running', async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const args = ['bench', '--protocols', 'raft', '--scenarios', 'insert,select,select-stale', '--baselines', 'none', '--reference', 'zookeeper,etcd', '--reference-trials', '1'];
    const result = await runCli([...args, '--concurrency', '4', '--duration', '1s', '--warmup', '500ms', '--preload-rows', '200', '--out', outDir]);
    expect(result.code, `stderr:\n${result.stderr.slice(-4000)}`).toBe(0);
    const json = fs.readdirSync(outDir).find((f) => f.endsWith('.json'));
    expect(json).toBeDefined();
    const report = JSON.parse(fs.readFileSync(path.join(outDir, json!), 'utf8')) as {
      baselines: Array<{ kind: string; name: string; ops: number; errors: number }>;
      reference: Array<{ system: string; failure: string | null; failover: { trials: Array<{ stallMs: number }> } | null }>;
    };
    const peerRows = report.baselines.filter((r) => r.kind === 'reference');
    expect(peerRows.map((r) => r.name).sort()).toEqual(
      ['etcd:read-linearizable', 'etcd:read-local', 'etcd:write', 'zookeeper:read-linearizable', 'zookeeper:read-local', 'zookeeper:write'],
    );
    for (const row of peerRows) {
      expect(row.errors, row.name).toBe(0);
      expect(row.ops, row.name).toBeGreaterThan(0);
    }
    for (const peer of report.reference) {
      expect(peer.failure, peer.system).toBeNull();
      expect(peer.failover?.trials, peer.system).toHaveLength(1);
      expect(peer.failover!.trials[0]!.stallMs).toBeGreaterThan(0);
    }
    const md = fs.readFileSync(path.join(outDir, json!.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toContain('## Beside the peers, same run');
    for (const scenario of ['write', 'read-linearizable', 'read-local']) {
      const line = md.split('\n').find((l) => l.startsWith(`| ${scenario} | 4 |`));
      expect(line, scenario).toBeDefined();
      expect(line, scenario).not.toContain('—');
    }
    expect(md).toMatch(/- zookeeper failover: stall median \d+ ms/);
    expect(md).toMatch(/- etcd failover: stall median \d+ ms/);
    expect(strayPeers()).toEqual([]);
  }, 8 * 60_000);
});
