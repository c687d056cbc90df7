import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { packageDefinitions } from '@quorumlite/proto';
import { decodeSessionResponse, encodeSessionRequest, type WireSessionCallOut } from './session-wire';

interface Method {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}
const session = (packageDefinitions().sql as unknown as Record<string, Record<string, Method>>)['quorumlite.v1.SqlService']!['Session']!;

/** Random frames of both directions, the same on every run. */
function frames(seed: number) {
  const r = seededRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const maybe = (p = 0.5) => r() < p;
  const many = <T>(n: number, f: () => T): T[] => Array.from({ length: int(n) }, f);
  // No lone surrogate: protobufjs writes one as invalid UTF-8.
  const text = () => pick(['', 'a', 'k-17', 'héllo ✓ 😀', 'x'.repeat(int(300)), 'SELECT v FROM kv WHERE k = ?']);
  const int64s: (string | number)[] = [0, 1, -1, 127, 128, -129, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 40), 2 ** 52, -(2 ** 52), 2 ** 53 - 1, -(2 ** 53) + 1, '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808'];
  const uint64s: (string | number)[] = [0, 1, 127, 128, 16384, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, '9007199254740993', '18446744073709551615'];
  const uint32s = [0, 1, 127, 128, 30_000, 2 ** 31, 2 ** 32 - 1];
  const value = (): Record<string, unknown> => {
    switch (int(5)) {
      case 0: return { null: true };
      case 1: return { integer: pick(int64s) };
      case 2: return { real: pick([0, -0, 1.5, -2.25e300, Number.NaN, Infinity, 5e-324]) };
      case 3: return { text: text() };
      default: return { blob: Buffer.from(many(40, () => int(256))) };
    }
  };
  const named = () => Object.fromEntries(many(3, () => [pick(['id', 'k', 'über', 'a_b', '']), value()]));
  const statement = () => ({ sql: text(), params: many(4, value), named: named() });
  const call = (): WireSessionCallOut =>
    maybe()
      ? { id: pick(uint32s), execute: { statements: many(4, statement), request_id: pick(['', 'ql-00000000000000a1', text()]), durability: pick(['DURABILITY_QUORUM', 'DURABILITY_ALL', 'DURABILITY_SEMI', 'DURABILITY_LEADER']), timeout_ms: pick(uint32s) } }
      : { id: pick(uint32s), query: { ...statement(), consistency: pick(['CONSISTENCY_LINEARIZABLE', 'CONSISTENCY_STALE', 'CONSISTENCY_SESSION']), min_index: pick(uint64s), max_lag_entries: pick(uint64s), max_rows: pick(uint32s), timeout_ms: pick(uint32s) } };
  const rows = () => {
    const width = int(4);
    return { columns: Array.from({ length: width }, () => ({ name: text(), decl_type: pick(['', 'INTEGER', 'TEXT']) })), rows: many(4, () => ({ values: Array.from({ length: width }, value) })), truncated: maybe(0.2) };
  };
  const answer = () => {
    const id = pick(uint64s);
    switch (int(3)) {
      case 0: return { id, execute: { results: many(5, () => ({ rows_affected: pick(int64s), last_insert_rowid: pick(int64s), ...(maybe(0.3) ? rows() : {}) })), index: pick(uint64s), duplicate: maybe(), uncommitted: maybe(0.2), leader_address: pick(['', '127.0.0.1:7001']) } };
      case 1: return { id, query: { ...rows(), index: pick(uint64s) } };
      default: return { id, error: { code: pick([0, 3, 14, 16, -1]), message: text(), metadata: maybe() ? { 'ql-code': 'invalid', 'ql-statement': '2' } : {} } };
    }
  };
  // Now and then both members of a oneof, which both sides must carry in order (the last wins).
  const both = <T extends object>(a: T, b: () => object): T => (maybe(0.1) ? { ...b(), ...a } : a);
  return {
    request: () => ({ calls: many(20, () => both(call(), call)) }),
    response: () => ({ results: many(20, () => both(answer(), answer)) }),
  };
}

describe("the client's Session frames, straight from and to bytes", () => {
  it("requests decode, by proto-loader's own deserializer, to what its serializer would have sent: 2,000 random frames", () => {
    const next = frames(20261207);
    for (let i = 0; i < 2_000; i++) {
      const frame = next.request();
      expect(session.requestDeserialize(encodeSessionRequest(frame))).toEqual(session.requestDeserialize(session.requestSerialize(frame)));
    }
  });

  it("answers decode to what proto-loader's deserializer gives: 2,000 random frames", () => {
    const next = frames(7);
    for (let i = 0; i < 2_000; i++) {
      const bytes = session.responseSerialize(next.response());
      expect(decodeSessionResponse(bytes)).toEqual(session.responseDeserialize(bytes));
    }
  });

  it('answers with unknown fields of every wire type, at every level, decode as without them', () => {
    const frame = { results: [{ id: 5, query: { columns: [{ name: 'v', decl_type: 'TEXT' }], rows: [{ values: [{ text: 'x' }] }], index: 9, truncated: true } }] };
    const plain = session.responseSerialize(frame);
    // Field 15 as a varint, a fixed64, a length-delimited field and a fixed32, then a group.
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7a, 2, 0x61, 0x62, 0x7d, 1, 2, 3, 4, 0x7b, 0x08, 0x01, 0x7c]);
    expect(decodeSessionResponse(Buffer.concat([unknown, plain, unknown]))).toEqual(decodeSessionResponse(plain));
    expect(decodeSessionResponse(plain).results[0]).toMatchObject({ id: '5', result: 'query', query: { index: '9', truncated: true, rows: [{ values: [{ text: 'x', kind: 'text' }] }] } });
  });

  it('refuses an answer that does not decode, naming where, and a request it cannot send', () => {
    const bytes = session.responseSerialize({ results: [{ id: 1, error: { code: 3, message: 'no such table', metadata: {} } }] });
    expect(() => decodeSessionResponse(bytes.subarray(0, bytes.length - 3))).toThrow(/malformed answer from the node: .*runs past the message/);
    expect(() => decodeSessionResponse(Buffer.from([0x0a, 0x01, 0x08]))).toThrow(/truncated varint/);
    const query = { sql: 'SELECT 1', params: [], named: {}, min_index: 0, max_lag_entries: 0, max_rows: 0, timeout_ms: 10 };
    expect(() => encodeSessionRequest({ calls: [{ id: 1, query: { ...query, consistency: 'CONSISTENCY_SOMETIMES' } }] })).toThrow(/consistency "CONSISTENCY_SOMETIMES" is not one of/);
    expect(() => encodeSessionRequest({ calls: [{ id: 1, query: { ...query, consistency: 'CONSISTENCY_STALE', timeout_ms: 1.5 } }] })).toThrow(/1.5 is not a uint32/);
    expect(encodeSessionRequest({ calls: [] }).length).toBe(0);
    // The encoder's reused lengths: a frame after one that failed part way, and after one too
    // large for the room kept, encodes as proto-loader's serializer does.
    const good = { calls: [{ id: 2, query: { ...query, consistency: 'CONSISTENCY_STALE', params: [{ text: 'a' }], named: { k: { integer: 7 } } } }] };
    expect(() => encodeSessionRequest({ calls: [good.calls[0]!, { id: 1, query: { ...query, consistency: 'CONSISTENCY_SOMETIMES' } }] })).toThrow(/CONSISTENCY_SOMETIMES/);
    const same = (frame: { calls: WireSessionCallOut[] }): void =>
      expect(session.requestDeserialize(encodeSessionRequest(frame))).toEqual(session.requestDeserialize(session.requestSerialize(frame)));
    same(good);
    same({ calls: [{ id: 3, query: { ...query, consistency: 'CONSISTENCY_STALE', params: Array.from({ length: 70_000 }, (_, i) => ({ integer: i })) } }] });
    same(good);
  });
});
