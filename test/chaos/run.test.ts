/**
 * One short real chaos run per registered protocol: 3 real nodes behind the proxy mesh, register + bank + append
 * workloads from concurrent clients, and a nemesis that kills the leader, pauses a node and
 * makes every kind of partition once; then heal, converge and check.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChaos, summaryLines, type ChaosResult, type FaultKind } from '@quorumlite/chaos';
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

describe.each(PROTOCOL_NAMES)('a short chaos run on %s', (protocol) => {
  it('records a history under every fault kind, heals, converges and passes the checks', async () => {
    if (!fs.existsSync(NODE_BIN)) throw new Error(`${NODE_BIN} not found: run \`npx nest build node\` first`);
    const lines: string[] = [];
    let result: ChaosResult;
    try {
      result = await runChaos({
        seed: SEED,
        durationMs: 55_000,
        protocol,
        nodes: 3,
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
        log: (line) => lines.push(line),
      });
    } catch (e: unknown) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${lines.join('\n')}`, { cause: e });
    }
    const context = `${lines.join('\n')}\n${summaryLines(result).join('\n')}`;
    // The log and the summary time every fault's heal and every phase, so a slow but passing run shows in the CI log too.
    console.log(context);

    expect(Object.keys(result.faultsByKind).sort(), context).toEqual([...FAULTS].sort());
    for (const entry of result.timeline) {
      expect(entry.healedAtMs, `${entry.fault} was never healed`).not.toBeNull();
      expect(entry.targets.length).toBeGreaterThan(0);
    }
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
