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
    ];
    const rows = faultAvailability([fault(1_000, 2_000), fault(5_000, null)], history, 500);
    expect(rows).toEqual([
      { fault: 'partition-leader', targets: ['n1'], atMs: 500, writesStoppedMs: 480, healed: true, afterHealMs: 60 },
      { fault: 'partition-leader', targets: ['n1'], atMs: 4_500, writesStoppedMs: null, healed: false, afterHealMs: null },
    ]);
    expect(availabilityLine(rows)).toBe('availability over 2 faults: writes stopped median 480 ms, max 480 ms (partition-leader at +500 ms), 1 never; writes after the heal median 60 ms, max 60 ms (partition-leader at +500 ms)');
    expect(availabilityLine([])).toBe('availability: no faults');
  });
});
