import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

/**
 * Load tests: liveness under a heavy load on a real cluster (no leader change while requests
 * at the size limit are served). They run after the rest of the suite and one file at a time,
 * so that no other test's processes share the cores with their nodes.
 */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/load/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
