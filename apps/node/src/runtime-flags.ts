/**
 * V8 settings the node makes on itself before its own modules load, however it is started (the
 * CLI's local clusters, docker-compose, a plain `node dist/apps/node/main.js`). main.ts imports
 * this module first. A flag given on the node's command line (`--allocation-site-pretenuring`,
 * through QL_NODE_RUNTIME_FLAGS for instance) still wins: the node does not set one it names.
 *
 * --no-allocation-site-pretenuring: V8 watches each place that allocates objects and, when most
 * of what one allocates outlives a young collection, allocates its objects in the old generation
 * from then on. A leader under batched writes fooled it: a frame of requests is decoded and
 * prepared in one synchronous step, so a young collection in the middle found the frame's rows
 * alive, and the decoders' objects were pretenured for good — garbage only a full collection
 * could reclaim, one every 100–200 ms. Measured in five alternated pairs of batch100 (raft, 3
 * voters, C=64): 85–107k rows/s without the setting, 104–113k with it, the leader's CPU
 * 0.74–0.83 → 0.70–0.74 of a core (docs/performance.md, "Young collections under batched
 * writes").
 *
 * Only flags V8 reads as it goes can be set here. `--single-threaded-gc`, which the CLI's
 * local clusters and the Docker image start every node with (NODE_RUNTIME_FLAGS in
 * libs/cluster/src/cluster.ts), is not one: set on a running isolate, V8 aborts at its next
 * full collection. It belongs on the command line.
 */
import * as v8 from 'node:v8';

export const NODE_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

/** `--no-x` and `--x` name the same setting (and V8 reads `_` as `-`). */
function settingOf(flag: string): string {
  return flag.replace(/^--(no-)?/, '').split('=')[0]!.replace(/_/g, '-');
}

/** The flags of NODE_V8_FLAGS whose setting the command line (`execArgv`) does not name. */
export function flagsToSet(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.map(settingOf));
  return NODE_V8_FLAGS.filter((flag) => !given.has(settingOf(flag)));
}

for (const flag of flagsToSet(process.execArgv)) v8.setFlagsFromString(flag);
