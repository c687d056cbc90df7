import { describe, expect, it } from 'vitest';
import { compareReplicaDumps } from './dumps';

describe('compareReplicaDumps', () => {
  it('reports nothing when replicas agree, whatever the row order', () => {
    expect(compareReplicaDumps({})).toEqual([]);
    expect(compareReplicaDumps({ n1: [['kv', '1', 'a']] })).toEqual([]);
    expect(
      compareReplicaDumps({
        n1: [['kv', '1', 'a'], ['kv', '2', 'b']],
        n2: [['kv', '2', 'b'], ['kv', '1', 'a']],
        n3: [['kv', '1', 'a'], ['kv', '2', 'b']],
      }),
    ).toEqual([]);
  });

  it('names the node, table and row that a lagging replica lacks', () => {
    const diffs = compareReplicaDumps({
      n1: [['kv', '1', 'a'], ['bank', 'x', '10']],
      n2: [['kv', '1', 'a'], ['bank', 'x', '10']],
      n3: [['kv', '1', 'a']],
    });
    expect(diffs).toEqual([
      expect.objectContaining({ kind: 'missing-row', node: 'n3', table: 'bank', row: ['bank', 'x', '10'], copies: 1, referenceNodes: ['n1', 'n2'] }),
    ]);
    expect(diffs[0]?.message).toContain('node n3: table bank');
  });

  it('reports a diverged value as one missing and one extra row on that node', () => {
    const diffs = compareReplicaDumps({
      n1: [['kv', '1', 'a']],
      n2: [['kv', '1', 'a']],
      n3: [['kv', '1', 'b']],
    });
    expect(diffs.map((d) => [d.kind, d.node, d.row[2]])).toEqual([
      ['missing-row', 'n3', 'a'],
      ['extra-row', 'n3', 'b'],
    ]);
  });

  it('counts duplicate rows (multiset comparison)', () => {
    const diffs = compareReplicaDumps({ n1: [['t', '1'], ['t', '1']], n2: [['t', '1']], n3: [['t', '1']] });
    expect(diffs).toEqual([expect.objectContaining({ kind: 'extra-row', node: 'n1', copies: 1 })]);
  });

  it('on a two-node split takes the larger count as the reference', () => {
    const diffs = compareReplicaDumps({ n1: [['t', '1']], n2: [] });
    expect(diffs).toEqual([expect.objectContaining({ kind: 'missing-row', node: 'n2', referenceNodes: ['n1'] })]);
  });
});
