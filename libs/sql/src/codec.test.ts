import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeOutcome, encodeCommand, encodeOutcome, requestDigest } from './codec';
import { SqlError } from './errors';
import type { ApplyOutcome, Command } from './types';

const sample: Command = {
  statements: [
    {
      sql: 'INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, :n)',
      params: [null, 9223372036854775807n, -9223372036854775808n, -0, 1.5, 'héllo ✓ 😀', new Uint8Array([0, 1, 255])],
      named: { n: Infinity },
    },
    { sql: '', params: [], named: {} },
  ],
  requestId: 'req-ü',
  timeMs: 1_750_000_000_123,
  seed: 4_294_967_295,
};

describe('command codec', () => {
  it('round-trips every value kind exactly', () => {
    const back = decodeCommand(encodeCommand(sample));
    expect(back.requestId).toBe('req-ü');
    expect(back.timeMs).toBe(sample.timeMs);
    expect(back.seed).toBe(sample.seed);
    const p = back.statements[0]!.params;
    expect(p[1]).toBe(9223372036854775807n);
    expect(p[2]).toBe(-9223372036854775808n);
    expect(Object.is(p[3], -0)).toBe(true);
    expect(p.slice(4, 6)).toEqual([1.5, 'héllo ✓ 😀']);
    expect(Array.from(p[6] as Uint8Array)).toEqual([0, 1, 255]);
    expect(back.statements[0]!.named['n']).toBe(Infinity);
    expect(back.statements[1]).toEqual({ sql: '', params: [], named: {} });
  });

  it('round-trips a null request id and long strings', () => {
    const long = 'x'.repeat(300_000);
    const back = decodeCommand(encodeCommand({ ...sample, requestId: null, statements: [{ sql: long, params: [], named: {} }] }));
    expect(back.requestId).toBeNull();
    expect(back.statements[0]!.sql).toBe(long);
  });

  it('round-trips strings around the short-ASCII fast path: lengths 0, 127, 128, 255, 256, and late non-ASCII', () => {
    const texts = ['', 'a'.repeat(127), 'b'.repeat(128), 'c'.repeat(255), 'd'.repeat(256), `${'e'.repeat(200)}é`, `${'f'.repeat(254)}😀`, '\u007f\u0080'];
    const back = decodeCommand(encodeCommand({ ...sample, statements: [{ sql: 'SELECT 1', params: texts, named: {} }] }));
    expect(back.statements[0]!.params).toEqual(texts);
  });

  it('copies a large value into the command once: one buffer of the command\'s size, and decoding returns a view of it', () => {
    const blob = new Uint8Array(1 << 20).fill(7);
    const text = 'é'.repeat(300_000) + '✓';
    const c: Command = { statements: [{ sql: 'INSERT INTO t VALUES (?, :t)', params: [blob], named: { t: text } }], requestId: null, timeMs: 1, seed: 2 };
    const bytes = encodeCommand(c);
    // Sized before writing: no doubled buffer behind the command, and no second, exact-size copy.
    expect(bytes.buffer.byteLength - bytes.byteLength).toBeLessThan(1024);
    const back = decodeCommand(bytes);
    const value = back.statements[0]!.params[0] as Uint8Array;
    // Compared as bytes: a deep comparison of a megabyte, element by element, takes seconds.
    expect(Buffer.from(value).equals(Buffer.from(blob))).toBe(true);
    expect(back.statements[0]!.named['t'] === text).toBe(true);
    expect(value.buffer).toBe(bytes.buffer);
  });

  it('gives a small command a buffer of its own size, not a view of the shared pool it was written in', () => {
    const small: Command = { statements: [{ sql: 'INSERT INTO t VALUES (?)', params: ['x'.repeat(100)], named: {} }], requestId: 'r', timeMs: 1, seed: 2 };
    const bytes = encodeCommand(small);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    expect(decodeCommand(bytes)).toEqual(small);
  });

  it('rejects garbage with SqlError(invalid), never a raw TypeError', () => {
    const good = encodeCommand(sample);
    const cases: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(9), good.subarray(0, good.length - 1), Uint8Array.of(...good, 0)];
    for (let cut = 0; cut < good.length; cut += 7) cases.push(good.subarray(0, cut));
    for (const bytes of cases) {
      expect(() => decodeCommand(bytes)).toThrow(SqlError);
      try {
        decodeCommand(bytes);
      } catch (e: unknown) {
        expect((e as SqlError).code).toBe('invalid');
      }
    }
    expect(() => decodeCommand('nope' as unknown as Uint8Array)).toThrow(SqlError);
  });

  it('names the statement and parameter a truncated command breaks off in', () => {
    const c: Command = { statements: [{ sql: 'SELECT ?', params: [1n], named: {} }, { sql: 'SELECT ?, ?', params: [2n, 3n], named: {} }], requestId: null, timeMs: 1, seed: 2 };
    const bytes = encodeCommand(c);
    // The last byte belongs to statement 1's parameter 1 (an int64) and then its named count.
    expect(() => decodeCommand(bytes.subarray(0, bytes.length - 2))).toThrow(/statement 1 parameter 1 needs 8 bytes/);
    expect(() => decodeCommand(bytes.subarray(0, bytes.length - 1))).toThrow(/statement 1 named count/);
    const tagAt = bytes.length - 1 - 8 - 1;
    const badTag = Uint8Array.from(bytes);
    badTag[tagAt] = 9;
    expect(() => decodeCommand(badTag)).toThrow(/unknown value tag 9 for statement 1 parameter 1/);
  });

  it('decodes every SQL text as itself when texts repeat, differ at equal length, or are not ASCII', () => {
    const texts = ['INSERT INTO a VALUES (?)', 'INSERT INTO b VALUES (?)', 'INSERT INTO a VALUES (?)', 'INSERT INTO é VALUES (?)', 'INSERT INTO ü VALUES (?)', '', 'x'.repeat(2000), 'x'.repeat(2000)];
    const c: Command = { statements: texts.map((sql) => ({ sql, params: [], named: {} })), requestId: null, timeMs: 1, seed: 2 };
    for (let round = 0; round < 3; round++) {
      expect(decodeCommand(encodeCommand(c)).statements.map((s) => s.sql)).toEqual(texts);
      const reversed = { ...c, statements: [...c.statements].reverse() };
      expect(decodeCommand(encodeCommand(reversed)).statements.map((s) => s.sql)).toEqual([...texts].reverse());
    }
  });

  it("names a named parameter by its key as written, whatever the key holds", () => {
    const key = '{s}{p}$&x';
    const bytes = encodeCommand({ statements: [{ sql: 'SELECT 1', params: [], named: { [key]: 5n } }], requestId: null, timeMs: 1, seed: 2 });
    expect(() => decodeCommand(bytes.subarray(0, bytes.length - 2))).toThrow('statement 0 parameter :{s}{p}$&x needs 8 bytes');
  });
});

describe('outcome codec (the dedup table)', () => {
  // The stored bytes are part of the database every replica must hold byte for byte: the form
  // written out by hand must be exactly what JSON.stringify gave for the plain outcome.
  const asBefore = (o: ApplyOutcome): string =>
    o.ok
      ? JSON.stringify({ ok: true, results: o.results.map((r) => [r.rowsAffected, r.lastInsertRowid.toString()]) })
      : JSON.stringify({ ok: false, error: o.error });
  const plainResults: ApplyOutcome = {
    ok: true,
    duplicate: false,
    results: [
      { rowsAffected: 1, lastInsertRowid: 1n },
      { rowsAffected: 0, lastInsertRowid: -9223372036854775808n },
      { rowsAffected: 123_456, lastInsertRowid: 9223372036854775807n },
      { rowsAffected: 0, lastInsertRowid: 0n },
      // Decimal digits written by hand: around each power of ten and the edges of safe integers.
      ...[9n, 10n, 99n, 100n, -1n, -10n, 9007199254740991n, 9007199254740992n, -9007199254740991n, -9007199254740992n].map((id, k) => ({ rowsAffected: 10 ** k, lastInsertRowid: id })),
    ],
  };

  it('writes results without rows exactly as JSON.stringify of the stored form', () => {
    expect(Buffer.from(encodeOutcome(plainResults)).toString('utf8')).toBe(asBefore(plainResults));
    const odd: ApplyOutcome = { ok: true, duplicate: false, results: [{ rowsAffected: NaN, lastInsertRowid: 1n }, { rowsAffected: 1e21, lastInsertRowid: 2n }] };
    expect(Buffer.from(encodeOutcome(odd)).toString('utf8')).toBe(asBefore(odd));
    const none: ApplyOutcome = { ok: true, results: [], duplicate: false };
    expect(Buffer.from(encodeOutcome(none)).toString('utf8')).toBe('{"ok":true,"results":[]}');
    const failed: ApplyOutcome = { ok: false, error: { code: 'sql_error', message: 'UNIQUE "x"\n', sqliteCode: 'SQLITE_CONSTRAINT_UNIQUE', statementIndex: 2 }, duplicate: false };
    expect(Buffer.from(encodeOutcome(failed)).toString('utf8')).toBe(asBefore(failed));
  });

  it('round-trips results with and without rows, in any order', () => {
    const mixed: ApplyOutcome = {
      ok: true,
      duplicate: false,
      results: [
        { rowsAffected: 1, lastInsertRowid: 7n },
        { rowsAffected: 1, lastInsertRowid: 8n, rows: { columns: [{ name: 'id', declType: 'INTEGER' }, { name: 'v', declType: '' }], rows: [[8n, 'é"\\'], [9n, null]], truncated: false } },
        { rowsAffected: 2, lastInsertRowid: -3n },
      ],
    };
    const text = Buffer.from(encodeOutcome(mixed)).toString('utf8');
    // In JSON.stringify's own form: no space, number or escape written otherwise.
    expect(JSON.stringify(JSON.parse(text))).toBe(text);
    expect(text.startsWith('{"ok":true,"results":[[1,"7"],[1,"8",[{"name":"id","declType":"INTEGER"},{"name":"v","declType":""}],"')).toBe(true);
    expect(text.endsWith('",false],[2,"-3"]]}')).toBe(true);
    expect(decodeOutcome(encodeOutcome(mixed), true)).toEqual({ ...mixed, duplicate: true });
    expect(decodeOutcome(encodeOutcome(plainResults), false)).toEqual(plainResults);
  });
});

describe('request digests (the dedup table keeps them: part of the stored format)', () => {
  const command = (requestId: string, sql: string, params: Command['statements'][number]['params']): Uint8Array =>
    encodeCommand({ statements: [{ sql, params, named: {} }], requestId, timeMs: 1_700_000_000_000, seed: 42 });
  const hex = (id: string, sql: string, params: Command['statements'][number]['params']): string => requestDigest(command(id, sql, params), id).toString('hex');

  it('are the same bytes as every earlier version computed, for short bodies (cyrb128) and long ones (SHA-256)', () => {
    expect([
      hex('r-1', 'INSERT INTO kv(k, v) VALUES (?, ?)', ['key-1', 'x'.repeat(100)]),
      hex('0123456789abcdef0123456789abcdef', 'SELECT 1', []),
      hex('é-id', 'INSERT INTO t VALUES (?)', [new Uint8Array([0, 255, 7])]),
      hex('long', 'INSERT INTO big VALUES (?)', ['y'.repeat(5_000)]),
    ]).toEqual(['376049320a16a8ca2ad0761657c1277d', '2d79afda966b16418cf923a95034fde9', '32461f876af90e432525ff505404838c', '21d11db8cf7ffa2053ceea1273ee2901']);
  });

  it('hash a body of 4,096 bytes with cyrb128 and one of 4,097 with SHA-256', () => {
    // The body is what follows the header: version, time, seed, request id (an ASCII id of under 128 bytes here).
    const body = (id: string, bytes: Uint8Array): number => bytes.length - (1 + 8 + 8 + 1 + 1 + id.length);
    const at = (size: number): Uint8Array => command('edge', 'INSERT INTO big VALUES (?)', ['y'.repeat(size - 33)]);
    expect([body('edge', at(4096)), body('edge', at(4097))]).toEqual([4096, 4097]);
    const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes.subarray(bytes.length - body('edge', bytes))).digest().subarray(0, 16).toString('hex');
    const [small, large] = [requestDigest(at(4096), 'edge').toString('hex'), requestDigest(at(4097), 'edge').toString('hex')];
    expect([small, large]).toEqual(['da496158d78b2e68772bb85b8b2c885e', '4215c6ac4667b0621c374dc2b1dc1e6b']);
    expect(small).not.toBe(sha(at(4096)));
    expect(large).toBe(sha(at(4097)));
  });

  it('skip the header a retry changes (time, seed), and differ with the body', () => {
    const a = encodeCommand({ statements: [{ sql: 'SELECT 1', params: [], named: {} }], requestId: 'same', timeMs: 1, seed: 1 });
    const b = encodeCommand({ statements: [{ sql: 'SELECT 1', params: [], named: {} }], requestId: 'same', timeMs: 2, seed: 9 });
    const c = encodeCommand({ statements: [{ sql: 'SELECT 2', params: [], named: {} }], requestId: 'same', timeMs: 1, seed: 1 });
    expect(requestDigest(a, 'same').equals(requestDigest(b, 'same'))).toBe(true);
    expect(requestDigest(a, 'same').equals(requestDigest(c, 'same'))).toBe(false);
  });
});
