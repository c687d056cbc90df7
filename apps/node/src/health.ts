/**
 * The standard gRPC health service (grpc.health.v1.Health, Check and Watch), for load
 * balancers and orchestrators. '' is the node as a whole: SERVING while it knows a leader.
 * 'quorumlite.v1.SqlService' is its SQL API: SERVING while it knows a leader, keeps the
 * database (a witness never does) and has applied what it knows committed, up to
 * CATCHING_UP_ENTRIES — a node still catching up after a restart or a partition would answer
 * reads late or forward every write to a leader it cannot follow yet.
 */
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { ReplicaStatus } from '@quorumlite/replica';

export const SQL_SERVICE_NAME = 'quorumlite.v1.SqlService';
export const CATCHING_UP_ENTRIES = 1_000;

export interface Serving {
  readonly node: ServingStatus;
  readonly sql: ServingStatus;
}

export function servingOf(s: ReplicaStatus): Serving {
  const led = s.leaderId !== null;
  const caughtUp = s.commitIndex - s.appliedIndex <= CATCHING_UP_ENTRIES;
  return {
    node: led ? 'SERVING' : 'NOT_SERVING',
    sql: led && s.role !== 'witness' && caughtUp ? 'SERVING' : 'NOT_SERVING',
  };
}

export class NodeHealth {
  private readonly impl = new HealthImplementation({ '': 'NOT_SERVING', [SQL_SERVICE_NAME]: 'NOT_SERVING' });
  private timer: NodeJS.Timeout | null = null;
  private last: Serving = { node: 'NOT_SERVING', sql: 'NOT_SERVING' };

  constructor(private readonly read: () => ReplicaStatus) {}

  addToServer(server: grpc.Server): void {
    this.impl.addToServer(server);
  }

  /** Follows the node's status every `everyMs` (Watch streams see each change). */
  start(everyMs: number): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.impl.setStatus('', 'NOT_SERVING');
    this.impl.setStatus(SQL_SERVICE_NAME, 'NOT_SERVING');
  }

  refresh(): void {
    const next = servingOf(this.read());
    if (next.node !== this.last.node) this.impl.setStatus('', next.node);
    if (next.sql !== this.last.sql) this.impl.setStatus(SQL_SERVICE_NAME, next.sql);
    this.last = next;
  }
}
