/**
 * The Docker image starts each node as the CLI's local clusters do: the same Node.js runtime
 * flags (NODE_RUNTIME_FLAGS says why each is there), and flags this Node.js accepts and runs
 * a collecting workload with.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_RUNTIME_FLAGS } from '@quorumlite/cluster';

const root = path.resolve(__dirname, '../..');

function entrypoint(): unknown {
  const lines = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('ENTRYPOINT '));
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!.slice('ENTRYPOINT '.length)) as unknown;
}

describe('the Dockerfile', () => {
  it("starts the node with the local clusters' runtime flags", () => {
    expect(entrypoint()).toEqual(['node', ...NODE_RUNTIME_FLAGS, 'dist/apps/node/main.js']);
  });

  it('builds and runs on one exact Node.js release that package.json accepts', () => {
    const images = fs
      .readFileSync(path.join(root, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('FROM '))
      .map((l) => l.split(/\s+/)[1]!);
    expect(images).toHaveLength(2);
    expect(images[1]).toBe(images[0]);
    const version = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/.exec(images[0]!);
    expect(version, `${images[0]} names no exact Node.js release`).not.toBeNull();
    const [major, minor] = [Number(version![1]), Number(version![2])];
    const engines = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const range = /^>=(\d+)\.(\d+) <(\d+)$/.exec(engines);
    expect(range, `engines.node ${engines}`).not.toBeNull();
    expect(major > Number(range![1]) || (major === Number(range![1]) && minor >= Number(range![2]))).toBe(true);
    expect(major).toBeLessThan(Number(range![3]));
  });
});

describe('NODE_RUNTIME_FLAGS', () => {
  it('are accepted by this Node.js, which runs young and full collections with them and exits cleanly', () => {
    // Short-lived objects, and lists kept past several young collections: both kinds run.
    const script = 'let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: "v" + i }); if (keep.length > 2e5) keep = []; } console.log("ok")';
    const run = spawnSync(process.execPath, [...NODE_RUNTIME_FLAGS, '--trace-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.signal).toBeNull();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Scavenge');
    expect(run.stdout).toContain('Mark-Compact');
    expect(run.stdout.split('\n')).toContain('ok');
  });

  it('are the ones the README tells people to start a node with', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const started = readme.match(/node (?:--\S+ )+dist\/apps\/node\/main\.js/g) ?? [];
    expect(started.length).toBeGreaterThan(0);
    for (const command of started) expect(command).toBe(`node ${NODE_RUNTIME_FLAGS.join(' ')} dist/apps/node/main.js`);
  });
});
