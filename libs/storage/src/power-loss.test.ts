/** loseUnsyncedWrites(): the power cut the fault-injection suite applies to real nodes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logIndex, seededRandom } from '@quorumlite/consensus';
import { DurableLog } from './durable-log';
import { entries, makeTempDir, plain, removeTempDir } from './test-support';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(dir);
});

/** Writes with `write`, cuts the power (seeded), and reopens: what survived, and the reopened log. */
async function afterPowerCut(sub: string, seed: number, write: (log: DurableLog) => Promise<void>): Promise<{ lost: number; again: DurableLog; got: ReturnType<typeof plain> }> {
  const { log } = await DurableLog.open(sub);
  await write(log);
  const lost = log.loseUnsyncedWrites(seededRandom(seed));
  await log.close();
  const { log: again, loaded } = await DurableLog.open(sub);
  return { lost, again, got: plain(loaded.entries) };
}

describe('a simulated power cut', () => {
  it('keeps every synced record, at most a prefix of the unsynced ones, and repairs a torn tail', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { lost, again, got } = await afterPowerCut(`${dir}/s${seed}`, seed, async (log) => {
        log.append(entries(1, 10, 1, 40));
        await log.flush(true);
        log.append(entries(11, 20, 1, 40));
        await log.flush(false);
      });
      expect(lost).toBeGreaterThan(0);
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

describe('a power cut after a truncation', () => {
  it('never brings back a record the truncation removed once the flush returned', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { again, got } = await afterPowerCut(`${dir}/t${seed}`, seed, async (log) => {
        log.append(entries(1, 20, 1, 40));
        await log.flush(true);
        log.truncateAfter(logIndex(12));
        log.append(entries(13, 15, 2, 40));
        await log.flush(false);
      });
      // The cut is durable: what follows record 12 can only be a prefix of the new records.
      expect(got.slice(0, 12)).toEqual(plain(entries(1, 12, 1, 40)));
      expect(got.slice(12)).toEqual(plain(entries(13, 15, 2, 40)).slice(0, got.length - 12));
      await again.close();
    }
  });
});
