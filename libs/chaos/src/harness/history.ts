/**
 * What the harness records: one entry per operation (invocation and completion together), and
 * one per fault. Values are JSON-safe (bigints from SQLite become numbers when they fit, else
 * strings) so a history can be written as JSON lines and replayed by a checker.
 */
import { QuorumliteError } from '@quorumlite/client';

export type WorkloadName = 'register' | 'bank' | 'append';

/**
 * ok: the client got an answer. fail: the operation certainly had no effect. unknown: it may
 * or may not have taken effect (timeouts, lost connections); a checker must allow both.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

export type OpInput =
  | { f: 'read'; key: number }
  | { f: 'write'; key: number; value: number }
  | { f: 'cas'; key: number; from: number; to: number }
  | { f: 'transfer'; from: number; to: number; amount: number }
  | { f: 'balances' }
  | { f: 'append'; key: number; value: number }
  | { f: 'list'; key: number };

export type OpOutput =
  | { f: 'read'; value: number | null }
  | { f: 'write' }
  | { f: 'cas'; matched: boolean }
  | { f: 'transfer' }
  | { f: 'balances'; balances: Record<string, number> }
  | { f: 'append' }
  | { f: 'list'; values: number[] };

export interface OpRecord {
  /** Position in the history, in invocation order. */
  id: number;
  /** A logical client: one operation at a time; a new one replaces it after an unknown outcome. */
  process: number;
  workload: WorkloadName;
  input: OpInput;
  output: OpOutput | null;
  outcome: Outcome;
  /** performance.now() at invocation and completion (ms since this process started). */
  invokeMs: number;
  completeMs: number;
  /** Idempotency key of a write; every retry inside the client reuses it. */
  requestId?: string;
  /** Log index the operation was applied or read at, when the node said. */
  index?: string;
  error?: { code: string; message: string };
  /** Marks the reads taken after every fault was healed. */
  final?: boolean;
}

/** Codes that mean the statement itself was rejected: nothing was applied. */
const DEFINITE_STATEMENT_CODES: ReadonlySet<string> = new Set(['sql_error', 'refused', 'invalid', 'too_large']);
/** Codes a node returns before a command reaches any log. */
const DEFINITE_ROUTING_CODES: ReadonlySet<string> = new Set(['not_leader', 'no_leader', 'overloaded']);

/**
 * Whether a failed write certainly did not apply, given its final error and whether any
 * earlier attempt of the same call ended in doubt (a timeout before a not_leader retry may
 * still have been applied).
 */
export function writeOutcome(e: unknown, earlierAttemptInDoubt: boolean): Outcome {
  if (!(e instanceof QuorumliteError)) return 'unknown';
  if (DEFINITE_STATEMENT_CODES.has(e.code)) return 'fail';
  if (DEFINITE_ROUTING_CODES.has(e.code) && !earlierAttemptInDoubt) return 'fail';
  return 'unknown';
}

/** Whether an attempt that the client is about to retry leaves the write in doubt. */
export function attemptInDoubt(e: QuorumliteError): boolean {
  return !DEFINITE_STATEMENT_CODES.has(e.code) && !DEFINITE_ROUTING_CODES.has(e.code);
}

export function errorInfo(e: unknown): { code: string; message: string } {
  if (e instanceof QuorumliteError) return { code: e.code, message: e.message };
  if (isErrorInfo(e)) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

function isErrorInfo(e: unknown): e is { code: string; message: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string' && !(e instanceof Error);
}

/** SQLite integers arrive as bigint; keep them exact in JSON. */
export function toJsonNumber(v: unknown): number {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`integer ${v} does not fit a JSON number`);
    return Number(v);
  }
  if (typeof v === 'number') return v;
  throw new TypeError(`expected an integer, got ${typeof v}`);
}

/** JSON.stringify that writes bigints as strings and byte arrays as hex. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
    return v;
  });
}

export class HistoryRecorder {
  private readonly ops: OpRecord[] = [];

  /** Starts an operation; the returned record is completed in place by complete(). */
  invoke(process: number, workload: WorkloadName, input: OpInput, requestId?: string): OpRecord {
    const op: OpRecord = {
      id: this.ops.length,
      process,
      workload,
      input,
      output: null,
      outcome: 'unknown',
      invokeMs: performance.now(),
      completeMs: Number.NaN,
      ...(requestId !== undefined ? { requestId } : {}),
    };
    this.ops.push(op);
    return op;
  }

  complete(op: OpRecord, outcome: Outcome, output: OpOutput | null, extra: { index?: bigint; error?: unknown } = {}): void {
    op.completeMs = performance.now();
    op.outcome = outcome;
    op.output = output;
    if (extra.index !== undefined) op.index = extra.index.toString();
    if (extra.error !== undefined) op.error = errorInfo(extra.error);
  }

  /** Operations still in flight when the run ended count as unknown, completed at the end. */
  seal(): OpRecord[] {
    const end = performance.now();
    for (const op of this.ops) if (Number.isNaN(op.completeMs)) op.completeMs = end;
    return this.ops;
  }

  all(): readonly OpRecord[] {
    return this.ops;
  }
}

export function countByOutcome(ops: readonly OpRecord[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
  for (const op of ops) counts[op.outcome]++;
  return counts;
}
