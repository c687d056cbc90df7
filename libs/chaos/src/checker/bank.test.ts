import { describe, expect, it } from 'vitest';
import { BankOp, BankOptions, checkBankHistory } from './bank';
import { CheckerError, OpOutcome } from './history';
import { seededRandom } from '@quorumlite/consensus';

type Draft = Omit<BankOp, 'id'>;
const history = (...drafts: Draft[]): BankOp[] => drafts.map((d, id) => ({ ...d, id }));

const transfer = (p: number, a: number, b: number | null, from: string, to: string, amount: number, outcome: OpOutcome = 'ok'): Draft => ({
  process: p,
  invokeMs: a,
  completeMs: b,
  input: { f: 'transfer', from, to, amount },
  output: outcome === 'ok' ? { f: 'transfer' } : null,
  outcome,
});
const read = (p: number, a: number, b: number, balances: Record<string, number>): Draft => ({
  process: p,
  invokeMs: a,
  completeMs: b,
  input: { f: 'read' },
  output: { f: 'read', balances },
  outcome: 'ok',
});

const options: BankOptions = { accounts: ['a', 'b', 'c'], total: 30, initialBalances: { a: 10, b: 10, c: 10 } };
const kinds = (ops: BankOp[], opts: BankOptions = options): string[] => {
  const result = checkBankHistory(ops, opts);
  return result.valid === false ? result.anomalies.map((x) => x.kind) : [];
};

describe('bank: valid histories', () => {
  it('accepts reads that reflect completed transfers and some concurrent ones', () => {
    const ops = history(
      transfer(0, 0, 5, 'a', 'b', 3),
      read(1, 6, 7, { a: 7, b: 13, c: 10 }),
      transfer(0, 8, 20, 'b', 'c', 5),
      read(1, 9, 10, { a: 7, b: 13, c: 10 }),
      read(2, 11, 12, { a: 7, b: 8, c: 15 }),
      read(1, 21, 22, { a: 7, b: 8, c: 15 }),
    );
    expect(checkBankHistory(ops, { ...options, finalReadRequired: true })).toEqual({ valid: true, readsChecked: 4, finalReads: 1 });
  });

  it('accepts a final read that includes some unknown transfers and not others', () => {
    const ops = history(
      transfer(0, 0, 1, 'a', 'b', 1),
      transfer(1, 2, null, 'b', 'c', 4, 'unknown'),
      transfer(2, 2, 3, 'c', 'a', 2, 'unknown'),
      transfer(3, 2, 3, 'a', 'c', 9, 'fail'),
      read(4, 50, 51, { a: 9, b: 7, c: 14 }),
    );
    expect(checkBankHistory(ops, options).valid).toBe(true);
  });

  it('allows negative balances when the workload does', () => {
    const ops = history(transfer(0, 0, 1, 'a', 'b', 15), read(1, 2, 3, { a: -5, b: 25, c: 10 }));
    expect(checkBankHistory(ops, { ...options, negativeAllowed: true }).valid).toBe(true);
    expect(kinds(ops)).toEqual(['negative-balance']);
  });

  it('runs only the per-read rules without initial balances', () => {
    const ops = history(read(0, 0, 1, { a: 0, b: 0, c: 30 }));
    expect(checkBankHistory(ops, { accounts: ['a', 'b', 'c'], total: 30 }).valid).toBe(true);
  });
});

describe('bank: anomalies, one per rule', () => {
  it('wrong total: a transfer applied in part', () => {
    expect(kinds(history(transfer(0, 0, 1, 'a', 'b', 3), read(1, 2, 3, { a: 7, b: 10, c: 10 })))).toEqual(['wrong-total']);
  });

  it('wrong accounts: missing or unexpected account', () => {
    const result = checkBankHistory(history(read(1, 2, 3, { a: 10, b: 20, d: 0 })), options);
    expect(result).toMatchObject({ valid: false, anomalies: [{ kind: 'wrong-accounts', missing: ['c'], extra: ['d'] }] });
  });

  it('negative balance when overdraft is forbidden', () => {
    expect(kinds(history(read(1, 2, 3, { a: -1, b: 21, c: 10 })))).toEqual(['negative-balance', 'unexplained-balances']);
  });

  it('lost transfer: the final read misses an ok transfer', () => {
    const ops = history(transfer(0, 0, 1, 'a', 'b', 3), transfer(0, 2, 3, 'b', 'c', 1), read(1, 10, 11, { a: 7, b: 13, c: 10 }));
    const result = checkBankHistory(ops, options);
    expect(result.valid).toBe(false);
    if (result.valid !== false) return;
    expect(result.anomalies[0]).toMatchObject({ kind: 'unexplained-balances' });
    const first = result.anomalies[0];
    if (first?.kind === 'unexplained-balances') expect(first.explanation).toContain('b:+1, c:-1');
  });

  it('stale read: a read misses a transfer that completed before it began', () => {
    const ops = history(transfer(0, 0, 5, 'a', 'b', 3), read(1, 6, 7, { a: 10, b: 10, c: 10 }), read(1, 8, 9, { a: 7, b: 13, c: 10 }));
    expect(kinds(ops)).toEqual(['unexplained-balances']);
  });

  it('future read: a read shows a transfer invoked after it returned', () => {
    const ops = history(read(1, 0, 1, { a: 7, b: 13, c: 10 }), transfer(0, 2, 3, 'a', 'b', 3));
    expect(kinds(ops)).toEqual(['unexplained-balances']);
  });

  it('failed transfer visible: a transfer that failed took effect', () => {
    const ops = history(transfer(0, 0, 1, 'a', 'b', 3, 'fail'), read(1, 2, 3, { a: 7, b: 13, c: 10 }));
    expect(kinds(ops)).toEqual(['unexplained-balances']);
  });

  it('no final read when one is required', () => {
    const ops = history(read(1, 0, 1, { a: 10, b: 10, c: 10 }), transfer(0, 2, 3, 'a', 'b', 3));
    expect(kinds(ops, { ...options, finalReadRequired: true })).toEqual(['no-final-read']);
  });
});

describe('bank: limits and malformed input', () => {
  it('answers unknown when the subset search bound is hit', () => {
    // Even amounts cannot make an odd difference, but the search has to look to tell.
    const pairs: [string, string][] = [['a', 'b'], ['b', 'c'], ['c', 'a']];
    const drafts: Draft[] = [];
    for (let i = 0; i < 30; i++) drafts.push(transfer(i, 0, null, pairs[i % 3]?.[0] ?? 'a', pairs[i % 3]?.[1] ?? 'b', 2 * (1 + (i % 7)), 'unknown'));
    drafts.push(read(99, 100, 101, { a: 1, b: 19, c: 10 }));
    const result = checkBankHistory(history(...drafts), { ...options, limits: { subsetSearchStepsMax: 2 } });
    expect(result).toMatchObject({ valid: 'unknown' });
    if (result.valid === 'unknown') expect(result.reason).toContain('subsetSearchStepsMax');
    expect(checkBankHistory(history(...drafts), options).valid).toBe(false);
  });

  it('rejects bad options and malformed ops', () => {
    expect(() => checkBankHistory([], { ...options, total: 31 })).toThrow(CheckerError);
    expect(() => checkBankHistory(history(transfer(0, 0, 1, 'a', 'z', 1)), options)).toThrow(/unknown account/);
    expect(() => checkBankHistory(history(transfer(0, 0, 1, 'a', 'b', 0)), options)).toThrow(/positive integer/);
  });
});

/**
 * A linearizable bank: each op takes effect at one instant inside its interval; a transfer
 * that would overdraw is refused ('fail'); some ops time out (unknown; applied or not).
 */
function simulateBank(seed: number, count: number, accounts: readonly string[], initial: number, unknownRate: number): BankOp[] {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const freeAtMs = new Array<number>(8).fill(0);
  const drafts: (Draft & { lpMs: number; applied: boolean })[] = [];
  for (let i = 0; i < count; i++) {
    const p = int(freeAtMs.length);
    const invokeMs = (freeAtMs[p] ?? 0) + 1 + int(5);
    const lpMs = invokeMs + 1 + int(20) + random() * 0.5;
    const completeMs = Math.ceil(lpMs) + 1 + int(20);
    freeAtMs[p] = completeMs;
    const isRead = random() < 0.3;
    const from = accounts[int(accounts.length)] as string;
    const to = accounts[(accounts.indexOf(from) + 1 + int(accounts.length - 1)) % accounts.length] as string;
    const fate = random();
    const outcome: OpOutcome = !isRead && fate < unknownRate ? 'unknown' : 'ok';
    const base = { process: p, invokeMs, completeMs: outcome === 'unknown' && random() < 0.5 ? null : completeMs, outcome, lpMs };
    drafts.push(
      isRead
        ? { ...base, input: { f: 'read' }, output: null, applied: true }
        : { ...base, input: { f: 'transfer', from, to, amount: 1 + int(30) }, output: null, applied: outcome === 'ok' || random() < 0.5 },
    );
  }
  const balances: Record<string, number> = Object.fromEntries(accounts.map((a) => [a, initial]));
  for (const d of [...drafts].sort((a, b) => a.lpMs - b.lpMs)) {
    if (d.input.f === 'read') {
      d.output = { f: 'read', balances: { ...balances } };
    } else if (d.applied && (balances[d.input.from] ?? 0) >= d.input.amount) {
      balances[d.input.from] = (balances[d.input.from] ?? 0) - d.input.amount;
      balances[d.input.to] = (balances[d.input.to] ?? 0) + d.input.amount;
      if (d.outcome === 'ok') d.output = { f: 'transfer' };
    } else if (d.outcome === 'ok') {
      d.outcome = 'fail';
    }
  }
  const last = drafts.reduce((m, d) => Math.max(m, d.completeMs ?? 0), 0);
  drafts.push({ process: 99, invokeMs: last + 10, completeMs: last + 11, input: { f: 'read' }, output: { f: 'read', balances: { ...balances } }, outcome: 'ok', lpMs: 0, applied: true });
  return drafts.map(({ lpMs: _lp, applied: _a, ...d }, id) => ({ ...d, id }));
}

describe('bank: randomized histories from a simulated linearizable bank', () => {
  const accounts = ['a', 'b', 'c', 'd', 'e'];
  const opts: BankOptions = { accounts, total: 500, initialBalances: Object.fromEntries(accounts.map((a) => [a, 100])), finalReadRequired: true };

  it.each([1, 2, 3])('seed %i: valid with many unknown transfers', (seed) => {
    const ops = simulateBank(seed, 1_500, accounts, 100, 0.15);
    const started = performance.now();
    const result = checkBankHistory(ops, opts);
    console.log(`bank checker: ${ops.length} ops in ${(performance.now() - started).toFixed(1)} ms`);
    expect(result).toMatchObject({ valid: true });
    if (result.valid === true) expect(result.finalReads).toBeGreaterThan(0);
  });

  it.each([1, 2, 3])('seed %i: valid, and invalid once the final read loses one ok transfer', (seed) => {
    const ops = simulateBank(seed, 1_500, accounts, 100, 0.005);
    expect(checkBankHistory(ops, opts)).toMatchObject({ valid: true });
    const lost = ops.find((o) => o.outcome === 'ok' && o.input.f === 'transfer' && o.input.amount > 20);
    const final = ops[ops.length - 1];
    if (lost?.input.f !== 'transfer' || final?.output?.f !== 'read') throw new Error('simulation produced no transfer to lose');
    const { from, to, amount } = lost.input;
    const balances = { ...final.output.balances, [from]: (final.output.balances[from] ?? 0) + amount, [to]: (final.output.balances[to] ?? 0) - amount };
    const broken = ops.map((o) => (o.id === final.id ? { ...o, output: { f: 'read' as const, balances } } : o));
    expect(checkBankHistory(broken, { ...opts, negativeAllowed: true })).toMatchObject({ valid: false, anomalies: [{ kind: 'unexplained-balances', op: { id: final.id } }] });
  });
});
