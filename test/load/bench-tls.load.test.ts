/**
 * `quorumlite bench --tls` as a user runs it: the bench makes a local authority and
 * certificates, starts the cluster with mutual TLS, and its loaders connect with their client
 * certificate — every operation succeeds (a plaintext loader would be refused by every node).
 * It never judges speed. Needs `npm run build`.
 *
 * A load test: it runs alone, after the rest of the suite (vitest.load.config.mts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './cli';

describe('quorumlite bench --tls', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bench-tls-test-'));
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it('measures a mutual-TLS cluster through certified loaders, without a failed operation', async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const args = ['bench', '--tls', '--protocols', 'raft', '--scenarios', 'insert,select', '--baselines', 'none'];
    const result = await runCli([...args, '--concurrency', '4', '--duration', '1s', '--warmup', '300ms', '--preload-rows', '100', '--out', outDir]);
    expect(result.code, `stderr:\n${result.stderr.slice(-4000)}`).toBe(0);
    const json = fs.readdirSync(outDir).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(fs.readFileSync(path.join(outDir, json), 'utf8')) as { settings: { tls: boolean }; protocols: Array<{ rows: Array<{ name: string; ops: number; errors: number }> }> };
    expect(report.settings.tls).toBe(true);
    const rows = report.protocols.flatMap((g) => g.rows);
    expect(rows.map((r) => r.name)).toEqual(['insert', 'select']);
    for (const row of rows) {
      expect(row.errors, row.name).toBe(0);
      expect(row.ops, row.name).toBeGreaterThan(0);
    }
    expect(fs.readFileSync(path.join(outDir, json.replace(/\.json$/, '.md')), 'utf8')).toContain('fsync on, mutual TLS');
  }, 3 * 60_000);
});
