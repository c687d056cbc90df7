import { describe, expect, it } from 'vitest';
import { readAddressOf } from './runner';
import { mixedWrites, needsPreload, preloadKey, readKeyOf, SCENARIO_NAMES, statementsPerOp } from './scenarios';

describe('scenarios', () => {
  it('mixed90 writes one operation in ten and mixed50 one in two, evenly spread', () => {
    const writes = (scenario: 'mixed90' | 'mixed50', from: number, n: number): number => Array.from({ length: n }, (_, i) => mixedWrites(scenario, from + i)).filter(Boolean).length;
    expect(writes('mixed90', 0, 1000)).toBe(100);
    expect(writes('mixed50', 0, 1000)).toBe(500);
    // Any ten consecutive operations of a loader hold exactly one write.
    for (let from = 0; from < 20; from++) expect(writes('mixed90', from, 10)).toBe(1);
  });

  it('the scenarios that read or update rows get them preloaded; the write-only ones do not', () => {
    expect(SCENARIO_NAMES.filter(needsPreload)).toEqual(['select', 'select-any', 'select-stale', 'mixed90', 'mixed50', 'hot-update']);
  });

  it('every scenario but batch100 is one statement per operation', () => {
    expect(SCENARIO_NAMES.map(statementsPerOp)).toEqual([1, 1, 1, 1, 1, 1, 100, 1]);
  });

  it('loader k reads stale from the k-th read address, round the list; an empty list is an error', () => {
    const followersThenLeader = ['127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:1'];
    expect([0, 1, 2, 3].map((k) => readAddressOf(followersThenLeader, k))).toEqual(['127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:1', '127.0.0.1:2']);
    expect(() => readAddressOf([], 0)).toThrow(/at least one read address/);
  });
});

describe('readKeyOf', () => {
  it('reads every preloaded key once in as many reads, each loader from its own place', () => {
    const rows = 10_000;
    const first = Array.from({ length: rows }, (_, seq) => readKeyOf(seq, 0, rows));
    expect(new Set(first).size).toBe(rows);
    expect([...first].sort()).toEqual(Array.from({ length: rows }, (_, i) => preloadKey(i)));
    // Consecutive reads land far apart: the reads spread over the table, not along it.
    expect(first.slice(0, 3)).toEqual([preloadKey(0), preloadKey(7919), preloadKey(5838)]);
    expect(readKeyOf(0, 1, rows)).not.toBe(readKeyOf(0, 0, rows));
  });
});
