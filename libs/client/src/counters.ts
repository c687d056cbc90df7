/** Arithmetic on NodeStatus counters: what a node did between two readings, and several nodes' sum. */
import type { MessageTally, NodeCounters } from './types';

/** Empty counters: the start of a sum. */
export function zeroCounters(): NodeCounters {
  return { sent: [], received: [], storageSyncs: 0, elections: 0, leaderChanges: 0, leaderlessMs: 0, writesAnswered: 0, writeMs: 0, readsAnswered: 0, readMs: 0, steps: [], logSpareFailures: 0 };
}

/**
 * What happened between `before` and `after`, two readings of one node. A node that restarted
 * in between starts again from zero: then `after` alone is what its new process did.
 */
export function diffCounters(before: NodeCounters, after: NodeCounters): NodeCounters {
  if (restarted(before, after)) return after;
  return combine(after, before, -1);
}

/** The sum of several nodes' counters (or of their differences). */
export function sumCounters(all: readonly NodeCounters[]): NodeCounters {
  return all.reduce((acc, c) => combine(acc, c, 1), zeroCounters());
}

function restarted(before: NodeCounters, after: NodeCounters): boolean {
  return after.storageSyncs < before.storageSyncs || after.elections < before.elections || after.leaderChanges < before.leaderChanges || after.writesAnswered < before.writesAnswered || after.readsAnswered < before.readsAnswered || after.logSpareFailures < before.logSpareFailures;
}

function combine(a: NodeCounters, b: NodeCounters, sign: 1 | -1): NodeCounters {
  const steps = new Map<string, { step: string; count: number; totalMs: number }>();
  for (const t of a.steps) steps.set(t.step, { ...t });
  for (const t of b.steps) {
    const s = steps.get(t.step) ?? { step: t.step, count: 0, totalMs: 0 };
    steps.set(t.step, { step: t.step, count: s.count + sign * t.count, totalMs: s.totalMs + sign * t.totalMs });
  }
  return {
    sent: combineTallies(a.sent, b.sent, sign),
    received: combineTallies(a.received, b.received, sign),
    storageSyncs: a.storageSyncs + sign * b.storageSyncs,
    elections: a.elections + sign * b.elections,
    leaderChanges: a.leaderChanges + sign * b.leaderChanges,
    leaderlessMs: a.leaderlessMs + sign * b.leaderlessMs,
    writesAnswered: a.writesAnswered + sign * b.writesAnswered,
    writeMs: a.writeMs + sign * b.writeMs,
    readsAnswered: a.readsAnswered + sign * b.readsAnswered,
    readMs: a.readMs + sign * b.readMs,
    steps: [...steps.values()].filter((t) => t.count !== 0).sort((x, y) => compare(x.step, y.step)),
    logSpareFailures: a.logSpareFailures + sign * b.logSpareFailures,
  };
}

function combineTallies(a: readonly MessageTally[], b: readonly MessageTally[], sign: 1 | -1): MessageTally[] {
  const byType = new Map<string, MessageTally>();
  for (const t of a) byType.set(t.type, { ...t });
  for (const t of b) {
    const s = byType.get(t.type) ?? { type: t.type, count: 0, bytes: 0 };
    byType.set(t.type, { type: t.type, count: s.count + sign * t.count, bytes: s.bytes + sign * t.bytes });
  }
  return [...byType.values()].filter((t) => t.count !== 0).sort((x, y) => compare(x.type, y.type));
}

function compare(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Messages (count and bytes) over every type. */
export function messageTotals(tallies: readonly MessageTally[]): { count: number; bytes: number } {
  return tallies.reduce((acc, t) => ({ count: acc.count + t.count, bytes: acc.bytes + t.bytes }), { count: 0, bytes: 0 });
}
