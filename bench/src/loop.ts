/**
 * The closed loop every loader runs: `clients` virtual clients, each with exactly one request in
 * flight, from `startAtMs` through warm-up and the measured window. Only operations that complete
 * inside the window count; their latencies go into the histogram (microseconds).
 */
import { Histogram, type HistogramJson } from './histogram';

/** One operation; `seq` is unique within this loader. Rejects on failure. */
export type Operation = (seq: number) => Promise<void>;

export interface LoopPlan {
  clients: number;
  /** Wall-clock (Date.now) time at which every loader starts its warm-up. */
  startAtMs: number;
  warmupMs: number;
  durationMs: number;
  /** How long in-flight operations may run after the window before the loader gives up on them. */
  drainMs: number;
}

export interface WorkerResult {
  ops: number;
  errors: number;
  errorsByCode: Record<string, number>;
  /** The first few distinct error messages, for the report. */
  errorSamples: string[];
  histogram: HistogramJson;
  /** Measured window actually observed by this loader, in ms. */
  windowMs: number;
  clients: number;
  /** Operations still in flight when the loader stopped waiting. */
  abandoned: number;
}

const ERROR_SAMPLES_MAX = 5;

export async function runClosedLoop(op: Operation, plan: LoopPlan): Promise<WorkerResult> {
  const measureStart = plan.startAtMs + plan.warmupMs;
  const measureEnd = measureStart + plan.durationMs;
  const histogram = new Histogram();
  const errorsByCode: Record<string, number> = {};
  const errorSamples: string[] = [];
  let ops = 0;
  let errors = 0;
  let seq = 0;
  let inFlight = 0;

  await sleepUntil(plan.startAtMs);
  const client = async (): Promise<void> => {
    while (Date.now() < measureEnd) {
      const mySeq = seq++;
      const t0 = process.hrtime.bigint();
      inFlight++;
      let failure: unknown = null;
      try {
        await op(mySeq);
      } catch (e: unknown) {
        failure = e ?? new Error('operation failed without a reason');
      } finally {
        inFlight--;
      }
      const now = Date.now();
      if (now < measureStart || now >= measureEnd) continue;
      if (failure === null) {
        ops++;
        histogram.record(Number(process.hrtime.bigint() - t0) / 1000);
      } else {
        errors++;
        const code = errorCodeOf(failure);
        errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        const message = `${code}: ${failure instanceof Error ? failure.message : String(failure)}`;
        if (errorSamples.length < ERROR_SAMPLES_MAX && !errorSamples.includes(message)) errorSamples.push(message);
      }
    }
  };
  const all = Promise.all(Array.from({ length: plan.clients }, client));
  let drainTimer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<boolean>((resolve) => {
    drainTimer = setTimeout(() => resolve(false), Math.max(0, measureEnd + plan.drainMs - Date.now()));
  });
  // The timer is cleared so a finished loader process can exit at once.
  const drained = await Promise.race([all.then(() => true), gaveUp]).finally(() => clearTimeout(drainTimer));
  return {
    ops,
    errors,
    errorsByCode,
    errorSamples,
    histogram: histogram.toJSON(),
    windowMs: plan.durationMs,
    clients: plan.clients,
    abandoned: drained ? 0 : inFlight,
  };
}

/** A short stable name for a failure: the error's string code, a gRPC status name, or its class. */
export function errorCodeOf(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    if (typeof code === 'number') return GRPC_STATUS_NAMES[code] ?? `grpc_${code}`;
    if (e instanceof Error) return e.name;
  }
  return 'unknown';
}

const GRPC_STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

export function sleepUntil(wallMs: number): Promise<void> {
  const delay = wallMs - Date.now();
  return delay > 0 ? new Promise((resolve) => setTimeout(resolve, delay)) : Promise.resolve();
}
