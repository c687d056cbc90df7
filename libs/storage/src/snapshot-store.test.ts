import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotMeta } from '@quorumlite/consensus';
import { logIndex, nodeId, term } from '@quorumlite/consensus';
import { StorageError } from './errors';
import { writeFileAtomic } from './files';
import { SnapshotStore } from './snapshot-store';
import { makeTempDir, removeTempDir, flipByte } from './test-support';

const members = [
  { id: nodeId('n1'), role: 'voter' as const },
  { id: nodeId('w1'), role: 'witness' as const },
];
const meta = (index: number, t = 1): SnapshotMeta => ({ index: logIndex(index), term: term(t), members });

let root: string;
let dir: string;
beforeEach(async () => {
  root = await makeTempDir();
  dir = path.join(root, 'snapshots');
});
afterEach(async () => {
  await removeTempDir(root);
});

async function stageAndCommit(store: SnapshotStore, index: number, content: string) {
  const staged = store.stagingPath(`vacuum at ${index}`);
  await fs.writeFile(staged, content);
  return store.commit(staged, meta(index));
}

async function openError(): Promise<StorageError> {
  const e: unknown = await SnapshotStore.open(dir).then(
    () => new Error('expected open to fail'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StorageError);
  return e as StorageError;
}

describe('SnapshotStore', () => {
  it('commits a staged file, reports it as latest and finds it again after reopening', async () => {
    const store = await SnapshotStore.open(dir);
    expect(store.latest()).toBeNull();
    const staged = store.stagingPath('peer n2 / transfer');
    expect(path.dirname(staged)).toBe(path.join(dir, 'staging'));
    expect(path.basename(staged)).toMatch(/^peer_n2___transfer-[0-9a-f]+\.partial$/);
    await fs.writeFile(staged, 'sqlite bytes');
    const stored = await store.commit(staged, meta(42, 3));
    expect(stored).toEqual({ meta: meta(42, 3), path: path.join(dir, '00000000000000000042-00000000000000000003.snap'), bytes: 12 });
    expect(await fs.readFile(stored.path, 'utf8')).toBe('sqlite bytes');
    await expect(fs.stat(staged)).rejects.toThrow();
    expect(store.latest()).toEqual(stored);

    const reopened = await SnapshotStore.open(dir);
    expect(reopened.latest()).toEqual(stored);
  });

  it('keeps the newest snapshots on prune and removes leftovers, sparing files still being staged', async () => {
    const store = await SnapshotStore.open(dir);
    for (const index of [10, 30, 20]) await stageAndCommit(store, index, `at ${index}`);
    const inProgress = store.stagingPath('transfer');
    await fs.writeFile(inProgress, 'half');
    const leftover = path.join(dir, 'staging', 'crashed-abc.partial');
    await fs.writeFile(leftover, 'stale');
    await fs.writeFile(path.join(dir, '00000000000000000005-00000000000000000001.snap'), 'orphan');

    await store.prune(2);
    expect(store.latest()?.meta.index).toBe(30);
    expect((await fs.readdir(dir)).sort()).toEqual([
      '00000000000000000020-00000000000000000001.meta',
      '00000000000000000020-00000000000000000001.snap',
      '00000000000000000030-00000000000000000001.meta',
      '00000000000000000030-00000000000000000001.snap',
      'staging',
    ]);
    expect(await fs.readdir(path.join(dir, 'staging'))).toEqual([path.basename(inProgress)]);

    await store.discard(inProgress);
    expect(await fs.readdir(path.join(dir, 'staging'))).toEqual([]);
    const reopened = await SnapshotStore.open(dir);
    expect(reopened.latest()?.meta.index).toBe(30);
  });

  it('rejects a corrupt meta at open, naming the file', async () => {
    const store = await SnapshotStore.open(dir);
    const stored = await stageAndCommit(store, 7, 'bytes');
    const metaFile = stored.path.replace(/\.snap$/, '.meta');
    const damaged = await fs.readFile(metaFile);
    flipByte(damaged, damaged.length - 3, 0x20);
    await fs.writeFile(metaFile, damaged);
    const e = await openError();
    expect(e.code).toBe('corrupt');
    expect(e.message).toBe(`${metaFile} is corrupt: checksum mismatch`);
  });

  it('rejects a snapshot whose size differs from its meta', async () => {
    const store = await SnapshotStore.open(dir);
    const stored = await stageAndCommit(store, 7, 'bytes');
    await fs.appendFile(stored.path, 'more');
    const e = await openError();
    expect(e.code).toBe('corrupt');
    expect(e.message).toContain('holds 9 bytes but');
  });

  it('refuses to commit a file outside the staging area or with an invalid meta', async () => {
    const store = await SnapshotStore.open(dir);
    const outside = path.join(root, 'elsewhere.db');
    await fs.writeFile(outside, 'x');
    await expect(store.commit(outside, meta(1))).rejects.toMatchObject({ code: 'bad_input' });
    const staged = store.stagingPath('x');
    await fs.writeFile(staged, 'x');
    const bad = { ...meta(1), index: logIndex(-1) };
    await expect(store.commit(staged, bad)).rejects.toMatchObject({ code: 'bad_input' });
    await expect(store.commit(store.stagingPath('never written'), meta(1))).rejects.toMatchObject({ code: 'bad_input' });
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file content and leaves no temporary file', async () => {
    const file = path.join(root, 'state');
    await writeFileAtomic(file, Buffer.from('one'));
    await writeFileAtomic(file, Buffer.from('two'));
    expect(await fs.readFile(file, 'utf8')).toBe('two');
    expect(await fs.readdir(root)).toEqual(['state']);
  });

  it('fails with code io when the directory does not exist', async () => {
    const e = await writeFileAtomic(path.join(root, 'missing', 'state'), Buffer.from('x')).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(StorageError);
    expect((e as StorageError).code).toBe('io');
  });
});

describe('SnapshotStore.durableCopy', () => {
  it('copies a stored snapshot into the staging area and leaves the stored one in place', async () => {
    const store = await SnapshotStore.open(dir);
    const stored = await stageAndCommit(store, 7, 'database bytes');
    const copy = await store.durableCopy(stored.path, 'restore');
    expect(path.dirname(copy)).not.toBe(path.dirname(stored.path));
    expect(await fs.readFile(copy, 'utf8')).toBe('database bytes');
    expect(await fs.readFile(stored.path, 'utf8')).toBe('database bytes');
    await expect(store.durableCopy(path.join(dir, 'missing.snap'), 'restore')).rejects.toThrow(/missing\.snap/);
  });
});
