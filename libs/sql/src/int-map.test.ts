import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { IntMap } from './int-map';

function expectSame(map: IntMap, model: Map<number, number>, keys: readonly number[], label: string): void {
  expect(map.size, label).toBe(model.size);
  for (const k of keys) expect(map.get(k), `${label}: key ${k}`).toBe(model.get(k));
}

describe('IntMap', () => {
  it('gets, sets, overwrites and deletes', () => {
    const m = new IntMap();
    expect(m.get(7)).toBeUndefined();
    m.set(7, 70);
    m.set(0, 1);
    m.set(0x7fffffff, Number.MAX_SAFE_INTEGER);
    expect([m.get(7), m.get(0), m.get(0x7fffffff), m.size]).toEqual([70, 1, Number.MAX_SAFE_INTEGER, 3]);
    m.set(7, 71);
    expect([m.get(7), m.size]).toEqual([71, 3]);
    expect(m.delete(7)).toBe(true);
    expect(m.delete(7)).toBe(false);
    expect([m.get(7), m.size]).toEqual([undefined, 2]);
  });

  it('refuses keys and values it cannot hold, and is left unchanged', () => {
    const m = new IntMap();
    for (const key of [-1, 2 ** 31, 1.5, Number.NaN]) expect(() => m.set(key, 1), String(key)).toThrow(/key .* is not an integer in \[0, 2\^31\)/);
    for (const value of [-1, 2 ** 53, 0.5, Number.NaN]) expect(() => m.set(1, value), String(value)).toThrow(/value .* is not a non-negative safe integer/);
    expect(m.size).toBe(0);
  });

  // Keys drawn from a small range collide; a wide range exercises growth. Each delete's answer
  // is checked against Map at every step, every key seen so far at the end, and the latest
  // keys every 997 steps.
  for (const [label, range, steps] of [
    ['crowded keys', 64, 20_000],
    ['wide keys', 2 ** 31, 20_000],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      it(`agrees with a Map through random sets and deletes (${label}, seed ${seed})`, () => {
        const random = seededRandom(seed);
        const m = new IntMap();
        const model = new Map<number, number>();
        const seen: number[] = [];
        for (let step = 0; step < steps; step++) {
          const key = Math.floor(random() * range);
          seen.push(key);
          if (random() < 0.45 && model.size > 0) {
            const victim = random() < 0.8 ? [...model.keys()][Math.floor(random() * model.size)]! : key;
            expect(m.delete(victim), `step ${step}: delete ${victim}`).toBe(model.delete(victim));
          } else {
            const value = Math.floor(random() * Number.MAX_SAFE_INTEGER);
            m.set(key, value);
            model.set(key, value);
          }
          if (step % 997 === 0) expectSame(m, model, seen.slice(-500), `step ${step}`);
        }
        expectSame(m, model, seen, 'end');
        for (const k of [...model.keys()]) expect(m.delete(k)).toBe(true);
        expectSame(m, new Map(), seen, 'emptied');
      });
    }
  }

  it('finds every entry whatever order a run that wraps past the last slot is deleted in', () => {
    // IntMap's own home slot for 16 slots (it starts with 16): keys are chosen to pile up at
    // the last slot and the first two, so their run wraps from slot 15 to slot 5.
    const home = (k: number): number => Math.imul(k, 0x9e3779b1) >>> 28;
    const withHome = (h: number, n: number): number[] => {
      const found: number[] = [];
      for (let k = 0; found.length < n; k++) if (home(k) === h) found.push(k);
      return found;
    };
    const keys = [...withHome(15, 4), ...withHome(0, 2), ...withHome(1, 1)];
    const orders: number[][] = [];
    const permute = (rest: number[], done: number[]): void => {
      if (rest.length === 0) orders.push(done);
      for (const k of rest) permute(rest.filter((x) => x !== k), [...done, k]);
    };
    permute(keys, []);
    expect(orders.length).toBe(5_040);
    for (const order of orders) {
      const m = new IntMap();
      const model = new Map<number, number>();
      keys.forEach((k, i) => {
        m.set(k, i + 1);
        model.set(k, i + 1);
      });
      for (const victim of order) {
        expect(m.delete(victim)).toBe(true);
        model.delete(victim);
        expectSame(m, model, keys, `deleting ${order.join(',')}`);
      }
    }
  });

  it('takes no key for an empty slot: -1 is never found, and deleting it changes nothing', () => {
    const m = new IntMap();
    m.set(3, 30);
    expect([m.get(-1), m.delete(-1), m.size, m.get(3)]).toEqual([undefined, false, 1, 30]);
  });

  it('refuses a starting size it cannot allocate', () => {
    for (const slots of [0, -1, 1.5, 2 ** 30 + 1, Number.NaN]) expect(() => new IntMap(slots), String(slots)).toThrow(/slots is not an integer in \[1, 2\^30\]/);
    expect(new IntMap(1_000).size).toBe(0);
  });

  it('holds 100,000 entries, as a full dedup window does, and finds each', () => {
    const m = new IntMap();
    const random = seededRandom(9);
    const model = new Map<number, number>();
    for (let i = 1; i <= 100_000; i++) {
      const key = Math.floor(random() * 2 ** 30);
      m.set(key, i);
      model.set(key, i);
    }
    expectSame(m, model, [...model.keys()], 'full');
  });
});
