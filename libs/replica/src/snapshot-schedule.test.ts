import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { SnapshotSchedule, TermRuns } from './snapshot-schedule';

const entry = (index: number, t: number, bytes = 100): Entry => ({ index: logIndex(index), term: term(t), kind: 'command', data: new Uint8Array(bytes) });

describe('SnapshotSchedule', () => {
  const thresholds = { snapshotEveryEntries: 10, snapshotLogBytesMax: 10_000 };

  it('a data node waits for the records and for a quarter of the database in log bytes', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied(Array.from({ length: 10 }, (_, i) => entry(i + 1, 1)));
    expect(s.dueForData(9, () => 4_000)).toBe(false); // too few records
    expect(s.dueForData(10, () => 4_000)).toBe(true); // 1,000 log bytes >= 4,000 / 4
    expect(s.dueForData(10, () => 4_004)).toBe(false); // a quarter of the database is more than the log
  });

  it('a quarter of snapshotLogBytesMax in log bytes counts as enough records, still waiting for a quarter of the database', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied([entry(1, 1, 2_499)]);
    expect(s.dueForData(1, () => 0)).toBe(false); // under 10,000 / 4 bytes, one record
    s.noteApplied([entry(2, 1, 1)]);
    expect(s.dueForData(2, () => 10_000)).toBe(true); // 2,500 bytes: enough, and a quarter of the database
    expect(s.dueForData(2, () => 10_004)).toBe(false); // a quarter of the database is more than the log
  });

  it('snapshotLogBytesMax starts one whatever the rest says, and restart() counts from zero', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    s.noteApplied([entry(1, 1, 10_000)]);
    expect(s.dueForData(1, () => 1 << 30)).toBe(true);
    s.restart();
    expect(s.dueForData(1, () => 0)).toBe(false);
  });

  it('stretches the thresholds by the drawn factor, at most 1.25', () => {
    const s = new SnapshotSchedule(thresholds, () => 0.999);
    s.noteApplied(Array.from({ length: 12 }, (_, i) => entry(i + 1, 1)));
    expect(s.dueForData(12, () => 0)).toBe(false); // 12 < 10 × 1.2497
    expect(s.dueForData(13, () => 0)).toBe(true);
  });

  it('a witness needs enough records or enough bytes (a quarter of snapshotLogBytesMax), no database size', () => {
    const s = new SnapshotSchedule(thresholds, () => 0);
    expect(s.dueForWitness(9)).toBe(false);
    expect(s.dueForWitness(10)).toBe(true);
    s.noteApplied([entry(1, 1, 2_499)]);
    expect(s.dueForWitness(1)).toBe(false);
    s.noteApplied([entry(2, 1, 1)]);
    expect(s.dueForWitness(2)).toBe(true);
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
