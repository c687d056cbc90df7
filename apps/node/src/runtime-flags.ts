/**
 * V8 settings the node makes on itself before anything else runs, however it is started (the
 * CLI's local clusters, docker-compose, a plain `node dist/apps/node/main.js`). main.ts imports
 * this module first.
 *
 * --no-allocation-site-pretenuring: V8 watches each place that allocates objects and, when most
 * of what one allocates outlives a young collection, allocates its objects in the old generation
 * from then on. A leader under batched writes fooled it: a frame of requests is decoded and
 * prepared in one synchronous step, so a young collection in the middle found the frame's rows
 * alive, and the decoders' objects were pretenured for good — garbage only a full collection
 * could reclaim, one every 100–200 ms. Measured in five alternated pairs of batch100 (raft, 3
 * voters, C=64): 85–107k rows/s without the setting, 104–113k with it, the leader's CPU
 * 0.74–0.83 → 0.70–0.74 of a core (docs/performance.md).
 */
import * as v8 from 'node:v8';

export const NODE_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

for (const flag of NODE_V8_FLAGS) v8.setFlagsFromString(flag);
