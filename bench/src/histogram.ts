/**
 * An HDR-style log-linear latency histogram over non-negative integers (microseconds here).
 *
 * Values below 2^(SUB_BITS+1) get one bucket each; above that every power-of-two range is cut
 * into 2^SUB_BITS equal buckets, so a reported percentile is at most 1/2^SUB_BITS (0.78 %) above
 * the true value. Histograms with the same layout merge exactly by adding counts, which is what
 * lets per-worker results combine into one set of percentiles.
 */

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS;
/** Values above this are clamped into the last bucket (the exact maximum is still kept). */
export const HISTOGRAM_VALUE_MAX = 0xffff_ffff;
const BUCKET_COUNT = (32 - SUB_BITS) * SUB_COUNT + SUB_COUNT;

export interface HistogramJson {
  /** Sparse [bucketIndex, count] pairs in ascending bucket order. */
  buckets: Array<[number, number]>;
  count: number;
  min: number;
  max: number;
  sum: number;
}

export function bucketIndexOf(value: number): number {
  const v = Math.min(Math.max(0, Math.floor(value)), HISTOGRAM_VALUE_MAX);
  if (v < 2 * SUB_COUNT) return v;
  const exponent = 31 - Math.clz32(v) - SUB_BITS;
  const mantissa = v >>> exponent;
  return exponent * SUB_COUNT + mantissa;
}

/** The highest value that falls into the bucket. */
export function bucketUpperBound(index: number): number {
  if (index < 2 * SUB_COUNT) return index;
  const exponent = Math.floor(index / SUB_COUNT) - 1;
  const mantissa = (index % SUB_COUNT) + SUB_COUNT;
  return (mantissa + 1) * 2 ** exponent - 1;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  private sumValue = 0;

  record(value: number): void {
    const v = Math.max(0, Math.floor(value));
    this.counts[bucketIndexOf(v)]! += 1;
    this.total += 1;
    this.sumValue += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxValue;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  mean(): number {
    return this.total === 0 ? 0 : this.sumValue / this.total;
  }

  /**
   * The value at percentile q (0..100): the smallest recorded value v such that at least q %
   * of values are <= v, reported as its bucket's upper bound (never above the true maximum).
   */
  percentile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, q)) / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpperBound(i), this.maxValue);
    }
    return this.maxValue;
  }

  merge(other: Histogram): this {
    for (let i = 0; i < BUCKET_COUNT; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sumValue += other.sumValue;
    if (other.total > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
    return this;
  }

  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const c = this.counts[i]!;
      if (c > 0) buckets.push([i, c]);
    }
    return { buckets, count: this.total, min: this.min, max: this.maxValue, sum: this.sumValue };
  }

  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram();
    for (const [index, count] of json.buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT) {
        throw new RangeError(`histogram bucket index ${index} is outside 0..${BUCKET_COUNT - 1}`);
      }
      h.counts[index]! += count;
    }
    h.total = json.count;
    h.sumValue = json.sum;
    h.maxValue = json.max;
    h.minValue = json.count === 0 ? Number.POSITIVE_INFINITY : json.min;
    return h;
  }
}
