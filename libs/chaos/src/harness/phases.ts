/**
 * The run's overall deadline and the time each phase took. Every phase races the deadline: when
 * it passes, the phase stops being waited for (its work is told through an AbortSignal and
 * left to wind down) and the run goes on to collect and write its evidence, so a stuck phase
 * shows up as a failing result that names it instead of a runner killing a silent run.
 */
import { CodedError } from '@quorumlite/errors';

export type PhaseName = 'start' | 'setup' | 'faults' | 'drain' | 'heal' | 'converge' | 'final-reads' | 'dumps' | 'witness-log' | 'checks' | 'stop';

export interface PhaseTiming {
  name: PhaseName;
  /** How long the run waited in the phase (up to the deadline, when that cut it short). */
  ms: number;
  /** 'deadline': the overall deadline passed while the run waited here; 'failed': the phase threw. */
  ended: 'done' | 'failed' | 'deadline';
}

/** The overall deadline passed while the run waited in `phase`. */
export class DeadlineExceededError extends CodedError<'deadline_exceeded'> {
  override readonly name = 'DeadlineExceededError';

  constructor(
    readonly phase: PhaseName,
    readonly overallTimeoutMs: number,
  ) {
    super('deadline_exceeded', `the run passed its overall deadline of ${overallTimeoutMs} ms while in phase '${phase}'`);
  }
}

export function describePhases(timings: readonly PhaseTiming[]): string {
  if (timings.length === 0) return 'none';
  return timings.map((t) => `${t.name} ${(t.ms / 1000).toFixed(1)} s${t.ended === 'done' ? '' : ` (${t.ended === 'deadline' ? 'stuck at the deadline' : 'failed'})`}`).join(', ');
}

export class PhaseClock {
  readonly timings: PhaseTiming[] = [];
  /** Aborted when the deadline passes; each phase's work gets its signal. */
  private readonly controller = new AbortController();
  private readonly deadlineAtMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly overallTimeoutMs: number,
    private readonly onPhase: (timing: PhaseTiming) => void = () => undefined,
  ) {
    this.deadlineAtMs = performance.now() + overallTimeoutMs;
    this.timer = setTimeout(() => this.controller.abort(new Error(`the overall deadline of ${overallTimeoutMs} ms passed`)), overallTimeoutMs);
    // The deadline must not keep a finished process alive.
    this.timer.unref();
  }

  /** Also true during synchronous work that overran the deadline, before the timer could fire. */
  expired(): boolean {
    return this.controller.signal.aborted || performance.now() >= this.deadlineAtMs;
  }

  remainingMs(): number {
    return Math.max(0, Math.floor(this.deadlineAtMs - performance.now()));
  }

  /** `ms`, or what is left before the deadline if that is less (at least 1 ms, for APIs that want a positive timeout). */
  bound(ms: number): number {
    return Math.max(1, Math.min(ms, this.remainingMs()));
  }

  /**
   * Runs one phase, timed, and stops waiting for it when the deadline passes (then throws
   * DeadlineExceededError naming it). Work that outlives the deadline is not awaited; its
   * eventual failure is dropped, since the run has already reported the deadline.
   */
  async run<T>(name: PhaseName, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const signal = this.controller.signal;
    let onAbort: () => void = () => undefined;
    const deadline = new Promise<never>((_, reject) => {
      onAbort = () => reject(new DeadlineExceededError(name, this.overallTimeoutMs));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    deadline.catch(() => undefined);
    const task = signal.aborted ? deadline : Promise.resolve().then(() => work(signal));
    task.catch(() => undefined);
    try {
      const value = await Promise.race([task, deadline]);
      this.record(name, t0, 'done');
      return value;
    } catch (e: unknown) {
      this.record(name, t0, e instanceof DeadlineExceededError ? 'deadline' : 'failed');
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Times a phase that is not cut short by the deadline (stopping processes must finish). */
  async measure<T>(name: PhaseName, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const value = await work();
      this.record(name, t0, 'done');
      return value;
    } catch (e: unknown) {
      this.record(name, t0, 'failed');
      throw e;
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  private record(name: PhaseName, t0: number, ended: PhaseTiming['ended']): void {
    const timing = { name, ms: Math.round(performance.now() - t0), ended };
    this.timings.push(timing);
    this.onPhase(timing);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check the signal). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Settles when every promise has settled or `ms` passed (or `signal` aborted); returns how many were still pending. */
export async function settleWithin(promises: readonly Promise<unknown>[], ms: number, signal: AbortSignal): Promise<{ pending: number; rejected: unknown[] }> {
  let settled = 0;
  const rejected: unknown[] = [];
  const all = Promise.all(
    promises.map((p) =>
      p.then(
        () => void settled++,
        (e: unknown) => {
          settled++;
          rejected.push(e);
        },
      ),
    ),
  );
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([all, sleepUnlessAborted(ms, controller.signal)]);
  } finally {
    controller.abort();
    signal.removeEventListener('abort', stop);
  }
  return { pending: promises.length - settled, rejected };
}
