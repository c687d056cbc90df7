/**
 * Peers being sent a snapshot file, which the node's own snapshots wait for.
 *
 * A snapshot copies nothing, so a file of the database is made only for a peer behind the
 * log's cut. That peer installs the file, then needs the records after it: a snapshot of the
 * node's own would cut them, and the core would then name an index no file holds — a second
 * whole copy for the same peer, and on a large database under load, one after another with
 * the peer never caught up. So while a peer is held, the node takes no snapshot (unless its
 * log reaches snapshotLogBytesMax, the bound on memory). A peer is held from the copy made
 * for it, or a file sent to it, until it holds the file's index, or until no transfer to it
 * is under way and none was made or succeeded for `holdMs`.
 *
 * A peer whose last transfer failed gets no new copy for `holdMs` (Multi-Paxos sends to a
 * peer that is down): such a peer costs a copy of the database a minute or so, not one per cut.
 */
export class PeerHolds {
  private readonly holds = new Map<string, { index: number; inflight: number; lastMs: number }>();
  private readonly failedAt = new Map<string, number>();

  constructor(
    /** A monotonic clock, in milliseconds. */
    private readonly now: () => number,
    private readonly holdMs: number,
  ) {}

  /** A file at `index` was made for `to`. */
  copied(to: string, index: number): void {
    const h = this.holds.get(to);
    this.holds.set(to, { index, inflight: h?.inflight ?? 0, lastMs: this.now() });
  }

  /** A file at `index` starts on its way to `to`. */
  sending(to: string, index: number): void {
    const h = this.holds.get(to);
    this.holds.set(to, { index, inflight: (h?.inflight ?? 0) + 1, lastMs: this.now() });
  }

  /** A transfer to `to` ended: the peer has the file (checked), or it does not. */
  ended(to: string, ok: boolean): void {
    const h = this.holds.get(to);
    if (h !== undefined) {
      h.inflight = Math.max(0, h.inflight - 1);
      if (ok) h.lastMs = this.now();
    }
    if (ok) this.failedAt.delete(to);
    else this.failedAt.set(to, this.now());
  }

  /** Whether a new copy may be made for `to`: not within holdMs of a transfer to it that failed. */
  mayCopyFor(to: string): boolean {
    const failed = this.failedAt.get(to);
    if (failed === undefined) return true;
    if (this.now() - failed < this.holdMs) return false;
    this.failedAt.delete(to);
    return true;
  }

  /** Whether any peer is held; `match` is the highest index a peer is known to hold. */
  holding(match: (to: string) => number): boolean {
    const now = this.now();
    for (const [to, h] of this.holds) {
      if (match(to) >= h.index || (h.inflight === 0 && now - h.lastMs >= this.holdMs)) this.holds.delete(to);
    }
    return this.holds.size > 0;
  }
}
