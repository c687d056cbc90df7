/** A follower's forwarded reads: counted per id, bounded, settled once each, drained on a leader change. */
import { describe, expect, it } from 'vitest';
import { ForwardedReads, READS_PENDING_MAX } from './read-only';

describe('ForwardedReads', () => {
  it('settles each forward once, counting an id forwarded twice', () => {
    const f = new ForwardedReads();
    expect(f.add('a')).toBe(true);
    expect(f.add('a')).toBe(true);
    expect(f.add('b')).toBe(true);
    expect(f.size()).toBe(3);
    expect(f.settle('a')).toBe(true);
    expect(f.settle('a')).toBe(true);
    expect(f.settle('a')).toBe(false);
    expect(f.settle('never')).toBe(false);
    expect(f.size()).toBe(1);
  });

  it('refuses past its bound and drains every waiting forward once', () => {
    const f = new ForwardedReads();
    for (let i = 0; i < READS_PENDING_MAX; i++) expect(f.add(`r${i % 7}`)).toBe(true);
    expect(f.add('one-more')).toBe(false);
    const drained = f.drain();
    expect(drained).toHaveLength(READS_PENDING_MAX);
    expect(f.size()).toBe(0);
    expect(f.add('again')).toBe(true);
  });
});
