import { describe, expect, it } from 'vitest';
import { PeerHolds } from './peer-holds';

describe('PeerHolds', () => {
  it('holds a peer from its copy until it holds the index, or until it falls silent with nothing in flight', () => {
    let now = 0;
    const holds = new PeerHolds(() => now, 1_000);
    const match: Record<string, number> = { a: 10, b: 10 };
    expect(holds.holding((to) => match[to] ?? 0)).toBe(false);
    holds.copied('a', 50);
    now = 900;
    expect(holds.holding((to) => match[to] ?? 0)).toBe(true);
    holds.sending('a', 50);
    now = 5_000; // a long transfer: still held while it is under way
    expect(holds.holding((to) => match[to] ?? 0)).toBe(true);
    holds.ended('a', true);
    now = 5_900; // the peer installs it
    expect(holds.holding((to) => match[to] ?? 0)).toBe(true);
    match['a'] = 50;
    expect(holds.holding((to) => match[to] ?? 0)).toBe(false);

    holds.copied('b', 60);
    now = 6_899;
    expect(holds.holding((to) => match[to] ?? 0)).toBe(true);
    now = 6_900; // no transfer, no news for holdMs
    expect(holds.holding((to) => match[to] ?? 0)).toBe(false);
  });

  it('makes no new copy for a peer within holdMs of a transfer to it that failed', () => {
    let now = 0;
    const holds = new PeerHolds(() => now, 1_000);
    expect(holds.mayCopyFor('a')).toBe(true);
    holds.sending('a', 50);
    holds.ended('a', false);
    now = 999;
    expect(holds.mayCopyFor('a')).toBe(false);
    expect(holds.mayCopyFor('b')).toBe(true);
    now = 1_000;
    expect(holds.mayCopyFor('a')).toBe(true);
    holds.sending('a', 70);
    holds.ended('a', false);
    holds.sending('a', 70);
    holds.ended('a', true);
    expect(holds.mayCopyFor('a')).toBe(true);
    // A failed transfer ends the wait for it: with nothing in flight the hold runs out.
    now = 2_000;
    expect(holds.holding(() => 0)).toBe(false);
  });
});
