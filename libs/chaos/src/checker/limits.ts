import { CheckerError } from './history';

/**
 * Every search the checkers run has a named bound; exceeding one yields the verdict
 * 'unknown' with a reason that names the limit, never a hang or an exhausted heap.
 */
export const CHECKER_LIMITS = {
  /** WGL search steps (call attempts plus backtracks) for one key's history. */
  searchStepsMaxPerKey: 20_000_000,
  /** Approximate bytes of the memo of (linearized set, state) pairs for one key. */
  cacheBytesMaxPerKey: 256 * 1024 * 1024,
  /** Ops of one key's history that shrinking a failure to a smaller witness will try. */
  shrinkOpsMax: 2_000,
  /** Re-checks spent shrinking one failure; each re-check gets searchStepsMaxShrink. */
  shrinkChecksMax: 300,
  /** Search steps per shrinking re-check (a re-check over the bound keeps the op). */
  searchStepsMaxShrink: 200_000,
  /** Bank: steps of the search that explains one read by a subset of the transfers. */
  subsetSearchStepsMax: 1_000_000,
  /**
   * Bank: transfers that may or may not be in one read's explanation; the per-pair subset
   * sums cost about (transfers × their summed amounts) each.
   */
  subsetTransfersMax: 1_000,
  /** Anomalies a result lists (the count is always exact). */
  anomaliesMax: 100,
};

export type CheckerLimits = typeof CHECKER_LIMITS;

export function resolveLimits(overrides: Partial<CheckerLimits> | undefined): CheckerLimits {
  const limits = { ...CHECKER_LIMITS, ...(overrides ?? {}) };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new CheckerError('invalid_limit', `checker limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}
