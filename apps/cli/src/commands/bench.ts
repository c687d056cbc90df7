/**
 * `quorumlite bench` and the hidden `quorumlite bench-worker`: the benchmark owns its argument
 * parsing, so these pass the raw arguments through untouched.
 */
import { Command } from 'commander';

export async function runBenchCommand(argv: string[]): Promise<number> {
  const { runBench, runFailoverBench } = await import('@quorumlite/bench');
  if (argv[0] === 'failover') return runFailoverBench(argv.slice(1));
  return runBench(argv);
}

export async function runBenchWorkerCommand(argv: string[]): Promise<number> {
  const { runBenchWorker } = await import('@quorumlite/bench');
  return runBenchWorker(argv);
}

/** Listed in --help only; main() dispatches `bench` before option parsing. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('run the benchmark (see `quorumlite bench --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]');
}
