/**
 * `quorumlite shell`: an interactive (or piped) SQL shell. Statements end with `;` and may span
 * lines; reads go to Query, writes to Execute; dot commands inspect the schema and the cluster.
 */
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { Command, Option } from 'commander';
import type { Consistency, QuorumliteClient } from '@quorumlite/client';
import { EXIT_OK, EXIT_REQUEST_ERROR } from '../errors';
import { formatError, formatExecute, formatStatus, formatTable } from '../format';
import { classify, hasCode, splitStatements, transactionControl } from '../sql-text';
import { addConnectionOptions, addressesOf, clientFrom, runCommand, type ConnectionOptions } from './common';

const PROMPT = 'quorumlite> ';
const CONTINUATION_PROMPT = '       ...> ';
const EXIT_HINT = 'to leave, press Ctrl-D on an empty line or type .quit';
const CONSISTENCIES: readonly Consistency[] = ['linearizable', 'stale', 'session'];
/** Tables the node keeps for itself (applied index, request deduplication). */
const INTERNAL_PREFIX = '_quorumlite';

export const SHELL_HELP = `.tables                  list tables and views
.schema [table]          show CREATE statements
.status                  show the node's view of the cluster
.timer on|off            print the elapsed time after each statement
.consistency LEVEL       linearizable (default) | stale | session (reads see your last write)
.help                    this text
.quit                    leave (also .exit or Ctrl-D on an empty line)
Ctrl-C                   abandon the statement being typed
SQL statements end with ; and may span lines. Reads (SELECT, WITH … SELECT, VALUES, EXPLAIN,
PRAGMA reads) run as queries; everything else runs atomically through the replicated log.
BEGIN; … COMMIT; sends the statements between them as one request (all or nothing, within
the request size limit); ROLLBACK; drops them. A backup's --format sql text loads this way.`;

export interface ShellIo {
  input: NodeJS.ReadableStream;
  write(text: string): void;
  /** Error lines: stderr, so a piped script's output stays clean. */
  error(text: string): void;
  interactive: boolean;
}

export class Shell {
  private timer = false;
  private consistency: Consistency = 'linearizable';
  /** The index of this shell's last write: session reads wait for it. */
  private lastWriteIndex = 0n;
  /** Statements since BEGIN, sent together at COMMIT; null outside a transaction. */
  private transaction: string[] | null = null;
  failures = 0;

  constructor(
    private readonly client: QuorumliteClient,
    private readonly address: string,
    private readonly io: ShellIo,
  ) {}

  async run(): Promise<number> {
    const rl = readline.createInterface({ input: this.io.input, terminal: this.io.interactive, ...(this.io.interactive ? { output: process.stdout } : {}) });
    if (this.io.interactive) await this.greet();
    let buffer = '';
    const prompt = (): void => {
      if (!this.io.interactive) return;
      rl.setPrompt(buffer === '' ? PROMPT : CONTINUATION_PROMPT);
      rl.prompt();
    };
    if (this.io.interactive) {
      // Without a listener readline closes on Ctrl-C, and the loop below would then run the
      // unfinished statement. Ctrl-C abandons what is typed, as in sqlite3 and psql.
      rl.on('SIGINT', () => {
        const typed = buffer !== '' || rl.line !== '';
        buffer = '';
        rl.write(null, { ctrl: true, name: 'e' });
        rl.write(null, { ctrl: true, name: 'u' });
        this.io.write(typed ? '^C\n' : `^C\n${EXIT_HINT}\n`);
        prompt();
      });
    }
    prompt();
    for await (const line of rl) {
      if (buffer === '' && line.trim().startsWith('.')) {
        if (!(await this.dot(line.trim()))) break;
      } else {
        const { statements, rest } = splitStatements(`${buffer}${line}\n`);
        buffer = hasCode(rest) ? rest : '';
        for (const sql of statements) await this.statement(sql);
      }
      prompt();
    }
    rl.close();
    if (hasCode(buffer)) {
      // A script's last statement may lack its `;`; at a terminal, Ctrl-D leaves without it.
      if (this.io.interactive) this.io.write('\nunfinished statement discarded\n');
      else await this.statement(buffer.trim());
    } else if (this.io.interactive) {
      this.io.write('\n');
    }
    if (this.transaction !== null) {
      this.fail(new Error(`the input ended inside a transaction: its ${this.transaction.length} statements were not sent (end it with COMMIT;)`));
      this.transaction = null;
    }
    return this.io.interactive || this.failures === 0 ? EXIT_OK : EXIT_REQUEST_ERROR;
  }

  private async greet(): Promise<void> {
    try {
      const s = await this.client.status(this.address);
      const leader = s.leaderId ? `leader ${s.leaderId} at ${s.leaderAddress}` : 'no leader known yet';
      this.io.write(`connected to ${s.nodeId} at ${this.address} (${s.role}; ${leader}; ${s.protocol})\n`);
    } catch (e: unknown) {
      this.io.error(`${formatError(e)}\n`);
    }
    this.io.write('statements end with ;  .help for help, .quit to leave\n');
  }

  private fail(e: unknown): void {
    this.failures++;
    this.io.error(`${formatError(e)}\n`);
  }

  /** Runs one statement and prints its result (or one error line). */
  async statement(sql: string): Promise<void> {
    if (this.inTransaction(sql)) return;
    const started = performance.now();
    try {
      if (this.transaction !== null) {
        const statements = this.transaction;
        this.transaction = null;
        await this.write(statements);
      } else if (classify(sql) === 'read') {
        const result = await this.client.query(sql, undefined, {
          consistency: this.consistency,
          ...(this.consistency === 'session' ? { minIndex: this.lastWriteIndex } : {}),
        });
        this.io.write(`${formatTable(result)}\n`);
      } else {
        await this.write([sql]);
      }
    } catch (e: unknown) {
      this.fail(e);
    }
    if (this.timer) this.io.write(`time: ${(performance.now() - started).toFixed(1)} ms\n`);
  }

  /**
   * BEGIN opens a transaction and the statements after it are held; true when `sql` was taken
   * here. COMMIT is left to statement(), which sends what was held as one request.
   */
  private inTransaction(sql: string): boolean {
    const control = transactionControl(sql);
    if (this.transaction === null) {
      if (control === 'begin') this.transaction = [];
      else if (control !== null) this.fail(new Error(`${sql.replace(/;\s*$/, '')}: no transaction is open`));
      return control !== null;
    }
    switch (control) {
      case 'commit':
        return this.transaction.length === 0 ? ((this.transaction = null), true) : false;
      case 'rollback':
        this.transaction = null;
        return true;
      case 'begin':
        this.fail(new Error('BEGIN: a transaction is already open; COMMIT or ROLLBACK it first'));
        return true;
      case null:
        this.transaction.push(sql);
        return true;
    }
  }

  private async write(statements: string[]): Promise<void> {
    const result = await this.client.execute(statements.map((sql) => ({ sql })));
    this.lastWriteIndex = result.index > this.lastWriteIndex ? result.index : this.lastWriteIndex;
    this.io.write(`${formatExecute(result)}\n`);
  }

  /** Handles a dot command; false means leave the shell. */
  async dot(line: string): Promise<boolean> {
    const [name, ...args] = line.split(/\s+/);
    switch (name) {
      case '.quit':
      case '.exit':
        return false;
      case '.help':
        this.io.write(`${SHELL_HELP}\n`);
        return true;
      case '.tables':
        await this.tables();
        return true;
      case '.schema':
        await this.schema(args[0]);
        return true;
      case '.status':
        await this.guard(async () => this.io.write(`${formatStatus(await this.client.status(this.address))}\n`));
        return true;
      case '.timer':
        return this.setTimer(args[0]);
      case '.consistency':
        return this.setConsistency(args[0]);
      default:
        this.fail(new Error(`unknown command ${name ?? line}; try .help`));
        return true;
    }
  }

  private async guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (e: unknown) {
      this.fail(e);
    }
  }

  private setTimer(arg: string | undefined): boolean {
    if (arg !== 'on' && arg !== 'off') {
      this.fail(new Error('usage: .timer on|off'));
      return true;
    }
    this.timer = arg === 'on';
    return true;
  }

  private setConsistency(arg: string | undefined): boolean {
    if (arg === undefined) {
      this.io.write(`${this.consistency}\n`);
      return true;
    }
    const level = CONSISTENCIES.find((c) => c === arg);
    if (!level) {
      this.fail(new Error(`usage: .consistency ${CONSISTENCIES.join('|')}`));
      return true;
    }
    this.consistency = level;
    return true;
  }

  private async tables(): Promise<void> {
    await this.guard(async () => {
      const res = await this.client.query(
        `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND substr(name, 1, ${INTERNAL_PREFIX.length}) <> ? AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
        [INTERNAL_PREFIX],
        { consistency: this.consistency },
      );
      const names = res.rows.map((r) => String(r[0]));
      if (names.length > 0) this.io.write(`${names.join('\n')}\n`);
    });
  }

  private async schema(table: string | undefined): Promise<void> {
    await this.guard(async () => {
      const res = await this.client.query(
        `SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND substr(tbl_name, 1, ${INTERNAL_PREFIX.length}) <> ?${table ? ' AND tbl_name = ? COLLATE NOCASE' : ''} ORDER BY tbl_name, type DESC, name`,
        table ? [INTERNAL_PREFIX, table] : [INTERNAL_PREFIX],
        { consistency: this.consistency },
      );
      for (const row of res.rows) this.io.write(`${String(row[0])};\n`);
      if (table && res.rows.length === 0) this.fail(new Error(`no table named ${table}`));
    });
  }
}

interface ShellOptions extends ConnectionOptions {
  consistency: Consistency;
}

export function shellCommand(): Command {
  const cmd = new Command('shell')
    .description('interactive SQL shell (reads a script from stdin when it is not a terminal)')
    .addOption(new Option('-c, --consistency <level>', 'read consistency').choices(['linearizable', 'stale', 'session']).default('linearizable'))
    .addHelpText('after', `\ndot commands:\n${SHELL_HELP}`);
  addConnectionOptions(cmd);
  return cmd.action(async (opts: ShellOptions) =>
    runCommand(false, async () => {
      const client = clientFrom(opts);
      const shell = new Shell(client, addressesOf(opts.addr)[0]!, {
        input: process.stdin,
        interactive: Boolean(process.stdin.isTTY),
        write: (text) => process.stdout.write(text),
        error: (text) => process.stderr.write(text),
      });
      await shell.dot(`.consistency ${opts.consistency}`);
      try {
        return await shell.run();
      } finally {
        client.close();
      }
    }),
  );
}
