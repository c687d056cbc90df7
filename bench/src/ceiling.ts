/**
 * The local ceilings: one better-sqlite3 connection, no network, no replication.
 * - sqliteCeiling: the benchmark's inserts with WAL and synchronous=FULL, so every COMMIT is
 *   fsync'd. No replicated store on this disk can commit faster than this.
 * - sqliteReadCeiling: the select scenario's point reads on a table of the run's preloaded
 *   rows. What SQLite alone gives at that table size, so a run at millions of rows can tell
 *   what its reads lose to the larger table from what they lose anywhere else.
 */
import Database from 'better-sqlite3';
import * as path from 'node:path';
import type { Operation } from './loop';
import { INSERT_SQL, preloadKey, READ_CEILING_READS_PER_OP, readKeyOf, SELECT_SQL, TABLE_DDL, VALUE_TEXT } from './scenarios';

export interface SqliteCeiling {
  op: Operation;
  close(): void;
}

export function sqliteCeiling(dir: string, rowsPerTxn: number): SqliteCeiling {
  const db = new Database(path.join(dir, 'ceiling.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(TABLE_DDL);
  const insert = db.prepare(INSERT_SQL);
  const commit = db.transaction((first: number) => {
    for (let i = 0; i < rowsPerTxn; i++) insert.run(`c-${first + i}`, VALUE_TEXT);
  });
  return {
    // Synchronous work behind an async signature: the closed loop awaits it like any other op.
    op: (seq) => {
      commit(seq * rowsPerTxn);
      return Promise.resolve();
    },
    close: () => db.close(),
  };
}

/** Rows loaded per transaction while the read ceiling builds its table. */
const BUILD_ROWS_PER_TXN = 50_000;

/**
 * The table the select scenario reads, with `rows` rows loaded as a cluster's are (the same
 * keys and values), checkpointed; then a read-only connection with SQLite's default cache
 * reads it, key after key as the first loader reads them (readKeyOf), which spreads the
 * reads over the whole table.
 */
export function sqliteReadCeiling(dir: string, rows: number): SqliteCeiling {
  const file = path.join(dir, 'read-ceiling.sqlite');
  const build = new Database(file);
  try {
    build.pragma('journal_mode = WAL');
    build.pragma('synchronous = OFF');
    build.exec(TABLE_DDL);
    const insert = build.prepare(INSERT_SQL);
    const load = build.transaction((first: number, end: number) => {
      for (let i = first; i < end; i++) insert.run(preloadKey(i), VALUE_TEXT);
    });
    for (let first = 0; first < rows; first += BUILD_ROWS_PER_TXN) load(first, Math.min(rows, first + BUILD_ROWS_PER_TXN));
    build.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    build.close();
  }
  const db = new Database(file, { readonly: true });
  const select = db.prepare<[string], string>(SELECT_SQL).pluck();
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');
  let next = 0;
  return {
    op: () => {
      begin.run();
      try {
        for (let i = 0; i < READ_CEILING_READS_PER_OP; i++) {
          const key = readKeyOf(next++, 0, rows);
          if (select.get(key) === undefined) throw new Error(`read ceiling: the row of key ${key} is missing`);
        }
      } finally {
        commit.run();
      }
      return Promise.resolve();
    },
    close: () => db.close(),
  };
}
