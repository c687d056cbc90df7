/**
 * How much of the committed log one Ready hands the state machine. The driver applies a
 * Ready's records in one synchronous step on its event loop, and nothing else runs there
 * meanwhile: no message is read, no heartbeat answered, no fsync completion seen. Committed
 * records arrive in bursts (a quorum acknowledges everything a pipelined leader had in flight
 * at once: 256 statements of a hundred rows each are 25,600 rows), and one such burst applied
 * in one step held the loop for 100–300 ms on a loaded machine — longer than an election
 * timeout, so followers fell silent to their leader while alive. A byte budget bounds that
 * step to a few tens of milliseconds (SQLite applies a 12 KiB, 100-row command in about
 * 0.5 ms here); the rest goes to the next Ready, after the loop has served its I/O. At
 * least one record goes out per Ready, whatever its size.
 */
import type { Entry } from '../contract';

/** Most committed records handed to the state machine in one Ready. */
export const COMMITTED_ENTRIES_PER_READY_MAX = 4096;

/** Most bytes of committed records handed to the state machine in one Ready (at least one record). */
export const COMMITTED_BYTES_PER_READY_MAX = 256 * 1024;

/** The longest prefix of `entries` within `maxBytes` of record data, never empty unless `entries` is. */
export function withinBytes(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.data.byteLength;
    if (bytes > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}
