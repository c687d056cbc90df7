import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INSTALL_MARKER_FILE, committedByDatabase, markInstall, readInstall, settleInstall } from './install-marker';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-install-marker-'));
  dirs.push(d);
  return d;
}

describe('the database vouches for the log only outside a snapshot install', () => {
  it('gives the applied index when no install is pending above the log and boot restored nothing above it', () => {
    expect(committedByDatabase(300, 100, null, false)).toBe(300);
    expect(committedByDatabase(300, 250, 250, false)).toBe(300);
    // Restored from the store at the log's own compaction point: nothing above it is claimed.
    expect(committedByDatabase(250, 250, null, true)).toBe(250);
  });

  it('withholds it while an install above the log’s compaction point may not have cut the log', () => {
    expect(committedByDatabase(300, 100, 300, false)).toBeNull();
  });

  it('withholds it when boot restored a stored snapshot past the log’s compaction point', () => {
    // A snapshot installed (and stored) whose log cut never happened, found again by restoreLatest.
    expect(committedByDatabase(300, 250, null, true)).toBeNull();
  });

  it('never lowers a marker, and removes it only once the log starts after it', async () => {
    const dir = tempDir();
    await markInstall(dir, 300);
    await markInstall(dir, 200); // a lower install after one cut short
    expect(await readInstall(dir)).toBe(300);
    await settleInstall(dir, 250);
    expect(await readInstall(dir)).toBe(300);
    await settleInstall(dir, 300);
    expect(await readInstall(dir)).toBeNull();
    expect(fs.existsSync(path.join(dir, INSTALL_MARKER_FILE))).toBe(false);
    await markInstall(dir, 400);
    expect(await readInstall(dir)).toBe(400);
  });
});
