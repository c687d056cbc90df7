import { describe, expect, it } from 'vitest';
import { classify, hasCode, splitStatements, transactionControl } from './sql-text';

describe('splitStatements', () => {
  it('splits at semicolons and keeps the unfinished rest', () => {
    expect(splitStatements('SELECT 1; SELECT 2;\nINSERT INTO t')).toEqual({ statements: ['SELECT 1', 'SELECT 2'], rest: '\nINSERT INTO t' });
  });

  it('ignores semicolons inside strings, quoted names and comments', () => {
    const sql = `INSERT INTO "a;b" VALUES ('x;''y', [c;d], \`e;f\`) -- tail; comment\n; /* ; */ SELECT 1;`;
    const { statements, rest } = splitStatements(sql);
    expect(statements).toEqual([`INSERT INTO "a;b" VALUES ('x;''y', [c;d], \`e;f\`) -- tail; comment`, '/* ; */ SELECT 1']);
    expect(rest).toBe('');
  });

  it('keeps a trigger body together until END;', () => {
    const trigger = 'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; DELETE FROM v; END';
    expect(splitStatements(`${trigger};`).statements).toEqual([trigger]);
    expect(splitStatements('CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;').statements).toEqual([]);
  });

  it('drops empty statements and sees comment-only text as empty', () => {
    expect(splitStatements(';;  ;').statements).toEqual([]);
    expect(hasCode('-- just a note\n/* and this */')).toBe(false);
    expect(hasCode("'unterminated")).toBe(true);
  });
});

describe('classify', () => {
  it.each([
    ['SELECT * FROM t', 'read'],
    ['  select 1', 'read'],
    ['/* c */ -- d\n SELECT 1', 'read'],
    ['VALUES (1), (2)', 'read'],
    ['EXPLAIN QUERY PLAN SELECT 1', 'read'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'read'],
    ['WITH RECURSIVE c(n) AS (VALUES(1) UNION ALL SELECT n+1 FROM c WHERE n < 5) SELECT n FROM c', 'read'],
    ['WITH x AS (SELECT 1 AS v) INSERT INTO t SELECT v FROM x', 'write'],
    ['WITH x AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM x)', 'write'],
    ['PRAGMA user_version', 'read'],
    ['PRAGMA main.table_info(t)', 'read'],
    ['pragma table_info("t")', 'read'],
    ['PRAGMA user_version = 3', 'write'],
    ['PRAGMA foreign_keys(1)', 'write'],
    ['INSERT INTO t VALUES (1)', 'write'],
    ['UPDATE t SET a = 1', 'write'],
    ['CREATE TABLE t (id INTEGER PRIMARY KEY)', 'write'],
    ["'select'", 'write'],
    ['', 'write'],
  ])('%s → %s', (sql, kind) => {
    expect(classify(sql)).toBe(kind);
  });
});

describe('transactionControl', () => {
  it('names BEGIN, COMMIT/END and ROLLBACK in their forms, and nothing else', () => {
    expect(['BEGIN;', 'begin transaction;', 'BEGIN IMMEDIATE TRANSACTION', 'BEGIN EXCLUSIVE;'].map(transactionControl)).toEqual(['begin', 'begin', 'begin', 'begin']);
    expect(['COMMIT;', 'END TRANSACTION;', 'commit transaction'].map(transactionControl)).toEqual(['commit', 'commit', 'commit']);
    expect(['ROLLBACK;', 'ROLLBACK TRANSACTION;'].map(transactionControl)).toEqual(['rollback', 'rollback']);
    expect(['ROLLBACK TO sp;', 'BEGIN foo;', 'INSERT INTO t VALUES (1);', "SELECT 'BEGIN';", 'END;x'].map(transactionControl)).toEqual([null, null, null, null, null]);
  });
});
