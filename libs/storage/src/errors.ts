/**
 * The one error type of libs/storage. `code` says what the caller can do about it:
 * - `corrupt`: the bytes on disk are damaged; the node must not start on them (an operator restores).
 * - `io`: the operating system refused a read, write or sync; the store is unusable afterwards.
 * - `bad_state`: the call does not fit the store's state (closed, failed, a reset in progress).
 * - `bad_input`: the arguments are invalid (non-contiguous records, a snapshot behind the log, …).
 */
import { CodedError } from '@quorumlite/errors';

export type StorageErrorCode = 'corrupt' | 'io' | 'bad_state' | 'bad_input';

export interface StorageErrorOptions {
  readonly file?: string;
  readonly offset?: number;
  readonly cause?: unknown;
}

export class StorageError extends CodedError<StorageErrorCode> {
  readonly file?: string;
  readonly offset?: number;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    if (options.file !== undefined) this.file = options.file;
    if (options.offset !== undefined) this.offset = options.offset;
  }
}

/** Wraps an operating-system failure, keeping it as `cause` and naming the file. */
export function ioError(action: string, file: string, cause: unknown): StorageError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StorageError('io', `could not ${action} ${file}: ${reason}`, { file, cause });
}

export function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}
