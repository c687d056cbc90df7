import { describe, expect, it } from 'vitest';
import { UsageError } from './errors';
import { parseNamed, parseParam, paramsFrom } from './params';

describe('parseParam', () => {
  it('reads each documented form', () => {
    expect(parseParam('42')).toBe(42n);
    expect(parseParam('-9223372036854775808')).toBe(-(2n ** 63n));
    expect(parseParam('1.5')).toBe(1.5);
    expect(parseParam('1e3')).toBe(1000);
    expect(parseParam('.5')).toBe(0.5);
    expect(parseParam("'text'")).toBe('text');
    expect(parseParam("'it''s'")).toBe("it's");
    expect(parseParam("''")).toBe('');
    expect(parseParam('text:abc')).toBe('abc');
    expect(parseParam('text:42')).toBe('42');
    expect(parseParam('text:')).toBe('');
    expect(parseParam('null')).toBeNull();
    expect(parseParam('NULL')).toBeNull();
    expect(parseParam("x'00ff'")).toEqual(new Uint8Array([0, 255]));
    expect(parseParam("X''")).toEqual(new Uint8Array([]));
    expect(parseParam('int:7')).toBe(7n);
    expect(parseParam('real:2')).toBe(2);
    expect(parseParam('blob:0a')).toEqual(new Uint8Array([10]));
  });

  it('refuses what it cannot type, with a hint', () => {
    expect(() => parseParam('abc')).toThrow(UsageError);
    expect(() => parseParam('abc')).toThrow(/text:abc/);
    expect(() => parseParam("x'0'")).toThrow(/even number of hex digits/);
    expect(() => parseParam('9223372036854775808')).toThrow(/64-bit/);
    expect(() => parseParam('int:1.5')).toThrow(/not an integer/);
  });
});

describe('paramsFrom', () => {
  it('builds positional or named parameters', () => {
    expect(paramsFrom(['1', "'a'"], [])).toEqual([1n, 'a']);
    expect(paramsFrom([], [':id=5', 'name=text:x'])).toEqual({ id: 5n, name: 'x' });
    expect(paramsFrom()).toBeUndefined();
    expect(parseNamed('$v=null')).toEqual(['v', null]);
    expect(() => paramsFrom(['1'], ['a=1'])).toThrow(/either/);
    expect(() => parseNamed('=1')).toThrow(/name=value/);
  });
});
