import { describe, expect, it } from 'vitest';
import { PeerHolds } from './peer-holds';

describe('PeerHolds', () => {
  it('holds a peer from its copy until it is back within the records a cut keeps', () => {
    let now = 0;
    const holds = new PeerHolds(() => now, 1_000);
    const match: Record<string, number> = { a: 10 };
    const held = (floor: number): boolean => holds.holding((to) => match[to] ?? 0, floor);
    expect(held(0)).toBe(false);
    holds.copied('a', 50);
    now = 900;
    expect(held(0)).toBe(true);
    holds.sending('a', 50);
    now = 5_000; // a long transfer: held while it is under way
    expect(held(0)).toBe(true);
    holds.ended('a', true);
    now = 5_900;
    match['a'] = 50; // installed, but the log has gone on: the next cut would keep from 81 on
    expect(held(80)).toBe(true);
    now = 6_800; // its match grew at 5,900: news
    expect(held(80)).toBe(true);
    match['a'] = 80;
    expect(held(80)).toBe(false);
  });

  it('lets a hold lapse after holdMs without news and nothing in flight', () => {
    let now = 0;
    const holds = new PeerHolds(() => now, 1_000);
    holds.copied('b', 60);
    expect(holds.holding(() => 10, 0)).toBe(true);
    now = 999;
    expect(holds.holding(() => 10, 0)).toBe(true);
    now = 1_000;
    expect(holds.holding(() => 10, 0)).toBe(false);
  });

  it('takes a send that fails at once as no news: a peer that is down does not keep the log from being cut', () => {
    let now = 0;
    const holds = new PeerHolds(() => now, 1_000);
    // Sends alone, each failing at once: held only while one is under way.
    for (; now < 3_000; now += 50) {
      holds.sending('c', 70);
      expect(holds.holding(() => 5, 0)).toBe(true);
      holds.ended('c', false);
      expect(holds.holding(() => 5, 0)).toBe(false);
    }
    // A transfer that ran a while before it failed found the peer there: held for holdMs more.
    holds.sending('c', 70);
    now += 100;
    holds.ended('c', false);
    now += 999;
    expect(holds.holding(() => 5, 0)).toBe(true);
    now += 1;
    expect(holds.holding(() => 5, 0)).toBe(false);
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
  });
});
