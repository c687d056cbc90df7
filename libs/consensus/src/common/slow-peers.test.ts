import { describe, expect, it } from 'vitest';
import { logIndex, term, type SnapshotMeta } from '../contract';
import { compactHolding, keptForSlowPeers, SLOW_PEER_RETAIN_FACTOR, SLOW_PEER_SILENCE_ELECTIONS_MAX, answeredWithinSilenceBound, type CompactionRequest } from './slow-peers';

const meta = (index: number): SnapshotMeta => ({ index: logIndex(index), term: term(1), members: [] });
const request = (index: number, retainEntries: number): CompactionRequest => ({ meta: meta(index), retainEntries });

describe('slow-peer holds (the rule every protocol shares)', () => {
  it('lowers the cut to the lowest match within the bound behind the snapshot', () => {
    const c = request(1000, 10); // allowed 990, floor 1000 - 10 × 10 = 900
    expect(SLOW_PEER_RETAIN_FACTOR).toBe(10);
    expect(keptForSlowPeers(c, 990, [995, 950, 920], 0)).toBe(920);
    expect(keptForSlowPeers(c, 990, [900], 0)).toBe(900); // at the floor: held
    expect(keptForSlowPeers(c, 990, [899], 0)).toBe(990); // past it: takes the snapshot
    expect(keptForSlowPeers(c, 990, [], 0)).toBe(990);
  });

  it('holds nothing with retainEntries 0', () => {
    expect(keptForSlowPeers(request(1000, 0), 1000, [999, 500], 0)).toBe(1000);
  });

  it('a match below the current cut holds nothing: those records are gone, the rest would save it nothing', () => {
    // A later request keeps more (retainEntries grew): the floor 1000 - 100 × 10 = 0 would
    // reach the peer at 700, but the log is already cut at 800.
    const c = request(1000, 100);
    expect(keptForSlowPeers(c, 900, [700], 800)).toBe(900);
    expect(keptForSlowPeers(c, 900, [800], 800)).toBe(800); // it holds the record at the cut: replication goes on after it
  });

  it('compactHolding cuts, keeps the request while records are held, and drops it once none are', () => {
    const cuts: number[] = [];
    const cut = (_m: SnapshotMeta, to: number): void => {
      cuts.push(to);
    };
    const c = request(100, 5);
    expect(compactHolding(c, 100, 0, () => [60], cut)).toBe(c); // held for the peer at 60
    expect(compactHolding(c, 100, 60, () => [97], cut)).toBeNull(); // it caught up: cut at 95
    expect(compactHolding(c, 90, 60, () => [], cut)).toBe(c); // applied/stable only reach 90
    expect(compactHolding(null, 100, 0, () => [1], cut)).toBeNull();
    expect(cuts).toEqual([60, 95, 90]);
  });

  it('a peer holds records while it answered within ten election timeouts', () => {
    expect(SLOW_PEER_SILENCE_ELECTIONS_MAX).toBe(10);
    expect(answeredWithinSilenceBound(109, 10, 10)).toBe(true);
    expect(answeredWithinSilenceBound(110, 10, 10)).toBe(false);
    expect(answeredWithinSilenceBound(5, Number.NEGATIVE_INFINITY, 10)).toBe(false); // never answered
  });
});
