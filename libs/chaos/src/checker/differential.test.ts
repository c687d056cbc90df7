/**
 * Differential test: on small random register histories (valid and invalid alike), the
 * pruned WGL search must agree with a brute-force enumeration of every legal order.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { checkRegisterHistory, RegisterInput, RegisterOp, RegisterOutput, RegisterValue } from './register';
import { happenedBefore, OpOutcome } from './history';

function randomHistory(random: () => number): RegisterOp[] {
  const int = (n: number): number => Math.floor(random() * n);
  const value = (): RegisterValue => (int(4) === 0 ? null : 1 + int(3));
  const count = 2 + int(6);
  const ops: RegisterOp[] = [];
  for (let id = 0; id < count; id++) {
    const invokeMs = int(20);
    const completeMs = invokeMs + int(10);
    const roll = random();
    const input: RegisterInput =
      roll < 0.4 ? { f: 'read', key: 'x' } : roll < 0.75 ? { f: 'write', key: 'x', value: 1 + int(3) } : { f: 'cas', key: 'x', from: value(), to: 1 + int(3) };
    const fate = random();
    const outcome: OpOutcome = fate < 0.1 ? 'fail' : fate < 0.3 ? 'unknown' : 'ok';
    const output: RegisterOutput =
      input.f === 'read' ? { f: 'read', value: value() } : input.f === 'write' ? { f: 'write' } : { f: 'cas', matched: random() < 0.5 };
    ops.push({ id, process: id, invokeMs, completeMs: outcome === 'unknown' && random() < 0.5 ? null : completeMs, input, output: outcome === 'ok' ? output : null, outcome });
  }
  return ops;
}

function apply(state: RegisterValue, op: RegisterOp): RegisterValue | 'illegal' {
  const { input } = op;
  const out = op.outcome === 'ok' ? op.output : null;
  if (input.f === 'read') return out === null || (out.f === 'read' && out.value === state) ? state : 'illegal';
  if (input.f === 'write') return input.value;
  const matches = state === input.from;
  if (out !== null && out.f === 'cas' && out.matched !== matches) return 'illegal';
  return matches ? input.to : state;
}

/** Every order of every subset of optional ops, respecting real time. */
function bruteForce(all: readonly RegisterOp[]): boolean {
  const ops = all.filter((op) => op.outcome !== 'fail');
  const placed = new Set<number>();
  const required = ops.filter((op) => op.outcome === 'ok');
  const search = (state: RegisterValue): boolean => {
    if (required.every((op) => placed.has(op.id))) return true;
    for (const op of ops) {
      if (placed.has(op.id)) continue;
      const blocked = required.some((r) => !placed.has(r.id) && happenedBefore(r, op));
      if (blocked) continue;
      const next = apply(state, op);
      if (next === 'illegal') continue;
      placed.add(op.id);
      const found = search(next);
      placed.delete(op.id);
      if (found) return true;
    }
    return false;
  };
  return search(null);
}

describe('register checker agrees with brute force', () => {
  it('on 2,000 random small histories', () => {
    const random = seededRandom(7);
    let validCount = 0;
    for (let i = 0; i < 2_000; i++) {
      const ops = randomHistory(random);
      const expected = bruteForce(ops);
      const actual = checkRegisterHistory(ops).valid;
      expect(actual, `history ${i}: ${JSON.stringify(ops)}`).toBe(expected);
      if (expected) validCount++;
    }
    // Both verdicts must be well represented for the comparison to mean anything.
    expect(validCount).toBeGreaterThan(200);
    expect(validCount).toBeLessThan(1_800);
  });
});
