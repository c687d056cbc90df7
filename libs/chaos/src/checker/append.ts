/**
 * Append workload: per key, append a unique integer to a list; read the whole list. Reads and
 * appends are linearizable, so every rule below is a necessary condition checked in
 * polynomial time (no search, no limit needed beyond the size of the anomaly list):
 * - duplicate-element: a value appears twice in one read;
 * - phantom-element: a read shows a value never appended to that key;
 * - failed-append-visible: a read shows a value whose append definitely failed;
 * - future-read: a read shows an append invoked after the read returned;
 * - incompatible-reads: two ok reads of a key where neither list is a prefix of the other;
 * - lost-append: an ok append that completed before a read began is missing from it (a read
 *   taken after healing must therefore hold every ok append);
 * - nonmonotonic-read: a read shorter than a read that completed before it began;
 * - append-order: in a read, append B precedes append A although A completed before B began.
 */
import { CheckerLimits, resolveLimits } from './limits';
import { happenedBefore, HistoryOp, malformed, validateOps } from './history';

export type AppendInput = { f: 'append'; key: string; value: number } | { f: 'read'; key: string };
export type AppendOutput = { f: 'append' } | { f: 'read'; values: number[] };
export type AppendOp = HistoryOp<AppendInput, AppendOutput>;

export type AppendAnomaly =
  | { kind: 'duplicate-element'; key: string; read: AppendOp; value: number }
  | { kind: 'phantom-element'; key: string; read: AppendOp; value: number }
  | { kind: 'failed-append-visible'; key: string; read: AppendOp; append: AppendOp }
  | { kind: 'future-read'; key: string; read: AppendOp; append: AppendOp }
  | { kind: 'incompatible-reads'; key: string; shorter: AppendOp; longer: AppendOp; position: number }
  | { kind: 'lost-append'; key: string; read: AppendOp; append: AppendOp }
  | { kind: 'nonmonotonic-read'; key: string; earlier: AppendOp; later: AppendOp }
  | { kind: 'append-order'; key: string; read: AppendOp; first: AppendOp; second: AppendOp }
  | { kind: 'no-final-read'; key: string };

export type AppendResult = { valid: true; keysChecked: number } | { valid: false; anomalyCount: number; anomalies: AppendAnomaly[] };

export interface AppendOptions {
  /** Default false: when true, a key with ok appends but no ok read begun after all of them completed is an anomaly. */
  finalReadRequired?: boolean;
  limits?: Partial<CheckerLimits>;
}

type ReadOp = AppendOp & { output: { f: 'read'; values: number[] } };

interface KeyHistory {
  key: string;
  /** Every append to the key by value, whatever its outcome. */
  appends: Map<number, AppendOp>;
  reads: ReadOp[];
}

export function checkAppendHistory(ops: readonly AppendOp[], options: AppendOptions = {}): AppendResult {
  const limits = resolveLimits(options.limits);
  validateOps(ops, 'append');
  const keys = groupByKey(ops);
  const anomalies: AppendAnomaly[] = [];
  for (const key of [...keys.keys()].sort()) {
    const h = keys.get(key) as KeyHistory;
    for (const read of h.reads) checkElements(h, read, anomalies);
    checkPrefixChain(h, anomalies);
    for (const read of h.reads) checkLostAppends(h, read, anomalies);
    checkMonotonic(h, anomalies);
    const longest = h.reads.reduce<ReadOp | null>((m, r) => (m === null || r.output.values.length > m.output.values.length ? r : m), null);
    if (longest) checkAppendOrder(h, longest, anomalies);
    if (options.finalReadRequired) checkFinalRead(h, anomalies);
  }
  if (anomalies.length === 0) return { valid: true, keysChecked: keys.size };
  return { valid: false, anomalyCount: anomalies.length, anomalies: anomalies.slice(0, limits.anomaliesMax) };
}

function groupByKey(ops: readonly AppendOp[]): Map<string, KeyHistory> {
  const keys = new Map<string, KeyHistory>();
  const of = (key: string): KeyHistory => {
    const found = keys.get(key);
    if (found) return found;
    const h: KeyHistory = { key, appends: new Map(), reads: [] };
    keys.set(key, h);
    return h;
  };
  for (const op of ops) {
    const { input, output } = op;
    if (op.outcome === 'ok' && output?.f !== input.f) malformed(`append op ${op.id}: output kind does not match input '${input.f}'`);
    const h = of(input.key);
    if (input.f === 'append') {
      if (!Number.isSafeInteger(input.value)) malformed(`append op ${op.id}: value must be a safe integer`);
      if (h.appends.has(input.value)) malformed(`append op ${op.id}: value ${input.value} appended to ${input.key} twice (values must be unique)`);
      h.appends.set(input.value, op);
    } else if (op.outcome === 'ok' && output?.f === 'read') {
      if (!output.values.every((v) => Number.isSafeInteger(v))) malformed(`append op ${op.id}: read values must be safe integers`);
      h.reads.push(op as ReadOp);
    }
  }
  return keys;
}

function checkElements(h: KeyHistory, read: ReadOp, anomalies: AppendAnomaly[]): void {
  const seen = new Set<number>();
  for (const value of read.output.values) {
    if (seen.has(value)) anomalies.push({ kind: 'duplicate-element', key: h.key, read, value });
    seen.add(value);
    const append = h.appends.get(value);
    if (append === undefined) anomalies.push({ kind: 'phantom-element', key: h.key, read, value });
    else if (append.outcome === 'fail') anomalies.push({ kind: 'failed-append-visible', key: h.key, read, append });
    else if (happenedBefore(read, append)) anomalies.push({ kind: 'future-read', key: h.key, read, append });
  }
}

/** All reads must form one chain under "is a prefix of": sort by length and compare neighbours. */
function checkPrefixChain(h: KeyHistory, anomalies: AppendAnomaly[]): void {
  const sorted = [...h.reads].sort((a, b) => a.output.values.length - b.output.values.length || a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    const shorter = sorted[i - 1] as ReadOp;
    const longer = sorted[i] as ReadOp;
    const position = shorter.output.values.findIndex((v, j) => longer.output.values[j] !== v);
    if (position >= 0) anomalies.push({ kind: 'incompatible-reads', key: h.key, shorter, longer, position });
  }
}

function checkLostAppends(h: KeyHistory, read: ReadOp, anomalies: AppendAnomaly[]): void {
  const seen = new Set(read.output.values);
  for (const append of h.appends.values()) {
    if (append.outcome === 'ok' && happenedBefore(append, read) && append.input.f === 'append' && !seen.has(append.input.value)) {
      anomalies.push({ kind: 'lost-append', key: h.key, read, append });
    }
  }
}

/** A read must be at least as long as the longest read that completed before it began. */
function checkMonotonic(h: KeyHistory, anomalies: AppendAnomaly[]): void {
  const byComplete = [...h.reads].sort((a, b) => (a.completeMs ?? 0) - (b.completeMs ?? 0) || a.id - b.id);
  const byInvoke = [...h.reads].sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  let longest: ReadOp | null = null;
  let next = 0;
  for (const later of byInvoke) {
    for (let r = byComplete[next]; r !== undefined && happenedBefore(r, later); r = byComplete[++next]) {
      if (longest === null || r.output.values.length > longest.output.values.length) longest = r;
    }
    if (longest !== null && later.output.values.length < longest.output.values.length) {
      anomalies.push({ kind: 'nonmonotonic-read', key: h.key, earlier: longest, later });
    }
  }
}

/** In list order, no append may come after one that began only after it had completed. */
function checkAppendOrder(h: KeyHistory, read: ReadOp, anomalies: AppendAnomaly[]): void {
  const ops = read.output.values.map((v) => h.appends.get(v)).filter((op): op is AppendOp => op !== undefined);
  let laterEarliest: AppendOp | null = null;
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i] as AppendOp;
    if (laterEarliest !== null && happenedBefore(laterEarliest, op)) {
      anomalies.push({ kind: 'append-order', key: h.key, read, first: laterEarliest, second: op });
      return;
    }
    if (laterEarliest === null || (op.completeMs ?? Infinity) < (laterEarliest.completeMs ?? Infinity)) laterEarliest = op;
  }
}

function checkFinalRead(h: KeyHistory, anomalies: AppendAnomaly[]): void {
  const okAppends = [...h.appends.values()].filter((a) => a.outcome === 'ok');
  if (okAppends.length === 0) return;
  const lastMs = okAppends.reduce((m, a) => Math.max(m, a.completeMs ?? Infinity), -Infinity);
  if (!h.reads.some((r) => r.invokeMs > lastMs)) anomalies.push({ kind: 'no-final-read', key: h.key });
}
