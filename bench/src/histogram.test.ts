import { describe, expect, it } from 'vitest';
import { seededRandom } from '@quorumlite/consensus';
import { bucketIndexOf, bucketUpperBound, Histogram } from './histogram';

/** Same definition of percentile as the histogram: the smallest value with ≥ q % at or below. */
function referencePercentile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Latency-like data: mostly around a few ms, a long tail up to seconds (microseconds). */
function latencies(seed: number, n: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(Math.exp(rand() * 14)) + (rand() < 0.01 ? Math.floor(rand() * 5_000_000) : 0));
}

const QUANTILES = [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100];

describe('Histogram', () => {
  it('keeps each percentile within 1/128 above the exact value (seeded data)', () => {
    for (const seed of [1, 2, 3, 42]) {
      const values = latencies(seed, 20_000);
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of QUANTILES) {
        const exact = referencePercentile(sorted, q);
        const got = h.percentile(q);
        expect(got, `seed ${seed} q ${q}`).toBeGreaterThanOrEqual(exact);
        expect(got, `seed ${seed} q ${q}`).toBeLessThanOrEqual(exact * (1 + 1 / 128));
      }
      expect(h.max).toBe(sorted[sorted.length - 1]);
      expect(h.min).toBe(sorted[0]);
      expect(h.count).toBe(values.length);
    }
  });

  it('is exact below 256', () => {
    const h = new Histogram();
    for (let v = 0; v < 256; v++) h.record(v);
    expect(h.percentile(50)).toBe(127);
    expect(h.percentile(100)).toBe(255);
  });

  it('maps every value to a bucket whose bounds contain it, buckets in order', () => {
    let previous = -1;
    for (const v of [0, 1, 255, 256, 257, 511, 512, 1000, 65_535, 1e6, 2 ** 31, 2 ** 32 - 1]) {
      const i = bucketIndexOf(v);
      expect(i).toBeGreaterThanOrEqual(previous);
      previous = i;
      expect(bucketUpperBound(i)).toBeGreaterThanOrEqual(v);
      expect(i === 0 || bucketUpperBound(i - 1) < v).toBe(true);
    }
  });

  it('merges exactly: merged halves equal one histogram of everything, also through JSON', () => {
    const values = latencies(7, 10_000);
    const whole = new Histogram();
    const a = new Histogram();
    const b = new Histogram();
    values.forEach((v, i) => {
      whole.record(v);
      (i % 3 === 0 ? a : b).record(v);
    });
    const merged = Histogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())) as ReturnType<Histogram['toJSON']>).merge(Histogram.fromJSON(b.toJSON()));
    expect(merged.toJSON()).toEqual(whole.toJSON());
    for (const q of QUANTILES) expect(merged.percentile(q)).toBe(whole.percentile(q));
  });

  it('reports zeros when empty and rejects a corrupt bucket index', () => {
    const h = new Histogram();
    expect([h.percentile(99), h.max, h.min, h.mean()]).toEqual([0, 0, 0, 0]);
    expect(() => Histogram.fromJSON({ buckets: [[1e9, 1]], count: 1, min: 0, max: 0, sum: 0 })).toThrow(RangeError);
  });
});
