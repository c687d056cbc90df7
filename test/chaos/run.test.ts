/**
 * One short real chaos run per registered protocol: 3 real nodes behind the proxy mesh, register + bank + append
 * workloads from concurrent clients, and a nemesis that kills the leader, pauses a node and
 * makes every kind of partition once; then heal, converge and check. Then a shorter run per
 * protocol on 2 data voters + 1 witness, where the witness is one more possible victim.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAL_WINDOW_MS_MIN, runChaos, summaryLines, type ChaosOptions, type ChaosResult, type FaultKind } from '@quorumlite/chaos';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';

const NODE_BIN = path.resolve(__dirname, '../../dist/apps/node/main.js');
const SEED = 20261124;
const FAULTS: FaultKind[] = [
  'kill-leader',
  'kill-follower',
  'pause-leader',
  'pause-follower',
  'partition-majority',
  'partition-leader',
  'partition-bridge',
  'crash-leader',
  'crash-follower',
];

/** A failed run leaves its evidence here (git-ignored) for whoever reads the CI log; a valid run writes nothing. */
const artifactsRoot = path.resolve(__dirname, '../../.chaos');
/**
 * The run's own deadline, well below the test's timeout: a run stuck in any phase fails with
 * that phase named, its evidence written and its processes stopped, instead of being killed by
 * vitest with nothing recorded.
 */
const OVERALL_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = 300_000;

/** What every run here shares: the workloads, the faults and their pace, the deadline. */
const COMMON = {
  workers: 6,
  workloads: ['register', 'bank', 'append'],
  // A tenth of the writes acknowledged before commit: each checked as in doubt.
  leaderWrites: 0.1,
  nemesis: FAULTS,
  scheduleQuietMs: [1_000, 2_000],
  scheduleHoldMs: [2_000, 3_000],
  nodeBin: NODE_BIN,
  artifactsRoot,
  overallTimeoutMs: OVERALL_TIMEOUT_MS,
} satisfies Omit<ChaosOptions, 'seed' | 'durationMs'>;

describe.each(PROTOCOL_NAMES)('a short chaos run on %s', (protocol) => {
  it('records a history under every fault kind, heals, converges and passes the checks', async () => {
    if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run \`npx nest build node\` first`);
    const lines: string[] = [];
    const result = await runLogged(lines, { ...COMMON, seed: SEED, durationMs: 55_000, protocol, nodes: 3 });
    const context = `${lines.join('\n')}\n${summaryLines(result).join('\n')}`;
    // The log and the summary time every fault's heal and every phase, so a slow but passing run shows in the CI log too.
    console.log(context);

    expect(Object.keys(result.faultsByKind).sort(), context).toEqual([...FAULTS].sort());
    for (const entry of result.timeline) {
      expect(entry.healedAtMs, `${entry.fault} was never healed`).not.toBeNull();
      expect(entry.targets.length).toBeGreaterThan(0);
    }
    // Every fault's availability is measured and reported.
    expect(result.availability.map((a) => a.fault), context).toEqual(result.timeline.map((e) => e.fault));
    // Every heal with a second or more before the next fault (or the end of the workload) saw a write succeed.
    for (const a of result.availability.filter((x) => x.healWindowMs !== null && x.healWindowMs >= HEAL_WINDOW_MS_MIN)) {
      expect(a.afterHealMs, `${a.fault} at +${a.atMs} ms: no write succeeded within ${a.healWindowMs} ms of its heal\n${context}`).not.toBeNull();
    }
    expect(summaryLines(result).some((l) => /^availability over \d+ faults: writes stopped median/.test(l)), context).toBe(true);
    expect(result.history.length).toBeGreaterThan(100);
    expect(result.counts.ok).toBeGreaterThan(50);
    for (const w of ['register', 'bank', 'append'] as const) {
      expect(result.history.some((op) => op.workload === w && op.outcome === 'ok' && op.input.f !== 'read' && op.input.f !== 'balances' && op.input.f !== 'list'), `${w} has no acknowledged write`).toBe(true);
    }
    expect(result.history.filter((op) => op.final && op.outcome === 'ok').length).toBeGreaterThan(0);
    expect(result.history.filter((op) => op.outcome === 'unknown' && op.error?.code === 'uncommitted').length, 'writes acknowledged with durability leader').toBeGreaterThan(0);
    expect(result.dumps).toHaveLength(3);
    expect(result.verdicts.find((v) => v.name === 'harness')?.reasons, context).toEqual([]);
    expect(result.verdicts.find((v) => v.name === 'replicas-identical')?.reasons, context).toEqual([]);
    for (const name of ['register-linearizable', 'bank', 'append']) {
      expect(result.verdicts.find((v) => v.name === name)?.valid, `${name}\n${context}`).toBe(true);
    }
    expect(result.phases.map((p) => `${p.name}:${p.ended}`), context).toEqual(
      ['start', 'setup', 'faults', 'drain', 'heal', 'converge', 'final-reads', 'dumps', 'stop', 'checks'].map((name) => `${name}:done`),
    );
    expect(result.valid, context).toBe(true);
    expect(result.artifactsDir).toBeNull();
  }, TEST_TIMEOUT_MS); // 55 s of faults, then restarts and checks; generous because CI runs it beside other suites on 2 cores
});

/** runChaos with its log gathered in `lines`; a harness failure carries the log. */
async function runLogged(lines: string[], options: ChaosOptions): Promise<ChaosResult> {
  try {
    return await runChaos({ ...options, log: (line) => lines.push(line) });
  } catch (e: unknown) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${lines.join('\n')}`, { cause: e });
  }
}

/**
 * 2 data voters + 1 witness (n3). Small snapshot thresholds make the witness forget records
 * many times during the run, so the check that it forgot them (witness-log-bounded) bites.
 * The seed plans a crash and a kill of a follower whose draw picks n3 whenever a data voter
 * leads, then the partitions.
 */
const WITNESS_SEED = 20261260;
const WITNESS_DURATION_MS = 30_000;
const WITNESS_FORGET_EVERY_ENTRIES = 100;

describe.each(PROTOCOL_NAMES)('a short chaos run on %s, 2 data voters + 1 witness', (protocol) => {
  it('takes faults on any node, the witness included, and passes the checks on the data voters and the witness', async () => {
    if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run \`npx nest build node\` first`);
    const lines: string[] = [];
    const result = await runLogged(lines, {
      ...COMMON,
      seed: WITNESS_SEED,
      durationMs: WITNESS_DURATION_MS,
      protocol,
      topology: '2v1w',
      nodeArgs: ['--snapshot-every-entries', String(WITNESS_FORGET_EVERY_ENTRIES)],
    });
    const context = `${lines.join('\n')}\n${summaryLines(result).join('\n')}`;
    console.log(context);

    expect(result.timeline.length, context).toBeGreaterThanOrEqual(4);
    expect(result.timeline.some((e) => e.targets.includes('n3') && (e.fault.startsWith('kill') || e.fault.startsWith('crash'))), `the witness was never killed\n${context}`).toBe(true);
    for (const entry of result.timeline) expect(entry.healedAtMs, `${entry.fault} was never healed`).not.toBeNull();
    expect(result.counts.ok).toBeGreaterThan(50);
    // More writes than the witness may keep: one that never forgot would fail its check.
    expect(Math.max(...result.dumps.map((d) => Number(d.appliedIndex ?? 0))), context).toBeGreaterThan(2 * WITNESS_FORGET_EVERY_ENTRIES * 3);
    expect(result.dumps.map((d) => d.nodeId)).toEqual(['n1', 'n2']);
    expect(result.witnesses.map((w) => w.nodeId)).toEqual(['n3']);
    for (const name of ['harness', 'replicas-identical', 'witness-log-bounded']) {
      expect(result.verdicts.find((v) => v.name === name)?.reasons, `${name}\n${context}`).toEqual([]);
    }
    for (const name of ['register-linearizable', 'bank', 'append']) {
      expect(result.verdicts.find((v) => v.name === name)?.valid, `${name}\n${context}`).toBe(true);
    }
    expect(result.valid, context).toBe(true);
    expect(result.artifactsDir).toBeNull();
  }, TEST_TIMEOUT_MS);
});
