// @ts-check
/**
 * The lint step of `npm test`: typescript-eslint's recommended rules (no `any` among them),
 * the layers of docs/architecture.md as import rules, and the consensus cores kept pure.
 */
import tseslint from 'typescript-eslint';

/** Which @quorumlite packages each library may import (tests aside): arrows point down the layers. */
const LAYERS = {
  errors: [],
  proto: ['errors'],
  consensus: ['errors'],
  storage: ['consensus', 'errors'],
  sql: ['consensus', 'errors', 'proto'],
  transport: ['consensus', 'errors', 'proto'],
  config: ['consensus', 'errors'],
  client: ['errors', 'proto'],
  replica: ['consensus', 'errors', 'proto', 'sql', 'storage', 'transport'],
  cluster: ['client', 'config', 'errors'],
  chaos: ['client', 'cluster', 'consensus', 'errors'],
};
const PACKAGES = [...Object.keys(LAYERS), 'bench'];

/** Another package's source reached by a relative path instead of its entry point. */
const ACROSS_PACKAGES = {
  regex: '^(\\.\\./)+(libs/|apps/|bench/|test/)?[a-z-]+/src(/|$)',
  message: "import another package through its entry point ('@quorumlite/<name>'), not by a relative path into its src/",
};

const TESTS = ['**/*.test.ts', '**/testing.ts', '**/test-kit.ts', '**/testkit.ts'];

/** The import rule for a package: never into another's src/, and none of `forbidden`. */
function importRule(forbidden) {
  return ['error', { patterns: [ACROSS_PACKAGES, ...forbidden] }];
}

/** The @quorumlite packages `name` must not import. */
function notBelow(name, allowed) {
  const others = PACKAGES.filter((p) => p !== name && !allowed.includes(p));
  return others.flatMap((p) => [`@quorumlite/${p}`, `@quorumlite/${p}/*`]);
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.chaos/**', 'bench/results/**', 'bench/k6/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests may reach into the internals they test; shipped code goes through entry points.
    files: ['libs/**/*.ts', 'apps/**/*.ts', 'bench/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': importRule([]) },
  },
  ...Object.entries(LAYERS).map(([name, allowed]) => ({
    files: [`libs/${name}/src/**/*.ts`],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': importRule([
        {
          group: notBelow(name, allowed),
          message: `libs/${name} may import ${allowed.length > 0 ? allowed.map((p) => `@quorumlite/${p}`).join(', ') : 'no other @quorumlite package'} (the layers of docs/architecture.md)`,
        },
      ]),
    },
  })),
  {
    // The driver's time and timers come through its Clock port (ports.ts: systemClock), so a
    // test or a simulation can run it on another clock.
    files: ['libs/replica/src/**/*.ts'],
    ignores: [...TESTS, 'libs/replica/src/ports.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'].map((name) => ({
          name,
          message: 'libs/replica sets its timers through its Clock port (deps.clock.after / every)',
        })),
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'libs/replica reads time from its Clock port (deps.clock.now)' }],
    },
  },
  {
    // A core is a pure function of its inputs: no I/O, clock, timers, randomness or async.
    files: ['libs/consensus/src/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': importRule([
        { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'net', 'http', 'http2', 'child_process', 'worker_threads', 'timers', 'timers/*'], message: 'libs/consensus does no I/O: the driver does' },
        { group: ['@quorumlite/*', '!@quorumlite/errors'], message: 'libs/consensus imports no other @quorumlite package but the error base (@quorumlite/errors)' },
      ]),
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'process', 'performance', 'require'].map((name) => ({
          name,
          message: 'libs/consensus has no timers, process or clock: time comes in as tick(), entropy as CoreOptions.random',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'libs/consensus reads no clock: time comes in as tick()' },
        { object: 'Math', property: 'random', message: 'libs/consensus draws entropy from CoreOptions.random (seeded)' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'NewExpression[callee.name="Date"]', message: 'libs/consensus reads no clock: time comes in as tick()' },
        { selector: ':function[async=true]', message: 'libs/consensus is synchronous: the driver awaits, the core never does' },
        { selector: 'AwaitExpression', message: 'libs/consensus is synchronous: the driver awaits, the core never does' },
      ],
    },
  },
);
