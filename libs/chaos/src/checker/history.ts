/**
 * The history model every checker reads. The harness records one HistoryOp per client request;
 * the checkers are pure functions of these records (no I/O, clock or randomness).
 *
 * Real time: op A happened before op B iff A.completeMs < B.invokeMs (strict). Equal
 * timestamps count as concurrent, so a coarse clock can only hide anomalies, never invent them.
 */
import { CodedError } from '@quorumlite/errors';

/**
 * - 'ok': the request completed and its output was observed; it took effect exactly once,
 *   somewhere between invokeMs and completeMs.
 * - 'fail': the request definitely did not take effect (refused before ordering, or a
 *   definite error). Checkers drop these except where noted (a value only a failed op wrote
 *   must never be seen).
 * - 'unknown': the request may or may not have taken effect, at any time after invokeMs
 *   (timeouts, lost connections, a node killed mid-request). completeMs, when set, is when the
 *   client gave up, not a bound on when the effect may land; the output is ignored.
 */
export type OpOutcome = 'ok' | 'fail' | 'unknown';

export interface HistoryOp<I, O> {
  /** Unique within one history. */
  id: number;
  /** The client process (logical thread) that issued it; one op at a time per process. */
  process: number;
  invokeMs: number;
  /** null = never completed (the outcome must then be 'unknown'). */
  completeMs: number | null;
  input: I;
  /** Present for 'ok'; ignored for 'fail' and 'unknown'. */
  output: O | null;
  outcome: OpOutcome;
}

export type CheckerErrorCode = 'malformed_history' | 'invalid_limit' | 'invalid_options';

/** Thrown for a history the harness recorded wrongly; an anomaly is a verdict, never an error. */
export class CheckerError extends CodedError<CheckerErrorCode> {
  override readonly name = 'CheckerError';
}

/** Real-time precedence (see the module comment). */
export function happenedBefore(a: HistoryOp<unknown, unknown>, b: HistoryOp<unknown, unknown>): boolean {
  return a.completeMs !== null && a.completeMs < b.invokeMs;
}

/** Checks the fields every checker relies on; throws CheckerError('malformed_history'). */
export function validateOps<I, O>(ops: readonly HistoryOp<I, O>[], what: string): void {
  const ids = new Set<number>();
  for (const op of ops) {
    const at = `${what} op ${op.id}`;
    if (!Number.isSafeInteger(op.id)) malformed(`${at}: id must be a safe integer`);
    if (ids.has(op.id)) malformed(`${at}: duplicate id`);
    ids.add(op.id);
    if (!Number.isFinite(op.invokeMs)) malformed(`${at}: invokeMs must be finite`);
    if (op.completeMs !== null) {
      if (!Number.isFinite(op.completeMs)) malformed(`${at}: completeMs must be finite or null`);
      if (op.completeMs < op.invokeMs) malformed(`${at}: completes before it is invoked`);
    }
    if (op.outcome === 'ok' && (op.completeMs === null || op.output === null)) {
      malformed(`${at}: an 'ok' op needs completeMs and output`);
    }
  }
}

export function malformed(message: string): never {
  throw new CheckerError('malformed_history', message);
}

/** One-line description of an op for explanations. */
export function describeOp(op: HistoryOp<unknown, unknown>, body: string): string {
  const end = op.completeMs === null ? '∞' : String(op.completeMs);
  return `#${op.id} p${op.process} [${op.invokeMs}..${end}] ${op.outcome} ${body}`;
}
