import { describe, expect, it } from 'vitest';
import { CodedError, isCodedError } from './index';

describe('CodedError', () => {
  it('keeps its code, message and cause, and is told apart from a plain Error', () => {
    const cause = new Error('disk');
    const e = new CodedError('io', 'write failed', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('io');
    expect(e.message).toBe('write failed');
    expect(e.cause).toBe(cause);
    expect(isCodedError(e)).toBe(true);
    expect(isCodedError(new Error('x'))).toBe(false);
  });
});
