import { defineConfig } from 'vitest/config';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

const lib = (name: string): string => path.resolve(root, `libs/${name}/src`);

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@quorumlite\/consensus\/(.*)$/, replacement: `${lib('consensus')}/$1` },
      ...['consensus', 'storage', 'sql', 'transport', 'replica', 'config', 'client', 'cluster', 'proto', 'chaos', 'errors'].map((name) => ({
        find: `@quorumlite/${name}`,
        replacement: lib(name),
      })),
      { find: '@quorumlite/bench', replacement: path.resolve(root, 'bench/src') },
    ],
  },
  test: {
    include: ['libs/**/*.test.ts', 'apps/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Load tests run alone, after the rest (vitest.load.config.mts).
    exclude: ['**/node_modules/**', 'test/load/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
