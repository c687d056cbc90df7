/**
 * `quorumlite bench partition` end to end, at its smallest: one protocol, one trial of one
 * scenario (a follower isolated, then healed) on a real 3-node cluster behind the proxies.
 * Checks that the raw trials, the summary and the nodes' logs are written with sane fields
 * and that no node outlives the run; it never judges the times. Needs `npm run build`.
 *
 * A load test: it runs alone, after the rest of the suite (vitest.load.config.mts), since
 * its cluster and writers would otherwise share the two cores with other test files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPartitionBench, type PartitionTrial } from '@quorumlite/bench';

const NODE_BIN = path.resolve(__dirname, '..', '..', 'dist', 'apps', 'node', 'main.js');
const TEST_TIMEOUT_MS = 60_000;

/** Processes whose command line names `dataDir` (a node of the run that was not stopped). */
function processesUsing(dataDir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('quorumlite bench partition', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-partition-test-'));
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it(
    'runs a trial and writes raw trials, a summary and the nodes logs',
    async () => {
      if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} is missing: run \`npm run build\` first`);
      const lines: string[] = [];
      const code = await runPartitionBench(
        ['--protocols', 'raft', '--scenarios', 'follower-heal', '--trials', '1', '--writers', '3', '--hold-ms', '500', '--settle-ms', '200', '--out', outDir],
        (line) => lines.push(line),
      );
      expect(code, lines.join('\n')).toBe(0);
      const [stamp] = fs.readdirSync(outDir);
      const dir = path.join(outDir, stamp!);
      expect(stamp).toMatch(/^partition-\d{4}-/);

      const raw = JSON.parse(fs.readFileSync(path.join(dir, 'raw.json'), 'utf8')) as { protocols: { protocol: string; trials: PartitionTrial[]; failures: string[] }[] };
      expect(raw.protocols).toHaveLength(1);
      const [{ protocol, trials, failures }] = raw.protocols as [(typeof raw.protocols)[number]];
      expect({ protocol, failures }).toEqual({ protocol: 'raft', failures: [] });
      expect(trials).toHaveLength(1);
      const trial = trials[0]!;
      expect(trial.scenario).toBe('follower-heal');
      expect(trial.cutOff).toHaveLength(1);
      expect(trial.cutOff[0]).not.toBe(trial.leader);
      expect(trial.heals.map((h) => h.node)).toEqual(trial.cutOff);
      for (const v of [trial.unavailabilityMs, trial.maxGapMs, trial.healWriteMs, trial.healReadMs]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(TEST_TIMEOUT_MS);
      }
      expect(BigInt(trial.fenceAfter)).toBeGreaterThanOrEqual(BigInt(trial.fenceBefore));
      expect(trial.okWrites).toBeGreaterThan(0);
      expect(trial.simultaneousCandidates).not.toBeNull();

      const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { rows: { protocol: string; summary: { scenario: string; trials: number } }[] };
      expect(summary.rows.map((r) => [r.protocol, r.summary.scenario, r.summary.trials])).toEqual([['raft', 'follower-heal', 1]]);
      expect(fs.readFileSync(path.join(dir, 'summary.txt'), 'utf8')).toMatch(/^protocol +scenario[^\n]*\nraft +follower-heal +1 /);
      expect(lines.join('\n')).toContain('raft follower-heal trial 1: leader n');

      // Every node was stopped: none still runs on the run's data directory.
      const started = fs.readFileSync(path.join(dir, 'logs', 'raft-n1.log'), 'utf8').split('\n').find((l) => l.includes('"node started"'));
      const dataDir = (JSON.parse(started!) as { dataDir: string }).dataDir;
      expect(processesUsing(path.dirname(dataDir))).toEqual([]);
      expect(fs.existsSync(path.dirname(dataDir))).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );
});
