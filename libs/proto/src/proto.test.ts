import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromWireValue, packageDefinitions, RepeatedText, sqlServiceCtor, toWireValue, wireInt64 } from './index';

describe('proto', () => {
  it('loads both services', () => {
    const defs = packageDefinitions();
    expect(Object.keys(defs.sql)).toContain('quorumlite.v1.SqlService');
    expect(Object.keys(defs.peer)).toContain('quorumlite.v1.PeerService');
    expect(sqlServiceCtor().service).toBeDefined();
  });

  it('round-trips 64-bit integers, reals, text, blobs and null', () => {
    const values = [null, 2n ** 63n - 1n, -(2n ** 63n), 1.5, 'héllo', new Uint8Array([0, 1, 255])];
    for (const v of values) {
      const w = toWireValue(v);
      const kind = Object.keys(w)[0] as 'null';
      expect(fromWireValue({ ...w, kind })).toEqual(v);
    }
  });

  it('sends a 64-bit field as a number while it is a safe integer, else as its decimal string', () => {
    expect(wireInt64(0n)).toBe(0);
    expect(wireInt64(-7n)).toBe(-7);
    expect(wireInt64(2n ** 53n - 1n)).toBe(2 ** 53 - 1);
    expect(wireInt64(-(2n ** 53n) + 1n)).toBe(-(2 ** 53) + 1);
    expect(wireInt64(2n ** 53n)).toBe('9007199254740992');
    expect(wireInt64(-(2n ** 63n))).toBe('-9223372036854775808');
    expect(wireInt64(42)).toBe(42);
    expect(wireInt64(2 ** 60)).toBe(String(2 ** 60));
  });

  it('puts the same bytes on the wire for a number as for its decimal string, and the peer reads the same value', () => {
    const session = sqlServiceCtor().service['Session']!;
    const answer = (int: (v: bigint) => string | number) => ({
      results: [
        { id: '1', execute: { results: [{ rows_affected: int(1n), last_insert_rowid: int(2n ** 53n - 1n) }, { rows_affected: int(0n), last_insert_rowid: int(-(2n ** 63n)) }], index: int(123_456_789n), duplicate: false, uncommitted: false, leader_address: 'a:1' } },
        { id: '2', query: { columns: [{ name: 'n', decl_type: 'INTEGER' }], rows: [-5n, 2n ** 63n - 1n, 0n].map((v) => ({ values: [{ integer: int(v) }] })), index: int(7n), truncated: false } },
      ],
    });
    const asNumbers = session.responseSerialize(answer(wireInt64));
    const asStrings = session.responseSerialize(answer((v) => v.toString()));
    expect(Buffer.compare(asNumbers, asStrings)).toBe(0);
    const back = session.responseDeserialize(asNumbers) as { results: { execute?: { results: { last_insert_rowid: string }[]; index: string }; query?: { rows: { values: { integer: string }[] }[] } }[] };
    expect(back.results[0]!.execute!.results.map((r) => r.last_insert_rowid)).toEqual(['9007199254740991', '-9223372036854775808']);
    expect(back.results[0]!.execute!.index).toBe('123456789');
    expect(back.results[1]!.query!.rows.map((r) => r.values[0]!.integer)).toEqual(['-5', '9223372036854775807', '0']);
  });

  it('rejects integers that do not fit in 64 bits, naming the place', () => {
    expect(() => fromWireValue({ kind: 'integer', integer: '9223372036854775808' }, 'params[0]')).toThrow(/params\[0\].*64 bits/);
    expect(() => fromWireValue({ kind: 'integer', integer: '12x' }, 'p')).toThrow(/not a 64-bit integer/);
    expect(() => toWireValue(2n ** 64n)).toThrow(RangeError);
  });

  it('refuses a value with no field set, naming the place, rather than binding NULL', () => {
    expect(() => fromWireValue({}, 'statements[0].params[1]')).toThrow(/statements\[0\]\.params\[1\]: no value is set/);
    expect(() => fromWireValue({ null: false, integer: undefined }, 'p')).toThrow(/no value is set/);
    expect(fromWireValue({ kind: 'null', null: false })).toBeNull();
    expect(fromWireValue({ null: true })).toBeNull();
  });

  it('documents every ql-* metadata key the node sends or reads in sql.proto', () => {
    const root = path.resolve(__dirname, '../../..');
    const proto = fs.readFileSync(path.join(root, 'proto/quorumlite/v1/sql.proto'), 'utf8');
    const sources = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) return sources(p);
        return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [p] : [];
      });
    const keys = new Set(sources(path.join(root, 'apps/node/src')).flatMap((f) => fs.readFileSync(f, 'utf8').match(/'ql-[a-z-]+'/g) ?? []));
    expect(keys.size).toBeGreaterThan(0);
    for (const quoted of keys) expect(proto).toMatch(new RegExp(`^//\\s+${quoted.slice(1, -1)}\\s`, 'm'));
  });
});

describe('RepeatedText', () => {
  it('gives the text of the bytes, the same string while they repeat, and a new one when they change at the same length', () => {
    const texts = new RepeatedText();
    const frame = Buffer.from('..SELECT 1..SELECT 2..SELECT 1..héllo..', 'utf8');
    const at = (s: string, from = 0): [number, number] => {
      const i = frame.indexOf(s, from);
      return [i, i + Buffer.byteLength(s)];
    };
    const first = texts.decode(frame, ...at('SELECT 1'));
    expect(first).toBe('SELECT 1');
    const again = texts.decode(Buffer.from('SELECT 1'), 0, 8);
    expect(again).toBe(first);
    expect(texts.decode(frame, ...at('SELECT 2'))).toBe('SELECT 2');
    expect(texts.decode(frame, ...at('SELECT 1', 12))).toBe('SELECT 1');
    expect(texts.decode(frame, ...at('héllo'))).toBe('héllo');
    // Its own copy: the caller's buffer changing under it changes nothing.
    const mutable = Buffer.from('SELECT 3');
    expect(texts.decode(mutable, 0, 8)).toBe('SELECT 3');
    mutable.write('SELECT 4');
    expect(texts.decode(mutable, 0, 8)).toBe('SELECT 4');
    expect(texts.decode(Buffer.alloc(0), 0, 0)).toBe('');
    const long = Buffer.from('x'.repeat(2_000));
    expect(texts.decode(long, 0, 2_000)).toBe('x'.repeat(2_000));
    expect(texts.decode(long, 0, 2_000)).toBe('x'.repeat(2_000));
  });
});

describe('ProtoSizer reused', () => {
  it('measures each message from the start after reset, and ProtoOut reads no length it did not measure', async () => {
    const { ProtoOut, ProtoSizer } = await import('./wire-codec');
    const z = new ProtoSizer();
    z.close(z.open(), 300);
    z.close(z.open(), 5);
    z.reset();
    const slot = z.open();
    expect(slot).toBe(0);
    z.close(slot, 2);
    expect(z.measured).toBe(1);
    const o = new ProtoOut(Buffer.alloc(8), z.lengths, z.measured);
    o.open(0x0a);
    expect([...o.buf.subarray(0, o.pos)]).toEqual([0x0a, 2]);
    // A second field the sizer never measured: refused, not written with the stale length 5.
    expect(() => o.open(0x12)).toThrow('a message wrote more length-delimited fields than it measured');
  });
});
