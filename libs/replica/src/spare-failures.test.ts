/**
 * A spare segment the log could not make reaches the operator: a warning in the node's log and
 * a count in Status (and so in the metrics). The failure is a real one: the log's room check
 * refuses a spare larger than any disk here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { DurableLog } from '@quorumlite/storage';
import { NodeCounters } from './counters';
import type { ReplicaLogger } from './ports';
import { spareFailureReporter } from './replica';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function records(from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: logIndex(i), term: term(1), kind: 'command', data: new Uint8Array(Buffer.from(`command ${i}`.padEnd(100, '.'))) });
  return out;
}

describe('a spare log segment that cannot be made', () => {
  it('is warned about and counted, once per attempt, and the log goes on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-spare-'));
    dirs.push(dir);
    const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
    const logger: ReplicaLogger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (msg, fields) => warnings.push({ msg, fields }) };
    const counters = new NodeCounters(0);
    expect(counters.read(0).logSpareFailures).toBe(0);
    const { log } = await DurableLog.open(dir, { segmentBytesMax: 2 ** 50, preallocateAfterBytes: 0, onSpareFailure: spareFailureReporter(logger, counters) });
    log.append(records(1, 10));
    await log.flush(true);
    await log.spareSettled();
    expect(counters.read(0).logSpareFailures).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/could not prepare the next log segment/);
    expect(String(warnings[0]!.fields?.error)).toMatch(/too little free space .* for a spare segment/);
    // Appends go on in the segment they grow; the log asks for a spare again only at its next roll.
    log.append(records(11, 20));
    await log.flush(true);
    await log.spareSettled();
    expect(counters.read(0).logSpareFailures).toBe(1);
    expect(log.lastIndex()).toBe(20);
    await log.close();
  });
});
