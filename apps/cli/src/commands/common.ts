/** Options every client command shares, and the wrapper that turns outcomes into exit codes. */
import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { QuorumliteClient, type ClientTls } from '@quorumlite/client';
import { EXIT_OK, exitCodeFor, UsageError } from '../errors';
import { formatError, toJson } from '../format';

export const DEFAULT_ADDRESS = '127.0.0.1:7001';

export interface ConnectionOptions {
  addr: string;
  timeout?: string;
  retryMs?: string;
  json?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  token?: string;
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-a, --addr <host:port,...>', 'node address(es), comma-separated; writes are steered to the leader', DEFAULT_ADDRESS)
    .addOption(new Option('--timeout <ms>', 'deadline of one call in milliseconds').default('10000'))
    .addOption(new Option('--retry-ms <ms>', 'total time spent retrying on unreachable nodes or leader changes').default('5000'))
    .option('--tls-ca <file>', "a secured cluster's authority certificate (PEM); with --tls-cert and --tls-key, connect over TLS")
    .option('--tls-cert <file>', "this client's certificate (PEM, signed by --tls-ca; its OU is the role: read, write or admin)")
    .option('--tls-key <file>', "the private key of --tls-cert (PEM)")
    .addOption(new Option('--token <token>', 'a bearer token (quorumlite tokens create); its role decides what the calls may do').env('QUORUMLITE_TOKEN'));
}

/** The three TLS flags together, read (with a token, --tls-ca alone will do); none: plaintext. */
export function tlsFrom(opts: { tlsCa?: string; tlsCert?: string; tlsKey?: string; token?: string }): ClientTls | undefined {
  const flags = { '--tls-ca': opts.tlsCa, '--tls-cert': opts.tlsCert, '--tls-key': opts.tlsKey };
  const given = Object.entries(flags).filter(([, v]) => v !== undefined);
  if (given.length === 0) return undefined;
  if (opts.token !== undefined && given.length === 1 && opts.tlsCa !== undefined) return { ca: readFlagFile('--tls-ca', opts.tlsCa) };
  const missing = Object.entries(flags).find(([, v]) => v === undefined);
  if (missing) throw new UsageError(`${missing[0]} is needed with ${given.map(([f]) => f).join(' and ')} (TLS takes the authority, and a certificate and its key unless --token is given)`);
  return { ca: readFlagFile('--tls-ca', opts.tlsCa!), cert: readFlagFile('--tls-cert', opts.tlsCert!), key: readFlagFile('--tls-key', opts.tlsKey!) };
}

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e: unknown) {
    throw new UsageError(`${flag}: cannot read ${file}: ${e instanceof Error && 'code' in e ? String(e.code) : String(e)}`);
  }
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
  const tls = tlsFrom(opts);
  return new QuorumliteClient({
    addresses: addressesOf(opts.addr),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(retryBudgetMs !== undefined ? { retryBudgetMs } : {}),
    ...(tls ? { tls } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
  });
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
