import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '@quorumlite/consensus';
import { seededRandom } from '@quorumlite/consensus';
import { DurableLog } from './durable-log';
import { StorageError } from './errors';
import { isZeroFrom, scanSegment } from './record';
import { entry, makeTempDir, plain, removeTempDir, segmentNames } from './test-support';

const SEEDS = 30;
const OPS_PER_SEED = 25;
/**
 * Segments that grow with their appends (small, so a history spans several), and preallocated
 * ones (a spare made and settled before each operation; a crash keeps their size, so the torn
 * write is followed by zeros, and the segment holds whole 4 KiB pages).
 */
const VARIANTS = [
  { name: 'growing segments', options: { segmentBytesMax: 300, preallocateAfterBytes: null } },
  { name: 'preallocated segments', options: { segmentBytesMax: 16 * 1024, preallocateAfterBytes: 0 } },
] as const;

let dir: string;
beforeEach(async () => {
  dir = path.join(await makeTempDir(), 'log');
});
afterEach(async () => {
  await removeTempDir(path.dirname(dir));
});

/** Random appends (some replacing a suffix) and flushes, checked against an in-memory model. */
async function randomHistory(log: DurableLog, random: () => number): Promise<Entry[]> {
  let model: Entry[] = [];
  for (let op = 0; op < OPS_PER_SEED; op += 1) {
    await log.spareSettled();
    const from = random() < 0.2 && model.length > 0 ? 1 + Math.floor(random() * model.length) : model.length + 1;
    const count = 1 + Math.floor(random() * 6);
    const t = op + 1;
    const batch = Array.from({ length: count }, (_, k) => entry(from + k, t, 'x'.repeat(Math.floor(random() * 40))));
    log.append(batch);
    model = [...model.slice(0, from - 1), ...batch];
    if (random() < 0.5) await log.flush(random() < 0.5);
  }
  await log.flush(true);
  expect(log.lastIndex()).toBe(model.length);
  return model;
}

describe.each(VARIANTS)('DurableLog under simulated crashes, $name', ({ options }) => {
  it(`keeps every synced record and at most a prefix of the torn write (${SEEDS} seeds)`, async () => {
    for (let seed = 1; seed <= SEEDS; seed += 1) {
      const context = `seed ${seed}`;
      const random = seededRandom(seed);
      await fs.rm(dir, { recursive: true, force: true });
      const { log } = await DurableLog.open(dir, options);
      const synced = await randomHistory(log, random);

      // One more write that a crash tears at a random byte.
      const last = (await segmentNames(dir)).at(-1);
      const lastPath = path.join(dir, last ?? 'missing');
      // Where its records end (a preallocated segment goes on in zeros).
      const sizeBefore = last === undefined ? 0 : scanSegment(await fs.readFile(lastPath), Number(last.slice(0, 20)), 0).goodBytes;
      const pending = Array.from({ length: 4 }, (_, k) => entry(synced.length + 1 + k, 99, `pending-${k}`));
      log.append(pending);
      await log.flush(false);
      await log.close();
      const lastNow = (await segmentNames(dir)).at(-1) as string;
      const tornPath = path.join(dir, lastNow);
      const full = await fs.readFile(tornPath);
      const fullEnd = scanSegment(full, Number(lastNow.slice(0, 20)), 0).goodBytes;
      const keepFrom = lastNow === last ? sizeBefore : 0;
      const cut = keepFrom + Math.floor(random() * (fullEnd - keepFrom + 1));
      // Nothing, bytes no record starts with, or zeros (what a crash leaves in a preallocated segment).
      const shape = random();
      const garbage = shape < 0.34 ? Buffer.alloc(0) : Buffer.alloc(1 + Math.floor(random() * 64), shape < 0.67 ? 0xa5 : 0);
      const torn = Buffer.concat([full.subarray(0, cut), garbage]);
      // A preallocated file keeps its size: zeros after what the disk kept.
      const tornBytes = fullEnd < full.length && torn.length < full.length ? Buffer.concat([torn, Buffer.alloc(full.length - torn.length)]) : torn;
      await fs.writeFile(tornPath, tornBytes);

      const reopened = await DurableLog.open(dir, options).catch((e: unknown) => {
        throw new Error(`${context}: open failed: ${e instanceof StorageError ? e.message : String(e)}`);
      });
      const loaded = plain(reopened.loaded.entries);
      expect(loaded.slice(0, synced.length), context).toEqual(plain(synced));
      const extra = loaded.length - synced.length;
      expect(loaded.slice(synced.length), context).toEqual(plain(pending.slice(0, extra)));
      // Garbage is never kept: after the last good record the file ends or holds zeros. The
      // bytes cut, or zeroed when zeros followed them, are the ones reported.
      const repaired = (await fs.readFile(tornPath).catch(() => Buffer.alloc(0))) as Buffer;
      const kept = scanSegment(repaired, Number(lastNow.slice(0, 20)), 0);
      expect(kept.problem, context).toBeNull();
      expect(isZeroFrom(repaired, kept.goodBytes), context).toBe(true);
      let nonZeroEnd = tornBytes.length;
      while (nonZeroEnd > 0 && tornBytes[nonZeroEnd - 1] === 0) nonZeroEnd -= 1;
      const reported = repaired.length < tornBytes.length ? tornBytes.length - repaired.length : Math.max(0, nonZeroEnd - kept.goodBytes);
      expect(reopened.loaded.repairedTailBytes, context).toBe(reported);
      if (garbage[0] === 0xa5) expect(reopened.loaded.repairedTailBytes, context).toBeGreaterThan(0);
      // The log goes on right after what it kept, over any zeros it left in place.
      const next = entry(loaded.length + 1, 100, 'after-the-crash');
      reopened.log.append([next]);
      await reopened.log.flush(true);
      await reopened.log.close();
      const again = await DurableLog.open(dir, options);
      expect(plain(again.loaded.entries), context).toEqual([...loaded, ...plain([next])]);
      await again.log.close();
    }
  });
});
