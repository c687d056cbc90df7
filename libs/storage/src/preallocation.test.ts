/** Preallocated segments: files of zeros made ahead (SpareSegment), filled by appends without growing. */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotMeta } from '@quorumlite/consensus';
import { logIndex, nodeId, seededRandom, term } from '@quorumlite/consensus';
import { DurableLog, REWRITE_FILE, type DurableLogOptions } from './durable-log';
import { StorageError } from './errors';
import { encodeRecords, scanSegment } from './record';
import { entries, entry, makeTempDir, plain, removeTempDir, segmentNames } from './test-support';

const SEGMENT = 16 * 1024;
const options: DurableLogOptions = { segmentBytesMax: SEGMENT, preallocateAfterBytes: 1024 };
const members = [{ id: nodeId('n1'), role: 'voter' as const }];
const meta = (index: number, t = 1): SnapshotMeta => ({ index: logIndex(index), term: term(t), members });

let dir: string;
beforeEach(async () => {
  dir = path.join(await makeTempDir(), 'log');
});
afterEach(async () => {
  await removeTempDir(path.dirname(dir));
});

const sizeOf = async (name: string) => (await fs.stat(path.join(dir, name))).size;
const tempFiles = async () => (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'));

/** A log past preallocateAfterBytes whose spare is ready: the next append moves to it. */
async function logWithSpare(): Promise<DurableLog> {
  const { log } = await DurableLog.open(dir, options);
  log.append(entries(1, 20, 1, 100));
  await log.flush(true);
  await log.spareSettled();
  return log;
}

describe('preallocated segments', () => {
  it('moves to a zero-filled segment once the last one holds preallocateAfterBytes; appends never grow it', async () => {
    const log = await logWithSpare();
    const spares = await tempFiles();
    expect(spares).toHaveLength(1);
    expect(await sizeOf(spares[0] as string)).toBe(SEGMENT);

    log.append(entries(21, 30, 1, 100));
    await log.flush(true);
    const names = await segmentNames(dir);
    expect(names).toHaveLength(2);
    expect(await sizeOf(names[1] as string)).toBe(SEGMENT);
    expect(await tempFiles()).toEqual([]);
    log.append(entries(31, 60, 1, 100));
    await log.flush(true);
    expect(await sizeOf(names[1] as string)).toBe(SEGMENT);
    await log.close();
    expect(await tempFiles()).toEqual([]);

    // The zeros after the records are unused space, not a torn tail: nothing is cut at open.
    const again = await DurableLog.open(dir, options);
    expect(again.loaded.repairedTailBytes).toBe(0);
    expect(plain(again.loaded.entries)).toEqual(plain(entries(1, 60, 1, 100)));
    expect(await sizeOf(names[1] as string)).toBe(SEGMENT);
    again.log.append(entries(61, 70, 1, 100));
    await again.log.flush(true);
    expect(await sizeOf(names[1] as string)).toBe(SEGMENT);
    await again.log.close();
    expect(plain((await DurableLog.open(dir, options)).loaded.entries)).toEqual(plain(entries(1, 70, 1, 100)));
  });

  it('writes a flush into a preallocated segment with one write and one fdatasync, and rolls over into the next spare', async () => {
    const log = await logWithSpare();
    log.append(entries(21, 21, 1, 100));
    await log.flush(true);
    const handle = (log as unknown as { segments: Array<{ handle: FileHandle | null }> }).segments[1]?.handle;
    if (handle == null) throw new Error('the last segment should stay open');
    const calls: string[] = [];
    for (const name of ['write', 'writev', 'datasync', 'sync', 'truncate'] as const) {
      const original = handle[name].bind(handle) as (...args: unknown[]) => Promise<unknown>;
      (handle as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name);
        return original(...args);
      };
    }
    log.append(entries(22, 40, 1, 100));
    await log.flush(true);
    expect(calls).toEqual(['writev', 'datasync']);

    // Past half of it the next spare is made; a full segment rolls over into it.
    log.append(entries(41, 100, 1, 100));
    await log.flush(true);
    await log.spareSettled();
    log.append(entries(101, 200, 1, 100));
    await log.flush(true);
    const names = await segmentNames(dir);
    expect(names).toHaveLength(3);
    // A segment left behind is cut to its last record; the last keeps its zeros.
    for (const name of names.slice(0, -1)) {
      const bytes = await fs.readFile(path.join(dir, name));
      expect(scanSegment(bytes, Number(name.slice(0, 20)), 0)).toMatchObject({ goodBytes: bytes.length, problem: null });
    }
    expect(await sizeOf(names[1] as string)).toBeLessThan(SEGMENT);
    expect(await sizeOf(names[2] as string)).toBe(SEGMENT);
    await log.close();
    const again = await DurableLog.open(dir, options);
    expect(again.loaded.repairedTailBytes).toBe(0);
    expect(plain(again.loaded.entries)).toEqual(plain(entries(1, 200, 1, 100)));
    await again.log.close();
  });

  it('keeps every synced record when a power cut keeps some pages of an unsynced write and not others', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const sub = path.join(dir, `s${seed}`);
      const { log } = await DurableLog.open(sub, options);
      log.append(entries(1, 20, 1, 100));
      await log.flush(true);
      await log.spareSettled();
      log.append(entries(21, 40, 1, 100));
      await log.flush(true);
      log.append(entries(41, 140, 1, 100)); // about 12 KiB: three or four pages
      await log.flush(false);
      expect(log.loseUnsyncedWrites(seededRandom(seed))).toBeGreaterThan(0);
      await log.close();
      const tail = (await segmentNames(sub)).at(-1) as string;
      expect((await fs.stat(path.join(sub, tail))).size).toBe(SEGMENT);

      const { log: again, loaded } = await DurableLog.open(sub, options);
      const got = plain(loaded.entries);
      expect(got.length).toBeGreaterThanOrEqual(40);
      expect(got).toEqual(plain(entries(1, got.length, 1, 100)));
      again.append(entries(got.length + 1, got.length + 5, 2, 100));
      await again.flush(true);
      await again.close();
      const last = await DurableLog.open(sub, options);
      expect(plain(last.loaded.entries)).toEqual([...got, ...plain(entries(got.length + 1, got.length + 5, 2, 100))]);
      expect(last.loaded.repairedTailBytes).toBe(0);
      await last.log.close();
    }
  });

  it('zeroes a torn record over the zeros, cuts a write with a lost page, and refuses damage before an intact record', async () => {
    const log = await logWithSpare();
    log.append(entries(21, 30, 1, 100));
    await log.flush(true);
    await log.close();
    const tail = path.join(dir, (await segmentNames(dir)).at(-1) as string);
    const bytes = await fs.readFile(tail);
    const end = scanSegment(bytes, 21, 0).goodBytes;

    // Half a record's header and body, zeros after: torn; its bytes become zeros and the file keeps its size.
    const torn = Buffer.from(bytes);
    torn.writeUInt32LE(118, end);
    torn.fill(0x5a, end + 8, end + 40);
    await fs.writeFile(tail, torn);
    const first = await DurableLog.open(dir, options);
    expect(first.loaded.repairedTailBytes).toBe(40);
    expect(first.loaded.entries.at(-1)?.index).toBe(30);
    expect((await fs.stat(tail)).size).toBe(SEGMENT);
    expect(await fs.readFile(tail)).toEqual(bytes);
    await first.log.close();

    const record = encodeRecords([entry(32, 1, 'x'.repeat(100))]);
    const refused = async (why: string) => {
      const e = await DurableLog.open(dir, options).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(StorageError);
      expect((e as StorageError).code).toBe('corrupt');
      expect((e as StorageError).message).toContain(why);
    };
    const padded = (...parts: Buffer[]) => {
      const b = Buffer.concat(parts);
      return Buffer.concat([b, Buffer.alloc(SEGMENT - b.length)]);
    };
    // Bytes that are no record, without a lost page, then an intact record: damage.
    await fs.writeFile(tail, padded(bytes.subarray(0, end), Buffer.alloc(600, 0x5a), record));
    await refused('an intact record follows');
    // A damaged record whose data holds zeros short of a page, then an intact record: damage.
    const zerosInside = encodeRecords([entry(31, 1, '\0'.repeat(1500))]);
    zerosInside[9] = (zerosInside[9] as number) ^ 0x01; // a byte of its index: the checksum fails
    await fs.writeFile(tail, padded(bytes.subarray(0, end), zerosInside, record));
    await refused('an intact record follows');
    // A page's worth of zeros, then intact records: a write whose pages did not all reach the disk, cut.
    await fs.writeFile(tail, padded(bytes.subarray(0, end), Buffer.alloc(4096), record));
    const second = await DurableLog.open(dir, options);
    expect(second.loaded.repairedTailBytes).toBe(4096 + record.length);
    expect(second.loaded.entries.at(-1)?.index).toBe(30);
    expect(await fs.readFile(tail)).toEqual(bytes);
    await second.log.close();

    // A segment that is not the last ends with its last record: zeros after it are damage.
    const first1 = path.join(dir, (await segmentNames(dir))[0] as string);
    await fs.appendFile(first1, Buffer.alloc(100));
    await refused('zeros after its last record, in a segment that is not the last');
  });

  it('refuses a page of zeros before an intact record in a segment that grows with its appends', async () => {
    const { log } = await DurableLog.open(dir, { ...options, preallocateAfterBytes: null });
    log.append(entries(1, 10, 1, 100));
    await log.flush(true);
    await log.close();
    const file = path.join(dir, (await segmentNames(dir))[0] as string);
    await fs.appendFile(file, Buffer.concat([Buffer.alloc(8192), encodeRecords([entry(12, 1, 'x'.repeat(100))])]));
    await expect(DurableLog.open(dir, options)).rejects.toThrow('an intact record follows');
  });

  it('creates a segment that grows when its spare has gone (another process opened the log)', async () => {
    const log = await logWithSpare();
    const [spare] = await tempFiles();
    log.append(entries(21, 30, 1, 100));
    await fs.rm(path.join(dir, spare as string));
    await log.flush(true);
    const names = await segmentNames(dir);
    expect(names).toHaveLength(2);
    expect(await sizeOf(names[1] as string)).toBeLessThan(SEGMENT);
    await log.close();
    expect(plain((await DurableLog.open(dir, options)).loaded.entries)).toEqual(plain(entries(1, 30, 1, 100)));
  });

  it('a cut inside a preallocated segment shrinks the file; the log then moves to a new spare', async () => {
    const log = await logWithSpare();
    log.append(entries(21, 40, 1, 100));
    await log.flush(true);
    log.truncateAfter(logIndex(30));
    log.append(entries(31, 35, 2, 100));
    await log.flush(true);
    const names = await segmentNames(dir);
    expect(await sizeOf(names[1] as string)).toBeLessThan(SEGMENT);
    // The segment grows again: the next append asks for a spare, and the one after moves to it.
    log.append(entries(36, 36, 2, 100));
    await log.flush(true);
    await log.spareSettled();
    log.append(entries(37, 40, 2, 100));
    await log.flush(true);
    const after = await segmentNames(dir);
    expect(after).toHaveLength(3);
    expect(await sizeOf(after[2] as string)).toBe(SEGMENT);
    await log.close();
    const again = await DurableLog.open(dir, options);
    expect(plain(again.loaded.entries)).toEqual([...plain(entries(1, 30, 1, 100)), ...plain(entries(31, 40, 2, 100))]);
    await again.log.close();
  });

  it('removes a spare it had taken when a snapshot resets the log, and one still being filled at close', async () => {
    const log = await logWithSpare();
    log.append(entries(21, 21, 1, 100)); // takes the spare; the rename waits for the next flush
    await log.resetToSnapshot(meta(500));
    expect(await tempFiles()).toEqual([]);
    expect(await segmentNames(dir)).toEqual([]);
    await log.close();

    // A 64 MiB spare takes over half a second (1 MiB parts, 10 ms apart): still being filled at close.
    const big = path.join(dir, 'big');
    const { log: filling } = await DurableLog.open(big, { preallocateAfterBytes: 0 });
    filling.append(entries(1, 1));
    await filling.flush(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fs.readdir(big)).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    await filling.close();
    expect((await fs.readdir(big)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('starts no spare from the flush that close() makes', async () => {
    const { log } = await DurableLog.open(dir, { ...options, preallocateAfterBytes: 0 });
    const spare = (log as unknown as { spare: { prepare: () => void } }).spare;
    let asked = 0;
    spare.prepare = () => {
      asked += 1;
    };
    // The first synced flush is the one close() makes: any other would ask for a spare here.
    log.append(entries(1, 1));
    await log.close();
    expect(asked).toBe(0);
  });

  it('never writes a spare for a log below preallocateAfterBytes, nor with preallocation off', async () => {
    const { log } = await DurableLog.open(dir, { segmentBytesMax: SEGMENT });
    log.append(entries(1, 50, 1, 100));
    await log.flush(true);
    await log.spareSettled();
    expect(await tempFiles()).toEqual([]);
    await log.close();
    const off = path.join(dir, 'off');
    const { log: plainLog } = await DurableLog.open(off, { segmentBytesMax: SEGMENT, preallocateAfterBytes: null });
    plainLog.append(entries(1, 400, 1, 100));
    await plainLog.flush(true);
    await plainLog.spareSettled();
    for (const name of await segmentNames(off)) expect((await fs.stat(path.join(off, name))).size).toBeLessThanOrEqual(SEGMENT);
    expect((await fs.readdir(off)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await plainLog.close();
    await expect(DurableLog.open(path.join(dir, 'bad'), { preallocateAfterBytes: -1 })).rejects.toThrow('preallocateAfterBytes must be a non-negative integer or null, got -1');
  });

  it('makes spares only while an fdatasync covers at most PREALLOCATE_SYNC_BYTES_MAX on average', async () => {
    const { log } = await DurableLog.open(dir, { segmentBytesMax: 4 * 1024 * 1024, preallocateAfterBytes: 1024 });
    log.append(entries(1, 2, 1, 100_000));
    await log.flush(true);
    await log.spareSettled();
    expect(await tempFiles()).toEqual([]);
    // Small syncs bring the mean down an eighth of the way each: 200 KB -> 134 KB after three
    // (no spare), 117 KB after the fourth (a spare; no append follows, so none takes it).
    for (let index = 3; index <= 5; index++) {
      log.append(entries(index, index, 1, 100));
      await log.flush(true);
    }
    await log.spareSettled();
    expect(await tempFiles()).toEqual([]);
    log.append(entries(6, 6, 1, 100));
    await log.flush(true);
    await log.spareSettled();
    expect(await tempFiles()).toHaveLength(1);
    await log.close();
    expect(await tempFiles()).toEqual([]);
  });

  it('refuses a rewrite file with zeros after its records (it is written whole, never padded)', async () => {
    const { log } = await DurableLog.open(dir, options);
    log.append(entries(1, 5));
    await log.flush(true);
    await log.close();
    await fs.writeFile(path.join(dir, REWRITE_FILE), Buffer.concat([encodeRecords([entry(4, 2)]), Buffer.alloc(64)]));
    await expect(DurableLog.open(dir, options)).rejects.toThrow(`${path.join(dir, REWRITE_FILE)} is corrupt: zeros after its last record`);
  });
});

describe('a spare that cannot be made', () => {
  it('is reported, and the log goes on growing its segments', async () => {
    // Segments larger than any disk here: the room check refuses the spare before writing a byte.
    const huge = 2 ** 50;
    const failures: Error[] = [];
    const { log } = await DurableLog.open(dir, { segmentBytesMax: huge, preallocateAfterBytes: 0, onSpareFailure: (e) => failures.push(e) });
    log.append(entries(1, 10, 1, 100));
    await log.flush(true);
    await log.spareSettled();
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toMatch(/^too little free space in .* for a spare segment: \d+ bytes free, \d+ needed/);
    expect(await tempFiles()).toEqual([]);
    // It asks again only at its next roll: no retry on every append.
    log.append(entries(11, 20, 1, 100));
    await log.flush(true);
    await log.spareSettled();
    expect(failures).toHaveLength(1);
    await log.close();
    const again = await DurableLog.open(dir, { segmentBytesMax: huge });
    expect(plain(again.loaded.entries)).toEqual(plain(entries(1, 20, 1, 100)));
    await again.log.close();
  });
});
