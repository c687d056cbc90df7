/**
 * The dedup window: a request id seen within the last dedupWindowEntries log indices answers
 * a retry with its first outcome instead of running again. It is a pure function of the log,
 * so every replica agrees on it.
 */
import { randomBytes } from 'node:crypto';
import { decodeOutcome, encodeOutcome } from './codec';
import type { Internal } from './connections';
import { IntMap } from './int-map';
import type { ApplyOutcome } from './types';

/**
 * Where the dedup table's rows are, by a 30-bit hash of their request ids: the log index
 * of each hash's newest row, and of its older ones (the same id again after it left the
 * window, or another id with the same hash) in `older`. The table is keyed by log index —
 * appends at its right edge, prunes at its left — so it needs no second index: this map is
 * how a request id finds its row, and a new id (nearly every write) costs no lookup at all.
 * Numbers, not the ids themselves: a window of 100,000 ids held as strings took about 16 MB
 * of a node's memory, and as a Map of numbers 7.3 MB (IntMap: 3.1). A hash that matches is
 * confirmed against the row's own id.
 */
export class RequestWindow {
  private newest = new IntMap();
  private older = new Map<number, number[]>();
  /**
   * Each process hashes with its own seed, so no one can choose ids that share a hash here
   * and make every write look through their rows (outcomes never depend on the hash: a match
   * is confirmed against the row, and the map is rebuilt from the table at open).
   */
  private readonly seed = randomBytes(4).readUInt32LE(0);

  constructor(
    private readonly internal: () => Internal,
    private readonly windowEntries: number,
  ) {}

  /** This window's hash of a request id: FNV-1a over its UTF-16 code units from the window's seed, to 30 bits. */
  hashOf(id: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    return h >>> 2;
  }

  /**
   * Seen within the window that ends at `index`: a pure function of the log, so every replica
   * agrees. With `digest`, a request whose body differs from the stored one's is refused
   * (not run, not recorded): the id was reused, and the first result would answer the wrong
   * request.
   */
  find(requestId: string, index: number, digest: Buffer | null): ApplyOutcome | null {
    const hash = this.hashOf(requestId);
    const before = this.older.get(hash);
    let k = before === undefined ? 0 : before.length;
    // Newest first (the loop seldom runs: a new id's hash is usually unknown): the first row of
    // this id is its newest; rows before the window are older still.
    for (let at = this.newest.get(hash); at !== undefined && at > index - this.windowEntries; at = k > 0 ? before![--k] : undefined) {
      const stored = this.internal().findRequest.get(at);
      if (stored === undefined) throw new Error(`the dedup table lost its row at index ${at} (request ${requestId})`);
      if (stored.request_id !== requestId) continue;
      if (digest !== null && stored.digest !== null && !digest.equals(stored.digest)) {
        const message = `request id ${JSON.stringify(requestId)} was already used at log index ${at} for different statements or parameters; a retry must resend the same request, a new request needs a new id`;
        return { ok: false, error: { code: 'invalid', message }, duplicate: false };
      }
      return { ...decodeOutcome(stored.outcome, true), originalIndex: at };
    }
    return null;
  }

  /** Records the outcome of a request applied at `index`, in the batch's transaction. */
  save(index: number, requestId: string, outcome: ApplyOutcome, digest: Buffer): void {
    this.internal().saveRequest.run(index, requestId, encodeOutcome(outcome), digest);
    this.note(this.newest, this.older, this.hashOf(requestId), index);
  }

  /** Drops rows at or below `index` (in whatever order SQLite returns them: forget() does not depend on it). */
  prune(index: number): void {
    for (const row of this.internal().pruneRequests.all(index)) this.forget(this.hashOf(row.request_id), Number(row.log_index));
  }

  /** Reads the window from the table: at open, after a rollback or a restore. */
  load(): void {
    const newest = new IntMap();
    const older = new Map<number, number[]>();
    // In index order, so each hash's newest row is the last one noted.
    for (const row of this.internal().allRequests.iterate()) this.note(newest, older, this.hashOf(row.request_id), Number(row.log_index));
    this.newest = newest;
    this.older = older;
  }

  /** How many rows the map knows (tests). */
  size(): number {
    let n = this.newest.size;
    for (const list of this.older.values()) n += list.length;
    return n;
  }

  /** `index` is newer than every row noted: find() walks each hash's rows newest first and stops at the window. */
  private note(newest: IntMap, older: Map<number, number[]>, hash: number, index: number): void {
    const previous = newest.get(hash);
    if (previous !== undefined) {
      if (previous >= index) throw new Error(`dedup: a row at index ${index} noted after one at ${previous}`);
      const list = older.get(hash);
      if (list === undefined) older.set(hash, [previous]);
      else list.push(previous);
    }
    newest.set(hash, index);
  }

  private forget(hash: number, index: number): void {
    const list = this.older.get(hash);
    if (this.newest.get(hash) === index) {
      const next = list?.pop();
      if (next === undefined) this.newest.delete(hash);
      else this.newest.set(hash, next);
    } else if (list !== undefined) {
      const at = list.indexOf(index);
      if (at >= 0) list.splice(at, 1);
    }
    if (list !== undefined && list.length === 0) this.older.delete(hash);
  }
}
