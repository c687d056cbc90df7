import { describe, expect, it } from 'vitest';
import { availabilityLine, faultAvailability } from './availability';
import type { OpRecord } from './history';
import type { TimelineEntry } from './nemesis';

let next = 0;
function op(f: 'write' | 'read' | 'cas', invokeMs: number, completeMs: number, outcome: OpRecord['outcome'] = 'ok'): OpRecord {
  const input = f === 'write' ? { f, key: 1, value: 1 } : f === 'cas' ? { f, key: 1, from: 1, to: 2 } : { f, key: 1 };
  return { id: next++, process: 0, workload: 'register', input, output: null, outcome, invokeMs, completeMs } as OpRecord;
}

function fault(atMs: number, healedAtMs: number | null): TimelineEntry {
  return { fault: 'partition-leader', atMs, healedAtMs, healStartedAtMs: healedAtMs, targets: ['n1'], notes: [] };
}

describe('chaos availability per fault', () => {
  it('measures from the fault and from its heal to the first successful write invoked after each, reads and failures left out', () => {
    const history = [
      op('write', 990, 1_005), // invoked before the fault: does not count for it
      op('read', 1_010, 1_020), // a read: not a write
      op('write', 1_050, 1_400, 'unknown'),
      op('write', 1_100, 1_700, 'fail'),
      op('cas', 1_200, 1_480), // the first successful write after the fault
      op('write', 2_010, 2_090), // the first after the heal at 2,000
      op('write', 2_020, 2_060), // invoked later, completed sooner: this one
      op('write', 3_700, 3_750), // after the third fault's heal, but past its window (the fourth fault came at 3,650)
      op('write', 5_000, 5_400, 'fail'), // the last write tried
    ];
    const rows = faultAvailability([fault(1_000, 2_000), fault(2_500, null), fault(3_000, 3_600), fault(3_650, 6_000)], history, 500);
    expect(rows).toEqual([
      { fault: 'partition-leader', targets: ['n1'], atMs: 500, writesStoppedMs: 480, healWindowMs: 500, afterHealMs: 60 },
      { fault: 'partition-leader', targets: ['n1'], atMs: 2_000, writesStoppedMs: 1_250, healWindowMs: null, afterHealMs: null },
      { fault: 'partition-leader', targets: ['n1'], atMs: 2_500, writesStoppedMs: 750, healWindowMs: 50, afterHealMs: null },
      { fault: 'partition-leader', targets: ['n1'], atMs: 3_150, writesStoppedMs: 100, healWindowMs: 0, afterHealMs: null },
    ]);
    // No heal had a whole second before the next fault or the end.
    expect(availabilityLine(rows)).toBe('availability over 4 faults: writes stopped median 480 ms, max 1250 ms (partition-leader at +2000 ms); writes after 0 heals: none measured');
    const long = faultAvailability([fault(1_000, 2_000)], [...history, op('write', 4_000, 4_100)], 500);
    expect(availabilityLine(long)).toBe('availability over 1 faults: writes stopped median 480 ms, max 480 ms (partition-leader at +500 ms); writes after 1 heals median 60 ms, max 60 ms (partition-leader at +500 ms)');
    expect(availabilityLine([])).toBe('availability: no faults');
  });
});
