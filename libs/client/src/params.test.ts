import { describe, expect, it } from 'vitest';
import { paramName, toWireParam, toWireParams } from './params';

describe('toWireParam', () => {
  it('binds safe integers as integers and other numbers as reals', () => {
    expect(toWireParam(42, 'p')).toEqual({ integer: 42 });
    expect(toWireParam(-7, 'p')).toEqual({ integer: -7 });
    expect(toWireParam(1.5, 'p')).toEqual({ real: 1.5 });
    expect(toWireParam(2 ** 60, 'p')).toEqual({ real: 2 ** 60 });
    expect(toWireParam(Number.NaN, 'p')).toEqual({ real: Number.NaN });
  });

  it('binds bigint, string, bytes, null and booleans', () => {
    // Past 2^53 an integer travels as its decimal string, so no bit is lost.
    expect(toWireParam(9007199254740993n, 'p')).toEqual({ integer: '9007199254740993' });
    expect(toWireParam(-(2n ** 63n), 'p')).toEqual({ integer: '-9223372036854775808' });
    expect(toWireParam(9007199254740991n, 'p')).toEqual({ integer: 9007199254740991 });
    expect(toWireParam('héllo', 'p')).toEqual({ text: 'héllo' });
    expect(toWireParam(null, 'p')).toEqual({ null: true });
    expect(toWireParam(true, 'p')).toEqual({ integer: 1 });
    expect(toWireParam(false, 'p')).toEqual({ integer: 0 });
    const blob = toWireParam(new Uint8Array([0, 255]), 'p').blob;
    expect(Buffer.from(blob ?? []).toString('hex')).toBe('00ff');
    expect(Buffer.from(toWireParam(Buffer.from('ab'), 'p').blob ?? []).toString()).toBe('ab');
  });

  it('names the parameter when a value cannot be bound', () => {
    expect(() => toWireParam(undefined, 'parameter 2')).toThrow(/parameter 2: cannot bind a value of type undefined/);
    expect(() => toWireParam({ a: 1 }, 'parameter :id')).toThrow(TypeError);
    expect(() => toWireParam(new Date(0), 'parameter 1')).toThrow(/type Date/);
    expect(() => toWireParam(2n ** 64n, 'parameter 3')).toThrow(/parameter 3: .*64 bits/);
  });
});

describe('toWireParams', () => {
  it('numbers positional parameters from 1 in errors', () => {
    expect(toWireParams([1, 'a'])).toEqual({ params: [{ integer: 1 }, { text: 'a' }], named: {} });
    expect(() => toWireParams([1, undefined as unknown as null])).toThrow(/parameter 2/);
  });

  it('strips :, @ and $ from named parameters', () => {
    expect(paramName(':id')).toBe('id');
    expect(paramName('@id')).toBe('id');
    expect(paramName('$id')).toBe('id');
    expect(paramName('id')).toBe('id');
    expect(toWireParams({ ':a': 1, b: 'x' })).toEqual({ params: [], named: { a: { integer: 1 }, b: { text: 'x' } } });
    expect(() => toWireParams({ ':': 1 })).toThrow(/empty name/);
  });

  it('sends nothing for absent parameters', () => {
    expect(toWireParams(undefined)).toEqual({ params: [], named: {} });
  });
});
