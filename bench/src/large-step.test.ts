/**
 * What one command near the 16 MiB request limit costs each synchronous step of a node, on
 * this machine: encoding the command, checksumming its log record, encoding and decoding the
 * append that carries it, and applying it to SQLite. Each step holds the event loop; compare
 * them with the heartbeat interval (50 ms) and the election timeout (300–600 ms) by default.
 * Printed, not asserted: only the outcome of the apply is checked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { logIndex, nodeId, raft, term, type Entry } from '@quorumlite/consensus';
import { encodeCommand, SqlStateMachine, type Command } from '@quorumlite/sql';

const MIB = 1024 * 1024;
const COMMAND_BLOB_BYTES = 16 * MIB - 64 * 1024;
const ROUNDS = 4;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function command(sql: string, params: Command['statements'][number]['params']): Uint8Array {
  return encodeCommand({ statements: [{ sql, params, named: {} }], requestId: null, timeMs: 0, seed: 1 });
}

/** Milliseconds `fn` held the loop, and its result. */
function timed<T>(fn: () => T): [number, T] {
  const start = performance.now();
  const result = fn();
  return [performance.now() - start, result];
}

describe('large command step costs (printed, not asserted)', () => {
  it(`one ${COMMAND_BLOB_BYTES}-byte blob insert per round`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-large-step-'));
    dirs.push(dir);
    const sm = SqlStateMachine.open(path.join(dir, 'db.sqlite'));
    try {
      sm.applyBatch([{ index: 1, kind: 'command', data: command('CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)', []) }]);
      for (let i = 0; i < ROUNDS; i++) {
        const index = i + 2;
        const blob = Buffer.alloc(COMMAND_BLOB_BYTES, i);
        const [encodeMs, data] = timed(() => command('INSERT INTO big (id, data) VALUES (?, ?)', [BigInt(index), blob]));
        const [crcMs] = timed(() => crc32(data));
        const entry: Entry = { index: logIndex(index), term: term(2), kind: 'command', data };
        const append = { type: 'append', from: nodeId('n1'), to: nodeId('n2'), term: term(2), prevIndex: logIndex(index - 1), prevTerm: term(2), commit: logIndex(index - 1), entries: [entry] } as const;
        const [messageEncodeMs, bytes] = timed(() => raft.encodeMessage(append));
        const [messageDecodeMs] = timed(() => raft.decodeMessage(bytes));
        const [applyMs, outcomes] = timed(() => sm.applyBatch([{ index, kind: 'command', data }]));
        const ms = (n: number): string => n.toFixed(1);
        console.log(
          `command ${index}: encode ${ms(encodeMs)} ms, record crc32 ${ms(crcMs)} ms, append encode ${ms(messageEncodeMs)} ms, append decode ${ms(messageDecodeMs)} ms, apply ${ms(applyMs)} ms`,
        );
        expect(outcomes[0]?.ok).toBe(true);
      }
    } finally {
      sm.close();
    }
  });
});
