import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ExecuteResult, QuorumliteClient, StatementSpec } from '@quorumlite/client';
import { Shell } from './commands/shell';

/** A shell over a client that records each Execute's statements. */
function shellFor(script: string): { shell: Shell; executed: string[][]; out: string[]; errors: string[] } {
  const executed: string[][] = [];
  const client = {
    execute: (statements: StatementSpec[]): Promise<ExecuteResult> => {
      executed.push(statements.map((s) => s.sql));
      return Promise.resolve({ index: BigInt(executed.length), results: statements.map(() => ({ rowsAffected: 1, lastInsertRowid: 0n })), duplicate: false, uncommitted: false });
    },
  } as unknown as QuorumliteClient;
  const out: string[] = [];
  const errors: string[] = [];
  const shell = new Shell(client, '127.0.0.1:1', { input: Readable.from([script]), write: (t) => out.push(t), error: (t) => errors.push(t), interactive: false });
  return { shell, executed, out, errors };
}

describe('shell transactions', () => {
  it('sends the statements between BEGIN and COMMIT as one request, as a backup SQL text needs', async () => {
    const { shell, executed, errors } = shellFor("-- a dump\nBEGIN TRANSACTION;\nCREATE TABLE t (a);\nINSERT INTO \"t\"(\"a\") VALUES('x;y');\nCOMMIT;\nINSERT INTO t VALUES (2);\n");
    const code = await shell.run();
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(executed).toEqual([['CREATE TABLE t (a)', 'INSERT INTO "t"("a") VALUES(\'x;y\')'], ['INSERT INTO t VALUES (2)']]);
  });

  it('drops what ROLLBACK abandons, and fails a script that ends inside a transaction', async () => {
    const rolledBack = shellFor('BEGIN;\nINSERT INTO t VALUES (1);\nROLLBACK;\n');
    expect(await rolledBack.shell.run()).toBe(0);
    expect(rolledBack.executed).toEqual([]);
    const open = shellFor('BEGIN;\nINSERT INTO t VALUES (1);\n');
    expect(await open.shell.run()).toBe(1);
    expect(open.executed).toEqual([]);
    expect(open.errors.join('')).toMatch(/ended inside a transaction: its 1 statements were not sent/);
  });
});
