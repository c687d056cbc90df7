/** `quorumlite exec "SQL"`: one atomic Execute of one or more statements. */
import { Command, Option } from 'commander';
import type { Durability, StatementSpec } from '@quorumlite/client';
import { UsageError } from '../errors';
import { formatExecute, toJson } from '../format';
import { PARAM_HELP, paramsFrom } from '../params';
import { hasCode, splitStatements } from '../sql-text';
import { addConnectionOptions, clientFrom, collect, positiveInt, runCommand, type ConnectionOptions } from './common';

interface ExecOptions extends ConnectionOptions {
  param?: string[];
  named?: string[];
  requestId?: string;
  durability: Durability;
}

/** Splits a command-line SQL string into statements (the last `;` is optional). */
export function statementsOf(sql: string): string[] {
  const { statements, rest } = splitStatements(sql);
  return hasCode(rest) ? [...statements, rest.trim()] : statements;
}

export function execCommand(): Command {
  const cmd = new Command('exec')
    .description('run statements atomically through the replicated log (separate several with ;)')
    .argument('<sql>', 'SQL to execute')
    .option('-p, --param <value>', 'positional parameter (repeatable, see below)', collect)
    .option('-n, --named <name=value>', 'named parameter (repeatable)', collect)
    .option('--request-id <id>', 'idempotency key: resending the same id applies the write once')
    .addOption(new Option('--durability <level>', 'when the write is acknowledged').choices(['quorum', 'all', 'semi', 'leader']).default('quorum'))
    .option('--json', 'print machine-readable JSON (64-bit integers as strings)');
  addConnectionOptions(cmd).addHelpText('after', `\n${PARAM_HELP}`);
  return cmd.action(async (sql: string, opts: ExecOptions) =>
    runCommand(opts.json, async () => {
      const texts = statementsOf(sql);
      if (texts.length === 0) throw new UsageError('no SQL statement given');
      const params = paramsFrom(opts.param, opts.named);
      if (params !== undefined && texts.length > 1) throw new UsageError('parameters need a single statement');
      const statements: StatementSpec[] = texts.map((text) => (params === undefined ? { sql: text } : { sql: text, params }));
      const client = clientFrom(opts);
      try {
        const result = await client.execute(statements, {
          durability: opts.durability,
          ...(opts.requestId ? { requestId: opts.requestId } : {}),
          ...(opts.timeout ? { timeoutMs: positiveInt(opts.timeout, '--timeout') } : {}),
        });
        process.stdout.write(`${opts.json ? toJson(result) : formatExecute(result)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}
