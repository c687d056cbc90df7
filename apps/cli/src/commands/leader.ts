/**
 * `quorumlite leader transfer [--to ID]`: hands leadership to another data voter by the
 * protocol's own means (AdminService.TransferLeadership) — before maintenance on the leader's
 * machine, or to move leadership next to the clients — and prints who leads afterwards.
 */
import { Command } from 'commander';
import { toJson } from '../format';
import { addConnectionOptions, clientFrom, positiveInt, runCommand, type ConnectionOptions } from './common';

interface TransferCliOptions extends ConnectionOptions {
  to?: string;
}

export function leaderCommand(): Command {
  const leader = new Command('leader').description('act on the leader');
  const transfer = new Command('transfer')
    .description('hand leadership to another data voter (default: the most caught-up one) and wait until it leads')
    .option('--to <id>', 'the member to hand over to (a data voter)')
    .option('--json', 'print machine-readable JSON');
  addConnectionOptions(transfer).addHelpText(
    'after',
    `
The request finds the leader by itself (any node of --addr will do). Writes arriving meanwhile
are refused with 'transferring' and retried by the client. --timeout bounds the wait for the new
leader (default: two of the longest elections). With TLS the client certificate needs role admin.`,
  );
  transfer.action(async (opts: TransferCliOptions) =>
    runCommand(opts.json, async () => {
      const timeoutMs = transfer.getOptionValueSource('timeout') === 'cli' ? positiveInt(opts.timeout, '--timeout') : undefined;
      const client = clientFrom(opts);
      try {
        const r = await client.transferLeadership({ ...(opts.to !== undefined ? { to: opts.to } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
        process.stdout.write(opts.json ? `${toJson(r)}\n` : `leadership moved from ${r.from} to ${r.to}${r.toAddress ? ` (${r.toAddress})` : ''} in ${Math.round(r.elapsedMs)} ms\n`);
      } finally {
        client.close();
      }
    }),
  );
  return leader.addCommand(transfer);
}
