/**
 * `quorumlite tokens create|list|revoke`: the bearer token file a node reads (config key
 * authTokens, flag --auth-tokens). The file keeps each token's SHA-256, never the token, which
 * `create` prints once. Nodes read the file again when it changes, so `revoke` takes effect
 * within about a second without a restart; copy the file to every node.
 */
import { Command } from 'commander';
import { addToken, CLIENT_ROLES, readTokenFile, TokenFileError, writeTokenFile, type ClientRole, type TokenEntry } from '@quorumlite/transport';
import { UsageError } from '../errors';
import { toJson } from '../format';
import { runCommand } from './common';

interface FileOptions {
  file: string;
  json?: boolean;
}

function roleOf(raw: string): ClientRole {
  const role = CLIENT_ROLES.find((r) => r === raw);
  if (role === undefined) throw new UsageError(`--role must be one of ${CLIENT_ROLES.join(', ')}, got '${raw}'`);
  return role;
}

/** Token file mistakes are the user's to fix: they exit as usage errors, naming the file. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e: unknown) {
    if (e instanceof TokenFileError) throw new UsageError(e.message);
    throw e;
  }
}

const out = (s: string): boolean => process.stdout.write(`${s}\n`);

export function tokensCommand(): Command {
  const cmd = new Command('tokens').description('manage the bearer token file nodes read (--auth-tokens): create, list, revoke');
  cmd
    .command('create')
    .description('add a token with a role to the file (made if absent) and print the token, once')
    .requiredOption('--file <path>', 'the token file')
    .requiredOption('--name <name>', 'who holds the token (an application, a person): shown in refusals and logs')
    .requiredOption('--role <role>', `what it may do: ${CLIENT_ROLES.join(', ')}`)
    .option('--json', 'print {name, role, token} as JSON')
    .action(async (opts: FileOptions & { name: string; role: string }) =>
      runCommand(opts.json, async () => {
        const role = roleOf(opts.role);
        const { token, entries } = usage(() => addToken(readTokenFile(opts.file, true), opts.name, role, opts.file));
        usage(() => writeTokenFile(opts.file, entries));
        if (opts.json) {
          out(toJson({ name: opts.name, role, token }));
          return;
        }
        out(token);
        process.stderr.write(`token '${opts.name}' (role ${role}) added to ${opts.file}; it is shown only now. Use it with --token or QUORUMLITE_TOKEN.\n`);
      }),
    );
  cmd
    .command('list')
    .description('the names and roles in the file (tokens themselves are not stored)')
    .requiredOption('--file <path>', 'the token file')
    .option('--json', 'print JSON')
    .action(async (opts: FileOptions) =>
      runCommand(opts.json, async () => {
        const entries = usage(() => readTokenFile(opts.file));
        if (opts.json) {
          out(toJson({ tokens: entries.map(({ name, role }) => ({ name, role })) }));
          return;
        }
        if (entries.length === 0) out('(no tokens)');
        for (const e of entries) out(`${e.name.padEnd(24)} ${e.role}`);
      }),
    );
  cmd
    .command('revoke')
    .description('remove a token by name; nodes refuse it once they see the file change (about a second)')
    .requiredOption('--file <path>', 'the token file')
    .requiredOption('--name <name>', 'the token to remove')
    .action(async (opts: FileOptions & { name: string }) =>
      runCommand(false, async () => {
        const entries = usage(() => readTokenFile(opts.file));
        const kept: TokenEntry[] = entries.filter((e) => e.name !== opts.name);
        if (kept.length === entries.length) throw new UsageError(`${opts.file} has no token named '${opts.name}' (it has: ${entries.map((e) => e.name).join(', ') || 'none'})`);
        usage(() => writeTokenFile(opts.file, kept));
        out(`token '${opts.name}' revoked in ${opts.file}`);
      }),
    );
  return cmd;
}
