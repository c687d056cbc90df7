/** Run rows for the report tests: what the runner produces, without running anything. */
import { Histogram } from './histogram';
import type { WorkerResult } from './loop';
import { mergeWorkerResults, type RunRow } from './merge';

/** A row of `ops` operations in one second, each taking `latencyMs`, with `errors` failed ones. */
export function row(protocol: string | null, name: string, concurrency: number, ops: number, latencyMs = 1, errors = 0): RunRow {
  const h = new Histogram();
  for (let i = 0; i < ops; i++) h.record(latencyMs * 1000);
  const kind = name === 'echo' || name === 'stream-echo' ? 'echo' : name.startsWith('sqlite') ? 'sqlite' : 'quorumlite';
  const errorsByCode: Record<string, number> = errors > 0 ? { timeout: errors } : {};
  const result: WorkerResult = { ops, errors, errorsByCode, errorSamples: [], histogram: h.toJSON(), windowMs: 1000, clients: concurrency, abandoned: 0 };
  return mergeWorkerResults({ name, kind, protocol, concurrency, durationMs: 1000, statementsPerOp: name === 'batch100' ? 100 : 1 }, [result], { loaderCores: null, serverCores: {} });
}
