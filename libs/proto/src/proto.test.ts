import { describe, expect, it } from 'vitest';
import { fromWireValue, packageDefinitions, sqlServiceCtor, toWireValue } from './index';

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

  it('rejects integers that do not fit in 64 bits, naming the place', () => {
    expect(() => fromWireValue({ kind: 'integer', integer: '9223372036854775808' }, 'params[0]')).toThrow(/params\[0\].*64 bits/);
    expect(() => fromWireValue({ kind: 'integer', integer: '12x' }, 'p')).toThrow(/not a 64-bit integer/);
    expect(() => toWireValue(2n ** 64n)).toThrow(RangeError);
  });
});
