/**
 * The dedup window: a request id seen within the last dedupWindowEntries log indices answers
 * a retry with its first outcome instead of running again. It is a pure function of the log,
 * so every replica agrees on it.
 */
import { decodeOutcome, encodeOutcome } from './codec';
import type { Internal } from './connections';
import type { ApplyOutcome } from './types';

/**
 * The dedup table's request ids and the log index of each one's newest row, kept in step
 * with it (set with each saved outcome, cleared by each prune, reloaded after a rollback or
 * restore). The table is keyed by log index — appends at its right edge, prunes at its
 * left — so it needs no second index: this map is how a request id finds its row, and a
 * new id (nearly every write) costs no lookup at all.
 */
export class RequestWindow {
  private knownRequests = new Map<string, number>();

  constructor(
    private readonly internal: () => Internal,
    private readonly windowEntries: number,
  ) {}

  /**
   * Seen within the window that ends at `index`: a pure function of the log, so every replica
   * agrees. With `digest`, a request whose body differs from the stored one's is refused
   * (not run, not recorded): the id was reused, and the first result would answer the wrong
   * request.
   */
  find(requestId: string, index: number, digest: Buffer | null): ApplyOutcome | null {
    const at = this.knownRequests.get(requestId);
    if (at === undefined || at <= index - this.windowEntries) return null;
    const stored = this.internal().findRequest.get(at);
    if (stored === undefined) throw new Error(`the dedup table lost its row at index ${at} (request ${requestId})`);
    if (digest !== null && stored.digest !== null && !digest.equals(stored.digest)) {
      const message = `request id ${JSON.stringify(requestId)} was already used at log index ${at} for different statements or parameters; a retry must resend the same request, a new request needs a new id`;
      return { ok: false, error: { code: 'invalid', message }, duplicate: false };
    }
    return { ...decodeOutcome(stored.outcome, true), originalIndex: at };
  }

  /** Records the outcome of a request applied at `index`, in the batch's transaction. */
  save(index: number, requestId: string, outcome: ApplyOutcome, digest: Buffer): void {
    this.internal().saveRequest.run(index, requestId, encodeOutcome(outcome), digest);
    this.knownRequests.set(requestId, index);
  }

  /** Drops rows at or below `index`; a request id leaves the map only with its newest row. */
  prune(index: number): void {
    for (const row of this.internal().pruneRequests.all(index)) {
      if (this.knownRequests.get(row.request_id) === Number(row.log_index)) this.knownRequests.delete(row.request_id);
    }
  }

  /** Reads the window from the table: at open, after a rollback or a restore. */
  load(): void {
    const known = new Map<string, number>();
    // In index order, so a request id that appears twice maps to its newest row.
    for (const row of this.internal().allRequests.iterate()) known.set(row.request_id, Number(row.log_index));
    this.knownRequests = known;
  }
}
