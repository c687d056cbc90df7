import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INCARNATION_FILE, IncarnationBook, PEER_INCARNATIONS_FILE } from './incarnation';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlite-incarnation-'));
  dirs.push(dir);
  return dir;
}
function ids(...list: string[]): () => string {
  return () => list.shift() ?? 'exhausted';
}

describe('IncarnationBook', () => {
  it('writes the incarnation at the first start and keeps it across restarts', async () => {
    const dir = tempDir();
    expect((await IncarnationBook.open(dir, false, ids('a'))).self).toEqual({ id: 'a', rejoined: false });
    expect(fs.existsSync(path.join(dir, INCARNATION_FILE))).toBe(true);
    expect((await IncarnationBook.open(dir, false, ids('b'))).self).toEqual({ id: 'a', rejoined: false });
  });

  it('a directory that starts rejoining gets a fresh incarnation marked rejoined, kept once the rejoin is over', async () => {
    const dir = tempDir();
    await IncarnationBook.open(dir, false, ids('a')); // a start refused for its lost directory
    expect((await IncarnationBook.open(dir, true, ids('r'))).self).toEqual({ id: 'r', rejoined: true });
    expect((await IncarnationBook.open(dir, true, ids('x'))).self).toEqual({ id: 'r', rejoined: true });
    expect((await IncarnationBook.open(dir, false, ids('y'))).self).toEqual({ id: 'r', rejoined: true });
  });

  it('records the first incarnation of each peer durably, before admitting it, and refuses another', async () => {
    const dir = tempDir();
    const book = await IncarnationBook.open(dir, false, ids('self'));
    expect(book.admit('n2', { id: 'p', rejoined: false })).toBeNull();
    const reopened = await IncarnationBook.open(dir, false, ids());
    expect(reopened.recorded('n2')).toBe('p');
    expect(reopened.admit('n2', { id: 'q', rejoined: false })).toMatch(/member 'n2' came back with a different data directory .*--rejoin/);
    expect(reopened.recorded('n2')).toBe('p');
    expect(reopened.admit('n2', { id: 'q', rejoined: true })).toBeNull();
    expect((await IncarnationBook.open(dir, false, ids())).recorded('n2')).toBe('q');
  });

  it('forgets, durably, the members outside a committed configuration: a removed member comes back from an empty directory', async () => {
    const dir = tempDir();
    const book = await IncarnationBook.open(dir, false, ids('a'));
    expect(book.admit('n2', { id: 'p', rejoined: false })).toBeNull();
    expect(book.admit('n3', { id: 'q', rejoined: false })).toBeNull();
    expect(book.forgetAllBut(new Set(['n1', 'n2', 'n3']))).toEqual([]);
    expect(book.forgetAllBut(new Set(['n1', 'n2']))).toEqual(['n3']);
    const reopened = await IncarnationBook.open(dir, false, ids('b'));
    expect(reopened.recorded('n3')).toBeNull();
    expect(reopened.recorded('n2')).toBe('p');
    // n3, added again on a new directory, is recorded as a new member is; n2 still may not change.
    expect(reopened.admit('n3', { id: 'r', rejoined: false })).toBeNull();
    expect(reopened.recorded('n3')).toBe('r');
    expect(reopened.admit('n2', { id: 's', rejoined: false })).toMatch(/came back with a different data directory/);
  });

  it('stops on a damaged file rather than forget what it recorded', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, PEER_INCARNATIONS_FILE), '{"n2": 7}');
    await expect(IncarnationBook.open(dir, false, ids('a'))).rejects.toThrow(/PEER_INCARNATIONS is not a valid incarnation file/);
  });
});
