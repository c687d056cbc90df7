import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { packageDefinitions } from '@quorumlite/proto';
import { encodeSessionAnswers, type WireSessionAnswer } from './answer-wire';

interface Method {
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}
const session = (packageDefinitions().sql as unknown as Record<string, Record<string, Method>>)['quorumlite.v1.SqlService']!['Session']!;


function answers(seed: number): () => { results: WireSessionAnswer[] } {
  const r = seededRandom(seed); // the same cases on every run
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const maybe = (p = 0.5) => r() < p;
  // No lone surrogate here: protobufjs writes one as invalid UTF-8 (the last test).
  const text = () => pick(['', 'a', 'n001', 'héllo ✓ 😀', 'x'.repeat(int(300)), 'INTEGER']);
  // As the node sends them: safe integers as numbers (wireInt64), others as strings.
  const signed: (string | number)[] = [0, 1, -1, 127, 128, -128, 300, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 35, -(2 ** 35), 2 ** 52, -(2 ** 52), 2 ** 52 + 1, -(2 ** 52) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808'];
  const unsigned: (string | number)[] = [0, 1, 127, 128, 16384, 2 ** 32 - 1, 2 ** 32, 2 ** 35, Number.MAX_SAFE_INTEGER, '9007199254740993', '18446744073709551615'];
  const value = (): Record<string, unknown> => {
    switch (int(5)) {
      case 0: return { null: true };
      case 1: return { integer: pick(signed) };
      case 2: return { real: pick([0, -0, 1.5, -2.25e300, Number.NaN, Infinity, 5e-324]) };
      case 3: return { text: text() };
      default: return { blob: Buffer.from(Array.from({ length: int(40) }, () => int(256))) };
    }
  };
  const rows = () => {
    const width = int(4);
    return {
      columns: Array.from({ length: width }, () => ({ name: text(), decl_type: pick(['', 'INTEGER', 'TEXT']) })),
      rows: Array.from({ length: int(4) }, () => ({ values: Array.from({ length: width }, value) })),
      truncated: maybe(0.2),
    };
  };
  const statementResult = () => ({ rows_affected: pick(signed), last_insert_rowid: pick(signed), ...(maybe(0.3) ? rows() : {}) });
  const answer = (): WireSessionAnswer => {
    const id = pick(unsigned);
    switch (int(3)) {
      case 0:
        return { id, execute: { results: Array.from({ length: int(5) }, statementResult), index: pick(unsigned), duplicate: maybe(), uncommitted: maybe(0.2), leader_address: pick(['', '127.0.0.1:7001']) } as WireSessionAnswer['execute'] };
      case 1:
        return { id, query: { ...rows(), index: pick(unsigned) } as WireSessionAnswer['query'] };
      default:
        return { id, error: { code: pick([0, 3, 14, 16]), message: text(), metadata: maybe() ? { 'ql-code': 'invalid', 'ql-statement': '2' } : {} } };
    }
  };
  return () => ({ results: Array.from({ length: int(20) }, answer) });
}

describe('Session answers encoded straight into bytes', () => {
  it("decode, by proto-loader's own deserializer, to what its serializer would have sent: 2,000 random frames", () => {
    const next = answers(20261206);
    for (let i = 0; i < 2_000; i++) {
      const frame = next();
      const mine = encodeSessionAnswers(frame);
      expect(session.responseDeserialize(mine)).toEqual(session.responseDeserialize(session.responseSerialize(frame)));
    }
  });

  it('encode an empty frame, and a value of each kind at its default, which a oneof must still carry', () => {
    expect(encodeSessionAnswers({ results: [] }).length).toBe(0);
    const frame = { results: [{ id: 0, query: { columns: [{ name: '', decl_type: '' }], rows: [{ values: [{ integer: 0 }, { text: '' }, { real: 0 }, { blob: Buffer.alloc(0) }, { null: true }] }], index: 0, truncated: false } }] };
    const back = session.responseDeserialize(encodeSessionAnswers(frame)) as { results: { query: { rows: { values: { kind: string }[] }[] } }[] };
    expect(back.results[0]!.query.rows[0]!.values.map((v) => v.kind)).toEqual(['integer', 'text', 'real', 'blob', 'null']);
  });

  it('send a lone surrogate as U+FFFD, valid UTF-8 (protobufjs wrote its three raw bytes)', () => {
    const bytes = encodeSessionAnswers({ results: [{ id: 1, error: { code: 3, message: 'a\ud800b', metadata: {} } }] });
    expect(bytes.includes(Buffer.from('a\ufffdb', 'utf8'))).toBe(true);
    const back = session.responseDeserialize(bytes) as { results: { error: { message: string } }[] };
    expect(back.results[0]!.error.message).toBe('a\ufffdb');
  });
});
