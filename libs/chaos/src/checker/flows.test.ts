import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { FlowItem, subsetMatchesFlows } from './flows';

/** Every subset, for small inputs. */
function bruteForce(target: readonly number[], items: readonly FlowItem[]): boolean {
  for (let mask = 0; mask < 1 << items.length; mask++) {
    const net = target.map(() => 0);
    items.forEach((t, i) => {
      if ((mask & (1 << i)) === 0) return;
      net[t.from] = (net[t.from] ?? 0) - t.amount;
      net[t.to] = (net[t.to] ?? 0) + t.amount;
    });
    if (net.every((v, i) => v === target[i])) return true;
  }
  return false;
}

describe('subsetMatchesFlows', () => {
  it('finds the empty subset and single transfers, and refuses what no subset makes', () => {
    expect(subsetMatchesFlows([0, 0, 0], [], 100)).toBe('found');
    expect(subsetMatchesFlows([-5, 5, 0], [{ from: 0, to: 1, amount: 5 }], 100)).toBe('found');
    expect(subsetMatchesFlows([5, -5, 0], [{ from: 0, to: 1, amount: 5 }], 100)).toBe('none');
    expect(subsetMatchesFlows([-3, 0, 3], [{ from: 0, to: 1, amount: 3 }, { from: 1, to: 2, amount: 3 }], 100)).toBe('found');
  });

  it('agrees with brute force on 1,500 random small cases', () => {
    const random = seededRandom(11);
    const int = (n: number): number => Math.floor(random() * n);
    let found = 0;
    for (let c = 0; c < 1_500; c++) {
      const accounts = 2 + int(4);
      const items: FlowItem[] = Array.from({ length: int(9) }, () => {
        const from = int(accounts);
        return { from, to: (from + 1 + int(accounts - 1)) % accounts, amount: 1 + int(6) };
      });
      // Half the targets come from a real subset, half are a real subset nudged.
      const target = new Array<number>(accounts).fill(0);
      for (const t of items) {
        if (random() < 0.5) continue;
        target[t.from] = (target[t.from] ?? 0) - t.amount;
        target[t.to] = (target[t.to] ?? 0) + t.amount;
      }
      if (random() < 0.5) {
        const a = int(accounts);
        target[a] = (target[a] ?? 0) + 1;
        target[(a + 1) % accounts] = (target[(a + 1) % accounts] ?? 0) - 1;
      }
      const expected = bruteForce(target, items);
      expect(subsetMatchesFlows(target, items, 1_000_000), JSON.stringify({ target, items })).toBe(expected ? 'found' : 'none');
      if (expected) found++;
    }
    expect(found).toBeGreaterThan(300);
    expect(found).toBeLessThan(1_200);
  });

  it('says limit, not a verdict, when the step bound is hit', () => {
    const items: FlowItem[] = Array.from({ length: 30 }, (_, i) => ({ from: i % 3, to: (i + 1) % 3, amount: 2 * (1 + (i % 5)) }));
    expect(subsetMatchesFlows([1, -1, 0], items, 3)).toBe('limit');
    expect(subsetMatchesFlows([1, -1, 0], items, 1_000_000)).toBe('none');
  });
});
