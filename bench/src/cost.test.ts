import { describe, expect, it } from 'vitest';
import type { NodeCounters, NodeStatus } from '@quorumlite/client';
import { nodeStatusFixture } from '../../libs/client/src/testing';
import { cellCost, electionCost, leaderStepsPerEntry, perEntry, readCounters } from './cost';

const status = (id: string, role: string, commitIndex: bigint, over: Partial<NodeCounters>): NodeStatus =>
  nodeStatusFixture(id, { role, leaderId: 'n1', commitIndex, appliedIndex: commitIndex, lastIndex: commitIndex, counters: over });

describe('cell cost from node counters', () => {
  it('divides what moved on every node by the entries committed in the window', () => {
    const before = { n1: status('n1', 'leader', 100n, { sent: [{ type: 'append', count: 50, bytes: 5_000 }], storageSyncs: 10 }), n2: status('n2', 'follower', 99n, { storageSyncs: 10 }) };
    const after = {
      n1: status('n1', 'leader', 300n, { sent: [{ type: 'append', count: 250, bytes: 65_000 }], storageSyncs: 110, steps: [{ step: 'fsync', count: 100, totalMs: 50 }] }),
      n2: status('n2', 'follower', 298n, { sent: [{ type: 'appendResponse', count: 200, bytes: 6_000 }], storageSyncs: 110 }),
    };
    const cost = cellCost(before, after);
    expect(cost.committedEntries).toBe(200);
    expect(perEntry(cost)).toEqual({ messages: 2, bytes: 330, syncs: 1 });
    expect(leaderStepsPerEntry(cost)).toEqual([{ step: 'fsync', ms: 0.25 }]);
  });

  it('leaves out a node that did not answer, names it, and counts a restarted node from its new start', () => {
    const before = { n1: status('n1', 'leader', 10n, { elections: 1 }), n2: status('n2', 'follower', 10n, { elections: 5, storageSyncs: 40 }), n3: null };
    const after = { n1: null, n2: status('n2', 'leader', 20n, { elections: 1, storageSyncs: 3 }), n3: status('n3', 'follower', 20n, {}) };
    const cost = cellCost(before, after);
    expect(cost.missing).toEqual(['n1', 'n3']);
    expect(cost.nodes.map((n) => [n.id, n.leader, n.counters.elections])).toEqual([['n2', true, 1]]);
    expect(electionCost(cost).elections).toBe(1);
  });

  it('has no per-entry cost when nothing committed', () => {
    const s = { n1: status('n1', 'leader', 5n, {}) };
    expect(perEntry(cellCost(s, s))).toBeNull();
    expect(leaderStepsPerEntry(cellCost(s, s))).toBeNull();
  });

  it('reads a node that does not answer as null', async () => {
    const r = await readCounters(['n1', 'n2'], async (id) => {
      if (id === 'n2') throw new Error('unavailable');
      return status(id, 'leader', 1n, {});
    });
    expect(r.n1?.nodeId).toBe('n1');
    expect(r.n2).toBeNull();
  });
});
