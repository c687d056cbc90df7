/**
 * Wing–Gong linearizability search with Lowe's memoization, as in Porcupine's checker.go:
 * calls and returns in one doubly linked list; linearizing an op "lifts" its call and return
 * out of the list; reaching the return of an op not yet linearized means the current prefix
 * is a dead end, so the search backtracks. A memo of (linearized set, model state) pairs
 * already explored prunes equivalent orders.
 *
 * Optional ops (outcome unknown) return at +∞ and are never required: the search succeeds as
 * soon as every required op is linearized, which is the same as leaving the rest out.
 */

export const ILLEGAL: unique symbol = Symbol('illegal');
export type Illegal = typeof ILLEGAL;

/** A deterministic sequential specification. */
export interface SequentialModel<S, I, O> {
  readonly init: S;
  /**
   * The state after applying `input` that produced `output`, or ILLEGAL if the model cannot
   * produce that output from `state`. `output` null means unobserved (an optional op): such
   * a step must never be ILLEGAL.
   */
  step(state: S, input: I, output: O | null): S | Illegal;
  /** 32-bit hash; equal states must hash equal. */
  hash(state: S): number;
  equal(a: S, b: S): boolean;
}

export interface WglOp<I, O> {
  input: I;
  /** null = optional op (unknown outcome): returns at +∞ and may be left out. */
  output: O | null;
  callMs: number;
  /** Ignored for optional ops. */
  returnMs: number;
}

export interface WglLimits {
  searchStepsMax: number;
  cacheBytesMax: number;
}

export interface DeadEnd<S> {
  /** Op indexes of the longest prefix the search linearized, in linearization order. */
  linearized: number[];
  /** The state after that prefix. */
  state: S;
  /** The op whose return the search reached without being able to linearize it. */
  blocked: number;
}

export type WglResult<S> =
  | { kind: 'linearizable'; order: number[] }
  | { kind: 'not-linearizable'; deadEnd: DeadEnd<S> }
  | { kind: 'limit'; reason: string };

const NIL = -1;
const HEAD = 0;
/** Rough per-memo-entry overhead (object, array slot, typed array header), bytes. */
const CACHE_ENTRY_OVERHEAD_BYTES = 96;

interface EntryList {
  next: Int32Array;
  prev: Int32Array;
  /** Op index of each entry (HEAD: -1). */
  opOf: Int32Array;
  /** For a call entry, its return entry; for a return entry, NIL. */
  matchOf: Int32Array;
}

/** Entries 1..2n sorted by time, calls before returns at equal times (equal = concurrent). */
function buildEntries<I, O>(ops: readonly WglOp<I, O>[]): EntryList {
  const events: { time: number; isCall: boolean; op: number }[] = [];
  ops.forEach((op, i) => {
    events.push({ time: op.callMs, isCall: true, op: i });
    events.push({ time: op.output === null ? Infinity : op.returnMs, isCall: false, op: i });
  });
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const size = events.length + 1;
  const list: EntryList = {
    next: new Int32Array(size),
    prev: new Int32Array(size),
    opOf: new Int32Array(size).fill(-1),
    matchOf: new Int32Array(size).fill(NIL),
  };
  const callEntry = new Int32Array(ops.length);
  events.forEach((ev, k) => {
    const entry = k + 1;
    list.opOf[entry] = ev.op;
    if (ev.isCall) callEntry[ev.op] = entry;
    else list.matchOf[callEntry[ev.op] ?? 0] = entry;
  });
  for (let e = 0; e < size; e++) {
    list.next[e] = e + 1 < size ? e + 1 : NIL;
    list.prev[e] = e - 1;
  }
  return list;
}

function unlink(list: EntryList, e: number): void {
  const p = list.prev[e] ?? NIL;
  const n = list.next[e] ?? NIL;
  list.next[p] = n;
  if (n !== NIL) list.prev[n] = p;
}

/** Undo unlink in reverse order (dancing links): e's own pointers are still intact. */
function relink(list: EntryList, e: number): void {
  const p = list.prev[e] ?? NIL;
  const n = list.next[e] ?? NIL;
  list.next[p] = e;
  if (n !== NIL) list.prev[n] = e;
}

function lift(list: EntryList, call: number): void {
  unlink(list, call);
  unlink(list, list.matchOf[call] ?? NIL);
}

function unlift(list: EntryList, call: number): void {
  relink(list, list.matchOf[call] ?? NIL);
  relink(list, call);
}

/** Per-op random-looking 32-bit value; a set's hash is the XOR of its members', so O(1) to update. */
function opHash(i: number): number {
  let z = Math.imul(i + 1, 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let w = 0; w < a.length; w++) if (a[w] !== b[w]) return false;
  return true;
}

interface Memo<S> {
  entries: Map<number, { bits: Uint32Array; state: S }[]>;
  bytes: number;
}

/** Adds (bits, state) unless already present; returns false when it was present. */
function memoAdd<S>(memo: Memo<S>, model: SequentialModel<S, unknown, unknown>, setHash: number, bits: Uint32Array, state: S): boolean {
  const key = (setHash ^ Math.imul(model.hash(state) >>> 0, 0x27d4eb2d)) >>> 0;
  const bucket = memo.entries.get(key);
  if (bucket?.some((c) => model.equal(c.state, state) && sameBits(c.bits, bits))) return false;
  const entry = { bits: bits.slice(), state };
  if (bucket) bucket.push(entry);
  else memo.entries.set(key, [entry]);
  memo.bytes += bits.byteLength + CACHE_ENTRY_OVERHEAD_BYTES;
  return true;
}

/** Runs the search; pure and deterministic, bounded by `limits`. */
export function wglCheck<S, I, O>(model: SequentialModel<S, I, O>, ops: readonly WglOp<I, O>[], limits: WglLimits): WglResult<S> {
  const list = buildEntries(ops);
  const required = ops.filter((op) => op.output !== null).length;
  const bits = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const memo: Memo<S> = { entries: new Map(), bytes: 0 };
  const stackEntry: number[] = [];
  const stackState: S[] = [];
  let state = model.init;
  let setHash = 0;
  let linearizedRequired = 0;
  let steps = 0;
  let deadEnd: DeadEnd<S> | null = null;
  let entry = list.next[HEAD] ?? NIL;

  const toggle = (op: number): void => {
    bits[op >>> 5] = (bits[op >>> 5] ?? 0) ^ (1 << (op & 31));
    setHash = (setHash ^ opHash(op)) >>> 0;
  };

  while (linearizedRequired < required) {
    if (++steps > limits.searchStepsMax) return { kind: 'limit', reason: `searchStepsMax (${limits.searchStepsMax}) exceeded` };
    if (memo.bytes > limits.cacheBytesMax) return { kind: 'limit', reason: `cacheBytesMax (${limits.cacheBytesMax}) exceeded` };
    if (entry === NIL) throw new Error('wgl invariant: required ops remain but the entry list ended');
    const op = list.opOf[entry] ?? -1;
    const wop = ops[op];
    if (wop === undefined) throw new Error(`wgl invariant: entry ${entry} has no op`);
    if ((list.matchOf[entry] ?? NIL) !== NIL) {
      const next = model.step(state, wop.input, wop.output);
      if (next === ILLEGAL) {
        entry = list.next[entry] ?? NIL;
        continue;
      }
      toggle(op);
      if (!memoAdd(memo, model as SequentialModel<S, unknown, unknown>, setHash, bits, next)) {
        toggle(op);
        entry = list.next[entry] ?? NIL;
        continue;
      }
      stackEntry.push(entry);
      stackState.push(state);
      state = next;
      if (wop.output !== null) linearizedRequired++;
      lift(list, entry);
      entry = list.next[HEAD] ?? NIL;
      continue;
    }
    // The return of an op not linearized yet: every order extending this prefix is dead.
    if (deadEnd === null || stackEntry.length > deadEnd.linearized.length) {
      deadEnd = { linearized: stackEntry.map((e) => list.opOf[e] ?? -1), state, blocked: op };
    }
    const top = stackEntry.pop();
    if (top === undefined) return { kind: 'not-linearizable', deadEnd };
    state = stackState.pop() as S;
    const topOp = list.opOf[top] ?? -1;
    toggle(topOp);
    if (ops[topOp]?.output !== null) linearizedRequired--;
    unlift(list, top);
    entry = list.next[top] ?? NIL;
  }
  return { kind: 'linearizable', order: stackEntry.map((e) => list.opOf[e] ?? -1) };
}
