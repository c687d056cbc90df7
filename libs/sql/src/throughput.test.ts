import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from './codec';
import { exec, stmt, T0, TempDbs } from './testing';
import type { ApplyEntry } from './types';

const dbs = new TempDbs();
afterEach(() => dbs.cleanup());

const INSERTS = 100_000;

/** Prints applied INSERT statements per second; asserts only the outcome, never the speed. */
function measure(label: string, commandsPerBatch: number, statementsPerCommand: number, withRequestIds = false): void {
  const m = dbs.open();
  m.applyBatch([{ index: 1, kind: 'command', data: encodeCommand(m.prepare(exec(['CREATE TABLE bench (k INTEGER, v TEXT)']), T0, 1)) }]);
  const sql = 'INSERT INTO bench (k, v) VALUES (?, ?)';
  const batches: ApplyEntry[][] = [];
  let index = 2;
  for (let n = 0; n < INSERTS; ) {
    const batch: ApplyEntry[] = [];
    for (let c = 0; c < commandsPerBatch && n < INSERTS; c++) {
      const statements = [];
      for (let s = 0; s < statementsPerCommand; s++, n++) statements.push(stmt(sql, [BigInt(n), `value-${n}`]));
      batch.push({ index: index++, kind: 'command', data: encodeCommand({ statements, requestId: withRequestIds ? `req-${index}` : null, timeMs: T0, seed: n }) });
    }
    batches.push(batch);
  }
  const started = process.hrtime.bigint();
  let ok = 0;
  for (const batch of batches) for (const o of m.applyBatch(batch)) if (o.ok) ok++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label}: ${INSERTS} INSERTs in ${seconds.toFixed(3)} s = ${Math.round(INSERTS / seconds)} statements/s`);
  expect(ok).toBe(INSERTS / statementsPerCommand);
  expect(m.appliedIndex()).toBe(index - 1);
}

describe('apply throughput (printed, not asserted)', () => {
  it('100 commands x 1 statement per batch', () => measure('batches of 100 commands x 1 statement', 100, 1));
  it('100 commands x 1 statement per batch, each with a request id', () =>
    measure('batches of 100 commands x 1 statement, with request ids', 100, 1, true));
  it('10 commands x 100 statements per batch', () => measure('batches of 10 commands x 100 statements', 10, 100));
});
