/**
 * The replicated SQLite state machine. Every data-bearing replica applies the same committed
 * commands in the same order and must end in the same state; everything here serves that:
 * per-command time and seed, savepoints so a failing command undoes only itself, the applied
 * index stored in the same transaction as the effects (exactly once across crashes), and a
 * dedup window computed from log indices only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { assertNever } from '@quorumlite/consensus';
import type { SqlValue } from '@quorumlite/proto';
import { decodeCommand, decodeOutcome, encodeOutcome, requestDigest } from './codec';
import { type CommandContext, installDeterministicFunctions, nowText, Prng, wallClockContext } from './determinism';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { limitName, plural, resolveLimits, type SqlLimits, type SqlOptions } from './limits';
import { Lru } from './lru';
import { checkStatementPolicy, INTERNAL_PREFIX, paramShape } from './policy';
import { prepareCommand, type ShapeCache, type StatementShape } from './prepare';
import { digestDatabase, userObjects } from './inspect';
import { snapshotInto, fsyncDir, fsyncDirAsync, fsyncFile, GradualFlush, pacedBackup, readSnapshotIndex } from './snapshot-file';
import { splitStatements } from './tokenizer';
import { WalCheckpointer } from './wal-checkpointer';
import type {
  ApplyEntry,
  ApplyError,
  ApplyOutcome,
  Command,
  ExecuteInput,
  QueryInput,
  QueryResult,
  StatementInput,
  StatementResult,
} from './types';

/** Distinct statement texts kept prepared per connection. */
const STATEMENT_CACHE_ENTRIES = 512;
/** Beside the database during restore(): the incoming snapshot, then the database it replaces. */
const RESTORING_SUFFIX = '.restoring';
const PREVIOUS_SUFFIX = '.previous';

/** SQLite codes that say something about this machine (disk, memory, locks), not the command. */
const LOCAL_FAILURE_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_NOMEM',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
  'SQLITE_INTERRUPT',
  'SQLITE_PERM',
  'SQLITE_NOLFS',
  'SQLITE_INTERNAL',
  'SQLITE_MISUSE',
];

const MENTIONS_FAIL = /fail/i;

const SYNTAX_ERROR = /syntax error|incomplete input|unrecognized token|more than one statement/;

const INTERNAL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${INTERNAL_PREFIX}meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    applied_index INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO ${INTERNAL_PREFIX}meta (id, applied_index) VALUES (0, 0);
  CREATE TABLE IF NOT EXISTS ${INTERNAL_PREFIX}dedup (
    log_index INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    outcome BLOB NOT NULL,
    digest BLOB
  );
`;

/**
 * The dedup table before it kept each request's digest: the column is added at open. Rows
 * from then have none (NULL), and a reuse of their ids is taken for a retry, as it was then.
 */
const ADD_DEDUP_DIGEST = `ALTER TABLE ${INTERNAL_PREFIX}dedup ADD COLUMN digest BLOB`;

/**
 * Databases written before the dedup table was keyed by log index kept it keyed by request
 * id, with a second index: moved over once, at open, in one transaction.
 */
const LEGACY_DEDUP_TABLE = `${INTERNAL_PREFIX}requests`;
const MIGRATE_LEGACY_DEDUP = `
  BEGIN IMMEDIATE;
  INSERT OR REPLACE INTO ${INTERNAL_PREFIX}dedup (log_index, request_id, outcome)
    SELECT log_index, request_id, outcome FROM ${LEGACY_DEDUP_TABLE};
  DROP TABLE ${LEGACY_DEDUP_TABLE};
  COMMIT;
`;

interface WriteStatement {
  readonly stmt: Database.Statement<unknown[]>;
  /** Placeholders are ?NNN: better-sqlite3 binds those by name ("1", "2", …). */
  readonly numbered: boolean;
  /**
   * The text mentions FAIL (OR FAIL, ON CONFLICT FAIL, RAISE(FAIL)) — or merely the letters,
   * which errs on the safe side: the one way a failing statement keeps part of its changes.
   */
  readonly mentionsFail: boolean;
}

interface StoredRequest {
  readonly outcome: Buffer;
  /** Null for rows written before digests were kept. */
  readonly digest: Buffer | null;
}

interface RequestRow {
  readonly log_index: number | bigint;
  readonly request_id: string;
}

/** Statements the machine itself runs on the write connection. */
interface Internal {
  readonly begin: Database.Statement;
  readonly commit: Database.Statement;
  readonly rollback: Database.Statement;
  readonly savepoint: Database.Statement;
  readonly rollbackTo: Database.Statement;
  readonly release: Database.Statement;
  readonly resetRowid: Database.Statement;
  readonly resetChanges: Database.Statement;
  /** total_changes(), changes(), last_insert_rowid(). */
  readonly changeCounters: Database.Statement<[], [bigint, bigint, bigint]>;
  readonly readApplied: Database.Statement<[], bigint>;
  readonly writeApplied: Database.Statement<[number]>;
  readonly databaseBytes: Database.Statement<[], bigint>;
  readonly findRequest: Database.Statement<[number], StoredRequest>;
  readonly saveRequest: Database.Statement<[number, string, Buffer, Buffer]>;
  readonly pruneRequests: Database.Statement<[number], RequestRow>;
  readonly allRequests: Database.Statement<[], RequestRow>;
}

interface Connections {
  readonly write: Database.Database;
  readonly read: Database.Database;
  readonly internal: Internal;
  readonly closeBuiltins: () => void;
}

/** Pages snapshotAsync copies per step; each step is on disk before the next (4 KiB pages: 4 MiB). */
export const SNAPSHOT_PAGES_PER_STEP = 1024;

export class SqlStateMachine {
  private conn: Connections | null;
  private applied: number;
  private context: CommandContext | null = null;
  private readonly writeCache = new Lru<string, WriteStatement>(STATEMENT_CACHE_ENTRIES);
  /**
   * The dedup table's request ids and the log index of each one's newest row, kept in step
   * with it (set with each saved outcome, cleared by each prune, reloaded after a rollback or
   * restore). The table is keyed by log index — appends at its right edge, prunes at its
   * left — so it needs no second index: this map is how a request id finds its row, and a
   * new id (nearly every write) costs no lookup at all.
   */
  private knownRequests = new Map<string, number>();
  /** The schema may hold a FAIL conflict clause or RAISE(FAIL): every command gets a savepoint. */
  private schemaMayFail = true;
  private readonly shapeCache: ShapeCache = new Lru<string, StatementShape>(STATEMENT_CACHE_ENTRIES);
  private readonly readCache = new Lru<string, Database.Statement<unknown[]>>(STATEMENT_CACHE_ENTRIES);
  private readonly checkpointer: WalCheckpointer;

  private constructor(
    private readonly dbPath: string,
    private readonly limits: SqlLimits,
  ) {
    this.conn = this.openConnections();
    this.applied = this.loadState();
    this.checkpointer = new WalCheckpointer(dbPath, () => this.open().write);
  }

  static open(dbPath: string, options?: SqlOptions): SqlStateMachine {
    // What a restore cut short leaves: the incoming file not yet swapped in, or the old one
    // kept until the new one opened. The database file itself is whole in either case.
    fs.rmSync(`${dbPath}${RESTORING_SUFFIX}`, { force: true });
    fs.rmSync(`${dbPath}${PREVIOUS_SUFFIX}`, { force: true });
    return new SqlStateMachine(dbPath, resolveLimits(options));
  }

  appliedIndex(): number {
    return this.applied;
  }

  /** The database's size in bytes as its last commit left it (what a snapshot copies). */
  databaseBytes(): number {
    return Number(this.open().internal.databaseBytes.get());
  }

  /** Checkpoints of the write-ahead log run off the event loop, and why they stopped if they did. */
  walCheckpoints(): { runs: number; failure: string | null } {
    return this.checkpointer.stats();
  }

  // ---- before the log ----------------------------------------------------------------

  /** Leader, before the log: validates and fixes time+seed. Throws SqlError refused/invalid/too_large/sql_error(syntax). */
  prepare(input: ExecuteInput, timeMs: number, seed: number): Command {
    return this.prepareEncoded(input, timeMs, seed).command;
  }

  /** prepare() plus the command's log encoding, which the size check computes anyway. */
  prepareEncoded(input: ExecuteInput, timeMs: number, seed: number): { command: Command; encoded: Uint8Array } {
    return prepareCommand(input, timeMs, seed, this.limits, (sql, i) => this.checkSyntax(sql, i), this.shapeCache);
  }

  /**
   * Refuses only what SQLite cannot parse. "no such table" and the like are left to apply:
   * an earlier statement of the same request may create the table, and apply fails the
   * command identically on every replica if not.
   */
  private checkSyntax(sql: string, statementIndex: number): void {
    try {
      this.writeStatement(sql);
    } catch (e: unknown) {
      const message = messageOf(e);
      if (!SYNTAX_ERROR.test(message)) return;
      throw new SqlError('sql_error', `statement ${statementIndex}: ${message}`, {
        sqliteCode: sqliteCodeOf(e) ?? 'SQLITE_ERROR',
        statementIndex,
        cause: e,
      });
    }
  }

  // ---- apply ---------------------------------------------------------------------------

  /**
   * Applies committed entries in index order inside ONE SQLite transaction; each command in
   * its own SAVEPOINT (a failing command rolls back only itself, identically on every
   * replica). The stored applied index advances in the same transaction. Entries at or below
   * appliedIndex() are skipped (exactly once across crashes). Returns one outcome per entry
   * (noop: ok with no results; skipped: duplicate=true, with the stored outcome when the
   * command had a request id still in the window).
   *
   * Throws (and applies nothing of the batch) only for local failures — disk full, I/O error,
   * corruption — which would otherwise make this replica record an outcome the others do not.
   * The caller should stop the node: retrying later re-applies the same entries.
   */
  applyBatch(entries: readonly ApplyEntry[]): ApplyOutcome[] {
    const { internal } = this.open();
    const outcomes: ApplyOutcome[] = [];
    let next = this.applied + 1;
    const pending: ApplyEntry[] = [];
    let previous = -Infinity;
    for (const entry of entries) {
      if (entry.index <= previous) throw new Error(`entry ${entry.index} follows ${previous}: entries must be in index order`);
      previous = entry.index;
      if (entry.index <= this.applied) {
        outcomes.push(this.skippedOutcome(entry));
        continue;
      }
      if (entry.index !== next) {
        throw new Error(`entry ${entry.index} cannot follow ${next - 1}: entries must be applied in order without gaps`);
      }
      pending.push(entry);
      next++;
    }
    if (pending.length === 0) return outcomes;
    const last = next - 1;
    try {
      internal.begin.run();
      for (const entry of pending) outcomes.push(this.applyEntry(entry));
      const pruneAtOrBelow = last - this.limits.dedupWindowEntries;
      if (pruneAtOrBelow > 0) this.pruneRequests(pruneAtOrBelow);
      internal.writeApplied.run(last);
      internal.commit.run();
    } catch (e: unknown) {
      this.rollbackBatch();
      throw localFailure(e, pending[0]!.index, last);
    }
    this.applied = last;
    let bytes = 0;
    for (const entry of pending) bytes += entry.data.byteLength;
    this.checkpointer.committed(bytes);
    return outcomes;
  }

  private applyEntry(entry: ApplyEntry): ApplyOutcome {
    switch (entry.kind) {
      case 'noop':
        return { ok: true, results: [], duplicate: false };
      case 'command':
        return this.applyCommand(entry);
      default:
        return assertNever(entry.kind, 'entry kind');
    }
  }

  private applyCommand(entry: ApplyEntry): ApplyOutcome {
    let command: Command;
    try {
      command = decodeCommand(entry.data);
    } catch (e: unknown) {
      // The same bytes fail the same way everywhere: an outcome, not a local failure.
      return { ok: false, error: { code: 'invalid', message: messageOf(e) }, duplicate: false };
    }
    const { requestId } = command;
    if (requestId === null) return this.runCommand(command);
    const digest = requestDigest(entry.data, requestId);
    const prior = this.findRequest(requestId, entry.index, digest);
    if (prior !== null) return prior;
    const outcome = this.runCommand(command);
    this.open().internal.saveRequest.run(entry.index, requestId, encodeOutcome(outcome), digest);
    this.knownRequests.set(requestId, entry.index);
    return outcome;
  }

  private runCommand(command: Command): ApplyOutcome {
    this.context = lazyContext(command);
    try {
      const alone = this.withoutSavepoint(command.statements);
      const outcome = alone === null ? this.runInSavepoint(command.statements) : this.runAlone(command.statements[0]!, alone);
      if (!this.open().write.inTransaction) throw new Error('a command ended the batch transaction; replicas may diverge');
      return outcome;
    } finally {
      this.context = null;
    }
  }

  /**
   * A command of one statement needs no savepoint of its own: SQLite undoes a failing
   * statement itself (the statement journal of ABORT, its default and the resolution of
   * every runtime error). FAIL is the exception — it keeps the rows changed before the
   * failure — so a statement that mentions it, or any statement once the schema may (a
   * table's ON CONFLICT FAIL, a trigger's RAISE(FAIL)), still gets one. Either way the
   * outcome and the database are the same, so replicas may differ in which path they take.
   * Returns the prepared statement to run alone, or null when the command needs a savepoint.
   */
  private withoutSavepoint(statements: readonly StatementInput[]): WriteStatement | null {
    if (statements.length !== 1 || this.schemaMayFail) return null;
    try {
      const prepared = this.writeStatement(statements[0]!.sql);
      return prepared.mentionsFail ? null : prepared;
    } catch {
      return null; // it cannot be prepared: the savepoint path reports why, as always
    }
  }

  private runAlone(statement: StatementInput, prepared: WriteStatement): ApplyOutcome {
    this.resetRowidAndChanges();
    try {
      return { ok: true, results: [this.runStatement(statement, prepared)], duplicate: false };
    } catch (e: unknown) {
      if (isLocalFailure(e)) throw e;
      return { ok: false, error: toApplyError(e, 0), duplicate: false };
    }
  }

  private runInSavepoint(statements: readonly StatementInput[]): ApplyOutcome {
    const { internal } = this.open();
    internal.savepoint.run();
    this.resetRowidAndChanges();
    const results: StatementResult[] = [];
    for (let i = 0; i < statements.length; i++) {
      try {
        results.push(this.runStatement(statements[i]!));
      } catch (e: unknown) {
        if (isLocalFailure(e)) throw e;
        internal.rollbackTo.run();
        internal.release.run();
        const error = toApplyError(e, i);
        if (statements.length > 1) error.message = `statement ${i} (${shortText(statements[i]!.sql)}): ${error.message}`;
        return { ok: false, error, duplicate: false };
      }
    }
    internal.release.run();
    return { ok: true, results, duplicate: false };
  }

  /**
   * last_insert_rowid() and changes() carry over from whatever ran before on this connection,
   * which differs between replicas (restarts, batch boundaries): an insert into a temp table
   * pins the rowid to 0, then a delete of no row pins changes() to 0, as on a fresh connection.
   */
  private resetRowidAndChanges(): void {
    const { internal } = this.open();
    internal.resetRowid.run();
    internal.resetChanges.run();
  }

  private runStatement(s: StatementInput, prepared: WriteStatement = this.writeStatement(s.sql)): StatementResult {
    const { stmt, numbered, mentionsFail } = prepared;
    // Conservative: any statement mentioning FAIL may have put it into the schema.
    if (mentionsFail) this.schemaMayFail = true;
    if (stmt.reader) return this.runReader(stmt, bindArguments(s, numbered));
    const info = stmt.run(...bindArguments(s, numbered));
    return { rowsAffected: info.changes, lastInsertRowid: BigInt(info.lastInsertRowid) };
  }

  /**
   * A statement that returns rows (SELECT, or a write with RETURNING, which SQLite runs to
   * completion on its first step): its rows, up to the result limits, as Query returns them,
   * and what run() would have reported — changes only if this statement made some.
   */
  private runReader(stmt: Database.Statement<unknown[]>, args: unknown[]): StatementResult {
    const { internal } = this.open();
    const before = internal.changeCounters.get()!;
    const rows = readRows(stmt, args, this.limits.resultRowsMax, this.limits.resultBytesMax);
    const [total, changes, rowid] = internal.changeCounters.get()!;
    return { rowsAffected: total === before[0] ? 0 : Number(changes), lastInsertRowid: BigInt(rowid), rows };
  }

  private skippedOutcome(entry: ApplyEntry): ApplyOutcome {
    const unknown: ApplyOutcome = { ok: true, results: [], duplicate: true };
    if (entry.kind !== 'command') return unknown;
    try {
      const { requestId } = decodeCommand(entry.data);
      if (requestId === null) return unknown;
      return this.findRequest(requestId, this.applied, requestDigest(entry.data, requestId)) ?? unknown;
    } catch {
      return unknown;
    }
  }

  /**
   * Seen within the window that ends at `index`: a pure function of the log, so every replica
   * agrees. With `digest`, a request whose body differs from the stored one's is refused
   * (not run, not recorded): the id was reused, and the first result would answer the wrong
   * request.
   */
  private findRequest(requestId: string, index: number, digest: Buffer | null): ApplyOutcome | null {
    const at = this.knownRequests.get(requestId);
    if (at === undefined || at <= index - this.limits.dedupWindowEntries) return null;
    const stored = this.open().internal.findRequest.get(at);
    if (stored === undefined) throw new Error(`the dedup table lost its row at index ${at} (request ${requestId})`);
    if (digest !== null && stored.digest !== null && !digest.equals(stored.digest)) {
      const message = `request id ${JSON.stringify(requestId)} was already used at log index ${at} for different statements or parameters; a retry must resend the same request, a new request needs a new id`;
      return { ok: false, error: { code: 'invalid', message }, duplicate: false };
    }
    return { ...decodeOutcome(stored.outcome, true), originalIndex: at };
  }

  /** Drops rows at or below `index`; a request id leaves the map only with its newest row. */
  private pruneRequests(index: number): void {
    for (const row of this.open().internal.pruneRequests.all(index)) {
      if (this.knownRequests.get(row.request_id) === Number(row.log_index)) this.knownRequests.delete(row.request_id);
    }
  }

  /** A previously applied outcome for this request id, if still in the dedup window. */
  lookupRequest(requestId: string): ApplyOutcome | null {
    return this.findRequest(requestId, this.applied, null);
  }

  private rollbackBatch(): void {
    const { write, internal } = this.open();
    this.context = null;
    // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
    if (write.inTransaction) internal.rollback.run();
    this.loadKnownRequests();
  }

  /**
   * Prepared write statements by text. A miss re-checks the policy: the log is trusted to
   * hold what prepare() let through, but a COMMIT slipping in would end the batch
   * transaction, so apply refuses it too (the same way on every replica).
   */
  private writeStatement(sql: string): WriteStatement {
    const cached = this.writeCache.get(sql);
    if (cached !== undefined) return cached;
    const pieces = splitStatements(sql);
    const piece = pieces[0];
    if (pieces.length !== 1 || piece === undefined) {
      throw new SqlError('invalid', `a logged statement must hold exactly one statement, not ${pieces.length}`);
    }
    checkStatementPolicy(piece.sql, piece.tokens, 0);
    const numbered = paramShape(piece.tokens, 0).numbered;
    const stmt = this.open().write.prepare<unknown[]>(sql);
    if (stmt.reader) stmt.raw(true);
    const entry = { stmt, numbered, mentionsFail: MENTIONS_FAIL.test(sql) };
    this.writeCache.set(sql, entry);
    return entry;
  }

  // ---- reads ---------------------------------------------------------------------------

  /** Read-only connection. Refuses anything that writes. */
  query(input: QueryInput): QueryResult {
    const bytes = Buffer.byteLength(input.sql, 'utf8');
    if (bytes > this.limits.statementBytesMax) {
      throw new SqlError(
        'too_large',
        `the query is ${bytes} bytes; the limit is ${this.limits.statementBytesMax} (${limitName('statementBytesMax')})`,
      );
    }
    const pieces = splitStatements(input.sql);
    if (pieces.length !== 1) {
      throw new SqlError('invalid', `a query is exactly one statement; this one has ${pieces.length}`);
    }
    const piece = pieces[0]!;
    checkStatementPolicy(piece.sql, piece.tokens, 0);
    const shape = paramShape(piece.tokens, 0);
    checkQueryParams(input, shape.positional, shape.names);
    const stmt = this.readStatement(input.sql);
    // A PRAGMA the policy let through is a read (journal_mode and the like count as writers to
    // SQLite even without a value); the read connection is read-only in any case.
    const pragma = piece.tokens[0]?.kind === 'word' && piece.tokens[0].value === 'PRAGMA';
    if (!stmt.reader || (!stmt.readonly && !pragma)) {
      throw new SqlError('refused', 'a query may only read; send writes through Execute so every replica applies them');
    }
    return collectRows(
      stmt,
      bindArguments({ sql: input.sql, params: input.params, named: input.named }, shape.numbered),
      clampLimit(input.maxRows, this.limits.resultRowsMax),
      clampLimit(input.maxBytes, this.limits.resultBytesMax),
    );
  }

  private readStatement(sql: string): Database.Statement<unknown[]> {
    const cached = this.readCache.get(sql);
    if (cached !== undefined) return cached;
    let stmt: Database.Statement<unknown[]>;
    try {
      stmt = this.open().read.prepare<unknown[]>(sql);
    } catch (e: unknown) {
      throw new SqlError('sql_error', messageOf(e), { sqliteCode: sqliteCodeOf(e) ?? 'SQLITE_ERROR', cause: e });
    }
    if (stmt.reader) stmt.raw(true);
    this.readCache.set(sql, stmt);
    return stmt;
  }

  /** Row-by-row digest of user tables + schema (for replica comparison in tests and `status`). */
  digest(): string {
    return digestDatabase(this.open().read);
  }

  /** User tables, by name; quorumlite's and SQLite's own are hidden. */
  tables(): string[] {
    return userObjects(this.open().read)
      .filter((o) => o.type === 'table')
      .map((o) => o.name);
  }

  /** The user schema as SQL, one object per statement. */
  schema(): string {
    return userObjects(this.open().read)
      .filter((o) => o.sql !== null)
      .map((o) => `${o.sql};`)
      .join('\n');
  }

  // ---- snapshots -----------------------------------------------------------------------

  /** Consistent copy at the current applied index (VACUUM INTO destPath, then fsync), returns that index. */
  snapshot(destPath: string): { index: number } {
    snapshotInto(this.open().read, destPath);
    return { index: readSnapshotIndex(destPath) };
  }

  /**
   * A consistent copy made without blocking: SQLite's online backup from the write
   * connection copies SNAPSHOT_PAGES_PER_STEP pages per step and waits for them to reach the
   * disk before the next (so a large copy never floods the disk the log fsyncs to); applies
   * made meanwhile through the same connection are carried into the copy. The copy is the state
   * at the moment the backup finished; the index returned is read from the copy itself.
   * No restore() or close() may run until the promise settles.
   */
  async snapshotAsync(destPath: string): Promise<{ index: number }> {
    if (fs.existsSync(destPath)) throw new SqlError('invalid', `snapshot destination ${destPath} already exists`);
    const flush = new GradualFlush(destPath);
    try {
      // Each step's pages reach the disk before the next step: the copy never holds more than
      // one step unwritten, however large the database.
      await pacedBackup(this.open().write, destPath, SNAPSHOT_PAGES_PER_STEP, () => flush.flushNow());
    } catch (e: unknown) {
      await flush.abandon();
      fs.rmSync(destPath, { force: true });
      throw new SqlError('sql_error', `cannot write snapshot ${destPath}: ${messageOf(e)}`, { sqliteCode: sqliteCodeOf(e), cause: e });
    }
    try {
      await flush.finish();
      await fsyncDirAsync(path.dirname(destPath));
    } catch (e: unknown) {
      fs.rmSync(destPath, { force: true });
      throw new SqlError('sql_error', `cannot make snapshot ${destPath} durable: ${messageOf(e)}`, { cause: e });
    }
    return { index: readSnapshotIndex(destPath, { integrityCheck: false }) };
  }

  /**
   * Replaces the database with a snapshot file: verifies it (SQLite, integrity, our meta
   * table), moves it beside the database (a copy only across file systems), closes, renames
   * it over the database, reopens. The file is consumed: pass a copy to keep one. Returns
   * its applied index. A file that fails verification is left alone, as is the database;
   * should the new database fail to open after the swap, the previous one (kept beside it
   * under another name until then) is put back and reopened before the error is thrown.
   */
  restore(snapshotPath: string): { index: number } {
    const index = readSnapshotIndex(snapshotPath);
    const staging = `${this.dbPath}${RESTORING_SUFFIX}`;
    const previous = `${this.dbPath}${PREVIOUS_SUFFIX}`;
    moveFile(snapshotPath, staging);
    fsyncFile(staging);
    this.checkpointer.pause();
    this.closeConnections();
    // A WAL left beside the new file would be replayed into it: the old database's frames
    // are already checkpointed by the close, so drop the files before the swap.
    fs.rmSync(`${this.dbPath}-wal`, { force: true });
    fs.rmSync(`${this.dbPath}-shm`, { force: true });
    fs.rmSync(previous, { force: true });
    fs.linkSync(this.dbPath, previous);
    fs.renameSync(staging, this.dbPath);
    fsyncDir(path.dirname(this.dbPath));
    try {
      this.conn = this.openConnections();
      this.applied = this.loadState();
      if (this.applied !== index) throw new SqlError('corrupt', `restored ${snapshotPath} reads applied index ${this.applied}, expected ${index}`);
    } catch (e: unknown) {
      this.putBack(previous);
      throw e instanceof SqlError ? e : new SqlError('corrupt', `cannot open the database restored from ${snapshotPath}: ${messageOf(e)}; the previous database is back`, { cause: e });
    } finally {
      this.checkpointer.resume();
    }
    fs.rmSync(previous, { force: true });
    return { index };
  }

  /** Undoes a restore whose new database would not open: the previous file goes back in place. */
  private putBack(previous: string): void {
    this.closeConnections();
    fs.rmSync(`${this.dbPath}-wal`, { force: true });
    fs.rmSync(`${this.dbPath}-shm`, { force: true });
    fs.renameSync(previous, this.dbPath);
    fsyncDir(path.dirname(this.dbPath));
    this.conn = this.openConnections();
    this.applied = this.loadState();
  }

  close(): void {
    this.checkpointer.close();
    this.closeConnections();
  }

  // ---- connections ---------------------------------------------------------------------

  private open(): Connections {
    if (this.conn === null) throw new SqlError('invalid', `the state machine for ${this.dbPath} is closed`);
    return this.conn;
  }

  private openConnections(): Connections {
    const write = new Database(this.dbPath);
    let closeWriteBuiltins = (): void => undefined;
    let closeReadBuiltins = (): void => undefined;
    const closeBuiltins = (): void => {
      closeWriteBuiltins();
      closeReadBuiltins();
    };
    try {
      configureWriteConnection(write);
      write.exec(INTERNAL_SCHEMA);
      if (!hasColumn(write, `${INTERNAL_PREFIX}dedup`, 'digest')) write.exec(ADD_DEDUP_DIGEST);
      if (hasTable(write, LEGACY_DEDUP_TABLE)) write.exec(MIGRATE_LEGACY_DEDUP);
      // The reset table lives in the connection's temp schema: it never reaches the file.
      write.exec(`CREATE TEMP TABLE IF NOT EXISTS ${INTERNAL_PREFIX}reset (x)`);
      closeWriteBuiltins = installDeterministicFunctions(write, () => this.requireContext());
      const internal = prepareInternal(write);
      const read = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      read.defaultSafeIntegers(true);
      closeReadBuiltins = installDeterministicFunctions(read, wallClockContext);
      return { write, read, internal, closeBuiltins };
    } catch (e: unknown) {
      write.close();
      closeBuiltins();
      throw new SqlError('corrupt', `cannot open ${this.dbPath} as a quorumlite database: ${messageOf(e)}`, {
        sqliteCode: sqliteCodeOf(e),
        cause: e,
      });
    }
  }

  private closeConnections(): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    this.writeCache.clear();
    this.readCache.clear();
    try {
      conn.read.close();
      // Leaves no WAL behind, so the file alone is the database (restore swaps it).
      conn.write.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      conn.write.close();
      conn.closeBuiltins();
    }
  }

  private loadKnownRequests(): void {
    const known = new Map<string, number>();
    // In index order, so a request id that appears twice maps to its newest row.
    for (const row of this.open().internal.allRequests.iterate()) known.set(row.request_id, Number(row.log_index));
    this.knownRequests = known;
  }

  /** What the machine keeps in memory about the database it just opened; returns its applied index. */
  private loadState(): number {
    this.loadKnownRequests();
    this.schemaMayFail = this.readSchemaMayFail();
    return this.readAppliedIndex();
  }

  private readSchemaMayFail(): boolean {
    return this.open().write.prepare(`SELECT 1 FROM sqlite_schema WHERE sql LIKE '%fail%'`).get() !== undefined;
  }

  private readAppliedIndex(): number {
    return Number(this.open().internal.readApplied.get());
  }

  private requireContext(): CommandContext {
    if (this.context === null) {
      throw new SqlError('invalid', 'random() and the date functions run on the write connection only while applying a command');
    }
    return this.context;
  }
}

/**
 * synchronous=NORMAL in WAL mode may lose the last transactions on power loss, never corrupt:
 * that is enough because the replicated log is the durable record, and boot replays it from
 * the stored applied index. The other settings pin behaviour that would otherwise depend on
 * how SQLite was compiled, so every replica applies commands with the same rules.
 */
function configureWriteConnection(db: Database.Database): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') throw new Error(`journal_mode WAL was refused (got ${String(mode)})`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('recursive_triggers = ON');
  // Our deterministic random()/datetime() overrides must be callable from DEFAULT clauses,
  // triggers and views, which SQLite allows application functions only with a trusted schema.
  db.pragma('trusted_schema = ON');
  db.pragma('temp_store = MEMORY');
  // Checkpoints run in a worker thread (WalCheckpointer), never inside a COMMIT on the event loop.
  db.pragma('wal_autocheckpoint = 0');
  db.defaultSafeIntegers(true);
}

function prepareInternal(db: Database.Database): Internal {
  const t = INTERNAL_PREFIX;
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare(`SAVEPOINT ${t}command`),
    rollbackTo: db.prepare(`ROLLBACK TO ${t}command`),
    release: db.prepare(`RELEASE ${t}command`),
    resetRowid: db.prepare(`INSERT OR REPLACE INTO temp.${t}reset (rowid, x) VALUES (0, NULL)`),
    resetChanges: db.prepare(`DELETE FROM temp.${t}reset WHERE 0`),
    changeCounters: db.prepare<[], [bigint, bigint, bigint]>('SELECT total_changes(), changes(), last_insert_rowid()').raw(true),
    databaseBytes: db.prepare<[], bigint>('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()').pluck(),
    readApplied: db.prepare<[], bigint>(`SELECT applied_index FROM ${t}meta WHERE id = 0`).pluck(),
    writeApplied: db.prepare<[number]>(`UPDATE ${t}meta SET applied_index = ? WHERE id = 0`),
    findRequest: db.prepare<[number], StoredRequest>(`SELECT outcome, digest FROM ${t}dedup WHERE log_index = ?`),
    saveRequest: db.prepare<[number, string, Buffer, Buffer]>(
      `INSERT INTO ${t}dedup (log_index, request_id, outcome, digest) VALUES (?, ?, ?, ?)`,
    ),
    pruneRequests: db.prepare<[number], RequestRow>(`DELETE FROM ${t}dedup WHERE log_index <= ? RETURNING log_index, request_id`),
    allRequests: db.prepare<[], RequestRow>(`SELECT log_index, request_id FROM ${t}dedup ORDER BY log_index`),
  };
}

// ---- helpers ---------------------------------------------------------------------------

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

function moveFile(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e: unknown) {
    if (!(e instanceof Error && 'code' in e && e.code === 'EXDEV')) throw e;
    fs.copyFileSync(from, to);
    fs.rmSync(from);
  }
}

/**
 * The command's time and PRNG, built on first use: most commands never call random() or a
 * date function, and apply pays per command. A bad time fails the statement that needs it.
 */
function lazyContext(command: Command): CommandContext {
  let text: string | null = null;
  let random: Prng | null = null;
  return {
    get nowText(): string {
      text ??= nowText(command.timeMs);
      return text;
    },
    get random(): Prng {
      random ??= new Prng(command.seed);
      return random;
    },
  };
}

function isLocalFailure(e: unknown): boolean {
  const code = sqliteCodeOf(e);
  return code !== undefined && LOCAL_FAILURE_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

function localFailure(e: unknown, first: number, last: number): Error {
  if (e instanceof SqlError) return e;
  const code = sqliteCodeOf(e);
  return new SqlError(
    code?.startsWith('SQLITE_CORRUPT') || code?.startsWith('SQLITE_NOTADB') ? 'corrupt' : 'sql_error',
    `applying entries ${first}..${last} failed on this replica (${messageOf(e)}); none of them was applied`,
    { sqliteCode: code, cause: e },
  );
}

function toApplyError(e: unknown, statementIndex: number | undefined): ApplyError {
  const error: ApplyError =
    e instanceof SqlError
      ? { code: e.code, message: e.message }
      : sqliteCodeOf(e) !== undefined
        ? { code: 'sql_error', message: messageOf(e) }
        : // better-sqlite3 reports binding problems as RangeError/TypeError: the same bytes fail the same way everywhere.
          { code: 'invalid', message: messageOf(e) };
  const sqliteCode = e instanceof SqlError ? e.sqliteCode : sqliteCodeOf(e);
  if (sqliteCode !== undefined) error.sqliteCode = sqliteCode;
  if (statementIndex !== undefined) error.statementIndex = statementIndex;
  return error;
}

/** Longest statement text an error quotes; longer ones keep their start and end. */
const QUOTED_SQL_CHARS_MAX = 60;

/** The statement as an error quotes it: whitespace collapsed, the middle cut when long. */
function shortText(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  if (flat.length <= QUOTED_SQL_CHARS_MAX) return flat;
  const half = Math.floor((QUOTED_SQL_CHARS_MAX - 1) / 2);
  return `${flat.slice(0, half)}…${flat.slice(flat.length - half)}`;
}

/** better-sqlite3 arguments: `?` from an array in order, ?NNN and :name from one object. */
function bindArguments(s: StatementInput, numbered: boolean): unknown[] {
  if (numbered) {
    const byNumber: Record<string, SqlValue> = {};
    s.params.forEach((v, k) => {
      byNumber[String(k + 1)] = v;
    });
    return [byNumber];
  }
  const hasNamed = Object.keys(s.named).length > 0;
  return hasNamed ? [...s.params, s.named] : s.params;
}

function checkQueryParams(input: QueryInput, positional: number, names: readonly string[]): void {
  const params: readonly unknown[] = input.params;
  params.forEach((v, k) => checkValueForQuery(v, String(k)));
  if (params.length !== positional) {
    throw new SqlError('invalid', `the query has ${plural(positional, 'positional parameter')} but was given ${plural(params.length, 'value')}`);
  }
  const named = input.named;
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(named, name)) {
      throw new SqlError('invalid', `the query has no value for named parameter :${name}`);
    }
  }
  for (const [key, v] of Object.entries(named)) {
    if (!names.includes(key)) throw new SqlError('invalid', `the query has no parameter named :${key}`);
    checkValueForQuery(v, `:${key}`);
  }
}

function checkValueForQuery(v: unknown, param: string): void {
  const ok =
    v === null ||
    typeof v === 'string' ||
    typeof v === 'number' ||
    (typeof v === 'bigint' && BigInt.asIntN(64, v) === v) ||
    v instanceof Uint8Array;
  if (!ok) throw new SqlError('invalid', `query parameter ${param} is not a SQL value`);
}

function clampLimit(requested: number, max: number): number {
  return requested > 0 && requested < max ? Math.floor(requested) : max;
}

function collectRows(stmt: Database.Statement<unknown[]>, args: unknown[], maxRows: number, maxBytes: number): QueryResult {
  try {
    return readRows(stmt, args, maxRows, maxBytes);
  } catch (e: unknown) {
    throw queryError(e);
  }
}

/** Rows of a raw statement up to `maxRows` and `maxBytes`; errors are SQLite's own. */
function readRows(stmt: Database.Statement<unknown[]>, args: unknown[], maxRows: number, maxBytes: number): QueryResult {
  const columns = stmt.columns().map((c) => ({ name: c.name, declType: c.type ?? '' }));
  const rows: SqlValue[][] = [];
  let bytes = 0;
  let truncated = false;
  const it = stmt.iterate(...args);
  try {
    for (;;) {
      const next = it.next();
      if (next.done === true) break;
      const row = (next.value as unknown[]).map(toSqlValue);
      const rowBytes = row.reduce<number>((n, v) => n + valueBytes(v), 0);
      if (rows.length >= maxRows || bytes + rowBytes > maxBytes) {
        truncated = true;
        break;
      }
      rows.push(row);
      bytes += rowBytes;
    }
  } finally {
    it.return?.();
  }
  return { columns, rows, truncated };
}

function queryError(e: unknown): SqlError {
  if (e instanceof SqlError) return e;
  const code = sqliteCodeOf(e);
  if (code === undefined) return new SqlError('invalid', messageOf(e), { cause: e });
  if (code.startsWith('SQLITE_READONLY')) return new SqlError('refused', `a query may only read: ${messageOf(e)}`, { cause: e });
  return new SqlError('sql_error', messageOf(e), { sqliteCode: code, cause: e });
}

function toSqlValue(v: unknown): SqlValue {
  if (Buffer.isBuffer(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return v as SqlValue;
}

function valueBytes(v: SqlValue): number {
  if (v === null) return 1;
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (typeof v === 'bigint' || typeof v === 'number') return 8;
  return v.byteLength;
}
