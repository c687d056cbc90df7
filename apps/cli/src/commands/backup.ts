/**
 * `quorumlite backup --out FILE`: a consistent copy of a node's database (AdminService.Backup),
 * as the SQLite file itself or, with --format sql, as `.dump`-style SQL text. The file appears
 * whole or not at all: it is written to FILE.tmp and renamed once checked.
 */
import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import type { BackupResult } from '@quorumlite/client';
import { dumpSql } from '@quorumlite/sql';
import { UsageError } from '../errors';
import { toJson } from '../format';
import { addConnectionOptions, addressesOf, clientFrom, positiveInt, runCommand, type ConnectionOptions } from './common';

export const BACKUP_FORMATS = ['sqlite', 'sql'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];

interface BackupCliOptions extends ConnectionOptions {
  out?: string;
  format: BackupFormat;
  force?: boolean;
  node?: string;
}

export function backupCommand(): Command {
  const cmd = new Command('backup')
    .description("copy a node's database, consistent at one applied index, while the cluster serves writes")
    .requiredOption('-o, --out <file>', 'where to write the backup (refused if it exists, unless --force)')
    .addOption(new Option('-f, --format <format>', 'sqlite: the database file (boots a cluster: --from-backup); sql: .dump-style SQL text').choices([...BACKUP_FORMATS]).default('sqlite'))
    .option('--force', 'overwrite --out if it exists')
    .option('--node <host:port>', 'copy from this node (default: the first of --addr that keeps a database)')
    .option('--json', 'print machine-readable JSON');
  addConnectionOptions(cmd).addHelpText(
    'after',
    `
Any data node (voter or observer) serves a backup; a witness keeps no database. With TLS the
client certificate needs role admin. --timeout bounds the whole transfer only when given.
Restore: quorumlite cluster --from-backup FILE, or --from-backup FILE on each data node of a
new cluster (fresh data directories).`,
  );
  return cmd.action(async (opts: BackupCliOptions) =>
    runCommand(opts.json, async () => {
      const out = opts.out!;
      if (fs.existsSync(out) && !opts.force) throw new UsageError(`--out: ${out} exists; pass --force to overwrite it`);
      const timeoutMs = cmd.getOptionValueSource('timeout') === 'cli' ? positiveInt(opts.timeout, '--timeout') : undefined;
      const address = opts.node === undefined ? undefined : addressesOf(opts.node)[0];
      const client = clientFrom(opts);
      try {
        const result = await writeBackup(out, opts.format, (target) => client.backup(target, { ...(address ? { address } : {}), ...(timeoutMs ? { timeoutMs } : {}) }));
        process.stdout.write(opts.json ? `${toJson({ out, format: opts.format, ...result })}\n` : `${describe(out, opts.format, result)}\n`);
      } finally {
        client.close();
      }
    }),
  );
}

/**
 * Receives the backup into FILE.tmp (sqlite) or FILE.tmp.sqlite, dumped to FILE.tmp (sql),
 * then renames FILE.tmp over FILE; what is left on a failure is removed.
 */
export async function writeBackup(out: string, format: BackupFormat, receive: (target: string) => Promise<BackupResult>): Promise<BackupResult> {
  const tmp = `${out}.tmp`;
  const database = format === 'sqlite' ? tmp : `${out}.tmp.sqlite`;
  try {
    const result = await receive(database);
    if (format === 'sql') writeSqlText(database, tmp, result);
    fs.renameSync(tmp, out);
    return result;
  } finally {
    fs.rmSync(tmp, { force: true });
    if (database !== tmp) fs.rmSync(database, { force: true });
  }
}

function writeSqlText(database: string, file: string, result: BackupResult): void {
  const fd = fs.openSync(file, 'w');
  try {
    dumpSql(database, (text) => fs.writeSync(fd, text), [
      `quorumlite backup of node ${result.nodeId} (${result.protocol}) at applied index ${result.appliedIndex}`,
      'load with: sqlite3 new.db < this-file, or quorumlite shell < this-file',
    ]);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function describe(out: string, format: BackupFormat, r: BackupResult): string {
  const what = format === 'sql' ? `SQL text of a ${r.bytes}-byte database` : `${r.bytes} bytes`;
  return `backup of node ${r.nodeId} (${r.protocol}) at applied index ${r.appliedIndex}: ${what}, sha256 ${r.sha256} -> ${out}`;
}
