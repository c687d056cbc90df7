/**
 * `quorumlite compare --quick` as a user runs it: the built CLI, every protocol on the quick
 * matrix. Checks that the plan it prints up front fits the 3 minutes the command promises,
 * that report.md and report.html exist and name every protocol, that every chart has something
 * drawn, and that a raw JSON file exists per cell; it never judges speed (the elapsed time is
 * printed, not asserted). Needs `npm run build`.
 *
 * A load test: it runs alone, after the rest of the suite (vitest.load.config.mts), since
 * its clusters and loaders would otherwise share the two cores with other test files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './cli';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { estimateMs, parseCompareArgs, planCells } from '@quorumlite/bench';

/** What the command promises for --quick: its plan must fit. */
const QUICK_BUDGET_MS = 3 * 60_000;
/** A bound on the whole run, so a hang fails instead of stalling the suite. */
const TEST_TIMEOUT_MS = 2 * QUICK_BUDGET_MS;


describe('quorumlite compare --quick', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-compare-test-'));
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it(
    'tours every protocol and writes report.md, report.html and a raw file per cell',
    async () => {
      expect(estimateMs(parseCompareArgs(['--quick']))).toBeLessThanOrEqual(QUICK_BUDGET_MS);
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
      const result = await runCli(['compare', '--quick', '--out', outDir]);
      const [stamp] = fs.readdirSync(outDir);
      expect(stamp, `no results directory; stderr:\n${result.stderr.slice(-3000)}`).toBeDefined();
      const dir = path.join(outDir, stamp!);
      const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
      const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
      for (const protocol of PROTOCOL_NAMES) {
        expect(md).toContain(`| ${protocol}`);
        expect(html).toContain(`>${protocol}</text>`);
      }
      expect(md).toContain('Command: `quorumlite compare --quick --out');
      const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
      expect(svgs.length).toBeGreaterThan(0);
      for (const svg of svgs) expect(svg).toMatch(/<circle class="point"|<rect class="bar"|class="failed"/);
      expect(fs.readdirSync(path.join(dir, 'cells'))).toHaveLength(planCells(parseCompareArgs(['--quick'])).length);
      // Every cluster's node logs outlive its data directory: the load clusters, and the fresh one of each failover cell.
      const clusters = PROTOCOL_NAMES.flatMap((p) => parseCompareArgs(['--quick']).topologies.flatMap((t) => [`${p}-${t}`, `${p}-${t}-failover`]));
      expect(fs.readdirSync(path.join(dir, 'logs')).sort()).toEqual([...clusters].sort());
      for (const c of clusters) expect(fs.readdirSync(path.join(dir, 'logs', c))).toContain('n1.log');
      expect(result.stderr).toMatch(/expected duration \d/);
      // Exit 1 means a cell failed: the report shows which, and the test shows the report.
      expect(result.code, md).toBe(0);
      process.stderr.write(`compare --quick took ${Math.round(result.elapsedMs / 1000)} s (planned ${Math.round(estimateMs(parseCompareArgs(['--quick'])) / 1000)} s)\n`);
    },
    TEST_TIMEOUT_MS,
  );
});
