/**
 * The two connections of a state machine's database: the write connection apply uses, with
 * the internal tables (applied index, dedup window) and the statements the machine runs on
 * them, and the read-only one queries use.
 */
import Database from 'better-sqlite3';
import { type CommandContext, installDeterministicFunctions, wallClockContext } from './determinism';
import { messageOf, SqlError, sqliteCodeOf } from './errors';
import { INTERNAL_PREFIX } from './policy';

export const INTERNAL_SCHEMA = `
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
  CREATE TABLE IF NOT EXISTS ${INTERNAL_PREFIX}members (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    address TEXT NOT NULL,
    log_index INTEGER NOT NULL
  );
`;

/**
 * Dedup layouts of development builds before the first release (keyed by request id in this
 * table; without the digest column): no release wrote them, so none is migrated — a database
 * holding one is refused at open, with what to do.
 */
export const DEVELOPMENT_DEDUP_TABLE = `${INTERNAL_PREFIX}requests`;

export interface StoredRequest {
  readonly request_id: string;
  readonly outcome: Buffer;
  /** Null for rows written before digests were kept. */
  readonly digest: Buffer | null;
}

export interface RequestRow {
  readonly log_index: number | bigint;
  readonly request_id: string;
}

/** Statements the machine itself runs on the write connection. */
export interface Internal {
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
  readonly clearMembers: Database.Statement;
  readonly insertMember: Database.Statement<[string, string, string, number]>;
  readonly readMembers: Database.Statement<[], { id: string; role: string; address: string; log_index: bigint }>;
  readonly writeApplied: Database.Statement<[number]>;
  /** SQLite's schema cookie: it changes with every change of the schema. */
  readonly schemaVersion: Database.Statement<[], bigint>;
  readonly findRequest: Database.Statement<[number], StoredRequest>;
  readonly saveRequest: Database.Statement<[number, string, Buffer, Buffer]>;
  readonly pruneRequests: Database.Statement<[number], RequestRow>;
  readonly allRequests: Database.Statement<[], RequestRow>;
}

export interface Connections {
  readonly write: Database.Database;
  readonly read: Database.Database;
  /** BEGIN and COMMIT of the read connection's shared transaction (SqlStateMachine.beginReads). */
  readonly readBegin: Database.Statement;
  readonly readCommit: Database.Statement;
  readonly internal: Internal;
  readonly closeBuiltins: () => void;
}

/**
 * synchronous=NORMAL in WAL mode may lose the last transactions on power loss, never corrupt:
 * that is enough because the replicated log is the durable record, and boot replays it from
 * the stored applied index. The other settings pin behaviour that would otherwise depend on
 * how SQLite was compiled, so every replica applies commands with the same rules.
 */
export function configureWriteConnection(db: Database.Database): void {
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

export function prepareInternal(db: Database.Database): Internal {
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
    readApplied: db.prepare<[], bigint>(`SELECT applied_index FROM ${t}meta WHERE id = 0`).pluck(),
    schemaVersion: db.prepare<[], bigint>('SELECT schema_version FROM pragma_schema_version()').pluck(),
    clearMembers: db.prepare(`DELETE FROM ${t}members`),
    insertMember: db.prepare<[string, string, string, number]>(`INSERT INTO ${t}members (id, role, address, log_index) VALUES (?, ?, ?, ?)`),
    readMembers: db.prepare<[], { id: string; role: string; address: string; log_index: bigint }>(`SELECT id, role, address, log_index FROM ${t}members ORDER BY rowid`).safeIntegers(true),
    writeApplied: db.prepare<[number]>(`UPDATE ${t}meta SET applied_index = ? WHERE id = 0`),
    findRequest: db.prepare<[number], StoredRequest>(`SELECT request_id, outcome, digest FROM ${t}dedup WHERE log_index = ?`),
    saveRequest: db.prepare<[number, string, Buffer, Buffer]>(
      `INSERT INTO ${t}dedup (log_index, request_id, outcome, digest) VALUES (?, ?, ?, ?)`,
    ),
    pruneRequests: db.prepare<[number], RequestRow>(`DELETE FROM ${t}dedup WHERE log_index <= ? RETURNING log_index, request_id`),
    allRequests: db.prepare<[], RequestRow>(`SELECT log_index, request_id FROM ${t}dedup ORDER BY log_index`),
  };
}

export function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

/** Opens (and if new, sets up) the database at `dbPath`; SqlError('corrupt') when it is not one of ours. */
export function openConnections(dbPath: string, requireContext: () => CommandContext): Connections {
  const write = new Database(dbPath);
  let closeWriteBuiltins = (): void => undefined;
  let closeReadBuiltins = (): void => undefined;
  const closeBuiltins = (): void => {
    closeWriteBuiltins();
    closeReadBuiltins();
  };
  try {
    configureWriteConnection(write);
    const dedup = `${INTERNAL_PREFIX}dedup`;
    if (hasTable(write, DEVELOPMENT_DEDUP_TABLE) || (hasTable(write, dedup) && !hasColumn(write, dedup, 'digest'))) {
      throw new Error('its request-id table is in the layout of a development build before the first release, which this one does not read: start this node again from its peers with an empty data directory and --rejoin');
    }
    write.exec(INTERNAL_SCHEMA);
    // The reset table lives in the connection's temp schema: it never reaches the file.
    write.exec(`CREATE TEMP TABLE IF NOT EXISTS ${INTERNAL_PREFIX}reset (x)`);
    closeWriteBuiltins = installDeterministicFunctions(write, requireContext);
    const internal = prepareInternal(write);
    const read = new Database(dbPath, { readonly: true, fileMustExist: true });
    read.defaultSafeIntegers(true);
    closeReadBuiltins = installDeterministicFunctions(read, wallClockContext);
    return { write, read, readBegin: read.prepare('BEGIN'), readCommit: read.prepare('COMMIT'), internal, closeBuiltins };
  } catch (e: unknown) {
    write.close();
    closeBuiltins();
    throw new SqlError('corrupt', `cannot open ${dbPath} as a quorumlite database: ${messageOf(e)}`, {
      sqliteCode: sqliteCodeOf(e),
      cause: e,
    });
  }
}
