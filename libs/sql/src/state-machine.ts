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
import { assertNever, decodeConfig, nodeId, type MemberSpec } from '@quorumlite/consensus';
import { decodeCommand, requestDigest } from './codec';
import type { CommandContext } from './determinism';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { limitName, resolveLimits, type SqlLimits, type SqlOptions } from './limits';
import { Lru } from './lru';
import { checkStatementPolicy, paramShape, type ParamShape } from './policy';
import { prepareCommand, type ShapeCache, type StatementShape } from './prepare';
import { digestDatabase, userObjects } from './inspect';
import { databaseOrigin } from './backup-file';
import { fsyncDir, fsyncDirAsync, fsyncFile, fsyncFileAsync, GradualFlush, moveFile, pacedBackup, readSnapshotIndex } from './snapshot-file';
import { splitStatements } from './tokenizer';
import { isLocalFailure, lazyContext, localFailure, shortText, toApplyError } from './apply-failure';
import { openConnections as openDatabase, type Connections } from './connections';
import { RequestWindow } from './dedup';
import { bindArguments, checkQueryParams, clampLimit, collectRows, queryError, readRows } from './query-rows';
import { WalCheckpointer } from './wal-checkpointer';
import type {
  ApplyEntry,
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

/** A query text that passed the checks: its parameters, and whether it is a PRAGMA. */
interface QueryShape {
  readonly shape: ParamShape;
  readonly pragma: boolean;
}

/** Beside the database during restore(): the incoming snapshot, then the database it replaces. */
const RESTORING_SUFFIX = '.restoring';
const PREVIOUS_SUFFIX = '.previous';

const MENTIONS_FAIL = /fail/i;

const SYNTAX_ERROR = /syntax error|incomplete input|unrecognized token|more than one statement/;

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

/** Pages snapshotAsync copies per step; each step is on disk before the next (4 KiB pages: 4 MiB). */
export const SNAPSHOT_PAGES_PER_STEP = 1024;
/**
 * A database of at most this many pages (4 KiB pages: 32 MiB) is copied in one step, synced
 * once: a peer waits for the copy (snapshots copy only for a peer behind the cut), and a step's
 * sync on a busy disk costs far more than copying a small database on the loop.
 */
export const SNAPSHOT_ONE_STEP_PAGES_MAX = 8192;

export class SqlStateMachine {
  private conn: Connections | null;
  private applied: number;
  private context: CommandContext | null = null;
  private readonly writeCache = new Lru<string, WriteStatement>(STATEMENT_CACHE_ENTRIES);
  /** Request ids of the dedup window (dedup.ts). */
  private readonly requests: RequestWindow;
  /** The schema may hold a FAIL conflict clause or RAISE(FAIL): every command gets a savepoint. */
  private schemaMayFail = true;
  private readonly shapeCache: ShapeCache = new Lru<string, StatementShape>(STATEMENT_CACHE_ENTRIES);
  private readonly readCache = new Lru<string, Database.Statement<unknown[]>>(STATEMENT_CACHE_ENTRIES);
  private readonly queryShapes = new Lru<string, QueryShape>(STATEMENT_CACHE_ENTRIES);
  /**
   * The result columns of each cached read statement (asking SQLite cost a point read nearly
   * a microsecond). A schema change can change them (SELECT * after ALTER TABLE): every batch
   * that changes SQLite's schema cookie forgets them all (noteSchema).
   */
  private queryColumns = new WeakMap<Database.Statement<unknown[]>, QueryResult['columns']>();
  /**
   * The read connection's transaction, which the queries of one event-loop turn share. A
   * statement outside one takes and releases SQLite's locks on the database and its WAL
   * index, each a system call: about 2 µs of a 3.5 µs point read. The transaction reads
   * what was committed when it began, so it ends before every applied batch (the reads
   * after it must see it), at the end of the turn, and before the connections close; and
   * while a checkpoint runs, queries take their own locks as before, so the checkpoint's
   * wait for readers is never longer.
   */
  private readsOpen = false;
  private readonly endReadsLater = (): void => this.endReads();
  private schemaVersion: bigint | null = null;
  private readonly checkpointer: WalCheckpointer;

  private constructor(
    private readonly dbPath: string,
    private readonly limits: SqlLimits,
  ) {
    this.requests = new RequestWindow(() => this.open().internal, limits.dedupWindowEntries);
    this.conn = this.openConnections();
    this.applied = this.loadState();
    // A checkpoint's RESTART waits for readers: the turn's shared read ends before one starts.
    this.checkpointer = new WalCheckpointer(dbPath, () => this.open().write, () => this.endReads());
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
    this.endReads();
    try {
      internal.begin.run();
      for (const entry of pending) outcomes.push(this.applyEntry(entry));
      const pruneAtOrBelow = last - this.limits.dedupWindowEntries;
      if (pruneAtOrBelow > 0) this.requests.prune(pruneAtOrBelow);
      internal.writeApplied.run(last);
      internal.commit.run();
    } catch (e: unknown) {
      this.rollbackBatch();
      throw localFailure(e, pending[0]!.index, last);
    }
    this.applied = last;
    this.noteSchema();
    let bytes = 0;
    for (const entry of pending) bytes += entry.data.byteLength;
    this.checkpointer.committed(bytes);
    return outcomes;
  }

  private applyEntry(entry: ApplyEntry): ApplyOutcome {
    switch (entry.kind) {
      case 'noop':
        return { ok: true, results: [], duplicate: false };
      case 'config':
        return this.applyConfig(entry);
      case 'command':
        return this.applyCommand(entry);
      default:
        return assertNever(entry.kind, 'entry kind');
    }
  }

  /**
   * The member list replaces the one held (addresses included: a node that learns the list
   * from a snapshot can reach every member). Bytes that do not decode fail the same way on
   * every replica: an outcome, and the list held stays.
   */
  private applyConfig(entry: ApplyEntry): ApplyOutcome {
    let members: MemberSpec[];
    try {
      members = decodeConfig(entry.data);
    } catch (e: unknown) {
      return { ok: false, error: { code: 'invalid', message: messageOf(e) }, duplicate: false };
    }
    const { internal } = this.open();
    internal.clearMembers.run();
    for (const m of members) internal.insertMember.run(m.id, m.role, m.address, entry.index);
    return { ok: true, results: [], duplicate: false };
  }

  /** Where this database began: '' (empty) or the backup it was restored from (backup-file.ts databaseOrigin). */
  origin(): string {
    return databaseOrigin(this.open().write);
  }

  /** The latest member list this database applied (a config record's), or null if none yet. */
  appliedMembers(): { index: number; members: MemberSpec[] } | null {
    const rows = this.open().internal.readMembers.all();
    if (rows.length === 0) return null;
    return {
      index: Number(rows[0]!.log_index),
      members: rows.map((r) => ({ id: nodeId(r.id), role: r.role as MemberSpec['role'], address: r.address })),
    };
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
    const prior = this.requests.find(requestId, entry.index, digest);
    if (prior !== null) return prior;
    const outcome = this.runCommand(command);
    this.requests.save(entry.index, requestId, outcome, digest);
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
    // Sized once: a batch's results, grown by push, were reallocated and copied as it grew.
    const results = new Array<StatementResult>(statements.length);
    for (let i = 0; i < statements.length; i++) {
      try {
        results[i] = this.runStatement(statements[i]!);
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
      return this.requests.find(requestId, this.applied, requestDigest(entry.data, requestId)) ?? unknown;
    } catch {
      return unknown;
    }
  }

  /** A previously applied outcome for this request id, if still in the dedup window. */
  lookupRequest(requestId: string): ApplyOutcome | null {
    return this.requests.find(requestId, this.applied, null);
  }

  private rollbackBatch(): void {
    const { write, internal } = this.open();
    this.context = null;
    // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
    if (write.inTransaction) internal.rollback.run();
    this.requests.load();
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
    const { shape, pragma } = this.queryShape(input.sql);
    checkQueryParams(input, shape.positional, shape.names);
    const stmt = this.readStatement(input.sql);
    if (!stmt.reader || (!stmt.readonly && !pragma)) {
      throw new SqlError('refused', 'a query may only read; send writes through Execute so every replica applies them');
    }
    const known = this.queryColumns.get(stmt);
    this.beginReads();
    const result = collectRows(
      stmt,
      bindArguments({ sql: input.sql, params: input.params, named: input.named }, shape.numbered),
      clampLimit(input.maxRows, this.limits.resultRowsMax),
      clampLimit(input.maxBytes, this.limits.resultBytesMax),
      known,
    );
    if (known === undefined) {
      // Frozen: every answer of this statement shares them until the schema changes.
      result.columns = Object.freeze(result.columns.map((c) => Object.freeze(c))) as QueryResult['columns'];
      this.queryColumns.set(stmt, result.columns);
    }
    return result;
  }

  /**
   * What the checks learn from a query's text: one statement, allowed by the policy, and its
   * parameters. They depend on the text alone, so a text that passed is not tokenized again
   * (a point read spent a microsecond and 3 KB of garbage on it).
   */
  private queryShape(sql: string): QueryShape {
    const cached = this.queryShapes.get(sql);
    if (cached !== undefined) return cached;
    const pieces = splitStatements(sql);
    if (pieces.length !== 1) {
      throw new SqlError('invalid', `a query is exactly one statement; this one has ${pieces.length}`);
    }
    const piece = pieces[0]!;
    checkStatementPolicy(piece.sql, piece.tokens, 0);
    const shape: QueryShape = {
      shape: paramShape(piece.tokens, 0),
      // A PRAGMA the policy let through is a read (journal_mode and the like count as writers
      // to SQLite even without a value); the read connection is read-only in any case.
      pragma: piece.tokens[0]?.kind === 'word' && piece.tokens[0].value === 'PRAGMA',
    };
    this.queryShapes.set(sql, shape);
    return shape;
  }

  private beginReads(): void {
    if (this.readsOpen || this.checkpointer.busy()) return;
    const conn = this.open();
    try {
      // One left open by an end that failed is never read from: its snapshot may be old.
      if (conn.read.inTransaction) conn.readCommit.run();
      conn.readBegin.run();
    } catch (e: unknown) {
      throw queryError(e);
    }
    this.readsOpen = true;
    setImmediate(this.endReadsLater);
  }

  /**
   * Throws only when SQLite can neither commit nor roll back the read (the connection is
   * broken): a node that cannot promise its next read a fresh snapshot must stop.
   */
  private endReads(): void {
    if (!this.readsOpen) return;
    this.readsOpen = false;
    const conn = this.conn;
    // SQLite may have ended it on its own (an I/O error, out of memory).
    if (conn === null || !conn.read.inTransaction) return;
    try {
      conn.readCommit.run();
    } catch (e: unknown) {
      if (conn.read.inTransaction) conn.read.prepare('ROLLBACK').run();
      if (conn.read.inTransaction) throw e;
    }
  }

  /** Forgets the read statements' columns when the schema changed (after every applied batch: one pragma). */
  private noteSchema(): void {
    const version = this.open().internal.schemaVersion.get()!;
    if (version === this.schemaVersion) return;
    this.schemaVersion = version;
    this.queryColumns = new WeakMap();
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

  /**
   * Makes everything applied so far durable where it is, without a copy: the write-ahead log
   * and its directory entry are synced off the event loop. Every commit since the last complete
   * checkpoint is in the log file, and a complete checkpoint synced the database file before the
   * log could start over (synchronous=NORMAL on every connection that checkpoints). The database
   * file itself is never opened here: closing any descriptor of it would drop every POSIX lock
   * this process holds on it — SQLite's locks — and another process could then checkpoint and
   * delete the log under us. SQLite takes no lock on the log file. Returns the applied index it
   * covers (applies made meanwhile may be covered too, or not). No restore() or close() may run
   * until it settles.
   */
  async syncAsync(): Promise<{ index: number }> {
    const index = this.appliedIndex();
    try {
      await fsyncFileAsync(`${this.dbPath}-wal`, { missingOk: true });
      await fsyncDirAsync(path.dirname(this.dbPath));
    } catch (e: unknown) {
      throw new SqlError('sql_error', `cannot make database ${this.dbPath} durable: ${messageOf(e)}`, { cause: e });
    }
    return { index };
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
      const write = this.open().write;
      const pages = Number(write.pragma('page_count', { simple: true }));
      await pacedBackup(write, destPath, pages <= SNAPSHOT_ONE_STEP_PAGES_MAX ? Math.max(1, pages) : SNAPSHOT_PAGES_PER_STEP, () => flush.flushNow());
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
    // Before pause(): a checkpoint under way may be waiting for this very reader.
    this.endReads();
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
    this.endReads();
    this.checkpointer.close();
    this.closeConnections();
  }

  // ---- connections ---------------------------------------------------------------------

  private open(): Connections {
    if (this.conn === null) throw new SqlError('invalid', `the state machine for ${this.dbPath} is closed`);
    return this.conn;
  }

  /** A method so that a test can make a reopen fail. */
  private openConnections(): Connections {
    return openDatabase(this.dbPath, () => this.requireContext());
  }

  private closeConnections(): void {
    this.endReads();
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    this.writeCache.clear();
    this.readCache.clear();
    this.queryColumns = new WeakMap();
    this.schemaVersion = null;
    try {
      conn.read.close();
      // Leaves no WAL behind, so the file alone is the database (restore swaps it).
      conn.write.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      conn.write.close();
      conn.closeBuiltins();
    }
  }

  /** What the machine keeps in memory about the database it just opened; returns its applied index. */
  private loadState(): number {
    this.requests.load();
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
