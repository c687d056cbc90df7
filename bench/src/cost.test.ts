import { describe, expect, it } from 'vitest';
import type { NodeCounters, NodeStatus } from '@quorumlite/client';
import { nodeStatusFixture } from '../../libs/client/src/testing';
import { cellCost, electionCost, leaderStepsPerEntry, perEntry, readCounters, windowEvents } from './cost';

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

  it('names the nodes whose snapshot index moved, sums the candidacies and counts a leader change once', () => {
    const at = (id: string, snapshotIndex: bigint, over: Partial<NodeCounters>): NodeStatus => ({ ...status(id, id === 'n1' ? 'leader' : 'follower', 50n, over), snapshotIndex });
    const before = { n1: at('n1', 10n, { elections: 2, leaderChanges: 1 }), n2: at('n2', 10n, { leaderChanges: 1 }), n3: at('n3', 0n, {}) };
    const after = { n1: at('n1', 10n, { elections: 3, leaderChanges: 2 }), n2: at('n2', 40n, { leaderChanges: 2 }), n3: at('n3', 45n, {}) };
    const cost = cellCost(before, after);
    expect(cost.snapshotsTaken).toEqual(['n2', 'n3']);
    // One change that n1 and n2 both saw is one change, not two.
    expect(windowEvents(cost)).toEqual({ elections: 1, leaderChanges: 1, snapshots: ['n2', 'n3'] });
    expect(windowEvents(cellCost(before, before))).toEqual({ elections: 0, leaderChanges: 0, snapshots: [] });
    // A cost recorded before snapshots were read has none.
    const { snapshotsTaken: _, ...old } = cost;
    expect(windowEvents(old).snapshots).toEqual([]);
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
