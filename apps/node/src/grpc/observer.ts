/** What the client API tells the node's metrics about each call it answered. */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';

export type RpcMethod = 'Execute' | 'Query' | 'Status';

export interface RpcObserver {
  /**
   * A call of `method` (unary, or one call on a Session stream) was answered with `code`
   * after `seconds`; an SQL error carries SQLite's code (SQLITE_CONSTRAINT_UNIQUE, …).
   */
  done(method: RpcMethod, code: grpc.status, seconds: number, sqliteCode: string | null): void;
}

export const noRpcObserver: RpcObserver = { done: () => undefined };

export interface CallTiming {
  ok(): void;
  failed(err: Partial<grpc.ServiceError>): void;
}

/** What times a call when nothing observes: no clock read, no closures (every call of a node without metrics). */
const UNTIMED: CallTiming = { ok: () => undefined, failed: () => undefined };

/** Times one call: `ok()` or `failed(err)` reports it once. */
export function timeCall(observer: RpcObserver, method: RpcMethod): CallTiming {
  if (observer === noRpcObserver) return UNTIMED;
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  return {
    ok: () => observer.done(method, grpc.status.OK, seconds(), null),
    failed: (err) => {
      const sqlite = err.metadata?.get('ql-sqlite-code')[0];
      observer.done(method, err.code ?? grpc.status.UNKNOWN, seconds(), sqlite === undefined ? null : String(sqlite));
    },
  };
}
