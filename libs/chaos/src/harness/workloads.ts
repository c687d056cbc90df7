/**
 * The three workloads, as SQL through QuorumliteClient. Each one owns a table, knows how to
 * create it, how to pick a random operation, how to run one, and which final reads and replica
 * dump describe its end state.
 */
import type { Durability, ExecuteResult, QueryResult, QuorumliteClient, SqlValue } from '@quorumlite/client';
import { toJsonNumber, type OpInput, type OpOutput, type WorkloadName } from './history';

export const REGISTER_KEYS = 5;
export const BANK_ACCOUNTS = 5;
export const BANK_INITIAL_BALANCE = 100;
export const BANK_TRANSFER_MAX = 30;
export const APPEND_KEYS = 5;

export interface WorkloadSpec {
  name: WorkloadName;
  /** Statements that create the table and its initial rows, run once before the run. */
  setup: string[];
  /**
   * A random operation. `unique` gives a run-wide unique integer for written values;
   * `lastSeen` is the last register value this worker read or wrote for a key (cas aims at it).
   */
  generate(random: () => number, unique: () => number, lastSeen: (key: number) => number | null): OpInput;
  /** Operations that read the whole final state. */
  finalReads(): OpInput[];
  /** A query that lists the workload's rows in a deterministic order, for replica dumps. */
  dumpSql: string;
}

function pick(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

export const WORKLOADS: Record<WorkloadName, WorkloadSpec> = {
  register: {
    name: 'register',
    setup: ['CREATE TABLE IF NOT EXISTS reg (k INTEGER PRIMARY KEY, v INTEGER)'],
    generate(random, unique, lastSeen) {
      const key = pick(random, REGISTER_KEYS);
      const r = random();
      if (r < 0.5) return { f: 'read', key };
      if (r < 0.8) return { f: 'write', key, value: unique() };
      // Aiming at a value this worker saw makes compare-and-set match often enough to matter.
      return { f: 'cas', key, from: lastSeen(key) ?? 0, to: unique() };
    },
    finalReads: () => Array.from({ length: REGISTER_KEYS }, (_, key) => ({ f: 'read', key }) as const),
    dumpSql: 'SELECT k, v FROM reg ORDER BY k',
  },
  bank: {
    name: 'bank',
    setup: [
      'CREATE TABLE IF NOT EXISTS bank (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))',
      `INSERT OR IGNORE INTO bank (id, balance) VALUES ${Array.from({ length: BANK_ACCOUNTS }, (_, i) => `(${i}, ${BANK_INITIAL_BALANCE})`).join(', ')}`,
    ],
    generate(random) {
      if (random() < 0.4) return { f: 'balances' };
      const from = pick(random, BANK_ACCOUNTS);
      const to = (from + 1 + pick(random, BANK_ACCOUNTS - 1)) % BANK_ACCOUNTS;
      return { f: 'transfer', from, to, amount: 1 + pick(random, BANK_TRANSFER_MAX) };
    },
    finalReads: () => [{ f: 'balances' }],
    dumpSql: 'SELECT id, balance FROM bank ORDER BY id',
  },
  append: {
    name: 'append',
    setup: ['CREATE TABLE IF NOT EXISTS app (k INTEGER NOT NULL, v INTEGER NOT NULL)'],
    generate(random, unique) {
      const key = pick(random, APPEND_KEYS);
      return random() < 0.4 ? { f: 'list', key } : { f: 'append', key, value: unique() };
    },
    finalReads: () => Array.from({ length: APPEND_KEYS }, (_, key) => ({ f: 'list', key }) as const),
    dumpSql: 'SELECT rowid, k, v FROM app ORDER BY rowid',
  },
};

export function isWrite(input: OpInput): boolean {
  return input.f === 'write' || input.f === 'cas' || input.f === 'transfer' || input.f === 'append';
}

/** What runOp needs from a write or read: the answer and the log index it happened at. */
export interface OpAnswer {
  output: OpOutput;
  index: bigint;
  /** A write acknowledged with durability 'leader' before it committed: its output is unknown. */
  uncommitted?: boolean;
}

function rowsOf(r: QueryResult): SqlValue[][] {
  if (r.truncated) throw new Error('a workload read came back truncated');
  return r.rows;
}

function nullableNumber(v: SqlValue | undefined): number | null {
  return v === null || v === undefined ? null : toJsonNumber(v);
}

function affected(r: ExecuteResult, i = 0): number {
  return r.results[i]?.rowsAffected ?? 0;
}

/**
 * Runs one operation. Throws what the client throws; the caller decides what the error means.
 * The bank transfer is one command of two statements: when the debit would go below zero the
 * CHECK constraint fails the statement, and the failed statement fails the whole command.
 */
export async function runOp(client: QuorumliteClient, input: OpInput, requestId: string, durability: Durability = 'quorum'): Promise<OpAnswer> {
  const written = (w: ExecuteResult, output: OpOutput): OpAnswer => ({ output, index: w.index, ...(w.uncommitted ? { uncommitted: true } : {}) });
  switch (input.f) {
    case 'read': {
      const r = await client.query('SELECT v FROM reg WHERE k = ?', [input.key]);
      return { output: { f: 'read', value: nullableNumber(rowsOf(r)[0]?.[0]) }, index: r.index };
    }
    case 'write': {
      const w = await client.execute({ sql: 'INSERT INTO reg (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', params: [input.key, input.value] }, { requestId, durability });
      return written(w, { f: 'write' });
    }
    case 'cas': {
      const w = await client.execute({ sql: 'UPDATE reg SET v = ? WHERE k = ? AND v = ?', params: [input.to, input.key, input.from] }, { requestId, durability });
      return written(w, { f: 'cas', matched: affected(w) === 1 });
    }
    case 'transfer': {
      const w = await client.execute(
        [
          { sql: 'UPDATE bank SET balance = balance - ? WHERE id = ?', params: [input.amount, input.from] },
          { sql: 'UPDATE bank SET balance = balance + ? WHERE id = ?', params: [input.amount, input.to] },
        ],
        { requestId, durability },
      );
      return written(w, { f: 'transfer' });
    }
    case 'balances': {
      const r = await client.query('SELECT id, balance FROM bank ORDER BY id');
      const balances: Record<string, number> = {};
      for (const row of rowsOf(r)) balances[String(toJsonNumber(row[0]))] = toJsonNumber(row[1]);
      return { output: { f: 'balances', balances }, index: r.index };
    }
    case 'append': {
      const w = await client.execute({ sql: 'INSERT INTO app (k, v) VALUES (?, ?)', params: [input.key, input.value] }, { requestId, durability });
      return written(w, { f: 'append' });
    }
    case 'list': {
      const r = await client.query('SELECT v FROM app WHERE k = ? ORDER BY rowid', [input.key]);
      return { output: { f: 'list', values: rowsOf(r).map((row) => toJsonNumber(row[0])) }, index: r.index };
    }
    default:
      return assertNever(input);
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
