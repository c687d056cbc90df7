/**
 * `quorumlite chaos`: a fault-injection run against a local cluster (libs/chaos). The chaos
 * runner owns its argument parsing, so main() passes the raw arguments through, as for bench.
 */
import { Command } from 'commander';

export async function runChaosCommand(argv: string[]): Promise<number> {
  // Loaded on demand: the other commands never pay for the chaos runner's modules.
  const { chaosMain } = await import('@quorumlite/chaos');
  return chaosMain(argv);
}

/** Listed in --help only; main() dispatches `chaos` before option parsing. */
export function chaosCommand(): Command {
  return new Command('chaos')
    .description('run a fault-injection test against a local cluster (see `quorumlite chaos --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[args...]');
}
