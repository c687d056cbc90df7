import { describe, expect, it } from 'vitest';
import { decodeExecute } from './decode';

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
