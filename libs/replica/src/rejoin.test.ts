import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { beginRejoin, endRejoin, planRejoin, promisedFence, REJOIN_MARKER_FILE, type PeerView } from './rejoin';

const view = (role: string, term: number, lastIndex = 10, leaderId: string | null = null): PeerView => ({ role, term, promised: term, lastIndex, leaderId });

describe('planRejoin', () => {
  it('waits until every other voter answered, naming the silent ones', () => {
    const plan = planRejoin(new Map<string, PeerView | Error>([['n1', view('leader', 3)], ['n2', new Error('unreachable')]]));
    expect(plan).toEqual({ kind: 'wait', why: expect.stringContaining('n2 did not') });
  });

  it('targets the member that leads at the highest fencing number, with its last index', () => {
    const plan = planRejoin(new Map([['n1', view('leader', 3, 42)], ['n2', view('follower', 3, 40, 'n1')]]));
    expect(plan).toEqual({ kind: 'target', fence: 3, leader: 'n1', index: 42 });
  });

  it('waits while a leader of a lower number is all there is: a newer one may hold records it lacks', () => {
    const plan = planRejoin(new Map([['n1', view('leader', 3)], ['n2', view('candidate', 4)]]));
    expect(plan).toEqual({ kind: 'wait', why: expect.stringContaining('highest fencing number 4') });
  });

  it('waits while a member promised a number above the leader\'s (a Zab epoch being discovered)', () => {
    const plan = planRejoin(new Map([['n1', view('leader', 3)], ['n2', { ...view('follower', 3, 10, 'n1'), promised: 4 }]]));
    expect(plan).toEqual({ kind: 'wait', why: expect.stringContaining('highest fencing number 4') });
  });
});

describe('promisedFence', () => {
  it('is the highest number any other voter promised, and only once every one answered', () => {
    expect(promisedFence(new Map<string, PeerView | Error>([['n1', view('leader', 3)], ['n2', new Error('unreachable')]]))).toEqual({ kind: 'wait', why: expect.stringContaining('n2 did not') });
    expect(promisedFence(new Map([['n1', view('leader', 3)], ['n2', { ...view('follower', 3), promised: 5 }]]))).toEqual({ kind: 'fence', fence: 5 });
  });

  it('waits, saying so, when there is no other voter to ask (it never fences at 0 on no answers)', () => {
    expect(promisedFence(new Map())).toEqual({ kind: 'wait', why: expect.stringContaining('knows no other voting member') });
    expect(planRejoin(new Map())).toMatchObject({ kind: 'wait' });
  });
});

describe('beginRejoin / endRejoin', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-rejoin-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('writes the marker on an empty directory and removes it at the end', async () => {
    const dir = tempDir();
    expect(await beginRejoin(dir, true, null)).toBe(true);
    expect(fs.existsSync(path.join(dir, REJOIN_MARKER_FILE))).toBe(true);
    // A restart before the end resumes the rejoin, asked for or not.
    expect(await beginRejoin(dir, false, 'a log up to index 5')).toBe(true);
    await endRejoin(dir);
    expect(await beginRejoin(dir, false, 'a log up to index 5')).toBe(false);
  });

  it('refuses --rejoin on a directory that still holds a log, with a sentence', async () => {
    const dir = tempDir();
    await expect(beginRejoin(dir, true, 'a log up to index 5')).rejects.toThrow(/still holds a log up to index 5; start without --rejoin/);
    expect(fs.existsSync(path.join(dir, REJOIN_MARKER_FILE))).toBe(false);
  });
});
