/** Helpers for this library's tests: temp databases that clean up, and terse command building. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SqlValue } from '@quorumlite/proto';
import { encodeCommand } from './codec';
import type { SqlOptions } from './limits';
import { SqlStateMachine } from './state-machine';
import type { ApplyEntry, ExecuteInput, StatementInput } from './types';

export class TempDbs {
  private readonly dirs: string[] = [];
  private readonly machines: SqlStateMachine[] = [];

  dir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-sql-'));
    this.dirs.push(d);
    return d;
  }

  open(options?: SqlOptions, dbPath = path.join(this.dir(), 'db.sqlite')): SqlStateMachine {
    const m = SqlStateMachine.open(dbPath, options);
    this.machines.push(m);
    return m;
  }

  cleanup(): void {
    for (const m of this.machines.splice(0)) m.close();
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

export const stmt = (sql: string, params: SqlValue[] = [], named: Record<string, SqlValue> = {}): StatementInput => ({
  sql,
  params,
  named,
});

export const exec = (statements: (string | StatementInput)[], requestId: string | null = null): ExecuteInput => ({
  statements: statements.map((s) => (typeof s === 'string' ? stmt(s) : s)),
  requestId,
});

export const T0 = Date.UTC(2025, 5, 15, 12, 30, 45, 123);

/** Prepares on `leader` and wraps as a log entry at `index`. */
export function entry(
  leader: SqlStateMachine,
  index: number,
  input: ExecuteInput,
  timeMs = T0,
  seed = 7,
): ApplyEntry {
  return { index, kind: 'command', data: encodeCommand(leader.prepare(input, timeMs, seed)) };
}

export function rows(m: SqlStateMachine, sql: string, params: SqlValue[] = []): SqlValue[][] {
  return m.query({ sql, params, named: {}, maxRows: 0, maxBytes: 0 }).rows;
}
