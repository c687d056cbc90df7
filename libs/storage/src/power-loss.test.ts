/** loseUnsyncedWrites(): the power cut the fault-injection suite applies to real nodes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { DurableLog } from './durable-log';
import { entries, makeTempDir, plain, removeTempDir } from './test-support';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('a simulated power cut', () => {
  it('keeps every synced record, at most a prefix of the unsynced ones, and repairs a torn tail', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sub = `${dir}/s${seed}`;
      const { log } = await DurableLog.open(sub);
      log.append(entries(1, 10, 1, 40));
      await log.flush(true);
      log.append(entries(11, 20, 1, 40));
      await log.flush(false);
      const lost = log.loseUnsyncedWrites(seededRandom(seed));
      expect(lost).toBeGreaterThan(0);
      await log.close();
      const { log: again, loaded } = await DurableLog.open(sub);
      const got = plain(loaded.entries);
      expect(got.slice(0, 10)).toEqual(plain(entries(1, 10, 1, 40)));
      expect(got.length).toBeLessThan(20);
      expect(got).toEqual(plain(entries(1, got.length, 1, 40)));
      // What survives is usable: the log continues right after it.
      again.append(entries(got.length + 1, got.length + 1, 1, 40));
      await again.flush(true);
      await again.close();
    }
  });

  it('loses nothing when everything was synced', async () => {
    const { log } = await DurableLog.open(dir);
    log.append(entries(1, 5));
    await log.flush(true);
    expect(log.loseUnsyncedWrites(() => 0)).toBe(0);
    await log.close();
    const { loaded } = await DurableLog.open(dir);
    expect(loaded.entries).toHaveLength(5);
  });
});
