/**
 * The `quorumlite` command line. `bench`, `compare` and `bench-worker` are dispatched before option
 * parsing because the benchmark parses its own arguments.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from './errors';
import { formatError } from './format';
import { benchCommand, compareCommand, runBenchCommand, runBenchWorkerCommand, runCompareCommand } from './commands/bench';
import { backupCommand } from './commands/backup';
import { leaderCommand } from './commands/leader';
import { membersCommand } from './commands/members';
import { certsCommand } from './commands/certs';
import { tokensCommand } from './commands/tokens';
import { chaosCommand, runChaosCommand } from './commands/chaos';
import { clusterCommand } from './commands/cluster';
import { execCommand } from './commands/exec';
import { queryCommand } from './commands/query';
import { shellCommand } from './commands/shell';
import { statusCommand } from './commands/status';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('quorumlite')
    .description('replicated SQLite over gRPC: shell, one-shot statements, cluster status, backups, a local cluster, benchmarks')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const cmd of [shellCommand(), execCommand(), queryCommand(), statusCommand(), backupCommand(), leaderCommand(), membersCommand(), clusterCommand(), certsCommand(), tokensCommand(), benchCommand(), compareCommand(), chaosCommand()]) {
    program.addCommand(cmd.exitOverride().showHelpAfterError('(add --help for usage)'));
  }
  program.addHelpText(
    'after',
    `
examples:
  quorumlite cluster                                   # 3 local nodes on 127.0.0.1:7001-7003
  quorumlite cluster --tls                             # the same over mutual TLS (certificates in <data-dir>/certs)
  quorumlite certs --dir certs --nodes n1,n2,n3        # a local CA, node and client certificates
  quorumlite shell --addr 127.0.0.1:7001
  quorumlite exec "INSERT INTO t(id, name) VALUES (?, ?)" --param 1 --param "'ann'"
  quorumlite query "SELECT * FROM t" --json
  quorumlite status --addr 127.0.0.1:7002
  quorumlite backup --out db.backup                    # a consistent copy; --format sql for SQL text
  quorumlite cluster --fresh --from-backup db.backup   # a new cluster whose every data node starts from it
  quorumlite chaos --nemesis kill,pause,partition --duration 60s --seed 7

exit codes: 0 ok, 1 request or SQL error, 2 usage error, 3 no node reachable`,
  );
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv.slice(2);
  if (command === 'bench') return runBenchCommand(rest);
  if (command === 'compare') return runCompareCommand(rest);
  if (command === 'bench-worker') return runBenchWorkerCommand(rest);
  if (command === 'chaos') return runChaosCommand(rest);
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e: unknown) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    process.stderr.write(`${formatError(e)}\n`);
    return EXIT_USAGE;
  }
}
