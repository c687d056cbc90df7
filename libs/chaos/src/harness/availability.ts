/**
 * How long each fault kept writes from succeeding, and how soon they succeeded again after its
 * heal, read from the history and the nemesis timeline: the time from the fault (or the heal)
 * to the completion of the first successful write invoked at or after it. Writes are the
 * operations that change state (write, cas, transfer, append); a cas that did not match still
 * went through the log. A fault that leaves a quorum and its leader alone costs about one
 * write's latency here; one that takes the leader away shows the election and the clients'
 * retries. Measured, never asserted: the run's verdicts are about safety.
 */
import type { OpRecord } from './history';
import type { TimelineEntry } from './nemesis';

export interface FaultAvailability {
  fault: TimelineEntry['fault'];
  targets: string[];
  /** The fault's injection, ms after the run started. */
  atMs: number;
  /** From the fault to the first successful write invoked at or after it; null: none before the run ended. */
  writesStoppedMs: number | null;
  healed: boolean;
  /** From the heal to the first successful write invoked at or after it; null: not healed, or no such write. */
  afterHealMs: number | null;
}

const WRITES: ReadonlySet<string> = new Set(['write', 'cas', 'transfer', 'append']);

function firstWriteAfter(writes: readonly OpRecord[], fromMs: number): number | null {
  let first: number | null = null;
  for (const op of writes) if (op.invokeMs >= fromMs && (first === null || op.completeMs < first)) first = op.completeMs;
  return first === null ? null : first - fromMs;
}

export function faultAvailability(timeline: readonly TimelineEntry[], history: readonly OpRecord[], startedAtMs: number): FaultAvailability[] {
  const writes = history.filter((op) => op.outcome === 'ok' && WRITES.has(op.input.f));
  return timeline.map((e) => ({
    fault: e.fault,
    targets: [...e.targets],
    atMs: Math.round(e.atMs - startedAtMs),
    writesStoppedMs: roundOrNull(firstWriteAfter(writes, e.atMs)),
    healed: e.healedAtMs !== null,
    afterHealMs: e.healedAtMs === null ? null : roundOrNull(firstWriteAfter(writes, e.healedAtMs)),
  }));
}

function roundOrNull(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms);
}

/** One line for a run's summary: median and worst of each figure over its faults. */
export function availabilityLine(rows: readonly FaultAvailability[]): string {
  if (rows.length === 0) return 'availability: no faults';
  const stat = (of: readonly FaultAvailability[], value: (r: FaultAvailability) => number | null, what: string): string => {
    const known = of.filter((r) => value(r) !== null).sort((a, b) => value(a)! - value(b)!);
    const missing = of.length - known.length;
    if (known.length === 0) return `${what}: none measured`;
    const median = value(known[Math.ceil(known.length / 2) - 1]!)!;
    const worst = known[known.length - 1]!;
    return `${what} median ${median} ms, max ${value(worst)!} ms (${worst.fault} at +${worst.atMs} ms)${missing > 0 ? `, ${missing} never` : ''}`;
  };
  const healed = rows.filter((r) => r.healed);
  return `availability over ${rows.length} faults: ${stat(rows, (r) => r.writesStoppedMs, 'writes stopped')}; ${stat(healed, (r) => r.afterHealMs, 'writes after the heal')}`;
}
