import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Child } from './launcher';
import type { WorkerResult } from './loop';
import { runBench } from './runner';
import { buildWorkerForTests, type BuiltWorker } from './testing';

let built: BuiltWorker;
const children: Child[] = [];
const tmpDirs: string[] = [];
const quiet = (): void => {};

function spawn(name: string, args: string[]): Child {
  const child = new Child(name, built.worker, args, quiet);
  children.push(child);
  return child;
}

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bench-test-'));
  tmpDirs.push(dir);
  return dir;
}

beforeAll(() => {
  built = buildWorkerForTests();
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
  built?.remove();
});

describe('bench-worker processes', () => {
  it('an echo server process and one loader process complete a 1-second run without errors', async () => {
    const server = spawn('echo-server', ['echo-server', '--host', '127.0.0.1', '--port', '0']);
    const port = await server.waitListening(15_000);
    const loader = spawn('loader', ['load', '--target', 'echo', '--address', `127.0.0.1:${port}`, '--clients', '4', '--warmup-ms', '200', '--duration-ms', '1000']);
    await loader.waitReady(15_000);
    loader.start(Date.now() + 50);
    const result = (await loader.waitResult(30_000)) as WorkerResult;
    expect(result.ops).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
    expect(result.histogram.count).toBe(result.ops);
    // Nothing may keep a finished loader alive (timers, channels, stdin).
    expect(await loader.exitCodeWithin(5_000)).toBe(0);
    await server.stop();
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
  });

  /** A ceiling child run for 300 ms: it did some operations, none failed, and it exited by itself. */
  async function runCeilingChild(name: string, args: string[]): Promise<void> {
    const child = spawn(name, [...args, '--warmup-ms', '0', '--duration-ms', '300']);
    await child.waitReady(15_000);
    child.start(Date.now());
    const result = (await child.waitResult(30_000)) as WorkerResult;
    expect(result.ops).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
    expect(await child.exitCodeWithin(5_000)).toBe(0);
  }

  it('the SQLite ceiling process commits rows with fsync', async () => {
    await runCeilingChild('sqlite', ['sqlite-ceiling', '--dir', tmpDir(), '--rows-per-txn', '10']);
  });

  it('the SQLite read ceiling process builds the preloaded table and reads every key it asks for', async () => {
    const dir = tmpDir();
    // A key the table lacks fails its operation: no errors means every read found its row.
    await runCeilingChild('sqlite-reads', ['sqlite-read-ceiling', '--dir', dir, '--rows', '500']);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path.join(dir, 'read-ceiling.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n, min(k) AS lo, max(k) AS hi FROM kv').get()).toEqual({ n: 500, lo: 'pre-00000000', hi: 'pre-00000499' });
    } finally {
      db.close();
    }
  });

  it('the SQLite read ceiling refuses a table of no rows', async () => {
    const child = spawn('bad-reads', ['sqlite-read-ceiling', '--dir', tmpDir(), '--rows', '0', '--duration-ms', '100']);
    await expect(child.waitReady(15_000)).rejects.toThrow(/rows/);
  });

  it('a loader fails with a sentence when a required flag is missing', async () => {
    const child = spawn('bad', ['load', '--target', 'echo', '--duration-ms', '100']);
    await expect(child.waitReady(15_000)).rejects.toThrow(/--address is required/);
  });

  it('runBench runs the echo baseline end to end and writes JSON and Markdown', async () => {
    const out = tmpDir();
    const code = await runBench(['--scenarios', 'none', '--baselines', 'echo', '--concurrency', '1,3', '--loaders', '2', '--duration', '500ms', '--warmup', '100ms', '--out', out], { worker: built.worker, log: quiet });
    expect(code).toBe(0);
    const files = fs.readdirSync(out).sort();
    expect(files.map((f) => path.extname(f))).toEqual(['.json', '.md']);
    const report = JSON.parse(fs.readFileSync(path.join(out, files[0]!), 'utf8')) as { baselines: Array<{ name: string; concurrency: number; loaders: number; ops: number; errors: number }>; protocols: unknown[] };
    expect(report.baselines.map((r) => [r.name, r.concurrency, r.loaders])).toEqual([['echo', 1, 1], ['echo', 3, 2]]);
    for (const r of report.baselines) expect([r.ops > 0, r.errors]).toEqual([true, 0]);
    // No scenario, so no protocol's cluster is started.
    expect(report.protocols).toEqual([]);
  });

  it('runBench exits non-zero and still writes its report when a child process fails', async () => {
    const out = tmpDir();
    const broken = { command: process.execPath, prefixArgs: ['-e', 'process.exit(3)'] };
    const code = await runBench(['--scenarios', 'none', '--baselines', 'echo', '--concurrency', '1', '--duration', '200ms', '--out', out], { worker: broken, log: quiet });
    expect(code).toBe(1);
    const json = fs.readdirSync(out).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(fs.readFileSync(path.join(out, json), 'utf8')) as { failures: string[] };
    expect(report.failures).toEqual([expect.stringMatching(/^echo baseline: .*exited \(code 3\)/)]);
  });
});
