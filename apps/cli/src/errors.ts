/** Exit codes and the error a command raises for a bad command line. */
import { QuorumliteError } from '@quorumlite/client';

export const EXIT_OK = 0;
/** The node answered with an error (SQL error, refused, timeout, …). */
export const EXIT_REQUEST_ERROR = 1;
export const EXIT_USAGE = 2;
/** No node could be reached. */
export const EXIT_UNREACHABLE = 3;

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof QuorumliteError && e.code === 'unavailable') return EXIT_UNREACHABLE;
  return EXIT_REQUEST_ERROR;
}
