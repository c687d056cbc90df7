/**
 * The evidence of a run, written to <root>/<timestamp>-seed<N>/: the history as JSON lines,
 * the nemesis timeline and plan, the time each phase took, the verdicts and replica dumps, and
 * a copy of every node's process log and on-disk log directory (the replicated log records and
 * hard state).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LocalCluster } from '@quorumlite/cluster';
import { toJsonLine } from './history';
import { describePhases, type PhaseTiming } from './phases';
import type { ChaosResult } from './types';

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

function copyNodeFiles(cluster: LocalCluster, dir: string): void {
  for (const node of cluster.nodes) {
    const out = path.join(dir, 'nodes', node.id);
    fs.mkdirSync(out, { recursive: true });
    const logFile = cluster.logFile(node.id);
    if (fs.existsSync(logFile)) fs.copyFileSync(logFile, path.join(out, path.basename(logFile)));
    const logDir = path.join(node.dataDir, 'log');
    if (fs.existsSync(logDir)) fs.cpSync(logDir, path.join(out, 'log'), { recursive: true });
  }
}

/** Writes what is known and returns the directory. `result` is null when the harness itself failed. */
export function writeArtifacts(
  result: ChaosResult | null,
  cluster: LocalCluster | null,
  root: string,
  failure?: { seed: number; replayCommand: string; error: unknown; phases: readonly PhaseTiming[] },
): string {
  const seed = result?.seed ?? failure?.seed ?? 0;
  const dir = path.join(root, `${stamp()}-seed${seed}`);
  fs.mkdirSync(dir, { recursive: true });
  const replay = result?.replayCommand ?? failure?.replayCommand ?? '';
  const lines = [`seed: ${seed}`, `replay: ${replay}`];
  if (result) {
    fs.writeFileSync(path.join(dir, 'history.jsonl'), result.history.map((op) => toJsonLine(op)).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'timeline.json'), toJsonLine({ startedAtMs: result.startedAtMs, endedAtMs: result.endedAtMs, phases: result.phases, timeline: result.timeline, plan: result.plan }));
    fs.writeFileSync(
      path.join(dir, 'result.json'),
      toJsonLine({ valid: result.valid, verdicts: result.verdicts, counts: result.counts, faultsByKind: result.faultsByKind, availability: result.availability, problems: result.problems, phases: result.phases, options: result.options, dumps: result.dumps }),
    );
    lines.push(`valid: ${result.valid}`, `phases: ${describePhases(result.phases)}`, ...result.reasons.map((r) => `  ${r}`));
  }
  if (failure) {
    const e = failure.error;
    lines.push(`phases: ${describePhases(failure.phases)}`, `harness error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  if (cluster) copyNodeFiles(cluster, dir);
  fs.writeFileSync(path.join(dir, 'README.txt'), lines.join('\n') + '\n');
  return dir;
}
