import { describe, expect, it } from 'vitest';
import { decodeExecute, decodeQuery } from './codec';

const defaults = { timeoutMs: 5_000, resultRowsMax: 1_000 };

describe('wire requests to replica requests', () => {
  it('decodes statements, positional and named values', () => {
    const r = decodeExecute(
      {
        statements: [
          { sql: 'INSERT INTO t VALUES (?, ?)', params: [{ text: 'a' }, { integer: '9007199254740993' }] },
          { sql: 'INSERT INTO t VALUES (:x, @y)', named: { ':x': { real: 1.5 }, y: { null: true } } },
        ],
      },
      false,
      defaults,
    );
    expect(r.statements[0]!.params).toEqual(['a', 9007199254740993n]);
    expect(Object.keys(r.statements[0]!.named)).toEqual([]);
    expect({ ...r.statements[1]!.named }).toEqual({ x: 1.5, y: null });
    expect(r.durability).toBe('quorum');
  });

  it('names the statement and the value that is wrong', () => {
    const exec = (statements: object[]) => () => decodeExecute({ statements }, false, defaults);
    expect(exec([{ sql: 'SELECT 1' }, { sql: 'SELECT ?, ?', params: [{ text: 'ok' }, {}] }])).toThrow(/^statements\[1\]\.params\[1\]: no value is set/);
    expect(exec([{ sql: 'SELECT ?', params: [{ integer: 'x1' }] }])).toThrow(/^statements\[0\]\.params\[0\]: integer 'x1' is not a 64-bit integer/);
    expect(exec([{ sql: 'SELECT :a', named: { a: { kind: 'real', real: 'no' } } }])).toThrow(/^statements\[0\]\.named\.a: real is not a number/);
    expect(exec([{ sql: 'SELECT :a', named: { 'a-b': { null: true } } }])).toThrow(/^statements\[0\]\.named: 'a-b' is not a valid parameter name/);
    expect(exec([{ sql: 'SELECT 1' }, { sql: '  ' }])).toThrow(/^statements\[1\]\.sql is empty/);
    expect(() => decodeQuery({ sql: 'SELECT ?', params: [{}] }, defaults)).toThrow(/^query\.params\[0\]: no value is set/);
  });

  it('keeps a parameter named __proto__ as a value, not a prototype', () => {
    const r = decodeExecute({ statements: [{ sql: 'SELECT :__proto__', named: JSON.parse('{"__proto__": {"text": "v"}}') as never }] }, false, defaults);
    expect(Object.keys(r.statements[0]!.named)).toEqual(['__proto__']);
    expect(r.statements[0]!.named['__proto__']).toBe('v');
  });
});
