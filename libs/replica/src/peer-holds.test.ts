import { describe, expect, it } from 'vitest';
import { PeerHolds, TRANSFER_BACKOFF_TIMES_MAX } from './peer-holds';

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

  /** A PeerHolds on a clock the test moves; `fail` is a transfer to `to` that fails after `ranMs`. */
  const onClock = (holdMs: number) => {
    const clock = { now: 0 };
    const holds = new PeerHolds(() => clock.now, holdMs);
    const fail = (to: string, ranMs: number): void => {
      holds.sending(to, 40);
      clock.now += ranMs;
      holds.ended(to, false);
    };
    return { clock, holds, fail };
  };

  it('after transfers that fail in a row, waits twice as long each time as the transfer ran, at most holdMs; a success ends it', () => {
    const { clock, holds, fail } = onClock(10_000);
    const waits = (ms: number): boolean => {
      clock.now += ms - 1;
      const blocked = !holds.maySendTo('d');
      clock.now += 1;
      return blocked && holds.maySendTo('d');
    };
    expect(holds.maySendTo('d')).toBe(true);
    fail('d', 1_000); // the first: a wait as long as it ran
    expect(waits(1_000)).toBe(true);
    fail('d', 1_000); // the second: twice that
    expect(waits(2_000)).toBe(true);
    fail('d', 3_000); // the third: four times 3 s, at most holdMs
    expect(waits(10_000)).toBe(true);
    expect(holds.maySendTo('e')).toBe(true); // other peers are not held back
    holds.sending('d', 40);
    clock.now += 500;
    holds.ended('d', true); // a success ends the count
    fail('d', 100);
    expect(waits(100)).toBe(true);
  });

  it('a transfer that fails at once (the peer is down) costs a wait as short, however many fail in a row', () => {
    const { clock, holds, fail } = onClock(60_000);
    for (let i = 0; i < 40; i++) fail('f', 2);
    // Forty in a row, each 2 ms: the wait is 2 ms × TRANSFER_BACKOFF_TIMES_MAX, not minutes.
    clock.now += 2 * TRANSFER_BACKOFF_TIMES_MAX - 1;
    expect(holds.maySendTo('f')).toBe(false);
    clock.now += 1;
    expect(holds.maySendTo('f')).toBe(true);
  });

  it('counts transfers to one peer that end together once, when the last ends', () => {
    const { clock, holds } = onClock(10_000);
    holds.sending('g', 40);
    clock.now += 500;
    holds.sending('g', 40); // the core re-sent while the first ran
    holds.sending('g', 40);
    clock.now += 500;
    holds.ended('g', false);
    holds.ended('g', false);
    expect(holds.maySendTo('g')).toBe(true); // one still runs: nothing counted yet
    holds.ended('g', false);
    clock.now += 999; // one failure: a wait as long as the first ran
    expect(holds.maySendTo('g')).toBe(false);
    clock.now += 1;
    expect(holds.maySendTo('g')).toBe(true);
  });

  it('starts the count again after holdMs without a failure', () => {
    const { clock, holds, fail } = onClock(10_000);
    fail('h', 1_000);
    clock.now += 1_000;
    fail('h', 1_000); // the second in a row: 2 s
    clock.now += 1_999;
    expect(holds.maySendTo('h')).toBe(false);
    clock.now += 10_000;
    fail('h', 1_000); // more than holdMs after the last: the first again, 1 s
    clock.now += 1_000;
    expect(holds.maySendTo('h')).toBe(true);
  });

  it('keeps a peer that waits after failed transfers held, though the failures were no news', () => {
    const { clock, holds, fail } = onClock(10_000);
    holds.copied('i', 40);
    // Transfers that fail after 900 ms (no news: under holdMs / 10), four in a row: the last
    // wait is 7.2 s, and the copy was the last news 10 s before it ends.
    for (let i = 0; i < 4; i++) {
      fail('i', 900);
      if (i < 3) clock.now += 900 * 2 ** i;
    }
    clock.now += 7_000;
    expect(holds.maySendTo('i')).toBe(false);
    expect(clock.now).toBeGreaterThan(10_000);
    expect(holds.holding(() => 0, 0)).toBe(true);
    clock.now += 200; // the wait is over, and no news for holdMs: the hold lapses
    expect(holds.maySendTo('i')).toBe(true);
    expect(holds.holding(() => 0, 0)).toBe(false);
  });

  it('forgets failures and waits once they no longer count: a removed peer leaves nothing behind', () => {
    const { clock, holds, fail } = onClock(10_000);
    fail('j', 1_000);
    fail('j', 1_000); // a wait of 2 s from here
    holds.sending('k', 40);
    clock.now += 5_000;
    holds.ended('k', false);
    expect(holds.peersTracked()).toBe(2);
    clock.now += 11_000; // both holds lapse (no news for holdMs); both failures and j's count are spent
    expect(holds.holding(() => 0, 0)).toBe(false);
    // Left: k's count, which still counts for holdMs after its wait ended (at 12 s).
    expect(holds.peersTracked()).toBe(1);
    expect(holds.mayCopyFor('k')).toBe(true);
    clock.now += 3_999;
    holds.holding(() => 0, 0);
    expect(holds.peersTracked()).toBe(1);
    clock.now += 1;
    holds.holding(() => 0, 0);
    expect(holds.peersTracked()).toBe(0);
  });
});
