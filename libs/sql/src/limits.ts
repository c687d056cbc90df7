/**
 * Every size the SQL layer accepts has a named maximum. Checked by prepare() (before the log)
 * and query(); dedupWindowEntries is used by apply and so must be the same on every replica.
 */
export const SQL_LIMITS = {
  /** UTF-8 bytes of one statement's SQL text as the client sent it. */
  statementBytesMax: 1024 * 1024,
  /** Statements in one Execute, after splitting 'a; b' scripts. */
  statementsPerRequestMax: 10_000,
  /** Bound values (positional + named) of one statement (SQLite's historical default). */
  paramsPerStatementMax: 999,
  /** Encoded size of the whole command that goes into the log. */
  requestBytesMax: 2 * 1024 * 1024,
  /** Rows one query may return; more are cut and the result says truncated. */
  resultRowsMax: 100_000,
  /** Approximate bytes of one query's rows (values' sizes); more are cut. */
  resultBytesMax: 32 * 1024 * 1024,
  /** UTF-8 bytes of a request id. */
  requestIdBytesMax: 128,
  /** A request id is remembered for this many log entries after the one that applied it. */
  dedupWindowEntries: 100_000,
};

export type SqlLimits = typeof SQL_LIMITS;

/** Limits a node's config sets; the others are fixed. */
const CONFIGURABLE_LIMITS: ReadonlySet<keyof SqlLimits> = new Set<keyof SqlLimits>([
  'statementBytesMax',
  'statementsPerRequestMax',
  'paramsPerStatementMax',
  'requestBytesMax',
  'resultRowsMax',
  'resultBytesMax',
]);

/**
 * How an error names a limit: the node flag that sets it (libs/config declares every limit as
 * --limit-<name in kebab case>), which is what an operator can change, or 'fixed'.
 */
export function limitName(name: keyof SqlLimits): string {
  if (!CONFIGURABLE_LIMITS.has(name)) return 'fixed';
  return `--limit-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `1 value`, `2 values`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export interface SqlOptions {
  limits?: Partial<SqlLimits>;
}

export function resolveLimits(options: SqlOptions | undefined): SqlLimits {
  const limits = { ...SQL_LIMITS, ...(options?.limits ?? {}) };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`SQL limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}
