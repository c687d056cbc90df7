/**
 * Exact test for "does some subset of these transfers move exactly `target` per account?".
 *
 * Subset sums over many transfers blow up as a plain search, so the transfers are grouped by
 * account pair: the net flow a pair can carry is a one-dimensional subset sum, computed as a
 * bitset (pseudo-polynomial in the amounts). What remains is choosing one achievable flow per
 * pair so every account's net change equals its target: a depth-first search over pairs whose
 * last pair at each account is forced, pruned by the range the remaining pairs can still
 * cover, memoized, and bounded by a step limit.
 */

export interface FlowItem {
  /** Account indexes, distinct. */
  from: number;
  to: number;
  /** Positive integer. */
  amount: number;
}

export type FlowVerdict = 'found' | 'none' | 'limit';

/** Net flows one account pair (a < b) can carry, from a to b. */
interface PairFlows {
  low: number;
  high: number;
  /** achievable[f - low] = 1 iff some subset of the pair's transfers moves net f from a to b. */
  achievable: Uint8Array;
  a: number;
  b: number;
}

function pairFlows(a: number, b: number, items: readonly FlowItem[]): PairFlows {
  const positive = items.reduce((s, t) => s + (t.from === a ? t.amount : 0), 0);
  const negative = items.reduce((s, t) => s + (t.from === b ? t.amount : 0), 0);
  const achievable = new Uint8Array(positive + negative + 1);
  achievable[negative] = 1;
  for (const t of items) {
    // 0/1 knapsack in place: walk against the shift so each transfer is used at most once.
    if (t.from === a) {
      for (let i = achievable.length - 1 - t.amount; i >= 0; i--) if (achievable[i] === 1) achievable[i + t.amount] = 1;
    } else {
      for (let i = t.amount; i < achievable.length; i++) if (achievable[i] === 1) achievable[i - t.amount] = 1;
    }
  }
  return { low: -negative, high: positive, achievable, a, b };
}

/** target[v] = required net change of account v (sum of gains minus losses). */
export function subsetMatchesFlows(target: readonly number[], items: readonly FlowItem[], stepsMax: number): FlowVerdict {
  const accounts = target.length;
  const byPair = new Map<number, FlowItem[]>();
  for (const t of items) {
    const a = Math.min(t.from, t.to);
    const b = Math.max(t.from, t.to);
    const list = byPair.get(a * accounts + b) ?? [];
    list.push(t);
    byPair.set(a * accounts + b, list);
  }
  const pairs = [...byPair.entries()].sort((x, y) => x[0] - y[0]).map(([key, list]) => pairFlows(Math.floor(key / accounts), key % accounts, list));
  // restLo/restHi[k * accounts + v]: range of v's net change the pairs k.. can still make.
  const restLo = new Float64Array((pairs.length + 1) * accounts);
  const restHi = new Float64Array((pairs.length + 1) * accounts);
  for (let k = pairs.length - 1; k >= 0; k--) {
    const p = pairs[k] as PairFlows;
    for (let v = 0; v < accounts; v++) {
      const lo = v === p.a ? -p.high : v === p.b ? p.low : 0;
      const hi = v === p.a ? -p.low : v === p.b ? p.high : 0;
      restLo[k * accounts + v] = (restLo[(k + 1) * accounts + v] ?? 0) + lo;
      restHi[k * accounts + v] = (restHi[(k + 1) * accounts + v] ?? 0) + hi;
    }
  }
  const need = [...target];
  const seen = new Set<string>();
  let steps = 0;
  const search = (k: number): FlowVerdict => {
    if (++steps > stepsMax) return 'limit';
    for (let v = 0; v < accounts; v++) {
      const n = need[v] ?? 0;
      if (n < (restLo[k * accounts + v] ?? 0) || n > (restHi[k * accounts + v] ?? 0)) return 'none';
    }
    const p = pairs[k];
    if (p === undefined) return 'found';
    const key = `${k}|${need.join(',')}`;
    if (seen.has(key)) return 'none';
    seen.add(key);
    // Flow f from p.a to p.b changes a by -f and b by +f; the rest must cover what is left.
    const na = need[p.a] ?? 0;
    const nb = need[p.b] ?? 0;
    const next = (k + 1) * accounts;
    const fMin = Math.max(p.low, (restLo[next + p.a] ?? 0) - na, nb - (restHi[next + p.b] ?? 0));
    const fMax = Math.min(p.high, (restHi[next + p.a] ?? 0) - na, nb - (restLo[next + p.b] ?? 0));
    for (let f = fMin; f <= fMax; f++) {
      if (p.achievable[f - p.low] !== 1) continue;
      need[p.a] = na + f;
      need[p.b] = nb - f;
      const found = search(k + 1);
      need[p.a] = na;
      need[p.b] = nb;
      if (found !== 'none') return found;
      if (++steps > stepsMax) return 'limit';
    }
    return 'none';
  };
  return search(0);
}
