import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args';
import { aggregateRounds, median, ratioText, renderRoundsMarkdown, roundsMisses, rotateProtocols } from './rounds';
import { row } from './test-rows';

const P = ['raft', 'zab', 'multipaxos'];

/** One round: insert at C=64 with the given ops/s per protocol (errors make a row fail). */
function round(raft: number, zab: number, mp: number, zabErrors = 0): Array<{ protocol: string; rows: ReturnType<typeof row>[] }> {
  return [
    { protocol: 'raft', rows: [row('raft', 'insert', 64, raft)] },
    { protocol: 'zab', rows: [row('zab', 'insert', 64, zab, 1, zabErrors)] },
    { protocol: 'multipaxos', rows: [row('multipaxos', 'insert', 64, mp)] },
  ];
}

describe('bench --rounds', () => {
  it('rotates the protocol order by one each round', () => {
    expect([0, 1, 2, 3].map((r) => rotateProtocols(P, r).join(','))).toEqual(['raft,zab,multipaxos', 'zab,multipaxos,raft', 'multipaxos,raft,zab', 'raft,zab,multipaxos']);
    expect(rotateProtocols([], 2)).toEqual([]);
  });

  it('takes the median of odd and even counts, and none of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('reports each protocol by its median over the rounds, against the best median', () => {
    // One noisy round (raft 2,000) does not decide the cell: the medians do.
    const cells = aggregateRounds([round(10_000, 9_500, 8_000), round(2_000, 9_000, 8_200), round(9_800, 9_700, 8_100)], P);
    expect(cells).toHaveLength(1);
    const [cell] = cells;
    expect(cell).toMatchObject({ scenario: 'insert', concurrency: 64 });
    const byName = Object.fromEntries(cell!.figures.map((f) => [f.protocol, f]));
    expect(byName['raft']).toMatchObject({ median: 9_800, min: 2_000, max: 10_000, failedRounds: 0 });
    expect(byName['zab']!.median).toBe(9_500);
    expect(byName['raft']!.ratioToBest).toBe(1);
    expect(byName['zab']!.ratioToBest).toBeCloseTo(9_500 / 9_800);
    expect(byName['multipaxos']!.ratioToBest).toBeCloseTo(8_100 / 9_800);
    expect(roundsMisses(cells)).toEqual([`multipaxos insert at C=64 (${(8_100 / 9_800).toFixed(2)})`]);
    const md = renderRoundsMarkdown(cells, P, 3);
    expect(md).toContain('| insert | 64 | 9,800 (2,000–10,000) · ×1.00 ✓ | 9,500 (9,000–9,700) · ×0.97 ✓ | 8,100 (8,000–8,200) · ×0.83 ✗ |');
    expect(md).toContain('Below 0.9 of the best median, or failed: multipaxos insert at C=64 (0.83).');
  });

  it('interleaved: pairs each round\'s runs (each relative to its round, median over the rounds), leaving out rounds with a failed run', () => {
    // Zab is 0.95 of the best in every complete round, however fast the machine was in each;
    // the round in which its run failed (and it was far behind) does not count.
    const rounds = [round(10_000, 9_500, 10_000), round(5_000, 4_750, 5_000), round(10_000, 9_500, 10_000), round(5_000, 4_750, 5_000), round(8_000, 3_000, 8_000, 900)];
    const cells = aggregateRounds(rounds, P);
    const zab = cells[0]!.figures.find((f) => f.protocol === 'zab')!;
    expect(zab).toMatchObject({ failedRounds: 1, median: 7_125 });
    expect(zab.pairedToBest).toBeCloseTo(0.95);
    expect(cells[0]!.figures.find((f) => f.protocol === 'raft')!.pairedToBest).toBe(1);
    const md = renderRoundsMarkdown(cells, P, 5, true);
    expect(md).toContain('· paired ×0.95 · failed in 1');
    expect(md).toContain('every protocol is within 10% of the best in every cell.');
    expect(renderRoundsMarkdown(cells, P, 5, false)).not.toContain('paired');
    // Zab at 0.8 and 0.995 of the others: in logs the middle of the two, √(0.8 × 0.995) = 0.892.
    const slow = aggregateRounds([round(10_000, 8_000, 10_000), round(10_000, 9_950, 10_000)], P);
    expect(renderRoundsMarkdown(slow, P, 2, true)).toContain('below 0.9: zab insert at C=64 (0.89)');
  });

  it('interleaved: identical protocols that take turns winning come out at 1, not at the losers\' share of each round', () => {
    // Each wins one round by 8 %. Dividing every round by its best gave each a median of 0.926.
    const rounds = [round(10_800, 10_000, 10_000), round(10_000, 10_800, 10_000), round(10_000, 10_000, 10_800)];
    for (const f of aggregateRounds(rounds, P)[0]!.figures) expect(f.pairedToBest).toBeCloseTo(1, 9);
  });

  it('interleaved: a protocol behind another in every round is behind by its median shortfall, however a third swings', () => {
    // Zab is behind raft in every round, 0.85 in two of three; multipaxos swings 1.3, 0.75, 1.
    // Each protocol's median against its round's mean, taken apart, would put zab at 0.984.
    const rounds = [round(1_000, 850, 1_300), round(1_000, 850, 750), round(1_000, 990, 1_000)];
    const figures = aggregateRounds(rounds, P)[0]!.figures;
    expect(figures.find((f) => f.protocol === 'zab')!.pairedToBest).toBeCloseTo(0.85, 9);
    expect(figures.find((f) => f.protocol === 'raft')!.pairedToBest).toBe(1);
    expect(figures.find((f) => f.protocol === 'multipaxos')!.pairedToBest).toBe(1);
  });

  it('shows a ratio just below 0.9 in three decimals, never as 0.90 beside a miss', () => {
    expect([0.8975, 0.898, 0.9, 0.91, 0.83, 1].map(ratioText)).toEqual(['0.897', '0.898', '0.90', '0.91', '0.83', '1.00']);
    const cells = aggregateRounds([round(10_000, 8_980, 9_500)], P);
    expect(roundsMisses(cells)).toEqual(['zab insert at C=64 (0.898)']);
    expect(renderRoundsMarkdown(cells, P, 1)).toContain('8,980 (8,980–8,980) · ×0.898 ✗');
  });

  it('leaves a failed run out of the median and says it failed', () => {
    const cells = aggregateRounds([round(1_000, 1_000, 1_000, 900), round(1_000, 1_000, 1_000)], P);
    const zab = cells[0]!.figures.find((f) => f.protocol === 'zab')!;
    expect(zab).toMatchObject({ samples: [1_000], failedRounds: 1, median: 1_000 });
    expect(roundsMisses(cells)).toEqual(['zab insert at C=64 failed in 1 round']);
    expect(renderRoundsMarkdown(cells, P, 2)).toContain('×1.00 ✓ · failed in 1');
  });

  it('a cell every round failed shows FAILED, not zero', () => {
    const cells = aggregateRounds([round(1_000, 1_000, 1_000, 900)], P);
    expect(renderRoundsMarkdown(cells, P, 1)).toContain('| FAILED in 1 |');
  });

  it('says how the rounds ran: fresh clusters per round, or cells interleaved on one cluster per protocol', () => {
    const cells = aggregateRounds([round(1_000, 950, 920)], P);
    expect(renderRoundsMarkdown(cells, P, 1)).toContain('Each round ran every protocol on a fresh cluster');
    expect(renderRoundsMarkdown(cells, P, 1, true)).toContain('every cell measured the protocols back to back');
  });

  it('says when every protocol is within 10% of the best', () => {
    const cells = aggregateRounds([round(1_000, 950, 920)], P);
    expect(roundsMisses(cells)).toEqual([]);
    expect(renderRoundsMarkdown(cells, P, 1)).toContain('Every protocol is within 10% of the best median in every cell.');
  });

  it('--rounds takes a positive count, 1 by default', () => {
    expect(parseBenchArgs([]).rounds).toBe(1);
    expect(parseBenchArgs(['--rounds', '3']).rounds).toBe(3);
    expect(() => parseBenchArgs(['--rounds', '0'])).toThrow(/rounds/);
    expect(() => parseBenchArgs(['--rounds', 'x'])).toThrow(/rounds/);
  });
});
