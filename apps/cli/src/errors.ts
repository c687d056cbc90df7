/** Exit codes and the error a command raises for a bad command line. */
import { QuorumliteError } from '@quorumlite/client';
import { CodedError } from '@quorumlite/errors';

export const EXIT_OK = 0;
/** The node answered with an error (SQL error, refused, timeout, …). */
export const EXIT_REQUEST_ERROR = 1;
export const EXIT_USAGE = 2;
/** No node could be reached. */
export const EXIT_UNREACHABLE = 3;

export class UsageError extends CodedError<'usage'> {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof QuorumliteError && e.code === 'unavailable') return EXIT_UNREACHABLE;
  return EXIT_REQUEST_ERROR;
}
