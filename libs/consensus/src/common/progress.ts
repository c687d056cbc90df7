/**
 * What the leader knows about one peer's log (etcd tracker/progress.go + inflights.go).
 *
 * probe:     we do not know where the peer's log ends; send one append, then wait for its answer.
 * replicate: the peer is caught up to `match`; stream appends optimistically (advancing `next`),
 *            at most `maxInflight` unacknowledged messages at once.
 * snapshot:  the peer needs a snapshot; send nothing until it answers or the send is reported failed.
 */
import { logIndex, type LogIndex } from '../contract';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A ring of the last index of each append in flight, oldest first. */
export class Inflights {
  private readonly ring: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`inflights: capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<number>(capacity).fill(0);
  }

  size(): number {
    return this.count;
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights: add to a full window');
    const newest = this.count > 0 ? this.ring[(this.start + this.count - 1) % this.capacity] : undefined;
    if (newest !== undefined && lastIndex <= newest) throw new Error(`inflights: index ${lastIndex} does not follow ${newest}`);
    this.ring[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Acknowledge every message whose last index is ≤ `index`. */
  freeLE(index: number): void {
    while (this.count > 0 && (this.ring[this.start] ?? Infinity) <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  freeFirstOne(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an append is out; wait for its answer (or a heartbeat answer) first. */
  probeSent = false;
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state, to retry a snapshot whose loss nobody reported. */
  snapshotElapsedTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /**
   * The leader's tick count when this peer last answered. Unlike recentActive it is not
   * cleared every election timeout, so it tells how long a peer has been silent. Never, until
   * it first answers: a peer not yet heard from is not taken for a live one.
   */
  heardAtTick = Number.NEGATIVE_INFINITY;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsedTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the peer has at least the snapshot (if it was installed).
    const from = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.resetState('probe');
    this.next = from + 1;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** The peer answered an append or a heartbeat at leader tick `tick`. */
  heard(tick: number): void {
    this.recentActive = true;
    this.heardAtTick = tick;
  }

  /** The peer acknowledged up to `n`; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The peer rejected an append at `rejected`; `hint` is where our logs may agree. Returns
   * false when the rejection is stale (answers an older probe).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The peer no longer holds what it acknowledged: it lost its data directory and rejoins,
   * holding records up to `held` at most. Probe again from there; its old match counts no more.
   */
  forgetMatch(held: number): void {
    this.match = 0;
    this.resetState('probe');
    this.next = held + 1;
  }

  /** An append carrying `count` entries ending at `lastIndex` was sent. */
  sentEntries(count: number, lastIndex: number): void {
    switch (this.state) {
      case 'replicate':
        if (count > 0) {
          this.next = lastIndex + 1;
          this.inflights.add(lastIndex);
        }
        return;
      case 'probe':
        // Any append in probe state is a probe: wait for its answer.
        this.probeSent = true;
        return;
      case 'snapshot':
        throw new Error('progress: append sent to a peer in snapshot state');
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  check(lastIndex: number, who: string): void {
    if (this.match > lastIndex) throw new Error(`progress ${who}: match ${this.match} > last index ${lastIndex}`);
    if (this.next <= this.match) throw new Error(`progress ${who}: next ${this.next} ≤ match ${this.match}`);
    if (this.next > lastIndex + 1) throw new Error(`progress ${who}: next ${this.next} > last index + 1 (${lastIndex + 1})`);
  }

  view(): { readonly match: LogIndex; readonly next: LogIndex; readonly state: string } {
    return { match: logIndex(this.match), next: logIndex(this.next), state: this.state };
  }
}
