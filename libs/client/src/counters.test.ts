import { describe, expect, it } from 'vitest';
import { diffCounters, messageTotals, sumCounters, zeroCounters } from './counters';
import type { NodeCounters } from './types';

const reading = (over: Partial<NodeCounters>): NodeCounters => ({ ...zeroCounters(), ...over });

describe('node counters arithmetic', () => {
  it('takes the difference of two readings, type by type, dropping types that did not move', () => {
    const before = reading({ sent: [{ type: 'append', count: 10, bytes: 1_000 }, { type: 'heartbeat', count: 5, bytes: 50 }], storageSyncs: 7, steps: [{ step: 'fsync', count: 7, totalMs: 14 }] });
    const after = reading({
      sent: [{ type: 'append', count: 15, bytes: 1_600 }, { type: 'heartbeat', count: 5, bytes: 50 }, { type: 'vote', count: 2, bytes: 40 }],
      storageSyncs: 10,
      steps: [{ step: 'fsync', count: 9, totalMs: 20 }, { step: 'apply', count: 1, totalMs: 0.5 }],
    });
    const d = diffCounters(before, after);
    expect(d.sent).toEqual([{ type: 'append', count: 5, bytes: 600 }, { type: 'vote', count: 2, bytes: 40 }]);
    expect(d.storageSyncs).toBe(3);
    expect(d.steps).toEqual([{ step: 'apply', count: 1, totalMs: 0.5 }, { step: 'fsync', count: 2, totalMs: 6 }]);
  });

  it('takes a restarted node\'s reading as it is (its counters began again at zero)', () => {
    const before = reading({ storageSyncs: 100, elections: 3 });
    const after = reading({ storageSyncs: 4, elections: 1 });
    expect(diffCounters(before, after)).toEqual(after);
  });

  it('sums nodes and totals messages over types', () => {
    const a = reading({ sent: [{ type: 'append', count: 1, bytes: 10 }], elections: 1, leaderlessMs: 5 });
    const b = reading({ sent: [{ type: 'append', count: 2, bytes: 30 }, { type: 'ack', count: 1, bytes: 3 }], leaderlessMs: 7 });
    const s = sumCounters([a, b]);
    expect(s.sent).toEqual([{ type: 'ack', count: 1, bytes: 3 }, { type: 'append', count: 3, bytes: 40 }]);
    expect(s.elections).toBe(1);
    expect(s.leaderlessMs).toBe(12);
    expect(messageTotals(s.sent)).toEqual({ count: 4, bytes: 43 });
  });
});
