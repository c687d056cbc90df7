import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeConfig, nodeId } from '@quorumlite/consensus';
import { encodeCommand } from './codec';
import { SqlStateMachine } from './state-machine';
import { entry, exec, rows, stmt, T0, TempDbs } from './testing';
import type { ApplyEntry, ApplyOutcome } from './types';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

const NON_DETERMINISTIC = [
  `CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER, b BLOB, dt TEXT, ct TEXT, jd REAL, s TEXT, ue INTEGER,
     d TEXT, tm TEXT, df TEXT DEFAULT CURRENT_TIMESTAMP, dr INTEGER DEFAULT (random()))`,
  `INSERT INTO t (r, b, dt, ct, jd, s, ue, d, tm)
     VALUES (random(), randomblob(16), datetime('now'), CURRENT_TIMESTAMP, julianday('NOW'), strftime('%s','now'),
             unixepoch(), CURRENT_DATE, CURRENT_TIME)`,
  'INSERT INTO t (r, b) SELECT random(), randomblob(3) FROM t',
  `CREATE TABLE log (id INTEGER PRIMARY KEY, at TEXT, r INTEGER)`,
  `CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (at, r) VALUES (strftime('%Y-%m-%d %H:%M:%f'), random()); END`,
  'INSERT INTO t (r) VALUES (last_insert_rowid() + changes())',
];

function applyAll(m: SqlStateMachine, leader: SqlStateMachine, timeMs: number, seed: number): ApplyOutcome[] {
  const entries = NON_DETERMINISTIC.map((sql, k) => entry(leader, k + 1, exec([sql]), timeMs + k, seed + k));
  return m.applyBatch(entries);
}

describe('apply is deterministic', () => {
  it('gives equal digests on separate databases for the same commands', () => {
    const a = dbs.open();
    const b = dbs.open();
    const oa = applyAll(a, a, T0, 11);
    // b applies the same log entries in two batches, after a restart in between.
    const entries = NON_DETERMINISTIC.map((sql, k) => entry(a, k + 1, exec([sql]), T0 + k, 11 + k));
    const ob = [...b.applyBatch(entries.slice(0, 2)), ...b.applyBatch(entries.slice(2))];
    expect(oa.every((o) => o.ok)).toBe(true);
    expect(ob).toEqual(oa);
    expect(b.digest()).toBe(a.digest());
    const [row] = rows(a, 'SELECT dt, ct, jd, s, ue, d, tm, df, length(b) FROM t WHERE id = 1');
    const iso = new Date(T0 + 1).toISOString();
    const dt = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    expect(row).toEqual([dt, dt, 2440587.5 + (T0 + 1) / 86_400_000, String(Math.floor((T0 + 1) / 1000)), BigInt(Math.floor((T0 + 1) / 1000)), iso.slice(0, 10), iso.slice(11, 19), dt, 16n]);
  });

  it('differs when the seed or the time differs', () => {
    const a = dbs.open();
    const b = dbs.open();
    const c = dbs.open();
    applyAll(a, a, T0, 11);
    applyAll(b, a, T0, 12);
    applyAll(c, a, T0 + 60_000, 11);
    expect(rows(b, 'SELECT r, b FROM t WHERE id = 1')).not.toEqual(rows(a, 'SELECT r, b FROM t WHERE id = 1'));
    expect(rows(c, 'SELECT r, b FROM t WHERE id = 1')).toEqual(rows(a, 'SELECT r, b FROM t WHERE id = 1'));
    expect(rows(c, 'SELECT dt FROM t WHERE id = 1')).not.toEqual(rows(a, 'SELECT dt FROM t WHERE id = 1'));
  });

  it('fails a computed time-zone modifier at apply, the same way everywhere', () => {
    const m = dbs.open();
    const [o] = m.applyBatch([entry(m, 1, exec([stmt("SELECT datetime('now', ?)", ['localtime'])]))]);
    expect(o).toMatchObject({ ok: false, error: { code: 'refused', statementIndex: 0 } });
  });
});

describe('a failing statement fails its command only', () => {
  it('rolls back its own command and applies the rest of the batch', () => {
    const m = dbs.open();
    const out = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE u (k TEXT PRIMARY KEY)', "INSERT INTO u VALUES ('a')"])),
      entry(m, 2, exec(["INSERT INTO u VALUES ('b')", "INSERT INTO u VALUES ('a')", "INSERT INTO u VALUES ('c')"])),
      entry(m, 3, exec(['INSERT INTO missing VALUES (1)'])),
      entry(m, 4, exec(["INSERT INTO u VALUES ('d')"])),
    ]);
    expect(out.map((o) => o.ok)).toEqual([true, false, false, true]);
    expect(out[1]).toEqual({
      ok: false,
      duplicate: false,
      error: { code: 'sql_error', sqliteCode: 'SQLITE_CONSTRAINT_PRIMARYKEY', statementIndex: 1, message: "statement 1 (INSERT INTO u VALUES ('a')): UNIQUE constraint failed: u.k" },
    });
    expect(out[2]).toMatchObject({ ok: false, error: { code: 'sql_error', message: 'no such table: missing', statementIndex: 0 } });
    expect(rows(m, 'SELECT k FROM u ORDER BY k')).toEqual([['a'], ['d']]);
    expect(m.appliedIndex()).toBe(4);
  });

  it('leaves nothing of a one-statement command that fails half-way, FAIL resolution included', () => {
    const file = path.join(dbs.dir(), 'db.sqlite');
    const m = dbs.open(undefined, file);
    const out = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE u (x UNIQUE)', 'INSERT INTO u VALUES (1)'])),
      entry(m, 2, exec(['INSERT INTO u VALUES (2), (3), (1), (4)'])), // ABORT: SQLite undoes it
      entry(m, 3, exec(['INSERT OR FAIL INTO u VALUES (5), (1)'])), // FAIL keeps 5 unless rolled back
      entry(m, 4, exec(['UPDATE u SET x = x + 10 WHERE x >= 1'])),
    ]);
    expect(out.map((o) => o.ok)).toEqual([true, false, false, true]);
    expect(rows(m, 'SELECT x FROM u ORDER BY x')).toEqual([[11n]]);
    // FAIL from the schema (a column's conflict clause, a trigger's RAISE), before and after a reopen.
    const ddl = [
      'CREATE TABLE f (x UNIQUE ON CONFLICT FAIL)',
      'CREATE TABLE g (x)',
      "CREATE TRIGGER g_fail AFTER INSERT ON g WHEN NEW.x = 0 BEGIN SELECT RAISE(FAIL, 'zero'); END",
    ];
    m.applyBatch([entry(m, 5, exec(ddl)), entry(m, 6, exec(['INSERT INTO f VALUES (7), (7)'])), entry(m, 7, exec(['INSERT INTO g VALUES (1), (0)']))]);
    m.close();
    const again = dbs.open(undefined, file);
    const later = again.applyBatch([entry(again, 8, exec(['INSERT INTO f VALUES (8), (8)'])), entry(again, 9, exec(['INSERT INTO g VALUES (2), (0)']))]);
    expect(later.map((o) => o.ok)).toEqual([false, false]);
    expect(rows(again, 'SELECT count(*) FROM f')).toEqual([[0n]]);
    expect(rows(again, 'SELECT count(*) FROM g')).toEqual([[0n]]);
  });

  it('answers an undecodable entry, a noop and a config record without stopping the batch', () => {
    const m = dbs.open();
    const out = m.applyBatch([
      { index: 1, kind: 'command', data: Uint8Array.of(1, 2, 3) },
      { index: 2, kind: 'noop', data: new Uint8Array(0) },
      entry(m, 3, exec(['CREATE TABLE v (x)'])),
      { index: 4, kind: 'config', data: encodeConfig([{ id: nodeId('n1'), role: 'voter', address: 'h:1' }]) },
    ]);
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(out[1]).toEqual({ ok: true, results: [], duplicate: false });
    expect(out[2]?.ok).toBe(true);
    expect(out[3]).toEqual({ ok: true, results: [], duplicate: false });
    expect(m.appliedIndex()).toBe(4);
  });

  it('keeps the latest member list it applied, addresses included, across a reopen; a list that does not decode changes nothing', () => {
    const file = path.join(dbs.dir(), 'members.sqlite');
    const m = dbs.open(undefined, file);
    expect(m.appliedMembers()).toBeNull();
    const three = ['n1', 'n2', 'n3'].map((id, i) => ({ id: nodeId(id), role: 'voter' as const, address: `h:${i + 1}` }));
    const four = [...three, { id: nodeId('n4'), role: 'observer' as const, address: 'h:4' }];
    const out = m.applyBatch([
      { index: 1, kind: 'config', data: encodeConfig(three) },
      { index: 2, kind: 'config', data: encodeConfig(four) },
      // A list of no members: decodes to nothing usable, the same on every replica.
      { index: 3, kind: 'config', data: Uint8Array.of(1, 0) },
    ]);
    expect(out.map((o) => o.ok)).toEqual([true, true, false]);
    expect(out[2]).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(/config/) } });
    expect(m.appliedMembers()).toEqual({ index: 2, members: four });
    m.close();
    expect(dbs.open(undefined, file).appliedMembers()).toEqual({ index: 2, members: four });
  });

  it('reports rows affected and last insert rowid per statement, pinned at each command start', () => {
    const m = dbs.open();
    const [, o] = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE w (x)', 'INSERT INTO w VALUES (1), (2), (3)'])),
      entry(m, 2, exec(['UPDATE w SET x = x + 1', 'INSERT INTO w VALUES (9)', 'DELETE FROM w WHERE x > 2'])),
    ]);
    expect(o).toEqual({
      ok: true,
      duplicate: false,
      results: [
        { rowsAffected: 3, lastInsertRowid: 0n },
        { rowsAffected: 1, lastInsertRowid: 4n },
        { rowsAffected: 3, lastInsertRowid: 4n },
      ],
    });
  });
});

describe('named parameters', () => {
  it('bind by name through prepare and apply, a parameter called __proto__ included', () => {
    const m = dbs.open();
    const named = JSON.parse('{"__proto__": "p", "b": 2}') as Record<string, string | bigint>;
    named['b'] = 2n;
    const out = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE n (a, b)'])),
      entry(m, 2, exec([stmt('INSERT INTO n VALUES (:__proto__, :b)', [], named), stmt('INSERT INTO n VALUES (?, :c)', [1n], { c: 3n })])),
    ]);
    expect(out.map((o) => o.ok)).toEqual([true, true]);
    expect(rows(m, 'SELECT a, b FROM n ORDER BY rowid')).toEqual([['p', 2n], [1n, 3n]]);
  });
});

describe('exactly once', () => {
  it('skips entries at or below the applied index, also after reopening', () => {
    const dir = dbs.dir();
    const file = path.join(dir, 'db.sqlite');
    const leader = dbs.open();
    const entries: ApplyEntry[] = [
      entry(leader, 1, exec(['CREATE TABLE c (n INTEGER)'])),
      ...[2, 3, 4].map((i) => entry(leader, i, exec([stmt('INSERT INTO c VALUES (?)', [BigInt(i)])]))),
    ];
    const m1 = SqlStateMachine.open(file);
    m1.applyBatch(entries.slice(0, 3));
    m1.close();
    const m2 = dbs.open(undefined, file);
    expect(m2.appliedIndex()).toBe(3);
    const out = m2.applyBatch(entries);
    expect(out.map((o) => o.duplicate)).toEqual([true, true, true, false]);
    expect(rows(m2, 'SELECT n FROM c ORDER BY n')).toEqual([[2n], [3n], [4n]]);
    expect(() => m2.applyBatch([entry(leader, 6, exec(['SELECT 1']))])).toThrow(/without gaps/);
  });
});

describe('changes() and last_insert_rowid() at the start of a command', () => {
  it('are 0, as on a fresh connection, with or without a savepoint', () => {
    const m = dbs.open();
    const first = 'INSERT INTO c VALUES (changes(), last_insert_rowid())';
    const out = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE c (changes, rowid_before)'])),
      entry(m, 2, exec(['INSERT INTO c VALUES (7, 7), (8, 8)'])),
      entry(m, 3, exec([first])), // alone
      entry(m, 4, exec([first, 'SELECT 1'])), // in a savepoint
    ]);
    expect(out.every((o) => o.ok)).toBe(true);
    expect(rows(m, 'SELECT * FROM c WHERE rowid > 2 ORDER BY rowid')).toEqual([
      [0n, 0n],
      [0n, 0n],
    ]);
  });
});

describe('statements that return rows', () => {
  it('return them from apply — RETURNING and SELECT — and a retry returns the same rows', () => {
    const m = dbs.open();
    const out = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT, b BLOB)'])),
      entry(m, 2, exec([stmt("INSERT INTO r (v, b) VALUES ('a', ?), ('b', NULL) RETURNING id, v, b", [new Uint8Array([1, 2])])], 'ins')),
      entry(m, 3, exec(["UPDATE r SET v = v || '!' WHERE id = 2 RETURNING v", 'DELETE FROM r WHERE id = 1 RETURNING id', 'SELECT count(*) AS n, 0.5 AS h FROM r'])),
      entry(m, 4, exec([stmt("INSERT INTO r (v, b) VALUES ('a', ?), ('b', NULL) RETURNING id, v, b", [new Uint8Array([1, 2])])], 'ins')),
    ]);
    expect(out[1]).toEqual({
      ok: true,
      duplicate: false,
      results: [
        {
          rowsAffected: 2,
          lastInsertRowid: 2n,
          rows: {
            columns: [{ name: 'id', declType: 'INTEGER' }, { name: 'v', declType: 'TEXT' }, { name: 'b', declType: 'BLOB' }],
            rows: [[1n, 'a', new Uint8Array([1, 2])], [2n, 'b', null]],
            truncated: false,
          },
        },
      ],
    });
    const [update, del, select] = out[2]!.ok ? out[2]!.results : [];
    expect(update).toMatchObject({ rowsAffected: 1, rows: { rows: [['b!']] } });
    expect(del).toMatchObject({ rowsAffected: 1, rows: { rows: [[1n]] } });
    expect(select).toEqual({ rowsAffected: 0, lastInsertRowid: 0n, rows: { columns: [{ name: 'n', declType: '' }, { name: 'h', declType: '' }], rows: [[1n, 0.5]], truncated: false } });
    expect(out[3]).toEqual({ ...out[1]!, duplicate: true, originalIndex: 2 });
  });

  it('cuts rows at the result limit and says so', () => {
    const m = dbs.open({ limits: { resultRowsMax: 2 } });
    const [, o] = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE n (x)'])),
      entry(m, 2, exec(['INSERT INTO n VALUES (1), (2), (3) RETURNING x'])),
    ]);
    expect(o).toMatchObject({ ok: true, results: [{ rowsAffected: 3, rows: { rows: [[1n], [2n]], truncated: true } }] });
    expect(rows(m, 'SELECT count(*) FROM n')).toEqual([[3n]]);
  });
});

describe('deduplication by request id', () => {
  it('returns the original outcome, success or failure, without running again', () => {
    const m = dbs.open();
    const first = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE d (x UNIQUE)'])),
      entry(m, 2, exec(['INSERT INTO d VALUES (1)'], 'req-ok')),
      entry(m, 3, exec(['INSERT INTO d VALUES (1)'], 'req-bad')),
    ]);
    const again = m.applyBatch([
      entry(m, 4, exec(['INSERT INTO d VALUES (1)'], 'req-ok')),
      entry(m, 5, exec(['INSERT INTO d VALUES (1)'], 'req-bad')),
    ]);
    expect(again[0]).toEqual({ ...first[1]!, duplicate: true, originalIndex: 2 });
    expect(again[1]).toEqual({ ...first[2]!, duplicate: true, originalIndex: 3 });
    expect(m.lookupRequest('req-ok')).toEqual({ ...first[1]!, duplicate: true, originalIndex: 2 });
    expect(m.lookupRequest('nope')).toBeNull();
    expect(rows(m, 'SELECT x FROM d')).toEqual([[1n]]);
  });

  it('refuses a reused id with a different body, naming the id, and keeps answering the retry', () => {
    const m = dbs.open();
    const [, first] = m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE d (x)'])),
      entry(m, 2, exec([stmt('INSERT INTO d VALUES (?)', [1n])], 'req-1')),
    ]);
    const later = m.applyBatch([
      entry(m, 3, exec([stmt('INSERT INTO d VALUES (?)', [2n])], 'req-1'), T0 + 5, 99), // other parameters
      entry(m, 4, exec(['INSERT INTO d VALUES (1)'], 'req-1')), // other statements
      entry(m, 5, exec([stmt('INSERT INTO d VALUES (?)', [1n])], 'req-1'), T0 + 9, 3), // the retry: other time and seed
    ]);
    for (const o of later.slice(0, 2)) {
      expect(o).toMatchObject({ ok: false, duplicate: false, error: { code: 'invalid' } });
      expect(o.ok ? '' : o.error.message).toContain('request id "req-1" was already used at log index 2 for different statements or parameters');
    }
    expect(later[2]).toEqual({ ...first!, duplicate: true, originalIndex: 2 });
    expect(rows(m, 'SELECT x FROM d')).toEqual([[1n]]);
    // A replica applying the same log one entry at a time says the same.
    const b = dbs.open();
    const log = [
      entry(m, 1, exec(['CREATE TABLE d (x)'])),
      entry(m, 2, exec([stmt('INSERT INTO d VALUES (?)', [1n])], 'req-1')),
      entry(m, 3, exec([stmt('INSERT INTO d VALUES (?)', [2n])], 'req-1'), T0 + 5, 99),
    ];
    expect(log.flatMap((e) => b.applyBatch([e]))[2]).toEqual(later[0]);
    expect(b.digest()).toBe(m.digest());
  });

  it('forgets ids outside the window the same way whatever the batch boundaries', () => {
    const limits = { dedupWindowEntries: 3 };
    const a = dbs.open({ limits });
    const b = dbs.open({ limits });
    const log: ApplyEntry[] = [
      entry(a, 1, exec(['CREATE TABLE e (x)'])),
      entry(a, 2, exec(['INSERT INTO e VALUES (2)'], 'r')),
      entry(a, 3, exec(['INSERT INTO e VALUES (2)'], 'r')), // within the window: duplicate
      entry(a, 4, exec(['SELECT 1'])),
      entry(a, 5, exec(['INSERT INTO e VALUES (5)'], 'r')), // 2 <= 5 - 3: forgotten, runs
      entry(a, 6, exec(['INSERT INTO e VALUES (5)'], 'r')),
    ];
    const oa = a.applyBatch(log);
    const ob = log.flatMap((e) => b.applyBatch([e]));
    expect(oa.map((o) => o.duplicate)).toEqual([false, false, true, false, false, true]);
    expect(ob).toEqual(oa);
    expect(b.digest()).toBe(a.digest());
    expect(rows(a, 'SELECT x FROM e ORDER BY x')).toEqual([[2n], [5n]]);
    // Pruned rows are gone from the table, not just ignored.
    a.applyBatch([4, 5, 6, 7, 8, 9].map((i) => ({ index: i + 3, kind: 'noop' as const, data: new Uint8Array(0) })));
    expect(a.lookupRequest('r')).toBeNull();
  });
});

describe('the dedup table', () => {
  const table = (file: string): unknown[][] => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT log_index, request_id, outcome, digest FROM _quorumlite_dedup ORDER BY log_index').raw(true).all() as unknown[][];
    } finally {
      db.close();
    }
  };

  it('holds the rows a replica applying one entry at a time holds; a retry inside the batch is answered from it', () => {
    const fileA = path.join(dbs.dir(), 'db.sqlite');
    const fileB = path.join(dbs.dir(), 'db.sqlite');
    const a = dbs.open(undefined, fileA);
    const b = dbs.open(undefined, fileB);
    const log: ApplyEntry[] = [entry(a, 1, exec(['CREATE TABLE f (x)']))];
    for (let i = 2; i <= 87; i++) log.push(entry(a, i, exec([stmt('INSERT INTO f VALUES (?)', [BigInt(i)])], `q-${i}`)));
    log.push(entry(a, 88, exec([stmt('INSERT INTO f VALUES (?)', [5n])], 'q-5'), T0 + 1, 9)); // a retry
    log.push(entry(a, 89, exec([stmt('INSERT INTO f VALUES (?)', [6n])], 'q-70'))); // an id reused for another body
    const oa = a.applyBatch(log);
    const ob = log.flatMap((e) => b.applyBatch([e]));
    expect(ob).toEqual(oa);
    expect(oa[87]).toEqual({ ...oa[4]!, duplicate: true, originalIndex: 5 });
    expect(oa[88]).toMatchObject({ ok: false, duplicate: false, error: { code: 'invalid', message: expect.stringContaining('request id "q-70" was already used at log index 70') } });
    const rowsA = table(fileA);
    expect(rowsA.map((r) => Number(r[0]))).toEqual(Array.from({ length: 86 }, (_, k) => k + 2));
    expect(rowsA).toEqual(table(fileB));
    expect(rows(a, 'SELECT count(*) FROM f')).toEqual([[86n]]);
    expect(a.lookupRequest('q-87')).toEqual({ ...oa[86]!, duplicate: true, originalIndex: 87 });
  });

  it('tells apart two request ids with the same hash: each answers its own retry, and pruning one keeps the other, across a reopen', () => {
    const file = path.join(dbs.dir(), 'db.sqlite');
    const limits = { dedupWindowEntries: 10 };
    const m = dbs.open({ limits }, file);
    const window = (m as unknown as { requests: { hashOf(id: string): number; size(): number } }).requests;
    // Two ids that share this window's hash (its seed is the process's own): found in a few
    // hundred thousand tries at most, 30 bits being what they are.
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null && i < 5_000_000; i++) {
      const id = `req-${i}`;
      const other = seen.get(window.hashOf(id));
      if (other !== undefined) pair = [other, id];
      else seen.set(window.hashOf(id), id);
    }
    if (pair === null) throw new Error('no two ids share a hash among 5,000,000');
    const [first, second] = pair;
    const insert = (v: bigint, id: string, k: number): ApplyEntry => entry(m, k, exec([stmt('INSERT INTO h VALUES (?)', [v])], id));
    const out = m.applyBatch([entry(m, 1, exec(['CREATE TABLE h (x)'])), insert(1n, first, 2), insert(2n, second, 3), insert(1n, first, 4), insert(2n, second, 5)]);
    expect(out.map((o) => [o.duplicate, o.originalIndex])).toEqual([[false, undefined], [false, undefined], [false, undefined], [true, 2], [true, 3]]);
    // Index 12 retries the second id; the batch then prunes the rows at or below 2: the first id's.
    const noops = [6, 7, 8, 9, 10, 11].map((i) => ({ index: i, kind: 'noop' as const, data: new Uint8Array(0) }));
    expect(m.applyBatch([...noops, insert(2n, second, 12)])[6]).toMatchObject({ duplicate: true, originalIndex: 3 });
    expect(m.lookupRequest(first)).toBeNull();
    expect(m.lookupRequest(second)).toMatchObject({ duplicate: true, originalIndex: 3 });
    expect(window.size()).toBe(1);
    expect(table(file).map((r) => r[1])).toEqual([second]);
    expect(rows(m, 'SELECT x FROM h')).toEqual([[1n], [2n]]);
    m.close();
    const again = dbs.open({ limits }, file);
    expect(again.lookupRequest(second)).toMatchObject({ duplicate: true, originalIndex: 3 });
    expect(again.lookupRequest(first)).toBeNull();
  });

  it('keeps nothing of a batch that failed on this replica: applied again, its requests run', () => {
    const file = path.join(dbs.dir(), 'db.sqlite');
    const m = dbs.open(undefined, file);
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE big (x)']))]);
    const write = (m as unknown as { conn: { write: import('better-sqlite3').Database } }).conn.write;
    write.pragma(`max_page_count = ${Number(write.pragma('page_count', { simple: true })) + 2}`);
    const batch = [
      entry(m, 2, exec(["INSERT INTO big VALUES ('small')"], 'r-2')),
      entry(m, 3, exec([stmt('INSERT INTO big VALUES (?)', [new Uint8Array(64 * 1024)])], 'r-3')),
    ];
    expect(() => m.applyBatch(batch)).toThrow(/applying entries 2\.\.3 failed on this replica/);
    expect(m.lookupRequest('r-2')).toBeNull();
    expect(table(file)).toEqual([]);
    write.pragma('max_page_count = 1000000');
    expect(m.applyBatch(batch).map((o) => [o.ok, o.duplicate])).toEqual([[true, false], [true, false]]);
    expect(table(file).map((r) => r[1])).toEqual(['r-2', 'r-3']);
  });
});

describe('a dedup table of a development build before the first release', () => {
  it('is refused at open with what to do, and the file is left as it was', () => {
    const dir = dbs.dir();
    for (const layout of ['keyed by request id', 'without digests']) {
      const file = path.join(dir, `${layout.replace(/ /g, '-')}.sqlite`);
      const m = SqlStateMachine.open(file);
      m.applyBatch([entry(m, 1, exec(['CREATE TABLE d (x)'])), entry(m, 2, exec(['INSERT INTO d VALUES (1)'], 'old-req'))]);
      m.close();
      const raw = new Database(file);
      raw.exec(layout === 'keyed by request id'
        ? `CREATE TABLE _quorumlite_requests (request_id TEXT PRIMARY KEY, log_index INTEGER NOT NULL, outcome BLOB NOT NULL) WITHOUT ROWID;
           INSERT INTO _quorumlite_requests SELECT request_id, log_index, outcome FROM _quorumlite_dedup;
           DROP TABLE _quorumlite_dedup;`
        : 'ALTER TABLE _quorumlite_dedup DROP COLUMN digest;');
      const before = raw.prepare("SELECT name FROM sqlite_schema ORDER BY name").all();
      raw.close();
      expect(() => SqlStateMachine.open(file)).toThrow(/cannot open .* as a quorumlite database: its request-id table is in the layout of a development build .* --rejoin/);
      const after = new Database(file, { readonly: true });
      expect(after.prepare("SELECT name FROM sqlite_schema ORDER BY name").all()).toEqual(before);
      after.close();
    }
  });
});

describe('values', () => {
  it('keeps 64-bit integers, reals and blobs exact through apply and query', () => {
    const m = dbs.open();
    const values = [9223372036854775807n, -9223372036854775808n, 9007199254740993n, 0.1, -0, 'text', new Uint8Array([0, 255, 7]), null];
    m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE v (i INTEGER PRIMARY KEY, x)'])),
      ...values.map((v, k) => entry(m, k + 2, exec([stmt('INSERT INTO v (i, x) VALUES (?, ?)', [BigInt(k), v])]))),
    ]);
    const got = rows(m, 'SELECT x FROM v ORDER BY i').map((r) => r[0]);
    expect(got).toEqual(values);
    expect(rows(m, 'SELECT typeof(x) FROM v ORDER BY i').map((r) => r[0])).toEqual([
      'integer', 'integer', 'integer', 'real', 'real', 'text', 'blob', 'null',
    ]);
    const [o] = m.applyBatch([entry(m, 10, exec([stmt('INSERT INTO v (i) VALUES (?)', [9223372036854775807n])]))]);
    expect(o).toEqual({ ok: true, duplicate: false, results: [{ rowsAffected: 1, lastInsertRowid: 9223372036854775807n }] });
  });

  it('binds ?NNN by number and named parameters by name', () => {
    const m = dbs.open();
    m.applyBatch([
      entry(m, 1, exec(['CREATE TABLE p (a, b, c)'])),
      entry(m, 2, exec([stmt('INSERT INTO p VALUES (?2, ?1, ?2)', [1n, 2n]), stmt('INSERT INTO p VALUES (:a, @b, $c)', [], { a: 'x', b: 'y', c: 'z' })])),
    ]);
    expect(rows(m, 'SELECT * FROM p ORDER BY rowid')).toEqual([[2n, 1n, 2n], ['x', 'y', 'z']]);
  });

  it('round-trips a command through the codec into the same apply outcome', () => {
    const m = dbs.open();
    const c = m.prepare(exec(['SELECT 1']), T0, 3);
    const [o] = m.applyBatch([{ index: 1, kind: 'command', data: encodeCommand(c) }]);
    expect(o?.ok).toBe(true);
  });
});

describe('local failures', () => {
  it('throw, apply nothing of the batch, and leave the machine usable', () => {
    const m = dbs.open();
    m.applyBatch([entry(m, 1, exec(['CREATE TABLE big (x)']))]);
    // Reach into the write connection to make the disk "full" (a user cannot: PRAGMAs are refused).
    const write = (m as unknown as { conn: { write: import('better-sqlite3').Database } }).conn.write;
    const pages = Number(write.pragma('page_count', { simple: true }));
    write.pragma(`max_page_count = ${pages + 2}`);
    const batch = [
      entry(m, 2, exec(["INSERT INTO big VALUES ('small')"])),
      entry(m, 3, exec([stmt('INSERT INTO big VALUES (?)', [new Uint8Array(64 * 1024)])])),
    ];
    expect(() => m.applyBatch(batch)).toThrow(/applying entries 2\.\.3 failed on this replica/);
    expect(m.appliedIndex()).toBe(1);
    expect(rows(m, 'SELECT count(*) FROM big')).toEqual([[0n]]);
    write.pragma('max_page_count = 1000000');
    expect(m.applyBatch(batch).map((o) => o.ok)).toEqual([true, true]);
    expect(m.appliedIndex()).toBe(3);
  });
});

describe('apply does not trust the log blindly', () => {
  it('fails a logged COMMIT or ATTACH instead of running it', () => {
    const m = dbs.open();
    const raw = (index: number, sql: string): ApplyEntry => ({
      index,
      kind: 'command',
      data: encodeCommand({ statements: [stmt(sql)], requestId: null, timeMs: T0, seed: 1 }),
    });
    const out = m.applyBatch([raw(1, 'CREATE TABLE k (x)'), raw(2, 'COMMIT'), raw(3, "ATTACH 'x.db' AS x"), raw(4, 'SELECT 1; SELECT 2'), raw(5, 'INSERT INTO k VALUES (1)')]);
    expect(out.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['ok', 'refused', 'refused', 'invalid', 'ok']);
    expect(m.appliedIndex()).toBe(5);
  });
});
