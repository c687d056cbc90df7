/**
 * Promises that resolve once a monotonically growing index (applied, commit) reaches a
 * target. Kept sorted by target so each advance touches only the waiters it releases.
 */
import type { Timer } from './ports';

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  timer: Timer | null;
}

export class IndexWaiters {
  private readonly waiters: Waiter[] = [];

  constructor(
    private current: number,
    /** The driver's timers (Clock.after). */
    private readonly after: (ms: number, fn: () => void) => Timer,
  ) {}

  value(): number {
    return this.current;
  }

  /** Resolves when value() >= target; rejects with `onTimeout()` after timeoutMs. */
  wait(target: number, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (this.current >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { target, resolve, reject, timer: null };
      waiter.timer = this.after(timeoutMs, () => {
        this.remove(waiter);
        reject(onTimeout());
      });
      this.insert(waiter);
    });
  }

  advance(value: number): void {
    if (value <= this.current) return;
    this.current = value;
    let released = 0;
    while (released < this.waiters.length && this.waiters[released]!.target <= value) released++;
    if (released === 0) return;
    for (const w of this.waiters.splice(0, released)) {
      w.timer?.cancel();
      w.resolve();
    }
  }

  /** Resets after a snapshot install (the index can only move forward, but be explicit). */
  failAll(error: Error): void {
    for (const w of this.waiters.splice(0)) {
      w.timer?.cancel();
      w.reject(error);
    }
  }

  private insert(w: Waiter): void {
    let i = this.waiters.length;
    while (i > 0 && this.waiters[i - 1]!.target > w.target) i--;
    this.waiters.splice(i, 0, w);
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
