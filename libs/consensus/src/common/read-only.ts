/**
 * Leader-side ReadIndex bookkeeping (Raft thesis §6.4, etcd read_only.go).
 *
 * Each read gets a sequence number and the commit index at the time it arrived. Heartbeats
 * carry the newest sequence number; a voter's answer to a heartbeat carrying `s` proves we
 * were still leader after every read with seq ≤ s arrived. A read is safe once a majority
 * (counting ourselves) has acknowledged its seq.
 */
import type { LogIndex, NodeId } from '../contract';
import { quorumValue } from './quorum';

/** Where the answer goes: our own Ready (local) or a follower that forwarded the request. */
export interface ReadRequest {
  readonly requestId: string;
  /** null: requested on this node. */
  readonly origin: NodeId | null;
}

export interface ConfirmedRead extends ReadRequest {
  readonly index: LogIndex;
}

interface PendingRead extends ConfirmedRead {
  readonly seq: number;
}

export class ReadOnly {
  private seq = 0;
  private readonly acked = new Map<NodeId, number>();
  private pending: PendingRead[] = [];

  constructor(
    private readonly self: NodeId,
    private voters: readonly NodeId[],
  ) {}

  /**
   * The configuration changed (membership at runtime): pending rounds are confirmed by a
   * quorum of the voters now in effect, the ones a leader's commits are counted by.
   */
  setVoters(voters: readonly NodeId[]): void {
    this.voters = voters;
  }

  /** The newest read round, carried by every heartbeat. */
  currentSeq(): number {
    return this.seq;
  }

  size(): number {
    return this.pending.length;
  }

  add(request: ReadRequest, index: LogIndex): void {
    this.seq++;
    this.pending.push({ ...request, index, seq: this.seq });
  }

  /** Record a voter's acknowledgement of round `seq` and return the reads it made safe. */
  ack(from: NodeId, seq: number): ConfirmedRead[] {
    // A round we never sent can only come from a confused peer; it proves nothing.
    if (seq > this.seq) return [];
    if (seq > (this.acked.get(from) ?? 0)) this.acked.set(from, seq);
    return this.release();
  }

  /** Reads confirmed by a majority (at once in a single-voter cluster). */
  release(): ConfirmedRead[] {
    const safe = quorumValue(this.voters, (id) => (id === this.self ? this.seq : (this.acked.get(id) ?? 0)));
    let n = 0;
    while (n < this.pending.length && (this.pending[n]?.seq ?? Infinity) <= safe) n++;
    if (n === 0) return [];
    const done = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    return done.map(({ requestId, origin, index }) => ({ requestId, origin, index }));
  }

  /** Leadership lost: hand back every pending read so the caller can fail it. */
  drain(): ReadRequest[] {
    const out = this.pending.map(({ requestId, origin }) => ({ requestId, origin }));
    this.pending = [];
    return out;
  }
}

/** Most read requests a node keeps waiting: for confirmation (leader) or for the leader's answer (follower). */
export const READS_PENDING_MAX = 10_000;

/**
 * A non-leader's reads forwarded to the leader, by request id (counted: the same id may be
 * forwarded twice), bounded by READS_PENDING_MAX. Every protocol's follower keeps one.
 */
export class ForwardedReads {
  private readonly pending = new Map<string, number>();
  private total = 0;

  size(): number {
    return this.total;
  }

  /** Records one more forward of `requestId`; false (nothing recorded) when the bound is reached. */
  add(requestId: string): boolean {
    if (this.total >= READS_PENDING_MAX) return false;
    this.pending.set(requestId, (this.pending.get(requestId) ?? 0) + 1);
    this.total++;
    return true;
  }

  /** The leader answered `requestId`: true when one of ours was waiting (then it no longer is). */
  settle(requestId: string): boolean {
    const n = this.pending.get(requestId);
    if (n === undefined) return false;
    if (n > 1) this.pending.set(requestId, n - 1);
    else this.pending.delete(requestId);
    this.total--;
    return true;
  }

  /** The leader changed or went away: every waiting read, once per forward, to be failed. */
  drain(): string[] {
    const out: string[] = [];
    for (const [requestId, n] of this.pending) for (let i = 0; i < n; i++) out.push(requestId);
    this.pending.clear();
    this.total = 0;
    return out;
  }
}
