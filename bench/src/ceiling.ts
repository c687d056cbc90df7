/**
 * The local-disk ceiling: one better-sqlite3 connection doing the benchmark's inserts with
 * WAL and synchronous=FULL, so every COMMIT is fsync'd. No network, no replication: no
 * replicated store on this disk can commit faster than this.
 */
import Database from 'better-sqlite3';
import * as path from 'node:path';
import type { Operation } from './loop';
import { INSERT_SQL, TABLE_DDL, VALUE_TEXT } from './scenarios';

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
