/**
 * `quorumlite bench-worker <role> ...`: the child processes of a benchmark run.
 *   echo-server     serves the bare gRPC echo until stdin closes or SIGTERM
 *   stream-echo-server  serves the bare Session echo (streaming ceiling) likewise
 *   load            a closed-loop loader against an echo server or a quorumlite cluster
 *   sqlite-ceiling  the better-sqlite3 commit ceiling, one connection
 *   sqlite-read-ceiling  the better-sqlite3 point-read ceiling at a table size, one connection
 * Children exit on their own when the parent goes away (stdin closes), so a killed benchmark
 * never leaves them behind.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { BenchArgsError, parsePositiveInt, parseStrict } from './argv';
import { createEchoClient, echoOnce, startEchoServer } from './echo';
import { runClosedLoop, type Operation, type WorkerResult } from './loop';
import { LINE_LISTENING, LINE_READY, LINE_RESULT, LINE_START } from './protocol';
import { ECHO_PAYLOAD_BYTES, SCENARIO_NAMES, type ScenarioName } from './scenarios';

/** How long a child waits for the start line before giving up. */
const START_WAIT_MS = 120_000;
/** How long in-flight operations may run after the measured window. */
const DRAIN_MS = 5_000;

export async function runBenchWorker(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  try {
    switch (role) {
      case 'echo-server':
        return await serveEcho(rest, startEchoServer);
      case 'stream-echo-server': {
        const { startStreamEchoServer } = await import('./stream-echo');
        return await serveEcho(rest, startStreamEchoServer);
      }
      case 'load':
        return await runLoad(rest);
      case 'sqlite-ceiling':
        return await runCeiling(rest);
      case 'sqlite-read-ceiling':
        return await runReadCeiling(rest);
      default:
        process.stderr.write(`bench-worker: unknown role '${role ?? ''}' (echo-server, stream-echo-server, load, sqlite-ceiling, sqlite-read-ceiling)\n`);
        return 2;
    }
  } catch (e: unknown) {
    process.stderr.write(`bench-worker ${role ?? ''}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return e instanceof BenchArgsError ? 2 : 1;
  }
}

async function serveEcho(argv: string[], start: typeof startEchoServer): Promise<number> {
  const { values } = parseStrict(argv, { host: { type: 'string' }, port: { type: 'string' } });
  const server = await start(values.host ?? '127.0.0.1', values.port === undefined ? 0 : Number(values.port));
  process.stdout.write(`${LINE_LISTENING} ${server.port}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve).on('close', resolve).resume();
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  process.stdin.destroy();
  return 0;
}

interface Phases {
  warmupMs: number;
  durationMs: number;
}

async function runLoad(argv: string[]): Promise<number> {
  const { values } = parseStrict(argv, {
    target: { type: 'string' },
    address: { type: 'string' },
    addresses: { type: 'string' },
    'read-address': { type: 'string' },
    scenario: { type: 'string' },
    clients: { type: 'string' },
    'warmup-ms': { type: 'string' },
    'duration-ms': { type: 'string' },
    'run-id': { type: 'string' },
    loader: { type: 'string' },
    'preload-rows': { type: 'string' },
    system: { type: 'string' },
    op: { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  });
  const clients = parsePositiveInt(values.clients ?? '1', 'clients');
  const phases = phasesOf(values['warmup-ms'], values['duration-ms']);
  switch (values.target) {
    case 'echo': {
      const client = createEchoClient(required(values.address, 'address'));
      const payload = Buffer.alloc(ECHO_PAYLOAD_BYTES, 0x61);
      const op: Operation = () => echoOnce(client, payload);
      try {
        return await readyThenRun(op, clients, phases, () => echoOnce(client, payload));
      } finally {
        client.close();
      }
    }
    case 'stream-echo': {
      const { streamEchoTarget } = await import('./ql-target');
      const target = streamEchoTarget(required(values.address, 'address'), values['run-id'] ?? `r${Date.now()}`, Number(values.loader ?? '0'));
      return await runTarget(target, clients, phases);
    }
    case 'quorumlite': {
      const scenario = required(values.scenario, 'scenario');
      if (!(SCENARIO_NAMES as readonly string[]).includes(scenario)) throw new BenchArgsError(`--scenario: unknown scenario '${scenario}'`);
      // Loaded here so the other roles never load the client library.
      const { quorumliteTarget } = await import('./ql-target');
      const target = quorumliteTarget({
        addresses: required(values.addresses, 'addresses').split(','),
        ...(values['read-address'] !== undefined ? { readAddress: values['read-address'] } : {}),
        scenario: scenario as ScenarioName,
        runId: values['run-id'] ?? `r${Date.now()}`,
        loader: Number(values.loader ?? '0'),
        preloadRows: parsePositiveInt(values['preload-rows'] ?? '1', 'preload-rows'),
        tls: tlsFiles(values['tls-ca'], values['tls-cert'], values['tls-key']),
      });
      return await runTarget(target, clients, phases);
    }
    case 'reference': {
      // Loaded here so the other roles never load the peers' clients.
      const { parseReference } = await import('./reference');
      const { parseReferenceOp, referenceTarget } = await import('./reference-targets');
      const [system] = parseReference(required(values.system, 'system'));
      const target = await referenceTarget({
        system: system!,
        op: parseReferenceOp(values.op),
        addresses: required(values.addresses, 'addresses').split(','),
        loader: Number(values.loader ?? '0'),
        preloadRows: parsePositiveInt(values['preload-rows'] ?? '1', 'preload-rows'),
      });
      return await runTarget(target, clients, phases);
    }
    default:
      throw new BenchArgsError(`--target: '${values.target ?? ''}' is not echo, stream-echo, quorumlite or reference`);
  }
}

async function runCeiling(argv: string[]): Promise<number> {
  const { values } = parseStrict(argv, { dir: { type: 'string' }, 'rows-per-txn': { type: 'string' }, 'warmup-ms': { type: 'string' }, 'duration-ms': { type: 'string' } });
  const { sqliteCeiling } = await import('./ceiling');
  const ceiling = sqliteCeiling(required(values.dir, 'dir'), parsePositiveInt(values['rows-per-txn'] ?? '1', 'rows-per-txn'));
  try {
    return await readyThenRun(ceiling.op, 1, phasesOf(values['warmup-ms'], values['duration-ms']), () => Promise.resolve());
  } finally {
    ceiling.close();
  }
}

async function runReadCeiling(argv: string[]): Promise<number> {
  const { values } = parseStrict(argv, { dir: { type: 'string' }, rows: { type: 'string' }, 'warmup-ms': { type: 'string' }, 'duration-ms': { type: 'string' } });
  const { sqliteReadCeiling } = await import('./ceiling');
  const ceiling = sqliteReadCeiling(required(values.dir, 'dir'), parsePositiveInt(required(values.rows, 'rows'), 'rows'));
  try {
    return await readyThenRun(ceiling.op, 1, phasesOf(values['warmup-ms'], values['duration-ms']), () => Promise.resolve());
  } finally {
    ceiling.close();
  }
}

/** --tls-ca, --tls-cert and --tls-key: all three, or none (plaintext). */
function tlsFiles(ca: string | undefined, cert: string | undefined, key: string | undefined): { ca: Buffer; cert: Buffer; key: Buffer } | null {
  if (ca === undefined && cert === undefined && key === undefined) return null;
  if (ca === undefined || cert === undefined || key === undefined) throw new BenchArgsError('--tls-ca, --tls-cert and --tls-key go together');
  return { ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

/** A loader's target: warmed, run, and closed however the run ends. */
async function runTarget(target: { op: Operation; warm(): Promise<void>; close(): void }, clients: number, phases: Phases): Promise<number> {
  try {
    return await readyThenRun(target.op, clients, phases, target.warm);
  } finally {
    target.close();
  }
}

async function readyThenRun(op: Operation, clients: number, phases: Phases, warm: () => Promise<void>): Promise<number> {
  await warm();
  process.stdout.write(`${LINE_READY}\n`);
  const startAtMs = await waitForStart();
  const result: WorkerResult = await runClosedLoop(op, { clients, startAtMs, drainMs: DRAIN_MS, ...phases });
  await writeLine(`${LINE_RESULT} ${JSON.stringify(result)}\n`);
  // Done with the parent's pipe; an open stdin would keep this process alive.
  process.stdin.destroy();
  return 0;
}

/** Reads `start <epochMs>` from stdin; rejects when stdin closes first or nothing comes in time. */
function waitForStart(): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: process.stdin });
    const timer = setTimeout(() => finish(new Error(`no start line within ${START_WAIT_MS} ms`)), START_WAIT_MS);
    const finish = (outcome: number | Error): void => {
      clearTimeout(timer);
      lines.removeAllListeners();
      lines.close();
      if (typeof outcome === 'number') resolve(outcome);
      else reject(outcome);
    };
    lines.on('line', (line) => {
      const [word, at] = line.trim().split(/\s+/);
      if (word === LINE_START && Number.isFinite(Number(at))) finish(Number(at));
    });
    lines.on('close', () => finish(new Error('stdin closed before the start line')));
  });
}

function writeLine(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

function phasesOf(warmup: string | undefined, duration: string | undefined): Phases {
  return { warmupMs: nonNegativeInt(warmup ?? '0', 'warmup-ms'), durationMs: parsePositiveInt(required(duration, 'duration-ms'), 'duration-ms') };
}

function nonNegativeInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new BenchArgsError(`--${flag}: '${text}' is not a non-negative integer`);
  return Number(text);
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new BenchArgsError(`--${flag} is required`);
  return value;
}
