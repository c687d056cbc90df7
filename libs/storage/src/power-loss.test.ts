/** loseUnsyncedWrites(): the power cut the fault-injection suite applies to real nodes. */
import type { FileHandle } from 'node:fs/promises';
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

/** The log's records 1..20 at term 1, and a rewrite of 13..20 at term 2, the way a Multi-Paxos acceptor re-accepts its slots. */
const OLD = plain(entries(1, 20, 1, 40));
const NEW = [...OLD.slice(0, 12), ...plain(entries(13, 20, 2, 40))];

describe('a power cut during a rewrite (a cut and the records after it in one flush)', () => {
  it('leaves the old records or all the new ones, never the cut alone: the old records were acknowledged', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { again, got } = await afterPowerCut(`${dir}/r${seed}`, seed, async (log) => {
        log.append(entries(1, 20, 1, 40));
        await log.flush(true);
        if (seed % 2 === 0) log.truncateAfter(logIndex(12));
        log.append(entries(13, 20, 2, 40));
        await log.flush(false);
      });
      expect([OLD, NEW], `seed ${seed}`).toContainEqual(got);
      await again.close();
    }
  });

  it('leaves the old records or all the new ones when the power goes before either fdatasync of the flush', async () => {
    // The segment is fdatasync'd twice: after the cut, and after the records are written.
    for (let cutAt = 1; cutAt <= 2; cutAt++) {
      const sub = `${dir}/c${cutAt}`;
      const { log } = await DurableLog.open(sub);
      log.append(entries(1, 20, 1, 40));
      await log.flush(true);
      let syncs = 0;
      const handle = (log as unknown as { segments: Array<{ handle: FileHandle | null }> }).segments[0]?.handle;
      if (handle == null) throw new Error('the last segment should stay open');
      const datasync = handle.datasync.bind(handle);
      handle.datasync = async () => {
        syncs += 1;
        if (syncs === cutAt) {
          log.loseUnsyncedWrites(seededRandom(cutAt));
          throw new Error('power cut');
        }
        return datasync();
      };
      log.append(entries(13, 20, 2, 40));
      const flushed = await log.flush(true).then(() => true, () => false);
      await log.close().catch(() => undefined);
      const { log: again, loaded } = await DurableLog.open(sub);
      const got = plain(loaded.entries);
      expect(flushed).toBe(false);
      expect([OLD, NEW], `power cut at fdatasync ${cutAt}`).toContainEqual(got);
      // What the reopened log holds is durable and usable: it continues after it.
      again.append(entries(21, 21, 2, 40));
      await again.flush(true);
      await again.close();
      const { loaded: third } = await DurableLog.open(sub);
      expect(plain(third.entries).slice(0, 20)).toEqual(got);
    }
  });
});

describe('a power cut after a truncation alone', () => {
  it('never brings back a record the truncation removed once the flush returned', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { again, got } = await afterPowerCut(`${dir}/t${seed}`, seed, async (log) => {
        log.append(entries(1, 20, 1, 40));
        await log.flush(true);
        log.truncateAfter(logIndex(12));
        await log.flush(false);
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
