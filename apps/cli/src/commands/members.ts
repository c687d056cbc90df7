/**
 * `quorumlite members list|add|remove|promote|demote`: the members of a running cluster, and
 * changing them one at a time while it serves (AdminService.ListMembers / ChangeMembers). A new
 * voter or witness joins as an observer and is promoted once it caught up, so adding one never
 * stalls commits; the protocol refuses a change that would leave no reachable quorum, saying why.
 */
import { Command, Option } from 'commander';
import type { MemberChangeRequest, MemberEntry } from '@quorumlite/client';
import { toJson } from '../format';
import { addConnectionOptions, clientFrom, positiveInt, runCommand, type ConnectionOptions } from './common';

const ROLES = ['voter', 'witness', 'observer'] as const;
type Role = (typeof ROLES)[number];

interface MembersCliOptions extends ConnectionOptions {
  role?: Role;
  to?: Role;
}

export function membersCommand(): Command {
  const members = new Command('members').description('list the members of a running cluster, or add, remove, promote or demote one');
  const list = withConnection(new Command('list').description('the members a node works with, with their roles and addresses'));
  list.action(async (opts: MembersCliOptions) =>
    runCommand(opts.json, async () => {
      const client = clientFrom(opts);
      try {
        const r = await client.members();
        process.stdout.write(opts.json ? `${toJson(r)}\n` : `${table(r.members)}${r.changePending ? '\n(a change of the members is in flight)' : ''}\n`);
      } finally {
        client.close();
      }
    }),
  );
  const change = (name: string, description: string, args: string, build: (argv: string[], opts: MembersCliOptions) => MemberChangeRequest, extra?: (cmd: Command) => Command): Command => {
    const cmd = withConnection(new Command(name).description(description).arguments(args));
    extra?.(cmd);
    cmd.action(async (...params: unknown[]) => {
      const opts = params[params.length - 2] as MembersCliOptions;
      const argv = params.slice(0, params.length - 2) as string[];
      return runCommand(opts.json, async () => {
        const timeoutMs = cmd.getOptionValueSource('timeout') === 'cli' ? positiveInt(opts.timeout, '--timeout') : undefined;
        const client = clientFrom(opts);
        try {
          const r = await client.changeMembers(build(argv, opts), timeoutMs !== undefined ? { timeoutMs } : {});
          process.stdout.write(opts.json ? `${toJson(r)}\n` : `${table(r.members)}\n`);
        } finally {
          client.close();
        }
      });
    });
    return cmd;
  };
  members.addCommand(list);
  members.addCommand(
    change('add', 'add a member: it joins as an observer, catches up, then takes its role', '<id> <address>', ([id, address], o) => ({ kind: 'add', id: id!, address: address!, role: o.role ?? 'voter' }), (c) =>
      c.addOption(new Option('--role <role>', 'its role once caught up').choices([...ROLES]).default('voter')),
    ),
  );
  members.addCommand(change('remove', 'remove a member (the leader itself too: it steps down once that commits)', '<id>', ([id]) => ({ kind: 'remove', id: id! })));
  members.addCommand(
    change('promote', 'make an observer vote (once it caught up)', '<id>', ([id], o) => ({ kind: 'set-role', id: id!, role: o.to ?? 'voter' }), (c) =>
      c.addOption(new Option('--to <role>', 'the role it takes').choices(['voter', 'witness']).default('voter')),
    ),
  );
  members.addCommand(
    change('demote', 'make a voter or witness an observer (it keeps following but no longer votes)', '<id>', ([id]) => ({ kind: 'set-role', id: id!, role: 'observer' })),
  );
  return members;
}

function withConnection(cmd: Command): Command {
  cmd.option('--json', 'print machine-readable JSON');
  return addConnectionOptions(cmd).addHelpText(
    'after',
    `
Changes go to the leader (any node of --addr will do) and answer once committed; --timeout bounds
the whole change. A data voter cannot become a witness in place (the node keeps a database):
remove it, start it again as a witness on an empty data directory, and add it as a witness.
With TLS, changes need role admin; list needs read.`,
  );
}

function table(members: readonly MemberEntry[]): string {
  const w = Math.max(2, ...members.map((m) => m.id.length));
  return [`${'id'.padEnd(w)}  role      address`, ...members.map((m) => `${m.id.padEnd(w)}  ${m.role.padEnd(8)}  ${m.address || '-'}`)].join('\n');
}
