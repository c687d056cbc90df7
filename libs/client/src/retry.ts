/** Backoff between retries: exponential from a short start, capped, with jitter so clients spread out. */

export const RETRY_BACKOFF_START_MS = 20;
export const RETRY_BACKOFF_CAP_MS = 500;

/**
 * Delay before retry number `attempt` (1-based). `random` in [0, 1) supplies the jitter: the
 * delay is drawn from the upper half of the exponential step, so it never collapses to zero.
 */
export function backoffMs(attempt: number, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 16);
  const step = Math.min(RETRY_BACKOFF_CAP_MS, RETRY_BACKOFF_START_MS * 2 ** exponent);
  return Math.round(step / 2 + (step / 2) * random);
}
