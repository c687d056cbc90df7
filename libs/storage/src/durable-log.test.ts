import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotMeta } from '@quorumlite/consensus';
import { logIndex, nodeId, term } from '@quorumlite/consensus';
import { DurableLog, REWRITE_FILE, type DurableLogOptions } from './durable-log';
import { StorageError } from './errors';
import { storageSyncCount } from './files';
import { encodeRecords } from './record';
import { entries, entry, makeTempDir, plain, removeTempDir, segmentNames, flipByte } from './test-support';

const FIRST_SEGMENT = '00000000000000000001.seg';
const members = [{ id: nodeId('n1'), role: 'voter' as const }];
const meta = (index: number, t = 1): SnapshotMeta => ({ index: logIndex(index), term: term(t), members });

let dir: string;
const open = (options?: DurableLogOptions) => DurableLog.open(dir, options);

beforeEach(async () => {
  dir = path.join(await makeTempDir(), 'log');
});
afterEach(async () => {
  await removeTempDir(path.dirname(dir));
});

async function writeLog(build: (log: DurableLog) => void | Promise<void>, options?: DurableLogOptions): Promise<void> {
  const { log } = await open(options);
  await build(log);
  await log.flush(true);
  await log.close();
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<StorageError> {
  const e: unknown = await p.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StorageError);
  return e as StorageError;
}

function thrown(fn: () => void): StorageError {
  try {
    fn();
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(StorageError);
    return e as StorageError;
  }
  throw new Error('expected a throw');
}

describe('DurableLog: round trips', () => {
  it('starts empty, then reloads appended records and hard state', async () => {
    const first = await open();
    expect(first.loaded).toEqual({ hardState: null, snapshot: null, entries: [], repairedTailBytes: 0 });
    expect([first.log.firstIndex(), first.log.lastIndex()]).toEqual([1, 0]);
    first.log.append([entry(1), entry(2, 1, '', 'noop'), entry(3, 2), entry(4, 2, 'members', 'config')]);
    first.log.setHardState({ term: 2, vote: 'n1', commit: 3 });
    await first.log.flush(true);
    await first.log.close();

    const again = await open();
    expect(plain(again.loaded.entries)).toEqual(plain([entry(1), entry(2, 1, '', 'noop'), entry(3, 2), entry(4, 2, 'members', 'config')]));
    expect(again.loaded.hardState).toEqual({ term: 2, vote: 'n1', commit: 3 });
    expect(again.loaded.repairedTailBytes).toBe(0);
    expect(again.log.lastIndex()).toBe(4);
    await again.log.close();
  });

  it('accepts several unsynced flushes and one synced flush (group commit)', async () => {
    await writeLog(async (log) => {
      for (let i = 1; i <= 30; i += 10) {
        log.append(entries(i, i + 9));
        await log.flush(false);
      }
    });
    const { log, loaded } = await open();
    expect(loaded.entries.map((e) => e.index)).toEqual(entries(1, 30).map((e) => e.index));
    await log.close();
  });

  it('rolls segments at segmentBytesMax and reloads across them', async () => {
    const options = { segmentBytesMax: 512 };
    await writeLog((log) => log.append(entries(1, 200, 1, 40)), options);
    const names = await segmentNames(dir);
    expect(names.length).toBeGreaterThan(10);
    expect(names[0]).toBe(FIRST_SEGMENT);
    for (const name of names) expect((await fs.stat(path.join(dir, name))).size).toBeLessThanOrEqual(512);

    const second = await open(options);
    expect(plain(second.loaded.entries)).toEqual(plain(entries(1, 200, 1, 40)));
    second.log.append(entries(201, 260, 1, 40));
    await second.log.flush(true);
    await second.log.close();
    const third = await open(options);
    expect(third.loaded.entries).toHaveLength(260);
    expect(third.log.lastIndex()).toBe(260);
    await third.log.close();
  });

  it('rewrites the hard state atomically and leaves no temporary files', async () => {
    await writeLog((log) => log.setHardState({ term: 1, vote: null }));
    await writeLog((log) => log.setHardState({ term: 5, vote: 'n2' }));
    const { log, loaded } = await open();
    expect(loaded.hardState).toEqual({ term: 5, vote: 'n2' });
    expect((await fs.readdir(dir)).sort()).toEqual(['state']);
    await log.close();
  });
});

describe('DurableLog: suffix truncation', () => {
  it('replaces a conflicting suffix within a segment', async () => {
    await writeLog((log) => log.append(entries(1, 10)));
    await writeLog((log) => {
      log.append([entry(6, 2, 'new-6'), entry(7, 2, 'new-7')]);
      expect(log.lastIndex()).toBe(7);
    });
    const { log, loaded } = await open();
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 5), entry(6, 2, 'new-6'), entry(7, 2, 'new-7')]));
    await log.close();
  });

  it('truncates into an earlier segment and deletes the later ones', async () => {
    const options = { segmentBytesMax: 256 };
    await writeLog((log) => log.append(entries(1, 100, 1, 20)), options);
    const before = await segmentNames(dir);
    await writeLog((log) => log.append([entry(12, 3, 'x')]), options);
    const after = await segmentNames(dir);
    expect(after.length).toBeLessThan(before.length);
    const { log, loaded } = await open(options);
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 11, 1, 20), entry(12, 3, 'x')]));
    await log.close();
  });

  it('truncates records still buffered, and from the very first record', async () => {
    await writeLog((log) => {
      log.append(entries(1, 10));
      log.append([entry(4, 2)]);
    });
    let reopened = await open();
    expect(plain(reopened.loaded.entries)).toEqual(plain([...entries(1, 3), entry(4, 2)]));
    reopened.log.append([entry(1, 9)]);
    await reopened.log.flush(true);
    await reopened.log.close();
    reopened = await open();
    expect(plain(reopened.loaded.entries)).toEqual(plain([entry(1, 9)]));
    await reopened.log.close();
  });
});

describe('DurableLog: a rewrite is atomic', () => {
  it('leaves no rewrite file once the flush returns, and an append never writes one', async () => {
    const { log } = await open({ segmentBytesMax: 256 });
    log.append(entries(1, 40, 1, 20));
    await log.flush(false);
    expect(await fs.readdir(dir)).not.toContain(REWRITE_FILE);
    log.append(entries(12, 14, 2, 20));
    await log.flush(false);
    expect(await fs.readdir(dir)).not.toContain(REWRITE_FILE);
    await log.close();
    const { log: again, loaded } = await open({ segmentBytesMax: 256 });
    expect(plain(loaded.entries)).toEqual(plain([...entries(1, 11, 1, 20), ...entries(12, 14, 2, 20)]));
    await again.close();
  });

  it('carries out at open a rewrite whose file a crash left, over any part of it the segments hold', async () => {
    await writeLog((log) => log.append(entries(1, 10)));
    const rewrite = path.join(dir, REWRITE_FILE);
    // The file of a rewrite of 6..8, and the log already cut after 5 with record 6 written.
    await writeLog((log) => log.append([entry(6, 2, 'new-6')]));
    await fs.writeFile(rewrite, encodeRecords([entry(6, 2, 'new-6'), entry(7, 2, 'new-7'), entry(8, 2, 'new-8')]));
    const { log, loaded } = await open();
    const expected = plain([...entries(1, 5), entry(6, 2, 'new-6'), entry(7, 2, 'new-7'), entry(8, 2, 'new-8')]);
    expect(plain(loaded.entries)).toEqual(expected);
    expect(await fs.readdir(dir)).not.toContain(REWRITE_FILE);
    await log.close();
    const again = await open();
    expect(plain(again.loaded.entries)).toEqual(expected);
    await again.log.close();
  });

  it('refuses a rewrite file that does not continue the log, naming the file', async () => {
    await writeLog((log) => log.append(entries(1, 5)));
    await fs.writeFile(path.join(dir, REWRITE_FILE), encodeRecords([entry(9, 2)]));
    await expect(open()).rejects.toThrow(`${path.join(dir, REWRITE_FILE)} is corrupt: it holds records from index 9, but the log holds 1..5`);
  });
});

describe('DurableLog: recovery', () => {
  const segmentPath = (name = FIRST_SEGMENT) => path.join(dir, name);

  it('cuts a partial record at the tail and reports it', async () => {
    await writeLog((log) => log.append(entries(1, 5)));
    const good = (await fs.stat(segmentPath())).size;
    // A record header announcing 100 body bytes, followed by only 7 of them.
    const partial = Buffer.alloc(15);
    partial.writeUInt32LE(100, 0);
    partial.fill(0xab, 8);
    await fs.appendFile(segmentPath(), partial);

    const first = await open();
    expect(first.loaded.repairedTailBytes).toBe(15);
    expect(first.loaded.entries).toHaveLength(5);
    expect((await fs.stat(segmentPath())).size).toBe(good);
    first.log.append([entry(6)]);
    await first.log.flush(true);
    await first.log.close();
    const second = await open();
    expect(second.loaded.repairedTailBytes).toBe(0);
    expect(second.loaded.entries).toHaveLength(6);
    await second.log.close();
  });

  it('cuts trailing zeros and a final record whose checksum fails (a segment that grows)', async () => {
    await writeLog((log) => log.append(entries(1, 5)));
    const bytes = await fs.readFile(segmentPath());
    const lastRecord = bytes.length - (8 + 18 + 'cmd-5'.length);
    flipByte(bytes, bytes.length - 1, 0x01);
    await fs.writeFile(segmentPath(), Buffer.concat([bytes, Buffer.alloc(4096)]));
    const { log, loaded } = await open();
    expect(loaded.repairedTailBytes).toBe(bytes.length - lastRecord + 4096);
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect((await fs.stat(segmentPath())).size).toBe(lastRecord);
    log.append([entry(5, 2)]);
    await log.flush(true);
    await log.close();
    const again = await open();
    expect(again.loaded.repairedTailBytes).toBe(0);
    expect(plain(again.loaded.entries)).toEqual(plain([...entries(1, 4), entry(5, 2)]));
    await again.log.close();
  });

  it('refuses a bad checksum in the middle of the log, naming file and offset', async () => {
    await writeLog((log) => log.append(entries(1, 20)));
    const bytes = await fs.readFile(segmentPath());
    const recordBytes = 8 + 18 + 'cmd-1'.length;
    const third = 2 * recordBytes;
    flipByte(bytes, third + 30, 0x40); // inside record 3's data
    await fs.writeFile(segmentPath(), bytes);
    const e = await rejection(open());
    expect(e.code).toBe('corrupt');
    expect(e.message).toBe(
      `log segment ${FIRST_SEGMENT} is corrupt at offset ${third}: checksum mismatch (record for index 3), and an intact record follows at offset ${third + recordBytes}`,
    );
    expect(e.file).toBe(segmentPath());
    expect(e.offset).toBe(third);
    expect((await fs.readFile(segmentPath())).length).toBe(bytes.length); // nothing was cut
  });

  it('refuses an impossible length in the middle of the log', async () => {
    await writeLog((log) => log.append(entries(1, 20)));
    const bytes = await fs.readFile(segmentPath());
    bytes.writeUInt32LE(0xffff_fff0, 0);
    await fs.writeFile(segmentPath(), bytes);
    const e = await rejection(open());
    expect(e.code).toBe('corrupt');
    expect(e.message).toContain(`log segment ${FIRST_SEGMENT} is corrupt at offset 0: impossible record length`);
  });

  it('refuses damage in a segment that is not the last, even at its end', async () => {
    const options = { segmentBytesMax: 256 };
    await writeLog((log) => log.append(entries(1, 60, 1, 20)), options);
    const bytes = await fs.readFile(segmentPath());
    flipByte(bytes, bytes.length - 2, 0x10);
    await fs.writeFile(segmentPath(), bytes);
    const e = await rejection(open(options));
    expect(e.code).toBe('corrupt');
    expect(e.message).toMatch(new RegExp(`^log segment ${FIRST_SEGMENT} is corrupt at offset \\d+: checksum mismatch .*not the last`));
  });

  it('refuses a gap between segments, naming both files', async () => {
    const options = { segmentBytesMax: 256 };
    await writeLog((log) => log.append(entries(1, 60, 1, 20)), options);
    const names = await segmentNames(dir);
    await fs.unlink(path.join(dir, names[1] as string));
    const e = await rejection(open(options));
    expect(e.code).toBe('corrupt');
    expect(e.message).toContain(`log segments ${names[0]} and ${names[2]} are not contiguous`);
  });

  it('refuses a corrupt state file and a corrupt snapshot.meta, naming the file', async () => {
    await writeLog(async (log) => {
      log.append(entries(1, 5));
      log.setHardState({ term: 1 });
      await log.flush(true);
      await log.compact(meta(3), logIndex(1));
    });
    for (const name of ['state', 'snapshot.meta']) {
      const file = path.join(dir, name);
      const original = await fs.readFile(file);
      const damaged = Buffer.from(original);
      flipByte(damaged, damaged.length - 2, 0x01);
      await fs.writeFile(file, damaged);
      const e = await rejection(open());
      expect(e.code).toBe('corrupt');
      expect(e.message).toBe(`${file} is corrupt: checksum mismatch`);
      await fs.writeFile(file, original);
    }
    const { log } = await open();
    await log.close();
  });
});

describe('DurableLog: compaction and reset', () => {
  const options = { segmentBytesMax: 256 };

  it('drops whole segments below keepFrom and reloads after the snapshot', async () => {
    await writeLog((log) => log.append(entries(1, 100, 1, 20)), options);
    const before = await segmentNames(dir);
    const { log } = await open(options);
    await log.compact(meta(80, 1), logIndex(71));
    expect(log.firstIndex()).toBe(81);
    const after = await segmentNames(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(Number(after[0]?.slice(0, 20))).toBeLessThanOrEqual(71);
    expect(thrown(() => log.append([entry(80, 2)])).code).toBe('bad_input');
    log.append(entries(101, 105, 1, 20));
    await log.flush(true);
    await log.close();

    const reopened = await open(options);
    expect(reopened.loaded.snapshot).toEqual(meta(80, 1));
    expect(reopened.loaded.entries.map((e) => e.index)).toEqual(entries(81, 105).map((e) => e.index));
    expect(reopened.log.lastIndex()).toBe(105);
    await reopened.log.close();
  });

  it('footprint counts the records and bytes its segments hold, before and after a compaction', async () => {
    await writeLog((log) => log.append(entries(1, 100, 1, 20)), options);
    const { log } = await open(options);
    const onDisk = async (): Promise<number> => {
      let bytes = 0;
      for (const name of await segmentNames(dir)) bytes += (await fs.stat(path.join(dir, name))).size;
      return bytes;
    };
    expect(log.footprint()).toEqual({ records: 100, bytes: await onDisk() });
    await log.compact(meta(80, 1), logIndex(81));
    const after = log.footprint();
    expect(after.records).toBeLessThan(100);
    expect(after.records).toBeGreaterThanOrEqual(20);
    expect(after.bytes).toBe(await onDisk());
    log.append(entries(101, 110, 1, 20));
    expect(log.footprint().records).toBe(after.records + 10);
    await log.close();
  });

  it('removes at open the segments a crash kept from a compaction', async () => {
    await writeLog((log) => log.append(entries(1, 100, 1, 20)), options);
    const names = await segmentNames(dir);
    const saved = await Promise.all(names.map((n) => fs.readFile(path.join(dir, n))));
    const { log } = await open(options);
    await log.compact(meta(80, 1), logIndex(81));
    await log.close();
    await Promise.all(names.map((n, i) => fs.writeFile(path.join(dir, n), saved[i] as Buffer)));
    const reopened = await open(options);
    expect(reopened.loaded.entries.map((e) => e.index)).toEqual(entries(81, 100).map((e) => e.index));
    expect((await segmentNames(dir)).length).toBeLessThan(names.length);
    await reopened.log.close();
  });

  it('can compact the whole log and keep appending', async () => {
    const { log } = await open(options);
    log.append(entries(1, 50, 1, 20));
    await log.flush(true);
    await log.compact(meta(50, 1), logIndex(51));
    log.append([entry(51)]);
    await log.flush(true);
    await log.close();
    const reopened = await open(options);
    expect(plain(reopened.loaded.entries)).toEqual(plain([entry(51)]));
    await reopened.log.close();
  });

  it('resetToSnapshot discards the log and continues after the snapshot', async () => {
    await writeLog((log) => log.append(entries(1, 50, 1, 20)), options);
    const { log } = await open(options);
    await log.resetToSnapshot(meta(500, 4));
    expect(await segmentNames(dir)).toEqual([]);
    expect([log.firstIndex(), log.lastIndex()]).toEqual([501, 500]);
    expect(thrown(() => log.append([entry(502, 4)])).code).toBe('bad_input');
    log.append([entry(501, 4)]);
    await log.flush(true);
    await log.close();
    const reopened = await open(options);
    expect(reopened.loaded.snapshot).toEqual(meta(500, 4));
    expect(plain(reopened.loaded.entries)).toEqual(plain([entry(501, 4)]));
    await reopened.log.close();
  });

  it('finishes an interrupted reset at open: old segments are discarded', async () => {
    await writeLog((log) => log.append(entries(1, 50, 1, 20)), options);
    const names = await segmentNames(dir);
    const saved = await Promise.all(names.map((n) => fs.readFile(path.join(dir, n))));
    const { log } = await open(options);
    await log.resetToSnapshot(meta(30, 2));
    await log.close();
    // A crash before the removals reached the disk: the old segments are back.
    await Promise.all(names.map((n, i) => fs.writeFile(path.join(dir, n), saved[i] as Buffer)));
    const reopened = await open(options);
    expect(reopened.loaded.snapshot).toEqual(meta(30, 2));
    expect(reopened.loaded.entries).toEqual([]);
    expect(reopened.log.lastIndex()).toBe(30);
    expect(await segmentNames(dir)).toEqual([]);
    await reopened.log.close();
  });
});

describe('DurableLog: file work per flush', () => {
  it('writes a batch with one (gathered) write and, when synced, one fdatasync', async () => {
    const { log } = await open();
    log.append(entries(1, 100, 1, 100));
    await log.flush(true);
    const calls: string[] = [];
    const handle = (log as unknown as { segments: Array<{ handle: FileHandle | null }> }).segments[0]?.handle;
    if (handle == null) throw new Error('the last segment should stay open');
    const spy = (name: 'write' | 'writev' | 'datasync' | 'sync') => {
      const original = handle[name].bind(handle) as (...args: unknown[]) => Promise<unknown>;
      (handle as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name);
        return original(...args);
      };
    };
    spy('write');
    spy('writev');
    spy('datasync');
    spy('sync');
    log.append(entries(101, 200, 1, 100));
    await log.flush(false);
    expect(calls).toEqual(['writev']);
    log.append(entries(201, 300, 1, 100));
    await log.flush(true);
    expect(calls).toEqual(['writev', 'writev', 'datasync']);
    await log.close();
  });
});

describe('DurableLog: I/O failure', () => {
  it('reports io, then refuses further calls until reopened', async () => {
    const { log } = await open();
    log.append(entries(1, 3));
    await log.flush(true);
    const handle = (log as unknown as { segments: Array<{ handle: FileHandle | null }> }).segments[0]?.handle;
    if (handle == null) throw new Error('the last segment should stay open');
    (handle as unknown as Record<string, unknown>)['writev'] = () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    log.append(entries(4, 5));
    const e = await rejection(log.flush(true));
    expect(e.code).toBe('io');
    expect(e.message).toContain(FIRST_SEGMENT);
    expect(thrown(() => log.append([entry(6)])).code).toBe('bad_state');
    await log.close();
    const reopened = await open();
    expect(reopened.loaded.entries.map((x) => x.index)).toEqual([1, 2, 3]);
    await reopened.log.close();
  });
});

describe('DurableLog: bad input', () => {
  it('rejects non-contiguous batches, gaps and invalid records without changing the log', async () => {
    const { log } = await open();
    log.append(entries(1, 3));
    expect(thrown(() => log.append([entry(4), entry(6)])).code).toBe('bad_input');
    expect(thrown(() => log.append([entry(5)])).code).toBe('bad_input');
    expect(thrown(() => log.append([entry(0)])).code).toBe('bad_input');
    expect(thrown(() => log.append([entry(4, -1)])).code).toBe('bad_input');
    expect((await rejection(log.compact(meta(9), logIndex(1)))).code).toBe('bad_input');
    expect((await rejection(log.compact(meta(2), logIndex(4)))).code).toBe('bad_input');
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(3);
    await log.close();
    expect(thrown(() => log.append([entry(4)])).code).toBe('bad_state');
    expect((await rejection(log.flush(true))).code).toBe('bad_state');
    const reopened = await open();
    expect(reopened.loaded.entries).toHaveLength(3);
    await reopened.log.close();
  });
});

describe('truncateAfter (a truncation without an append)', () => {
  it('forgets the records after the index across segments, durably, and appends continue after it', async () => {
    const opts: DurableLogOptions = { segmentBytesMax: 512 };
    const { log } = await DurableLog.open(dir, opts);
    log.append(entries(1, 40, 1, 20));
    await log.flush(true);
    const segmentsBefore = (await segmentNames(dir)).length;
    log.truncateAfter(logIndex(7));
    expect(log.lastIndex()).toBe(7);
    log.truncateAfter(logIndex(30));
    expect(log.lastIndex()).toBe(7);
    await log.flush(true);
    expect((await segmentNames(dir)).length).toBeLessThan(segmentsBefore);
    await log.close();
    const { log: again, loaded } = await DurableLog.open(dir, opts);
    expect(plain(loaded.entries)).toEqual(plain(entries(1, 7, 1, 20)));
    again.append(entries(8, 9, 2, 20));
    await again.flush(true);
    await again.close();
    const { log: third, loaded: last } = await DurableLog.open(dir, opts);
    expect(plain(last.entries)).toEqual(plain([...entries(1, 7, 1, 20), ...entries(8, 9, 2, 20)]));
    await third.close();
  });

  it('drops buffered records that were never written', async () => {
    const { log } = await DurableLog.open(dir);
    log.append(entries(1, 5));
    await log.flush(true);
    log.append(entries(6, 9));
    log.truncateAfter(logIndex(6));
    await log.flush(true);
    await log.close();
    const { log: again, loaded } = await DurableLog.open(dir);
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
    await again.close();
  });

  it('refuses to reach into the compacted prefix', async () => {
    const { log } = await DurableLog.open(dir);
    log.append(entries(1, 10));
    await log.flush(true);
    await log.compact(meta(5), logIndex(6));
    expect(() => log.truncateAfter(logIndex(4))).toThrow(StorageError);
    expect(() => log.truncateAfter(logIndex(4))).toThrow('cannot truncate after index 4: records up to 5 are compacted');
    log.truncateAfter(logIndex(5));
    expect(log.lastIndex()).toBe(5);
    await log.close();
  });
});

describe('DurableLog: counted syncs', () => {
  it('counts one fdatasync for a synced flush of appends, none for an unsynced one, and the hard state file and directory syncs', async () => {
    const { log } = await open();
    log.append([entry(1)]);
    await log.flush(true); // the first flush also creates the segment: directory fsync
    const before = storageSyncCount();
    log.append([entry(2), entry(3)]);
    await log.flush(false);
    expect(storageSyncCount() - before).toBe(0);
    log.append([entry(4)]);
    await log.flush(true);
    expect(storageSyncCount() - before).toBe(1);
    log.setHardState({ term: 1, vote: null, commit: 4 });
    await log.flush(true);
    // temp file fsync + directory fsync of the atomic replace
    expect(storageSyncCount() - before).toBe(3);
    await log.close();
  });
});
