/** Side effects the replica needs, behind small ports so tests can swap them. */
import type { SqlValue } from '@quorumlite/proto';
import type { StatementInput, StatementResult, QueryResult } from '@quorumlite/sql';

export interface ReplicaLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  /** Wall-clock milliseconds: fixes a command's time on the leader and measures every request deadline. */
  now(): number;
  /** Calls `fn` once, `ms` from now: every timer of the driver goes through here. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `fn` every `ms` until cancelled (the tick). */
  every(ms: number, fn: () => void): Timer;
}

/** A scheduled call; cancel() may be called any number of times, before or after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Entropy {
  /** A fresh 32-bit unsigned seed (election jitter, per-command random()). */
  seed(): number;
}

/** When a write is acknowledged: see proto's Durability (leader: durable on the leader, not yet committed). */
export type Durability = 'quorum' | 'all' | 'semi' | 'leader';
export type Consistency = 'linearizable' | 'stale' | 'session';

export interface WriteRequest {
  readonly statements: StatementInput[];
  readonly requestId: string | null;
  readonly durability: Durability;
  readonly timeoutMs: number;
  /** Set when a follower already forwarded this request: never forward twice. */
  readonly forwarded: boolean;
  /**
   * The caller's bearer credential (`Bearer …`), sent on with the request when a follower
   * forwards it, so the leader grants it the caller's role; the replica never reads it.
   */
  readonly authorization?: string;
}

export interface WriteResult {
  readonly results: StatementResult[];
  readonly index: number;
  readonly duplicate: boolean;
  /** Durability 'leader': durable on the leader only, not yet committed; no results yet. */
  readonly uncommitted?: boolean;
  /** The client-facing address of the leader that ordered the write, when known: where the next write should go. */
  readonly leaderAddress?: string;
}

export interface ReadRequest {
  readonly sql: string;
  readonly params: SqlValue[];
  readonly named: Record<string, SqlValue>;
  readonly consistency: Consistency;
  readonly minIndex: number;
  readonly maxLagEntries: number;
  readonly maxRows: number;
  readonly timeoutMs: number;
}

export interface ReadResult extends QueryResult {
  readonly index: number;
}

/** Sends a write to the leader (the node's gRPC client); errors are ReplicaErrors. */
export interface WriteForwarder {
  forward(leader: { id: string; address: string }, request: WriteRequest): Promise<WriteResult>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
};

/**
 * Seeds for election jitter and per-command random(): they need to differ, not to be
 * secret, so one draw from the OS seeds a fast generator instead of a syscall per write.
 */
export function processEntropy(): Entropy {
  const buf = new Uint32Array(1);
  globalThis.crypto.getRandomValues(buf);
  let state = buf[0]!;
  return {
    seed: () => {
      // xorshift32: full period over non-zero states.
      if (state === 0) state = 0x9e3779b9;
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state;
    },
  };
}

export const silentLogger: ReplicaLogger = { debug() {}, info() {}, warn() {}, error() {} };
