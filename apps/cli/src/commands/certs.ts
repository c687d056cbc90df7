/**
 * `quorumlite certs`: a local certificate authority and node and client certificates for a
 * secured cluster (`quorumlite cluster --tls` makes its own; docker-compose and hand-started
 * nodes take these). Run again with more names to add certificates under the same authority.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { CLIENT_ROLES, certFilesOf, CertsError, makeCerts, type ClientRole } from '@quorumlite/transport';
import { EXIT_OK, UsageError } from '../errors';
import { runCommand } from './common';

interface CertsOptions {
  dir: string;
  nodes: string;
  clients: string;
  hosts?: string;
  days?: string;
}

export const CLIENTS_DEFAULT = 'admin:admin,writer:write,reader:read';

/** `name:role,...` into client specs. */
export function parseClients(text: string): { name: string; role: ClientRole }[] {
  return list(text).map((item) => {
    const [name, role, ...rest] = item.split(':');
    const known = CLIENT_ROLES.find((r) => r === role);
    if (!name || known === undefined || rest.length > 0) throw new UsageError(`--clients: '${item}' is not name:role with role one of ${CLIENT_ROLES.join(', ')}`);
    return { name, role: known };
  });
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function certsCommand(): Command {
  return new Command('certs')
    .description('make a local certificate authority and node/client certificates (with openssl) for a TLS cluster')
    .option('--dir <dir>', 'where to write ca.crt, ca.key and <name>.crt/.key (an existing ca is kept)', './certs')
    .option('--nodes <ids>', 'member ids, comma-separated: one node certificate each (CN = id, OU = node)', 'n1,n2,n3')
    .option('--clients <name:role,...>', `client certificates (CN = name, OU = role: ${CLIENT_ROLES.join(', ')})`, CLIENTS_DEFAULT)
    .option('--hosts <names>', 'extra host names or IPs every node certificate answers to (docker service names, a LAN address)')
    .option('--days <n>', 'days each certificate is valid', '825')
    .action(async (opts: CertsOptions) =>
      runCommand(false, async () => {
        const dir = path.resolve(opts.dir);
        const nodes = list(opts.nodes);
        const clients = parseClients(opts.clients);
        const days = Number(opts.days);
        if (!Number.isSafeInteger(days) || days <= 0) throw new UsageError(`--days must be a positive integer, got '${opts.days}'`);
        try {
          makeCerts(dir, { nodes, clients, hosts: list(opts.hosts ?? ''), validDays: days });
        } catch (e: unknown) {
          if (e instanceof CertsError) throw new UsageError(e.message);
          throw e;
        }
        const out = (s: string): boolean => process.stdout.write(`${s}\n`);
        out(`certificates in ${dir}: authority ca.crt; nodes ${nodes.join(', ')}; clients ${clients.map((c) => `${c.name} (${c.role})`).join(', ')}`);
        const node = certFilesOf(dir, nodes[0] ?? 'n1');
        out(`a node:   --tls-cert ${node.cert} --tls-key ${node.key} --tls-ca ${node.ca}`);
        const client = certFilesOf(dir, clients[0]?.name ?? 'admin');
        out(`a client: --tls-ca ${client.ca} --tls-cert ${client.cert} --tls-key ${client.key}`);
        return EXIT_OK;
      }),
    );
}
