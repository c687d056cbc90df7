/**
 * Peers being sent a snapshot file, which the node's own snapshots wait for.
 *
 * A snapshot copies nothing, so a file of the database is made only for a peer behind the
 * log's cut. That peer installs the file, then needs the records after it: a snapshot of the
 * node's own would cut them, and the core would then name an index no file holds — a second
 * whole copy for the same peer, and on a large database under load, one after another with
 * the peer never caught up. So while a peer is held, the node takes no snapshot (unless its
 * log reaches snapshotLogBytesMax, the bound on memory).
 *
 * A peer is held from the copy made for it, or a file sent to it, until it is back within the
 * records a cut keeps (its match at or past both the file's index and the given floor), or
 * until it gives no news for `holdMs` with no transfer to it under way and no wait after failed
 * ones (below). News is the copy, a transfer that succeeded, a match that grew, or a transfer
 * that failed after running a while (the peer was there). A transfer that fails at once is no
 * news: Multi-Paxos sends to a peer that is down on every round, and that must not keep the log
 * from being cut.
 *
 * A peer whose last transfer failed gets no new copy for `holdMs`: such a peer costs a copy of
 * the database a minute or so, not one per cut.
 *
 * Nor is a file sent again at once after transfers that fail in a row (a receiver that refuses
 * it, a full disk): after the n-th, the peer waits 2^(n-1) times as long as that transfer ran,
 * up to TRANSFER_BACKOFF_TIMES_MAX times and at most holdMs — failing transfers have the link
 * half the time, then a third, a fifth, down to a seventeenth (more for those whose wait the
 * holdMs bound cuts short). A transfer that fails at once (a peer refusing connections) costs a
 * wait as short, so a peer coming back is sent its file at once. Transfers to one peer that end
 * together (the cores re-send while one runs) count once, when the last ends; one that succeeds
 * ends the count, and so does a holdMs after a wait ends without another failure. Meanwhile the
 * core's sends fail at once, as when no file exists yet, and it tries again at its own pace; and
 * the peer stays held, so no cut makes its file useless while it waits.
 */

/** The most times as long as a failed transfer ran that its peer waits before the next. */
export const TRANSFER_BACKOFF_TIMES_MAX = 16;

/** One held peer: the file's index, transfers in flight, the last news of it, its match (-1: not read yet). */
interface Hold {
  index: number;
  inflight: number;
  sendingSinceMs: number;
  lastMs: number;
  match: number;
}

export class PeerHolds {
  private readonly holds = new Map<string, Hold>();
  private readonly failedAt = new Map<string, number>();
  /** Peers whose transfers failed in a row: how many, and until when none is sent to them. */
  private readonly backoff = new Map<string, { failures: number; untilMs: number }>();

  constructor(
    /** A monotonic clock, in milliseconds. */
    private readonly now: () => number,
    private readonly holdMs: number,
  ) {}

  /** A file at `index` was made for `to`. */
  copied(to: string, index: number): void {
    const h = this.hold(to);
    h.index = index;
    h.lastMs = this.now();
  }

  /** A file at `index` starts on its way to `to`. */
  sending(to: string, index: number): void {
    const h = this.hold(to);
    h.index = index;
    if (h.inflight === 0) h.sendingSinceMs = this.now();
    h.inflight++;
  }

  /** A transfer to `to` ended: the peer has the file (checked), or it does not. */
  ended(to: string, ok: boolean): void {
    const now = this.now();
    const h = this.holds.get(to);
    const ranMs = h === undefined ? 0 : now - h.sendingSinceMs;
    if (h !== undefined) {
      h.inflight = Math.max(0, h.inflight - 1);
      if (ok || ranMs >= this.longTransferMs()) h.lastMs = now;
    }
    if (ok) {
      this.failedAt.delete(to);
      this.backoff.delete(to);
      return;
    }
    this.failedAt.set(to, now);
    // Another transfer to it still runs: the last one counts. No hold: the peer caught up while
    // this one ran (or the hold lapsed), and how long it ran is not known.
    if (h === undefined || h.inflight > 0) return;
    const before = this.backoff.get(to);
    const failures = before !== undefined && now - before.untilMs < this.holdMs ? before.failures + 1 : 1;
    const times = Math.min(2 ** (failures - 1), TRANSFER_BACKOFF_TIMES_MAX);
    this.backoff.set(to, { failures, untilMs: now + Math.min(ranMs * times, this.holdMs) });
  }

  /** Whether a file may be sent to `to` now: not while it waits after transfers that failed. */
  maySendTo(to: string): boolean {
    const b = this.backoff.get(to);
    return b === undefined || this.now() >= b.untilMs;
  }

  /** Whether a new copy may be made for `to`: not within holdMs of a transfer to it that failed. */
  mayCopyFor(to: string): boolean {
    const failed = this.failedAt.get(to);
    if (failed === undefined) return true;
    if (this.now() - failed < this.holdMs) return false;
    this.failedAt.delete(to);
    return true;
  }

  /**
   * Whether any peer is held. `match` is the highest index a peer is known to hold; `floor` the
   * lowest match from which the next cut would still keep every record the peer needs.
   */
  holding(match: (to: string) => number, floor: number): boolean {
    const now = this.now();
    this.forgetSpent(now);
    if (this.holds.size === 0) return false;
    for (const [to, h] of this.holds) {
      const m = match(to);
      // The first reading is where the peer stood, not news.
      if (h.match >= 0 && m > h.match) h.lastMs = now;
      h.match = Math.max(h.match, m);
      const waiting = !this.maySendTo(to); // a wait after failed transfers is one under way
      if (m >= Math.max(h.index, floor) || (h.inflight === 0 && !waiting && now - h.lastMs >= this.holdMs)) this.holds.delete(to);
    }
    return this.holds.size > 0;
  }

  /** Peers the holds keep any record of (a hold, a failure, a wait): those of the last holdMs. */
  peersTracked(): number {
    return new Set([...this.holds.keys(), ...this.failedAt.keys(), ...this.backoff.keys()]).size;
  }

  /**
   * Drops failures and waits that no longer count (holdMs past them: each rule reads them as
   * absent then), so a peer removed from the cluster leaves nothing behind.
   */
  private forgetSpent(now: number): void {
    for (const [to, failed] of this.failedAt) if (now - failed >= this.holdMs) this.failedAt.delete(to);
    for (const [to, b] of this.backoff) if (now - b.untilMs >= this.holdMs) this.backoff.delete(to);
  }

  /** A transfer that fails after running this long found the peer there. */
  private longTransferMs(): number {
    return this.holdMs / 10;
  }

  /** The hold of `to`, made if there is none: a send alone is no news (the peer may be down). */
  private hold(to: string): Hold {
    let h = this.holds.get(to);
    if (h === undefined) {
      h = { index: 0, inflight: 0, sendingSinceMs: this.now(), lastMs: -Infinity, match: -1 };
      this.holds.set(to, h);
    }
    return h;
  }
}
