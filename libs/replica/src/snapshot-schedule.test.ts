import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { SnapshotSchedule, TermRuns } from './snapshot-schedule';

const entry = (index: number, t: number, bytes = 100): Entry => ({ index: logIndex(index), term: term(t), kind: 'command', data: new Uint8Array(bytes) });

describe('SnapshotSchedule', () => {
  const thresholds = { snapshotEveryEntries: 10, snapshotLogBytesMax: 10_000 };

  it('is due after snapshotEveryEntries records, whatever the database holds', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied(Array.from({ length: 10 }, (_, i) => entry(i + 1, 1)));
    expect(s.due(9)).toBe(false);
    expect(s.due(10)).toBe(true);
  });

  it('a quarter of snapshotLogBytesMax in log bytes counts as enough records, and restart() counts from zero', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied([entry(1, 1, 2_499)]);
    expect(s.due(1)).toBe(false); // under 10,000 / 4 bytes, one record
    s.noteApplied([entry(2, 1, 1)]);
    expect(s.due(2)).toBe(true);
    s.restart();
    expect(s.due(2)).toBe(false);
  });

  it('stretches the thresholds by the drawn factor, at most 1.25', () => {
    const s = new SnapshotSchedule(thresholds, () => 0.999);
    s.noteApplied(Array.from({ length: 12 }, (_, i) => entry(i + 1, 1)));
    expect(s.due(12)).toBe(false); // 12 < 10 × 1.2497
    expect(s.due(13)).toBe(true);
    s.noteApplied([entry(13, 1, 799)]); // 1,999 bytes: under 10,000 / 4 / 1.2497
    expect(s.due(1)).toBe(false);
    s.noteApplied([entry(14, 1, 2)]);
    expect(s.due(1)).toBe(true);
  });
});

describe('TermRuns', () => {
  it('names the fencing number of each applied record from the last snapshot on', () => {
    const runs = new TermRuns();
    expect(runs.termAt(1)).toBeNull();
    runs.reset(5, term(2));
    runs.noteApplied([entry(6, 2), entry(7, 3), entry(8, 3), entry(9, 5)]);
    expect([4, 5, 6, 7, 8, 9, 10].map((i) => runs.termAt(i))).toEqual([null, 2, 2, 3, 3, 5, 5]);
    runs.forgetThrough(8);
    expect(runs.termAt(8)).toBe(3);
    expect(runs.termAt(9)).toBe(5);
    expect(runs.termAt(6)).toBeNull();
  });
});
