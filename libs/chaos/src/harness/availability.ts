/**
 * How long each fault kept writes from succeeding, and how soon they succeeded again after its
 * heal, read from the history and the nemesis timeline: the time from the fault (or the heal)
 * to the completion of the first successful write invoked at or after it. Writes are the
 * operations that change state (write, cas, transfer, append); a cas that did not match still
 * went through the log. A fault that leaves a quorum and its leader alone costs about one
 * write's latency here; one that takes the leader away shows the election and the clients'
 * own timeouts (a write sent to a paused leader waits for it). After a heal only writes
 * invoked before the next fault count, so the next fault's cost is not put on this heal.
 * Measured, never asserted: the run's verdicts are about safety.
 */
import type { OpRecord } from './history';
import type { TimelineEntry } from './nemesis';

export interface FaultAvailability {
  fault: TimelineEntry['fault'];
  targets: string[];
  /** The fault's injection, ms after the run started. */
  atMs: number;
  /** From the fault to the first successful write invoked at or after it; null: none (the workload stopped, or nothing succeeded). */
  writesStoppedMs: number | null;
  /** From the heal to the next fault or the workload's last write, whichever came first; null: not healed. */
  healWindowMs: number | null;
  /** From the heal to the first successful write invoked within its window; null: not healed, or none. */
  afterHealMs: number | null;
}

/** Heals followed by less than this before the next fault (or the end) are left out of the summary's figure. */
export const HEAL_WINDOW_MS_MIN = 1_000;

const WRITES: ReadonlySet<string> = new Set(['write', 'cas', 'transfer', 'append']);

function firstWriteAfter(writes: readonly OpRecord[], fromMs: number, untilMs = Infinity): number | null {
  let first: number | null = null;
  for (const op of writes) if (op.invokeMs >= fromMs && op.invokeMs < untilMs && (first === null || op.completeMs < first)) first = op.completeMs;
  return first === null ? null : first - fromMs;
}

export function faultAvailability(timeline: readonly TimelineEntry[], history: readonly OpRecord[], startedAtMs: number): FaultAvailability[] {
  const tried = history.filter((op) => WRITES.has(op.input.f));
  const writes = tried.filter((op) => op.outcome === 'ok');
  const lastTriedMs = tried.reduce((m, op) => Math.max(m, op.invokeMs), -Infinity);
  return timeline.map((e, i) => {
    const windowEndMs = Math.min(timeline[i + 1]?.atMs ?? Infinity, lastTriedMs);
    const healed = e.healedAtMs;
    return {
      fault: e.fault,
      targets: [...e.targets],
      atMs: Math.round(e.atMs - startedAtMs),
      writesStoppedMs: roundOrNull(firstWriteAfter(writes, e.atMs)),
      healWindowMs: healed === null ? null : Math.max(0, Math.round(windowEndMs - healed)),
      afterHealMs: healed === null ? null : roundOrNull(firstWriteAfter(writes, healed, windowEndMs)),
    };
  });
}

function roundOrNull(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms);
}

/**
 * One line for a run's summary: median and worst of each figure, over the faults, and over the
 * heals with at least HEAL_WINDOW_MS_MIN before the next fault or the end of the workload.
 */
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
  const healed = rows.filter((r) => r.healWindowMs !== null && r.healWindowMs >= HEAL_WINDOW_MS_MIN);
  return `availability over ${rows.length} faults: ${stat(rows, (r) => r.writesStoppedMs, 'writes stopped')}; ${stat(healed, (r) => r.afterHealMs, `writes after ${healed.length} heals`)}`;
}
