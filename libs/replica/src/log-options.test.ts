/** The options a replica opens its log with: the witness's segment size, and preallocation on or off. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { DurableLog } from '@quorumlite/storage';
import { replicaLogOptions } from './replica';

const members = [
  { id: 'n1', address: '127.0.0.1:7001', role: 'voter' as const },
  { id: 'n2', address: '127.0.0.1:7002', role: 'witness' as const },
];

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quorumlite-log-options-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/**
 * 1 KiB records in 64-record flushes until the log first holds 1 MiB (the 16th flush; no append
 * follows, so no roll takes a spare), then the spare (if any) settled: the temporary files left.
 */
async function spareFilesAfterWrites(options: ReturnType<typeof replicaLogOptions>): Promise<string[]> {
  const { log } = await DurableLog.open(dir, options);
  const data = new Uint8Array(1024).fill(7);
  for (let i = 1; i < 1024; i += 64) {
    const batch: Entry[] = Array.from({ length: 64 }, (_, k) => ({ index: logIndex(i + k), term: term(1), kind: 'command', data }));
    log.append(batch);
    await log.flush(true);
  }
  await log.spareSettled();
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'));
  await log.close();
  return names;
}

describe('replicaLogOptions', () => {
  it('gives a witness 4 MiB segments and a data voter the default, and turns preallocation off when asked', () => {
    expect(replicaLogOptions({ members, nodeId: 'n1' })).toEqual({});
    expect(replicaLogOptions({ members, nodeId: 'n2' })).toEqual({ segmentBytesMax: 4 * 1024 * 1024 });
    expect(replicaLogOptions({ members, nodeId: 'n1', logPreallocate: false })).toEqual({ preallocateAfterBytes: null });
    expect(replicaLogOptions({ members, nodeId: 'n2', logPreallocate: false })).toEqual({ segmentBytesMax: 4 * 1024 * 1024, preallocateAfterBytes: null });
  });

  it('a log opened with them writes a spare segment once it holds 1 MiB, and none with preallocation off', async () => {
    expect(await spareFilesAfterWrites(replicaLogOptions({ members, nodeId: 'n2' }))).toHaveLength(1);
    await fs.rm(dir, { recursive: true, force: true });
    expect(await spareFilesAfterWrites(replicaLogOptions({ members, nodeId: 'n2', logPreallocate: false }))).toEqual([]);
  });
});
