/**
 * libs/errors — the one base class of the project's operating errors (an expected failure,
 * returned to a caller; a broken invariant throws a plain Error instead). Each layer's class
 * extends it with its own codes: a string `code` that a caller switches on and the edge maps
 * to a gRPC status, and the `cause` kept. It imports nothing, so every layer may import it.
 */
export class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Whether `e` is one of the project's operating errors, whatever its layer. */
export function isCodedError(e: unknown): e is CodedError {
  return e instanceof CodedError;
}
