import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { packageDefinitions } from '@quorumlite/proto';
import { decodeExecuteRequestBytes, decodeQueryRequestBytes, decodeSessionRequestBytes } from './request-wire';

interface Method {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
}
const service = (packageDefinitions().sql as unknown as Record<string, Record<string, Method>>)['quorumlite.v1.SqlService']!;
const session = service['Session']!;
const execute = service['Execute']!;
const query = service['Query']!;


function cases(seed: number) {
  const r = seededRandom(seed); // the same cases on every run
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const maybe = (p = 0.5) => r() < p;
  const text = () => pick(['', 'a', 'SELECT v FROM kv WHERE k = ?', 'héllo ✓ 😀', 'x'.repeat(int(300)), '\ud800 lone', String(int(1e9))]);
  const int64s = ['0', '1', '-1', '127', '-128', '4294967295', '4294967296', '-4294967297', '9007199254740991', '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808'];
  const uint64s = ['0', '1', '4294967295', '4294967296', '9007199254740991', '9007199254740993', '18446744073709551615'];
  const value = (): Record<string, unknown> => {
    const v: Record<string, unknown> = {};
    const members = maybe(0.1) ? 2 : maybe(0.05) ? 0 : 1; // a oneof set twice, or not at all
    for (let i = 0; i < members; i++) {
      switch (int(5)) {
        case 0: v['null'] = maybe(0.8); break;
        case 1: v['integer'] = pick(int64s); break;
        case 2: v['real'] = pick([0, -0, 1.5, -2.25e300, Number.NaN, Infinity, -Infinity, 5e-324]); break;
        case 3: v['text'] = text(); break;
        default: v['blob'] = Buffer.from(Array.from({ length: int(40) }, () => int(256)));
      }
    }
    return v;
  };
  const named = () => Object.fromEntries(Array.from({ length: int(3) }, () => [pick(['a', 'b', ':c', '@d', 'long_name_1', '']), value()]));
  const params = () => Array.from({ length: int(4) }, value);
  const statement = () => (maybe(0.1) ? {} : { ...(maybe(0.9) ? { sql: text() } : {}), params: params(), named: named() });
  const exec = () => ({
    statements: Array.from({ length: int(4) }, statement),
    ...(maybe() ? { request_id: text() } : {}),
    ...(maybe() ? { durability: pick(['DURABILITY_QUORUM', 'DURABILITY_ALL', 'DURABILITY_SEMI', 'DURABILITY_LEADER', 0, 2, 7]) } : {}),
    ...(maybe() ? { timeout_ms: pick([0, 1, 5000, 4294967295]) } : {}),
  });
  const read = () => ({
    ...(maybe(0.9) ? { sql: text() } : {}),
    params: params(),
    named: named(),
    ...(maybe() ? { consistency: pick(['CONSISTENCY_LINEARIZABLE', 'CONSISTENCY_STALE', 'CONSISTENCY_SESSION', 1, 9]) } : {}),
    ...(maybe() ? { min_index: pick(uint64s) } : {}),
    ...(maybe() ? { max_lag_entries: pick(uint64s) } : {}),
    ...(maybe() ? { max_rows: pick([0, 1, 1000, 4294967295]) } : {}),
    ...(maybe() ? { timeout_ms: pick([0, 7, 4294967295]) } : {}),
  });
  const call = () => {
    const c: Record<string, unknown> = maybe(0.9) ? { id: pick(uint64s) } : {};
    const k = int(10);
    if (k < 5) c['execute'] = exec();
    else if (k < 9) c['query'] = read();
    else if (maybe()) {
      c['execute'] = exec();
      c['query'] = read();
    }
    return c;
  };
  return { exec, read, frame: () => ({ calls: Array.from({ length: int(5) }, call) }) };
}

/** protobuf wire pieces, for bytes protobufjs's encoder never writes (other orders, unknown fields). */
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const tag = (field: number, wireType: number) => varint(BigInt((field << 3) | wireType));
const len = (field: number, bytes: number[]) => [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
const str = (field: number, s: string) => len(field, [...Buffer.from(s, 'utf8')]);
/** A group (proto2, wire types 3 and 4) holding a field and a nested group. */
const group = [...tag(95, 3), ...tag(1, 0), 5, ...tag(2, 3), ...str(1, 'in'), ...tag(2, 4), ...tag(95, 4)];
const unknownFields = [...tag(99, 0), ...varint(300n), ...tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...str(97, 'skip me'), ...tag(96, 5), 9, 9, 9, 9, ...group];

describe('the SQL requests decoded from their bytes', () => {
  it('give what proto-loader gives, on 3,000 random Session frames, Executes and Queries', () => {
    const gen = cases(20261206);
    for (let i = 0; i < 1_000; i++) {
      const frame = session.requestSerialize(gen.frame());
      expect(decodeSessionRequestBytes(frame)).toEqual(session.requestDeserialize(frame));
      const e = execute.requestSerialize(gen.exec());
      expect(decodeExecuteRequestBytes(e)).toEqual(execute.requestDeserialize(e));
      const q = query.requestSerialize(gen.read());
      expect(decodeQueryRequestBytes(q)).toEqual(query.requestDeserialize(q));
    }
  });

  it('take fields in any order, skip unknown ones at every level, and let a repeated scalar field\'s last value win', () => {
    const value = [...unknownFields, ...str(4, 'v'), ...tag(1, 0), 1]; // text, then null: toObject names the oneof by the member last in field order (text)
    const statement = [...len(3, [...len(2, value), ...str(1, 'k')]), ...unknownFields, ...len(2, value), ...str(1, 'SELECT ?')];
    const exec = [...tag(4, 0), ...varint(9n), ...len(1, statement), ...unknownFields, ...str(2, 'first'), ...str(2, 'req'), ...tag(3, 0), ...varint(1n), ...tag(4, 0), ...varint(1234n)];
    const call = [...len(2, exec), ...unknownFields, ...tag(1, 0), ...varint(77n)];
    const frame = Buffer.from([...unknownFields, ...len(1, call), ...len(1, [...tag(1, 0), ...varint(78n)])]);
    const mine = decodeSessionRequestBytes(frame);
    expect(mine).toEqual(session.requestDeserialize(frame));
    expect(mine.calls[0]).toMatchObject({ id: '77', call: 'execute', execute: { request_id: 'req', durability: 'DURABILITY_ALL', timeout_ms: 1234 } });
    expect(mine.calls[0]!.execute!.statements![0]).toEqual({ sql: 'SELECT ?', params: [{ kind: 'text', null: true, text: 'v' }], named: { k: { kind: 'text', null: true, text: 'v' } } });
    expect(mine.calls[1]).toEqual({ id: '78' });
  });

  it('refuses truncated and malformed bytes with an error naming the message, never reading past a field', () => {
    const good = session.requestSerialize(cases(7).frame());
    const frame = session.requestSerialize({ calls: [{ id: 5, query: { sql: 'SELECT 1', params: [{ text: 'abc' }] } }] });
    for (let cut = 1; cut < frame.length; cut++) {
      expect(() => decodeSessionRequestBytes(frame.subarray(0, cut))).toThrow(/^malformed (SessionRequest|SessionCall|QueryRequest|Value)/);
    }
    expect(() => decodeSessionRequestBytes(Buffer.from([...tag(1, 0), 5]))).toThrow(/^malformed SessionRequest: field 1 has wire type 0, expected 2/);
    expect(() => decodeSessionRequestBytes(Buffer.from([...tag(9, 3)]))).toThrow(/group 9 has no end/);
    expect(() => decodeSessionRequestBytes(Buffer.from([...tag(9, 3), ...tag(8, 4)]))).toThrow(/group 9 is closed by an end of group 8/);
    expect(() => decodeSessionRequestBytes(Buffer.from([...tag(9, 4)]))).toThrow(/field 9 has wire type 4, which no message uses here/);
    expect(() => decodeSessionRequestBytes(Buffer.from([...tag(9, 7)]))).toThrow(/field 9 has wire type 7/);
    expect(() => decodeSessionRequestBytes(Buffer.from([0]))).toThrow(/field number 0/);
    expect(() => decodeQueryRequestBytes(Buffer.from([...tag(5, 0), ...Array(10).fill(0xff), 1]))).toThrow(/varint longer than 10 bytes/);
    expect(decodeSessionRequestBytes(good).calls.length).toBeGreaterThanOrEqual(0);
    expect(decodeSessionRequestBytes(Buffer.alloc(0))).toEqual({ calls: [] });
  });

  it('gives each statement its own values, also after a decode that failed between two values', () => {
    const statement = (v: string) => len(1, [...str(1, 'SELECT ?, ?'), ...len(2, str(4, v)), ...len(2, str(4, `${v}2`))]);
    const broken = Buffer.from([...statement('a'), ...len(1, [...str(1, 'SELECT ?, ?'), ...len(2, str(4, 'b')), 0x12, 9])]);
    expect(() => decodeExecuteRequestBytes(broken)).toThrow(/^malformed Statement/);
    const e = decodeExecuteRequestBytes(Buffer.from([...statement('c'), ...statement('d')]));
    expect(e.statements!.map((st) => st.params)).toEqual([
      [{ kind: 'text', text: 'c' }, { kind: 'text', text: 'c2' }],
      [{ kind: 'text', text: 'd' }, { kind: 'text', text: 'd2' }],
    ]);
    expect(() => decodeExecuteRequestBytes(broken)).toThrow(/^malformed Statement/);
    const q = decodeQueryRequestBytes(Buffer.from([...str(1, 'SELECT ?'), ...len(2, str(4, 'q'))]));
    expect(q.params).toEqual([{ kind: 'text', text: 'q' }]);
  });

  it('keeps a named value whose key is __proto__ as a key, and a map entry without a value as null', () => {
    const statement = [...len(3, [...str(1, '__proto__'), ...len(2, str(4, 'v'))]), ...len(3, str(1, 'nothing'))];
    const e = decodeExecuteRequestBytes(Buffer.from(len(1, statement)));
    const named = e.statements![0]!.named!;
    expect(Object.keys(named)).toEqual(['__proto__', 'nothing']);
    expect(named['__proto__']).toEqual({ kind: 'text', text: 'v' });
    expect(named['nothing']).toBeNull();
  });
});
