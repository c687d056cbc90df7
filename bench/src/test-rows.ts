/** Run rows for the report tests: what the runner produces, without running anything. */
import { Histogram } from './histogram';
import type { WorkerResult } from './loop';
import { mergeWorkerResults, type RowIdentity, type RunRow } from './merge';

/** A row of `ops` operations in one second, each taking `latencyMs`, with `errors` failed ones. */
export function row(protocol: string | null, name: string, concurrency: number, ops: number, latencyMs = 1, errors = 0): RunRow {
  const kind = name === 'echo' || name === 'stream-echo' ? 'echo' : name.startsWith('sqlite') ? 'sqlite' : 'quorumlite';
  return identityRow({ name, kind, protocol, concurrency, durationMs: 1000, statementsPerOp: name === 'batch100' ? 100 : 1 }, ops, latencyMs, errors);
}

/** The row the runner makes of `identity` and a result of `ops` operations in one second. */
export function identityRow(identity: RowIdentity, ops: number, latencyMs = 1, errors = 0): RunRow {
  const h = new Histogram();
  for (let i = 0; i < ops; i++) h.record(latencyMs * 1000);
  const errorsByCode: Record<string, number> = errors > 0 ? { timeout: errors } : {};
  const result: WorkerResult = { ops, errors, errorsByCode, errorSamples: [], histogram: h.toJSON(), windowMs: 1000, clients: identity.concurrency, abandoned: 0 };
  return mergeWorkerResults(identity, [result], { loaderCores: null, serverCores: {} });
}
