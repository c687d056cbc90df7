import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { SnapshotSchedule, TermRuns } from './snapshot-schedule';

const entry = (index: number, t: number, bytes = 100): Entry => ({ index: logIndex(index), term: term(t), kind: 'command', data: new Uint8Array(bytes) });

describe('SnapshotSchedule', () => {
  const thresholds = { snapshotEveryEntries: 10, snapshotLogBytesMax: 32_000, snapshotRetainEntries: 50 };

  it('is due after snapshotEveryEntries records, whatever the database holds', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied(Array.from({ length: 10 }, (_, i) => entry(i + 1, 1)));
    expect(s.due(9)).toBe(false);
    expect(s.due(10)).toBe(true);
  });

  it('a sixteenth of snapshotLogBytesMax in log bytes counts as enough records, and restart() counts from zero', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied([entry(1, 1, 1_999)]);
    expect(s.due(1)).toBe(false); // under 32,000 / 16 bytes, one record
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
    s.restart();
    s.noteApplied([entry(13, 1, 1_600)]); // under 32,000 / 16 / 1.2497 = 1,600.4
    expect(s.due(1)).toBe(false);
    s.noteApplied([entry(14, 1, 1)]);
    expect(s.due(2)).toBe(true);
  });

  it('keeps snapshotRetainEntries records behind a cut, or as many as a sixteenth of snapshotLogBytesMax holds at the recent mean size', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    expect(s.retainEntries()).toBe(50); // nothing applied yet
    s.noteApplied(Array.from({ length: 4 }, (_, i) => entry(i + 1, 1, 10)));
    expect(s.retainEntries()).toBe(50); // 2,000 bytes hold 200 records of 10 bytes
    s.noteApplied(Array.from({ length: 4 }, (_, i) => entry(i + 5, 1, 90)));
    expect(s.retainEntries()).toBe(40); // mean 50 bytes: 2,000 / 50
    s.restart();
    expect(s.retainEntries()).toBe(40); // the interval before still counts
    s.noteApplied(Array.from({ length: 8 }, (_, i) => entry(i + 9, 1, 250)));
    expect(s.retainEntries()).toBe(13); // 2,400 bytes in 16 records: 2,000 × 16 / 2,400 = 13.3
    s.restart();
    s.noteApplied([entry(17, 1, 0)]);
    expect(s.retainEntries()).toBe(9); // only the interval just before counts: 2,000 bytes in 8 records, and this one
    s.restart();
    s.noteApplied([entry(18, 1, 5_000)]);
    expect(s.retainEntries()).toBe(8); // never fewer than RETAIN_ENTRIES_MIN: 5,000 bytes in 2 records, one larger than the bound
    expect(new SnapshotSchedule({ ...thresholds, snapshotRetainEntries: 0 }, () => 0).retainEntries()).toBe(0);
    const few = new SnapshotSchedule({ ...thresholds, snapshotRetainEntries: 5 }, () => 0);
    few.noteApplied([entry(1, 1, 5_000)]);
    expect(few.retainEntries()).toBe(5); // a configured count under the minimum is kept
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
