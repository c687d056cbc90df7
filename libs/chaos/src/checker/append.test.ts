import { describe, expect, it } from 'vitest';
import { AppendOp, checkAppendHistory } from './append';
import { CheckerError, OpOutcome } from './history';

type Draft = Omit<AppendOp, 'id'>;
const history = (...drafts: Draft[]): AppendOp[] => drafts.map((d, id) => ({ ...d, id }));

const append = (p: number, a: number, b: number | null, value: number, outcome: OpOutcome = 'ok', key = 'x'): Draft => ({
  process: p,
  invokeMs: a,
  completeMs: b,
  input: { f: 'append', key, value },
  output: outcome === 'ok' ? { f: 'append' } : null,
  outcome,
});
const read = (p: number, a: number, b: number, values: number[], key = 'x'): Draft => ({
  process: p,
  invokeMs: a,
  completeMs: b,
  input: { f: 'read', key },
  output: { f: 'read', values },
  outcome: 'ok',
});

const kinds = (ops: AppendOp[], finalReadRequired = false): string[] => {
  const result = checkAppendHistory(ops, { finalReadRequired });
  return result.valid === false ? result.anomalies.map((x) => x.kind) : [];
};

describe('append: valid histories', () => {
  it('accepts growing prefixes, concurrent appends in either order, and a complete final read', () => {
    const ops = history(
      append(0, 0, 2, 1),
      read(2, 3, 4, [1]),
      append(0, 5, 20, 2),
      append(1, 5, 20, 3),
      read(2, 6, 7, [1, 3]),
      read(2, 8, 9, [1, 3, 2]),
      read(2, 30, 31, [1, 3, 2]),
    );
    expect(checkAppendHistory(ops, { finalReadRequired: true })).toEqual({ valid: true, keysChecked: 1 });
  });

  it('accepts unknown appends that did and did not take effect, and ignores failed ones', () => {
    const ops = history(
      append(0, 0, 1, 1),
      append(1, 2, null, 2, 'unknown'),
      append(2, 2, 3, 3, 'unknown'),
      append(3, 2, 3, 4, 'fail'),
      read(4, 50, 51, [1, 3]),
    );
    expect(checkAppendHistory(ops).valid).toBe(true);
  });

  it('checks keys independently', () => {
    const ops = history(append(0, 0, 1, 1, 'ok', 'a'), append(0, 2, 3, 1, 'ok', 'b'), read(1, 4, 5, [1], 'a'), read(1, 4, 5, [1], 'b'));
    expect(checkAppendHistory(ops)).toEqual({ valid: true, keysChecked: 2 });
  });
});

describe('append: anomalies, one per rule', () => {
  it('duplicate element', () => {
    expect(kinds(history(append(0, 0, 1, 1), read(1, 2, 3, [1, 1])))).toEqual(['duplicate-element']);
  });

  it('phantom element (never appended, or appended to another key)', () => {
    expect(kinds(history(append(0, 0, 1, 1), read(1, 2, 3, [1, 9])))).toEqual(['phantom-element']);
    expect(kinds(history(append(0, 0, 1, 1, 'ok', 'y'), read(1, 2, 3, [1])))).toEqual(['phantom-element']);
  });

  it('failed append visible', () => {
    expect(kinds(history(append(0, 0, 1, 1, 'fail'), read(1, 2, 3, [1])))).toEqual(['failed-append-visible']);
  });

  it('future read: a read sees an append invoked after it returned', () => {
    expect(kinds(history(read(1, 0, 1, [1]), append(0, 2, 3, 1)))).toEqual(['future-read']);
  });

  it('incompatible reads: two reads disagree on the order', () => {
    const ops = history(append(0, 0, 10, 1), append(1, 0, 10, 2), read(2, 11, 12, [1, 2]), read(3, 11, 12, [2, 1]));
    const result = checkAppendHistory(ops);
    expect(result).toMatchObject({ valid: false, anomalies: [{ kind: 'incompatible-reads', position: 0 }] });
  });

  it('lost append: the final read misses an ok append', () => {
    const ops = history(append(0, 0, 1, 1), append(0, 2, 3, 2), read(1, 10, 11, [1]));
    expect(kinds(ops)).toEqual(['lost-append']);
  });

  it('nonmonotonic read: a later read is shorter than one that completed before it (stale follower)', () => {
    // The append is still in flight, so neither read alone is wrong; together they are.
    const ops = history(append(0, 0, 100, 1), read(1, 10, 11, [1]), read(2, 20, 21, []));
    expect(kinds(ops)).toEqual(['nonmonotonic-read']);
  });

  it('append order: an append placed before one that completed before it began', () => {
    const ops = history(append(0, 0, 1, 1), append(0, 2, 3, 2), read(1, 4, 5, [2, 1]));
    expect(kinds(ops)).toEqual(['append-order']);
  });

  it('no final read when one is required', () => {
    expect(kinds(history(read(1, 0, 1, []), append(0, 2, 3, 1)), true)).toEqual(['no-final-read']);
  });

  it('caps the listed anomalies but counts them all', () => {
    const drafts: Draft[] = [];
    for (let i = 0; i < 150; i++) drafts.push(read(i, 0, 1, [1000 + i]));
    const result = checkAppendHistory(history(...drafts), { limits: { anomaliesMax: 10 } });
    expect(result).toMatchObject({ valid: false, anomalyCount: 150 + 149 });
    if (result.valid === false) expect(result.anomalies).toHaveLength(10);
  });
});

describe('append: malformed input', () => {
  it('rejects a value appended twice to one key', () => {
    expect(() => checkAppendHistory(history(append(0, 0, 1, 1), append(1, 0, 1, 1)))).toThrow(CheckerError);
  });
});
