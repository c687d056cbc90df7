/** Options every client command shares, and the wrapper that turns outcomes into exit codes. */
import { Command, Option } from 'commander';
import { QuorumliteClient } from '@quorumlite/client';
import { EXIT_OK, exitCodeFor, UsageError } from '../errors';
import { formatError, toJson } from '../format';

export const DEFAULT_ADDRESS = '127.0.0.1:7001';

export interface ConnectionOptions {
  addr: string;
  timeout?: string;
  retryMs?: string;
  json?: boolean;
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-a, --addr <host:port,...>', 'node address(es), comma-separated; writes are steered to the leader', DEFAULT_ADDRESS)
    .addOption(new Option('--timeout <ms>', 'deadline of one call in milliseconds').default('10000'))
    .addOption(new Option('--retry-ms <ms>', 'total time spent retrying on unreachable nodes or leader changes').default('5000'));
}

export function positiveInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) throw new UsageError(`${flag} must be a positive integer, got '${raw}'`);
  return Number(raw);
}

export function addressesOf(addr: string): string[] {
  const list = addr.split(',').map((a) => a.trim()).filter((a) => a !== '');
  for (const a of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(a) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(a)) throw new UsageError(`--addr: '${a}' is not host:port`);
  }
  if (list.length === 0) throw new UsageError('--addr needs at least one host:port');
  return list;
}

export function clientFrom(opts: ConnectionOptions): QuorumliteClient {
  const timeoutMs = positiveInt(opts.timeout, '--timeout');
  const retryBudgetMs = opts.retryMs === undefined ? undefined : Number(opts.retryMs);
  if (retryBudgetMs !== undefined && (!Number.isSafeInteger(retryBudgetMs) || retryBudgetMs < 0)) throw new UsageError(`--retry-ms must be a non-negative integer, got '${opts.retryMs}'`);
  return new QuorumliteClient({ addresses: addressesOf(opts.addr), ...(timeoutMs ? { timeoutMs } : {}), ...(retryBudgetMs !== undefined ? { retryBudgetMs } : {}) });
}

/** Runs a command body; prints a failure as one line (or JSON with --json) and sets the exit code. */
export async function runCommand(json: boolean | undefined, body: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? EXIT_OK;
  } catch (e: unknown) {
    if (json && !(e instanceof UsageError)) process.stdout.write(`${toJson({ error: e instanceof Error ? e : { message: String(e) } })}\n`);
    else process.stderr.write(`${formatError(e)}\n`);
    process.exitCode = exitCodeFor(e);
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
