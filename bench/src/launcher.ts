/**
 * Spawns bench-worker children and speaks the line protocol with them. Every child is tracked
 * so the benchmark can kill whatever is still running on any exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { LINE_START, parseChildLine } from './protocol';

/** How to start `bench-worker`: the CLI bundle in production, a transpiled copy in tests. */
export interface WorkerCommand {
  command: string;
  /** Arguments placed before the worker's role, e.g. [cliMainJs, 'bench-worker']. */
  prefixArgs: string[];
  env?: NodeJS.ProcessEnv;
}

/** The running CLI re-invoked as `bench-worker`: process.argv[1] is dist/apps/cli/main.js. */
export function defaultWorkerCommand(): WorkerCommand {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot find the CLI entry point in process.argv[1] to start bench workers');
  return { command: process.execPath, prefixArgs: [entry, 'bench-worker'] };
}

export class BenchChildError extends Error {
  readonly code = 'child_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchChildError';
  }
}

export class Child {
  readonly process: ChildProcess;
  private readonly exited: Promise<number | null>;
  private listeningPort: Promise<number>;
  private ready: Promise<void>;
  private result: Promise<unknown>;
  private readonly logTail: string[] = [];

  constructor(
    readonly name: string,
    cmd: WorkerCommand,
    args: string[],
    private readonly log: (line: string) => void,
  ) {
    this.process = spawn(cmd.command, [...cmd.prefixArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cmd.env ?? process.env });
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
    // A failing spawn emits 'error' and no 'exit'; both end the child for our purposes.
    const errored = new Promise<null>((resolve) => this.process.once('error', (e) => (this.remember(`spawn error: ${e.message}`), resolve(null))));
    const gone = Promise.race([this.exited, errored]).then((code) => {
      throw new BenchChildError(`${this.name} exited (code ${code}) early; last output:\n  ${this.logTail.join('\n  ')}`);
    });
    let onListening: (port: number) => void = () => {};
    let onReady: () => void = () => {};
    let onResult: (json: unknown) => void = () => {};
    this.listeningPort = Promise.race([new Promise<number>((r) => (onListening = r)), gone]);
    this.ready = Promise.race([new Promise<void>((r) => (onReady = r)), gone]);
    this.result = Promise.race([new Promise<unknown>((r) => (onResult = r)), gone]);
    for (const p of [this.listeningPort, this.ready, this.result]) p.catch(() => {});
    readline.createInterface({ input: this.process.stdout! }).on('line', (line) => {
      const parsed = parseChildLine(line);
      switch (parsed.kind) {
        case 'listening':
          return onListening(parsed.port);
        case 'ready':
          return onReady();
        case 'result':
          return onResult(parsed.json);
        case 'log':
          return this.remember(line);
      }
    });
    readline.createInterface({ input: this.process.stderr! }).on('line', (line) => this.remember(line));
    this.process.stdin!.on('error', () => {});
  }

  private remember(line: string): void {
    this.logTail.push(line);
    if (this.logTail.length > 20) this.logTail.shift();
    this.log(`[${this.name}] ${line}`);
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  waitListening(timeoutMs: number): Promise<number> {
    return withTimeout(this.listeningPort, timeoutMs, `${this.name} did not start listening`);
  }

  waitReady(timeoutMs: number): Promise<void> {
    return withTimeout(this.ready, timeoutMs, `${this.name} did not get ready`);
  }

  start(atMs: number): void {
    this.process.stdin!.write(`${LINE_START} ${atMs}\n`);
  }

  waitResult(timeoutMs: number): Promise<unknown> {
    return withTimeout(this.result, timeoutMs, `${this.name} sent no result`);
  }

  /** The exit code once the child has exited on its own, or null if it is still running after ms. */
  async exitCodeWithin(ms: number): Promise<number | null> {
    return (await settlesWithin(this.exited, ms)) ? this.process.exitCode : null;
  }

  /** Closes stdin (children exit on their own), then SIGTERM, then SIGKILL; bounded in time. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null || this.process.pid === undefined) return;
    this.process.stdin!.end();
    if (await settlesWithin(this.exited, graceMs / 2)) return;
    this.process.kill('SIGTERM');
    if (await settlesWithin(this.exited, graceMs / 2)) return;
    this.process.kill('SIGKILL');
    await settlesWithin(this.exited, graceMs);
  }
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(timer));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchChildError(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
