import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { checkRegisterHistory, RegisterInput, RegisterOp, RegisterOutput, RegisterValue } from './register';
import { ILLEGAL, SequentialModel, wglCheck, WglOp } from './wgl';
import { CheckerError, OpOutcome } from './history';

type Draft = Omit<RegisterOp, 'id'>;

/** Numbers ops in the order given, like a Knossos/Porcupine test history. */
function history(...drafts: Draft[]): RegisterOp[] {
  return drafts.map((d, id) => ({ ...d, id }));
}

function op(process: number, invokeMs: number, completeMs: number | null, input: RegisterInput, output: RegisterOutput | null, outcome: OpOutcome): Draft {
  return { process, invokeMs, completeMs, input, output, outcome };
}

const write = (p: number, a: number, b: number | null, value: number, outcome: OpOutcome = 'ok', key = 'x'): Draft =>
  op(p, a, b, { f: 'write', key, value }, outcome === 'ok' ? { f: 'write' } : null, outcome);
const read = (p: number, a: number, b: number, value: RegisterValue, key = 'x'): Draft =>
  op(p, a, b, { f: 'read', key }, { f: 'read', value }, 'ok');
const cas = (p: number, a: number, b: number | null, from: RegisterValue, to: number, matched: boolean | null, outcome: OpOutcome = 'ok', key = 'x'): Draft =>
  op(p, a, b, { f: 'cas', key, from, to }, matched === null ? null : { f: 'cas', matched }, outcome);

const valid = (ops: RegisterOp[]): void => expect(checkRegisterHistory(ops)).toEqual(expect.objectContaining({ valid: true }));
const invalid = (ops: RegisterOp[]): void => expect(checkRegisterHistory(ops).valid).toBe(false);

describe('register: linearizable histories', () => {
  it('accepts the empty history and a read of the initial null', () => {
    valid([]);
    valid(history(read(0, 0, 1, null)));
  });

  it('accepts sequential write then read', () => {
    valid(history(write(0, 0, 1, 1), read(1, 2, 3, 1), write(0, 4, 5, 2), read(1, 6, 7, 2)));
  });

  it('accepts a read concurrent with a write seeing either the old or the new value', () => {
    valid(history(write(0, 0, 10, 1), read(1, 2, 5, null)));
    valid(history(write(0, 0, 10, 1), read(1, 2, 5, 1)));
    valid(history(write(0, 0, 10, 1), read(1, 2, 5, 1), read(2, 6, 8, 1)));
  });

  it('accepts two concurrent writes ordered either way when later reads agree', () => {
    valid(history(write(0, 0, 10, 1), write(1, 0, 10, 2), read(2, 11, 12, 2), read(3, 13, 14, 2)));
    valid(history(write(0, 0, 10, 1), write(1, 0, 10, 2), read(2, 11, 12, 1), read(3, 13, 14, 1)));
  });

  it('accepts reads that flip while the writes are still in flight', () => {
    // Linearize w1, r(1), w2, r(2): both reads fall inside both writes' intervals.
    valid(history(write(0, 0, 100, 1), write(1, 0, 100, 2), read(2, 10, 20, 1), read(2, 30, 40, 2)));
  });

  it('accepts an unknown-outcome write that took effect', () => {
    valid(history(write(0, 0, 1, 1), write(1, 2, null, 2, 'unknown'), read(2, 10, 11, 2)));
    // A timed-out write can land long after the client gave up.
    valid(history(write(0, 0, 1, 1), write(1, 2, 3, 2, 'unknown'), read(2, 10, 11, 1), read(2, 20, 21, 2)));
  });

  it('accepts an unknown-outcome write that did not take effect', () => {
    valid(history(write(0, 0, 1, 1), write(1, 2, null, 2, 'unknown'), read(2, 10, 11, 1), read(2, 12, 13, 1)));
  });

  it('accepts many unknown writes nobody observed without exploring their subsets', () => {
    const drafts: Draft[] = [write(0, 0, 1, 0)];
    for (let i = 0; i < 200; i++) drafts.push(write(1 + i, 2, null, 1000 + i, 'unknown'));
    for (let i = 0; i < 50; i++) drafts.push(read(300, 10 + 2 * i, 11 + 2 * i, 0));
    expect(checkRegisterHistory(history(...drafts), { searchStepsMaxPerKey: 10_000 }).valid).toBe(true);
  });

  it('accepts a cas chain with a definite non-match', () => {
    valid(
      history(
        write(0, 0, 1, 0),
        cas(1, 2, 3, 0, 1, true),
        cas(2, 4, 5, 1, 2, true),
        cas(3, 6, 7, 0, 5, false),
        read(0, 8, 9, 2),
      ),
    );
  });

  it('accepts a cas from null (insert if absent) and concurrent cas where one wins', () => {
    valid(history(cas(0, 0, 1, null, 7, true), read(1, 2, 3, 7)));
    valid(history(write(0, 0, 1, 0), cas(1, 2, 10, 0, 1, true), cas(2, 2, 10, 0, 2, false), read(0, 11, 12, 1)));
  });

  it('accepts an unknown cas that took effect and one that did not', () => {
    valid(history(write(0, 0, 1, 0), cas(1, 2, null, 0, 1, null, 'unknown'), read(2, 10, 11, 1)));
    valid(history(write(0, 0, 1, 0), cas(1, 2, null, 0, 1, null, 'unknown'), read(2, 10, 11, 0)));
  });

  it('drops failed ops: a failed write or cas had no effect', () => {
    valid(history(write(0, 0, 1, 1), write(1, 2, 3, 2, 'fail'), read(2, 10, 11, 1)));
    valid(history(write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, null, 'fail'), read(2, 10, 11, 1)));
  });

  it('treats touching intervals (complete == invoke) as concurrent', () => {
    valid(history(write(0, 0, 5, 1), read(1, 5, 6, null)));
  });

  it('checks keys independently', () => {
    valid(history(write(0, 0, 1, 1, 'ok', 'a'), write(0, 2, 3, 2, 'ok', 'b'), read(1, 4, 5, 1, 'a'), read(1, 6, 7, 2, 'b')));
    const result = checkRegisterHistory(history(write(0, 0, 1, 1, 'ok', 'a'), read(1, 4, 5, 9, 'b'), write(0, 2, 3, 2, 'ok', 'b')));
    expect(result).toMatchObject({ valid: false, key: 'b' });
  });
});

describe('register: anomalies', () => {
  it('rejects a stale read after a completed write', () => {
    invalid(history(write(0, 0, 1, 1), write(0, 2, 3, 2), read(1, 4, 5, 1)));
  });

  it('rejects a read of a value never written', () => {
    invalid(history(write(0, 0, 1, 1), read(1, 2, 3, 42)));
  });

  it('rejects a read of a value only a failed write wrote', () => {
    invalid(history(write(0, 0, 1, 1), write(1, 2, 3, 2, 'fail'), read(2, 10, 11, 2)));
  });

  it('rejects a lost write (the register reads as never written)', () => {
    invalid(history(write(0, 0, 1, 1), read(1, 2, 3, null)));
  });

  it('rejects two reads seeing concurrent writes in opposite orders', () => {
    invalid(
      history(
        write(0, 0, 100, 1),
        write(1, 0, 100, 2),
        read(2, 10, 20, 1),
        read(2, 30, 40, 2),
        read(3, 10, 20, 2),
        read(3, 30, 40, 1),
      ),
    );
  });

  it('rejects a read that sees a write invoked after the read completed', () => {
    invalid(history(read(0, 0, 1, 1), write(1, 2, 3, 1)));
  });

  it('rejects an unknown write observed and then un-observed', () => {
    invalid(history(write(0, 0, 1, 1), write(1, 2, null, 2, 'unknown'), read(2, 10, 11, 2), read(2, 12, 13, 1)));
  });

  it('rejects a cas that matched a value the register no longer held', () => {
    invalid(history(write(0, 0, 1, 0), write(0, 2, 3, 1), cas(1, 4, 5, 0, 2, true)));
  });

  it('rejects two concurrent cas from the same value that both matched', () => {
    invalid(history(write(0, 0, 1, 0), cas(1, 2, 10, 0, 1, true), cas(2, 2, 10, 0, 2, true)));
  });

  it('treats a non-matching cas as an observation', () => {
    invalid(history(write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, false)));
  });

  it('catches a stale read served from a follower without a read index (recorded history)', () => {
    // Recorded from a build whose linearizable reads were answered from a follower's local
    // state: the write of 2 was acknowledged at t=10, the follower had not applied it yet.
    const recorded = history(
      write(0, 0, 3, 1),
      read(1, 4, 6, 1),
      write(0, 7, 10, 2),
      read(2, 12, 14, 2),
      read(1, 20, 25, 1),
      read(2, 26, 28, 2),
    );
    const result = checkRegisterHistory(recorded);
    expect(result.valid).toBe(false);
    if (result.valid !== false) return;
    expect(result.key).toBe('x');
    expect(result.explanation).toContain('read x → 1');
    // The witness keeps the write of 2 and the stale read; the other reads are not needed.
    expect(result.ops.map((o) => o.id)).toEqual([0, 2, 4]);
    expect(checkRegisterHistory(result.ops).valid).toBe(false);
  });
});

describe('register: limits and malformed input', () => {
  it('answers unknown, naming the limit, when the search bound is hit', () => {
    const drafts: Draft[] = [];
    for (let i = 0; i < 12; i++) drafts.push(write(i, 0, 100, i));
    for (let i = 0; i < 12; i++) drafts.push(read(20 + i, 0, 100, 11 - i));
    const result = checkRegisterHistory(history(...drafts), { searchStepsMaxPerKey: 50 });
    expect(result).toMatchObject({ valid: 'unknown', key: 'x' });
    if (result.valid === 'unknown') expect(result.reason).toContain('searchStepsMax');
  });

  it('throws CheckerError for malformed histories', () => {
    const bad = history(read(0, 5, 3, 1));
    expect(() => checkRegisterHistory(bad)).toThrow(CheckerError);
    const mismatch = history(op(0, 0, 1, { f: 'read', key: 'x' }, { f: 'write' }, 'ok'));
    expect(() => checkRegisterHistory(mismatch)).toThrow(/does not match/);
    expect(() => checkRegisterHistory([], { searchStepsMaxPerKey: 0 })).toThrow(/searchStepsMaxPerKey/);
  });
});

/** A FIFO queue, to run the textbook histories of Herlihy & Wing (1990), Fig. 1. */
type QueueInput = { f: 'enq'; v: string } | { f: 'deq' };
const queueModel: SequentialModel<readonly string[], QueueInput, string | null> = {
  init: [],
  step: (s, input, output) => {
    if (input.f === 'enq') return [...s, input.v];
    if (output === null) return s.slice(1);
    return s[0] === output ? s.slice(1) : ILLEGAL;
  },
  hash: (s) => s.join(',').length * 31 + (s[0]?.charCodeAt(0) ?? 0),
  equal: (a, b) => a.length === b.length && a.every((v, i) => v === b[i]),
};
const enq = (v: string, a: number, b: number): WglOp<QueueInput, string | null> => ({ input: { f: 'enq', v }, output: 'ok', callMs: a, returnMs: b });
const deq = (v: string, a: number, b: number): WglOp<QueueInput, string | null> => ({ input: { f: 'deq' }, output: v, callMs: a, returnMs: b });
const queueLinearizable = (ops: WglOp<QueueInput, string | null>[]): boolean =>
  wglCheck(queueModel, ops, { searchStepsMax: 10_000, cacheBytesMax: 1 << 20 }).kind === 'linearizable';

describe('Herlihy & Wing, Fig. 1 (FIFO queue)', () => {
  it('(a) concurrent enqueues, dequeues in a consistent order: linearizable', () => {
    expect(queueLinearizable([enq('x', 0, 10), enq('y', 2, 12), deq('x', 14, 20), deq('y', 15, 25)])).toBe(true);
  });
  it('(b) x enqueued before y, y dequeued first: not linearizable', () => {
    expect(queueLinearizable([enq('x', 0, 5), enq('y', 6, 10), deq('y', 11, 15)])).toBe(false);
  });
  it('(c) a dequeue concurrent with the enqueue it returns: linearizable', () => {
    expect(queueLinearizable([enq('x', 0, 10), deq('x', 5, 15)])).toBe(true);
  });
  it('(d) y dequeued twice: not linearizable', () => {
    expect(queueLinearizable([enq('x', 0, 10), enq('y', 2, 12), deq('y', 14, 20), deq('y', 15, 25)])).toBe(false);
  });
});

interface SimOptions {
  seed: number;
  ops: number;
  keys: number;
  processes: number;
}

/**
 * Simulates a linearizable register store: each op takes effect at one instant strictly
 * inside its interval, in the order of those instants. Some ops time out (unknown; applied or
 * not) or fail (never applied). Written values are unique.
 */
function simulate(o: SimOptions): RegisterOp[] {
  const random = seededRandom(o.seed);
  const int = (n: number): number => Math.floor(random() * n);
  const drafts: (Draft & { lpMs: number | null })[] = [];
  const freeAtMs = new Array<number>(o.processes).fill(0);
  let nextValue = 1;
  const recent: number[] = [];
  for (let i = 0; i < o.ops; i++) {
    const p = int(o.processes);
    const key = `k${int(o.keys)}`;
    const invokeMs = (freeAtMs[p] ?? 0) + 1 + int(5);
    const lpMs = invokeMs + 1 + int(20) + random() * 0.5;
    const completeMs = Math.ceil(lpMs) + 1 + int(20);
    freeAtMs[p] = completeMs;
    const roll = random();
    const input: RegisterInput =
      roll < 0.45 ? { f: 'read', key } : roll < 0.8 ? { f: 'write', key, value: nextValue++ } : { f: 'cas', key, from: recent[int(recent.length)] ?? null, to: nextValue++ };
    if (input.f !== 'read') recent.push(input.f === 'write' ? input.value : input.to);
    if (recent.length > 8) recent.shift();
    const fate = random();
    const outcome: OpOutcome = fate < 0.05 ? 'fail' : fate < 0.12 ? 'unknown' : 'ok';
    const applied = outcome === 'ok' || (outcome === 'unknown' && random() < 0.5);
    drafts.push({ process: p, invokeMs, completeMs: outcome === 'unknown' && random() < 0.5 ? null : completeMs, input, output: null, outcome, lpMs: applied ? lpMs : null });
    if (outcome === 'unknown') freeAtMs[p] = completeMs;
  }
  const state = new Map<string, RegisterValue>();
  const byLp = drafts.filter((d) => d.lpMs !== null).sort((a, b) => (a.lpMs ?? 0) - (b.lpMs ?? 0));
  for (const d of byLp) {
    const cur = state.get(d.input.key) ?? null;
    const out: RegisterOutput =
      d.input.f === 'read' ? { f: 'read', value: cur } : d.input.f === 'write' ? { f: 'write' } : { f: 'cas', matched: cur === d.input.from };
    if (d.input.f === 'write') state.set(d.input.key, d.input.value);
    if (d.input.f === 'cas' && cur === d.input.from) state.set(d.input.key, d.input.to);
    if (d.outcome === 'ok') d.output = out;
  }
  return drafts.map(({ lpMs: _lp, ...d }, id) => ({ ...d, id }));
}

/** Makes one read stale: it returns a value overwritten by a write that completed before it began. */
function injectStaleRead(ops: RegisterOp[]): RegisterOp[] {
  const writes = ops.filter((o) => o.outcome === 'ok' && o.input.f === 'write');
  for (const r of ops) {
    if (r.outcome !== 'ok' || r.input.f !== 'read') continue;
    for (const w2 of writes) {
      if (w2.input.key !== r.input.key || (w2.completeMs ?? Infinity) >= r.invokeMs) continue;
      const w1 = writes.find((w) => w.input.key === r.input.key && (w.completeMs ?? Infinity) < w2.invokeMs && w.input.f === 'write' && r.output?.f === 'read' && r.output.value !== w.input.value);
      if (w1 === undefined || w1.input.f !== 'write') continue;
      const stale = w1.input.value;
      return ops.map((o) => (o.id === r.id ? { ...o, output: { f: 'read', value: stale } } : o));
    }
  }
  throw new Error('no read to corrupt');
}

describe('register: randomized histories from a simulated linearizable store', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: valid, and invalid after injecting one stale read', (seed) => {
    const ops = simulate({ seed, ops: 400, keys: 3, processes: 6 });
    expect(checkRegisterHistory(ops), `seed ${seed}`).toEqual({ valid: true, keysChecked: 3 });
    const broken = injectStaleRead(ops);
    expect(checkRegisterHistory(broken).valid, `seed ${seed}`).toBe(false);
  });

  it('reports throughput on a 5,000-op, 10-key history', () => {
    const ops = simulate({ seed: 42, ops: 5_000, keys: 10, processes: 10 });
    const started = performance.now();
    const result = checkRegisterHistory(ops);
    const elapsedMs = performance.now() - started;
    expect(result.valid).toBe(true);
    console.log(`register checker: ${ops.length} ops in ${elapsedMs.toFixed(1)} ms (${Math.round(ops.length / (elapsedMs / 1000))} ops/s)`);
  });
});
