import { describe, expect, it } from 'vitest';
import { splitStatements, tokenize } from './tokenizer';

const split = (sql: string): string[] => splitStatements(sql).map((s) => s.sql);

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty pieces', () => {
    expect(split('SELECT 1; SELECT 2;;  ; -- c\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('keeps semicolons inside strings, quoted identifiers and comments', () => {
    const sql = `INSERT INTO "a;b" VALUES ('x;''y', [c;d], \`e;f\`) /* ; */ -- ;\n; SELECT 2`;
    expect(split(sql)).toEqual([`INSERT INTO "a;b" VALUES ('x;''y', [c;d], \`e;f\`)`, 'SELECT 2']);
  });

  it('keeps a trigger body together, including CASE … END inside it', () => {
    const trigger =
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN 1 THEN 2 END; INSERT INTO u VALUES (1); END';
    expect(split(`${trigger}; SELECT 1`)).toEqual([trigger, 'SELECT 1']);
    const temp = 'CREATE TEMP TRIGGER tr BEFORE DELETE ON t BEGIN SELECT CASE WHEN 1 THEN RAISE(ABORT, \'no;\') END; END';
    expect(split(temp)).toEqual([temp]);
  });

  it('does not treat an unterminated string or comment as a split point', () => {
    expect(split("SELECT 'a; SELECT 2")).toEqual(["SELECT 'a; SELECT 2"]);
    // SQLite reads an unterminated block comment to the end of input: nothing after it runs.
    expect(split('SELECT 1 /* ; SELECT 2')).toEqual(['SELECT 1']);
  });

  it('gives tokens relative to each piece', () => {
    const [, second] = splitStatements('SELECT 1;  DELETE FROM t');
    expect(second?.tokens.map((t) => second.sql.slice(t.start, t.end))).toEqual(['DELETE', 'FROM', 't']);
  });
});

describe('tokenize', () => {
  it('recognises variables, blobs, numbers and quoted identifiers', () => {
    const kinds = tokenize("? ?12 :a @b $c x'00ff' 1.5e+3 0x1F \"q\"\"x\" [y z]")
      .filter((t) => t.kind !== 'space')
      .map((t) => [t.kind, t.value]);
    expect(kinds).toEqual([
      ['variable', '?'],
      ['variable', '?12'],
      ['variable', ':a'],
      ['variable', '@b'],
      ['variable', '$c'],
      ['string', "x'00ff'"],
      ['number', '1.5e+3'],
      ['number', '0x1F'],
      ['quoted', 'q"x'],
      ['quoted', 'y z'],
    ]);
  });

  it('upper-cases words so keywords compare simply', () => {
    expect(tokenize('current_timestamp').map((t) => t.value)).toEqual(['CURRENT_TIMESTAMP']);
  });
});
