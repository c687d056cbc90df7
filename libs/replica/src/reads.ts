/**
 * Reads: when a query may run at each consistency level, and the read-index rounds that
 * confirm a linearizable one. All linearizable reads that arrived since the last round share
 * one `readIndex` request to the core.
 */
import type { ReadFailure, ReadState } from '@quorumlite/consensus';
import { readFailed, ReplicaError } from './errors';
import type { IndexWaiters } from './index-waiters';
import type { ReadRequest, Timer } from './ports';

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (e: unknown) => void;
}

export interface ReadsHost {
  /** Records applied on this node, and the waits for them. */
  readonly applied: IndexWaiters;
  /** The commit index the core knows now. */
  commitIndex(): number;
  now(): number;
  /** The driver's timers (Clock.after): virtual time in a simulation. */
  after(ms: number, fn: () => void): Timer;
  /** A read is queued: the loop should run a round. */
  kick(): void;
  leaderAddress(leaderId: string): string | null;
}

export class Reads {
  private readonly queued: PendingRead[] = [];
  private readonly batches = new Map<string, PendingRead[]>();
  private batchSeq = 0;

  constructor(private readonly host: ReadsHost) {}

  /** Waits until this node may answer `request` at its consistency level from what it applied. */
  async awaitConsistency(request: ReadRequest): Promise<void> {
    switch (request.consistency) {
      case 'stale': {
        const lag = this.host.commitIndex() - this.host.applied.value();
        if (request.maxLagEntries > 0 && lag > request.maxLagEntries) {
          throw new ReplicaError('stale', `this node is ${lag} entries behind (max_lag_entries ${request.maxLagEntries})`);
        }
        break;
      }
      case 'session':
        await this.waitApplied(request.minIndex, request.timeoutMs);
        break;
      case 'linearizable': {
        const deadlineMs = this.host.now() + request.timeoutMs;
        const index = await this.readIndex(request.timeoutMs);
        await this.waitApplied(index, Math.max(1, deadlineMs - this.host.now()));
        break;
      }
    }
  }

  /** Reads wait for a read-index round. */
  hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** The id of a read-index round for every read queued since the last one, or null when none is. */
  nextRound(): string | null {
    if (this.queued.length === 0) return null;
    const id = `r${++this.batchSeq}`;
    this.batches.set(id, this.queued.splice(0));
    return id;
  }

  /** What a Ready says of read-index rounds: the index each may read at, or why it failed. */
  settle(readStates: readonly ReadState[], readFailures: readonly ReadFailure[]): void {
    for (const rs of readStates) {
      for (const read of this.batches.get(rs.requestId) ?? []) read.resolve(rs.index);
      this.batches.delete(rs.requestId);
    }
    for (const rf of readFailures) {
      const error = readFailed(rf, rf.leader ? this.host.leaderAddress(rf.leader) : null);
      for (const read of this.batches.get(rf.requestId) ?? []) read.reject(error);
      this.batches.delete(rf.requestId);
    }
  }

  /** The core that was asked is gone (rebuilt): its rounds will never be answered. */
  failRounds(error: ReplicaError): void {
    for (const batch of this.batches.values()) for (const read of batch) read.reject(error);
    this.batches.clear();
  }

  failAll(error: ReplicaError): void {
    for (const r of this.queued.splice(0)) r.reject(error);
    this.failRounds(error);
  }

  private readIndex(timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const timer = this.host.after(timeoutMs, () => {
        if (done) return;
        done = true;
        reject(new ReplicaError('timeout', `no read index within ${timeoutMs} ms (is a quorum reachable?)`));
      });
      this.queued.push({
        resolve: (index) => {
          if (done) return;
          done = true;
          timer.cancel();
          resolve(index);
        },
        reject: (e) => {
          if (done) return;
          done = true;
          timer.cancel();
          reject(e);
        },
      });
      this.host.kick();
    });
  }

  private waitApplied(index: number, timeoutMs: number): Promise<void> {
    return this.host.applied.wait(
      index,
      timeoutMs,
      () => new ReplicaError('timeout', `this node has not applied index ${index} within ${timeoutMs} ms (applied ${this.host.applied.value()})`),
    );
  }
}
