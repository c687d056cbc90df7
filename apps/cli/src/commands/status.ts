/** `quorumlite status`: one node's view of the cluster. */
import { Command } from 'commander';
import { formatStatus, statusJson } from '../format';
import { addConnectionOptions, addressesOf, clientFrom, runCommand, type ConnectionOptions } from './common';

export function statusCommand(): Command {
  const cmd = new Command('status').description("show a node's view: role, leader, term, log indexes, members").option('--json', 'print machine-readable JSON');
  addConnectionOptions(cmd);
  return cmd.action(async (opts: ConnectionOptions) =>
    runCommand(opts.json, async () => {
      const client = clientFrom(opts);
      try {
        const status = await client.status(addressesOf(opts.addr)[0]);
        process.stdout.write(`${opts.json ? statusJson(status) : formatStatus(status)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}
