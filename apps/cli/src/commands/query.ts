/** `quorumlite query "SQL"`: one read at the chosen consistency. */
import { Command, Option } from 'commander';
import type { Consistency, QueryOptions } from '@quorumlite/client';
import { UsageError } from '../errors';
import { formatTable, toJson } from '../format';
import { PARAM_HELP, paramsFrom } from '../params';
import { addConnectionOptions, clientFrom, collect, positiveInt, runCommand, type ConnectionOptions } from './common';
import { statementsOf } from './exec';

interface QueryCliOptions extends ConnectionOptions {
  param?: string[];
  named?: string[];
  consistency: Consistency;
  minIndex?: string;
  maxLag?: string;
  maxRows?: string;
  node?: string;
}

function index(raw: string | undefined, flag: string): bigint | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,20}$/.test(raw)) throw new UsageError(`${flag} must be a log index (a non-negative integer), got '${raw}'`);
  return BigInt(raw);
}

function queryOptions(opts: QueryCliOptions): QueryOptions {
  const minIndex = index(opts.minIndex, '--min-index');
  const maxLagEntries = index(opts.maxLag, '--max-lag');
  const maxRows = positiveInt(opts.maxRows, '--max-rows');
  const timeoutMs = positiveInt(opts.timeout, '--timeout');
  return {
    consistency: opts.consistency,
    ...(minIndex !== undefined ? { minIndex } : {}),
    ...(maxLagEntries !== undefined ? { maxLagEntries } : {}),
    ...(maxRows !== undefined ? { maxRows } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(opts.node ? { address: opts.node } : {}),
  };
}

export function queryCommand(): Command {
  const cmd = new Command('query')
    .description('run one read-only statement')
    .argument('<sql>', 'a SELECT (or other read-only statement)')
    .option('-p, --param <value>', 'positional parameter (repeatable, see below)', collect)
    .option('-n, --named <name=value>', 'named parameter (repeatable)', collect)
    .addOption(new Option('-c, --consistency <level>', 'read consistency').choices(['linearizable', 'stale', 'session']).default('linearizable'))
    .option('--min-index <index>', 'session reads: wait until the node applied this index (from exec)')
    .option('--max-lag <entries>', 'stale reads: refuse when the node is further behind than this')
    .option('--max-rows <n>', 'most rows to return')
    .option('--node <host:port>', 'read from this node only')
    .option('--json', 'print machine-readable JSON (64-bit integers as strings, blobs as {"blob": hex})');
  addConnectionOptions(cmd).addHelpText('after', `\n${PARAM_HELP}`);
  return cmd.action(async (sql: string, opts: QueryCliOptions) =>
    runCommand(opts.json, async () => {
      const texts = statementsOf(sql);
      if (texts.length !== 1) throw new UsageError(texts.length === 0 ? 'no SQL statement given' : 'query runs one statement; use the shell for a script');
      const options = queryOptions(opts);
      const client = clientFrom(opts);
      try {
        const result = await client.query(texts[0]!, paramsFrom(opts.param, opts.named), options);
        process.stdout.write(`${opts.json ? toJson(result) : formatTable(result)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}
