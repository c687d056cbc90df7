import { describe, expect, it } from 'vitest';
import { decodeCounters, decodeExecute, decodeQuery } from './decode';

describe('decodeExecute', () => {
  it('exposes the rows a statement returned, and none for a statement that returns none', () => {
    const r = decodeExecute({
      results: [
        { rows_affected: '1', last_insert_rowid: '7', columns: [{ name: 'id', decl_type: 'INTEGER' }], rows: [{ values: [{ kind: 'integer', integer: '7' }] }], truncated: false },
        { rows_affected: '2', last_insert_rowid: '7', columns: [], rows: [], truncated: false },
      ],
      index: '12',
      duplicate: false,
    });
    expect(r.results[0]).toEqual({ rowsAffected: 1, lastInsertRowid: 7n, rows: { columns: [{ name: 'id', declType: 'INTEGER' }], rows: [[7n]], truncated: false } });
    expect(r.results[1]).toEqual({ rowsAffected: 2, lastInsertRowid: 7n });
  });
});

describe('decodeQuery', () => {
  it('decodes each value of each row, and names the row and column of one it cannot', () => {
    const columns = [{ name: 'a', decl_type: '' }, { name: 'b', decl_type: '' }];
    const r = decodeQuery({ columns, rows: [{ values: [{ integer: '5' }, { text: 'x' }] }, { values: [{ null: true }, { real: 1.5 }] }], index: '9', truncated: false });
    expect(r.rows).toEqual([[5n, 'x'], [null, 1.5]]);
    expect(r.index).toBe(9n);
    expect(() => decodeQuery({ columns, rows: [{ values: [{ text: 'ok' }, { text: 'ok' }] }, { values: [{ text: 'ok' }, {}] }], index: '1', truncated: false })).toThrow(/^row 2 column 2: no value is set/);
  });
});

describe('decodeCounters', () => {
  it('reads every count, the log spare failures included, and takes an absent one as zero', () => {
    const c = decodeCounters({ storage_syncs: '12', elections: '1', log_spare_failures: '3', steps: [{ step: 'fsync', count: '4', total_ms: 2.5 }] });
    expect(c.storageSyncs).toBe(12);
    expect(c.elections).toBe(1);
    expect(c.logSpareFailures).toBe(3);
    expect(c.steps).toEqual([{ step: 'fsync', count: 4, totalMs: 2.5 }]);
    expect(decodeCounters({}).logSpareFailures).toBe(0);
  });
});
