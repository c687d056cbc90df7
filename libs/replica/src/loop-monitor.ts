/**
 * Event-loop stall detection. Every timer, heartbeat and peer message of a node shares one
 * thread: a synchronous step that holds it longer than a heartbeat interval (a large command
 * applied, a large record checksummed, a large message encoded) delays the leader's heartbeats
 * and can cost the leadership. Without a name for the step, such a stall leaves no trace.
 *
 * The driver runs its synchronous phases through `run(step, fn)`; a phase that held the loop
 * longer than `blockedMsMax` is logged by name. A drift timer catches stalls outside those
 * phases (gRPC framing, protobuf encoding and decoding, other callbacks) and logs them too,
 * with the last driver step for context.
 */
import { assertNever } from '@quorumlite/consensus';

/** The driver's synchronous phases, as named in the warning. */
export type LoopStep =
  | 'prepare' // a client write checked and encoded on the leader
  | 'decode' // peer messages decoded
  | 'feed' // events handed to the core
  | 'ready' // the core's Ready built
  | 'persist' // log records encoded and checksummed (the fsync itself does not block)
  | 'send' // peer messages encoded and queued
  | 'apply' // committed commands applied to SQLite
  | 'verify snapshot' // a received snapshot's integrity checked before the core sees it
  | 'advance'; // the core told the Ready is done

/**
 * The driver's waits that do not block the loop but hold back the round: while one runs, a
 * leader goes on stepping ticks and messages and sending its heartbeats, a follower steps
 * nothing (its answers need the persist) and so answers no heartbeat.
 */
export type LoopWait = 'fsync';

/** Where a stall was seen: one of the driver's steps or waits, or outside all of them. */
export type LoopStall =
  | { readonly kind: 'step'; readonly step: LoopStep; readonly blockedMs: number }
  | { readonly kind: 'wait'; readonly step: LoopWait; readonly blockedMs: number }
  | { readonly kind: 'outside'; readonly blockedMs: number; readonly lastStep: LoopStep | null };

/** How often a step or wait ran since the node started, and the time it took in all. */
export interface StepTotal {
  readonly step: LoopStep | LoopWait;
  readonly count: number;
  readonly ms: number;
}

/** What the driver sees: run a synchronous phase, or wait, under a name. */
export interface LoopSteps {
  run<T>(step: LoopStep, fn: () => T): T;
  wait<T>(step: LoopWait, fn: () => Promise<T>): Promise<T>;
  /** Time per step since the start: where a write's time goes (Status, the comparison report). */
  totals(): readonly StepTotal[];
}

/** Runs every phase as is: for replicas without a monitor (tests, the simulator). */
export const unmonitoredSteps: LoopSteps = { run: (_step, fn) => fn(), wait: (_step, fn) => fn(), totals: () => [] };

export interface LoopMonitorPorts {
  /** A monotonic clock in milliseconds (performance.now in the node). */
  readonly now: () => number;
  /** Calls `fn` every `ms` until the returned function is called. */
  readonly every: (ms: number, fn: () => void) => () => void;
  readonly warn: (msg: string, fields: Record<string, unknown>) => void;
  /** Every step and wait as it ends, with its duration (the node's metrics histogram). */
  readonly onStep?: (step: LoopStep | LoopWait, ms: number) => void;
}

export interface LoopMonitorOptions {
  /** A stall longer than this is logged: the leader's heartbeat interval. */
  readonly blockedMsMax: number;
  /** How often the drift timer checks; a fraction of blockedMsMax. */
  readonly checkEveryMs: number;
}

export interface LoopMonitorStats {
  readonly stalls: number;
  readonly blockedMsMax: number;
}

export class LoopMonitor implements LoopSteps {
  private lastCheck: number;
  private lastStep: LoopStep | null = null;
  /**
   * Time spent inside the driver's steps since the last drift check: the drift timer counts
   * only the rest as held outside them, so a step's stall is not reported twice, and a stall
   * outside the steps is reported even when a step stalled in the same interval.
   */
  private stepMsSinceCheck = 0;
  private stopTimer: (() => void) | null = null;
  private stalls = 0;
  private longestMs = 0;
  private readonly stepTotals = new Map<LoopStep | LoopWait, { count: number; ms: number }>();

  constructor(
    private readonly options: LoopMonitorOptions,
    private readonly ports: LoopMonitorPorts,
  ) {
    if (!(options.blockedMsMax > 0)) throw new RangeError(`loop monitor: blockedMsMax must be positive, got ${options.blockedMsMax}`);
    if (!(options.checkEveryMs > 0)) throw new RangeError(`loop monitor: checkEveryMs must be positive, got ${options.checkEveryMs}`);
    this.lastCheck = ports.now();
  }

  start(): void {
    if (this.stopTimer) return;
    this.lastCheck = this.ports.now();
    this.stopTimer = this.ports.every(this.options.checkEveryMs, () => this.check());
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = null;
  }

  run<T>(step: LoopStep, fn: () => T): T {
    const start = this.ports.now();
    try {
      return fn();
    } finally {
      this.lastStep = step;
      const blockedMs = this.ports.now() - start;
      this.stepMsSinceCheck += blockedMs;
      this.tally(step, blockedMs);
      if (blockedMs > this.options.blockedMsMax) this.report({ kind: 'step', step, blockedMs });
    }
  }

  async wait<T>(step: LoopWait, fn: () => Promise<T>): Promise<T> {
    const start = this.ports.now();
    try {
      return await fn();
    } finally {
      const blockedMs = this.ports.now() - start;
      this.tally(step, blockedMs);
      if (blockedMs > this.options.blockedMsMax) this.report({ kind: 'wait', step, blockedMs });
    }
  }

  /** The drift check: the timer fired later than asked by how long the loop was held. */
  check(): void {
    const now = this.ports.now();
    const blockedMs = now - this.lastCheck - this.options.checkEveryMs - this.stepMsSinceCheck;
    this.lastCheck = now;
    this.stepMsSinceCheck = 0;
    if (blockedMs > this.options.blockedMsMax) this.report({ kind: 'outside', blockedMs, lastStep: this.lastStep });
  }

  stats(): LoopMonitorStats {
    return { stalls: this.stalls, blockedMsMax: this.longestMs };
  }

  totals(): readonly StepTotal[] {
    return [...this.stepTotals].map(([step, t]) => ({ step, count: t.count, ms: t.ms }));
  }

  private tally(step: LoopStep | LoopWait, ms: number): void {
    this.ports.onStep?.(step, ms);
    const t = this.stepTotals.get(step);
    if (t) {
      t.count++;
      t.ms += ms;
    } else {
      this.stepTotals.set(step, { count: 1, ms });
    }
  }

  private report(stall: LoopStall): void {
    this.stalls++;
    this.longestMs = Math.max(this.longestMs, stall.blockedMs);
    const ms = Math.round(stall.blockedMs);
    switch (stall.kind) {
      case 'step':
        this.ports.warn(`event loop blocked for ${ms} ms in step '${stall.step}'`, { step: stall.step, blockedMs: ms, heartbeatMs: this.options.blockedMsMax });
        return;
      case 'wait':
        this.ports.warn(`driver waited ${ms} ms on '${stall.step}': a follower answered no heartbeat meanwhile`, {
          step: stall.step,
          blockedMs: ms,
          heartbeatMs: this.options.blockedMsMax,
        });
        return;
      case 'outside':
        this.ports.warn(`event loop blocked for ${ms} ms outside the driver's steps (gRPC, protobuf or timers; last step '${stall.lastStep ?? 'none'}')`, {
          step: 'outside',
          lastStep: stall.lastStep,
          blockedMs: ms,
          heartbeatMs: this.options.blockedMsMax,
        });
        return;
      default:
        assertNever(stall, 'loop stall');
    }
  }
}
