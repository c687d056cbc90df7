/**
 * Combines per-loader results into one row: counts add, histograms merge bucket by bucket,
 * so percentiles are those of all operations together (not averages of percentiles).
 */
import { Histogram, type HistogramJson } from './histogram';
import type { WorkerResult } from './loop';

/** 'reference': a peer (ZooKeeper, etcd) measured in the same run; its row name is `system:op`. */
export type RowKind = 'echo' | 'quorumlite' | 'sqlite' | 'reference';

export interface LatencySummaryMs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface CpuSummary {
  /** Cores used by the loader processes together, over the measured window. */
  loaderCores: number | null;
  /** Cores used by each server process (node id, 'echo' or 'sqlite'). */
  serverCores: Record<string, number | null>;
  /**
   * Peak resident MiB of each server process over the run, warm-up included (null: not read);
   * absent from results recorded before it was measured.
   */
  serverPeakRssMb?: Record<string, number | null>;
}

export interface RunRow {
  name: string;
  kind: RowKind;
  /** The consensus protocol of the cluster measured; null for the baselines (echo, sqlite). */
  protocol: string | null;
  concurrency: number;
  loaders: number;
  durationMs: number;
  ops: number;
  opsPerSec: number;
  statementsPerOp: number;
  statementsPerSec: number;
  errors: number;
  /** errors / (ops + errors). */
  errorRate: number;
  errorsByCode: Record<string, number>;
  errorSamples: string[];
  abandoned: number;
  latencyMs: LatencySummaryMs;
  cpu: CpuSummary;
  histogram: HistogramJson;
}

export interface RowIdentity {
  name: string;
  kind: RowKind;
  protocol: string | null;
  concurrency: number;
  durationMs: number;
  statementsPerOp: number;
}

export function mergeWorkerResults(identity: RowIdentity, results: readonly WorkerResult[], cpu: CpuSummary): RunRow {
  const histogram = new Histogram();
  const errorsByCode: Record<string, number> = {};
  const errorSamples: string[] = [];
  let ops = 0;
  let errors = 0;
  let abandoned = 0;
  for (const r of results) {
    histogram.merge(Histogram.fromJSON(r.histogram));
    ops += r.ops;
    errors += r.errors;
    abandoned += r.abandoned;
    for (const [code, n] of Object.entries(r.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
    for (const s of r.errorSamples) if (errorSamples.length < 5 && !errorSamples.includes(s)) errorSamples.push(s);
  }
  const seconds = identity.durationMs / 1000;
  const opsPerSec = seconds > 0 ? ops / seconds : 0;
  return {
    ...identity,
    loaders: results.length,
    ops,
    opsPerSec,
    statementsPerSec: opsPerSec * identity.statementsPerOp,
    errors,
    errorRate: ops + errors === 0 ? 0 : errors / (ops + errors),
    errorsByCode,
    errorSamples,
    abandoned,
    latencyMs: latencySummaryMs(histogram),
    cpu,
    histogram: histogram.toJSON(),
  };
}

/** The histogram holds microseconds; the report speaks milliseconds. */
export function latencySummaryMs(h: Histogram): LatencySummaryMs {
  return { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, p999: h.percentile(99.9) / 1000, max: h.max / 1000, mean: h.mean() / 1000 };
}
