/**
 * `quorumlite bench` and the hidden `quorumlite bench-worker`: the benchmark owns its argument
 * parsing, so these pass the raw arguments through untouched.
 */
import { Command } from 'commander';

const HELP_FLAGS: readonly string[] = ['--help', '-h'];

export async function runBenchCommand(argv: string[]): Promise<number> {
  const { runBench, runFailoverBench, runPartitionBench, runWitnessDiskBench, FAILOVER_USAGE, PARTITION_USAGE, WITNESS_DISK_USAGE } = await import('@quorumlite/bench');
  if (argv[0] === 'failover') {
    // The failover benchmark's own parser knows no --help; answer it here, before it starts anything.
    if (argv.slice(1).some((a) => HELP_FLAGS.includes(a))) {
      process.stdout.write(`usage: ${FAILOVER_USAGE}\nfor each of --protocols (default: all), kill -9 of the leader of a fresh local 3-node cluster, --trials times, under --writers closed-loop writers; reports how long writes stalled, per protocol\n`);
      return 0;
    }
    return runFailoverBench(argv.slice(1));
  }
  if (argv[0] === 'partition') {
    if (argv.slice(1).some((a) => HELP_FLAGS.includes(a))) {
      process.stdout.write(
        `usage: ${PARTITION_USAGE}\nfor each of --protocols (default: all), a fresh local 3-node cluster whose peer links run through proxies, under --writers closed-loop writers spread over the nodes; --trials times each of --scenarios (default: all): the leader isolated (refused, black-holed), a follower isolated and healed, one follower's isolation shifting to the other, the leader cut one way; reports how long writes stopped, how soon a healed node serves, needless elections and simultaneous candidates, per protocol and scenario\n`,
      );
      return 0;
    }
    return runPartitionBench(argv.slice(1));
  }
  if (argv[0] === 'witness-disk') {
    if (argv.slice(1).some((a) => HELP_FLAGS.includes(a))) {
      process.stdout.write(`usage: ${WITNESS_DISK_USAGE}\nfor each of --protocols (default: all), --writes single-row inserts of 100-byte values into a fresh local --topology cluster; reports each node's bytes on disk at the end and at their peak, and what each witness's log retains\n`);
      return 0;
    }
    return runWitnessDiskBench(argv.slice(1));
  }
  return runBench(argv);
}

/** `quorumlite compare`: the protocols side by side over the whole matrix; it parses its own arguments. */
export async function runCompareCommand(argv: string[]): Promise<number> {
  const { runCompare } = await import('@quorumlite/bench');
  return runCompare(argv);
}

/** Listed in --help only; main() dispatches `compare` before option parsing. */
export function compareCommand(): Command {
  return new Command('compare')
    .description('compare the protocols side by side: throughput, latency and failover over protocols × topologies × scenarios (see `quorumlite compare --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]');
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
