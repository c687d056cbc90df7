/** Helpers for tests of what reads Status: a NodeStatus built from the few fields a test cares about. */
import { zeroCounters } from './counters';
import type { NodeCounters, NodeStatus } from './types';

/** A raft follower at term 1 with an empty log and zero counters, changed by `over` (counters merged). */
export function nodeStatusFixture(nodeId: string, over: Partial<Omit<NodeStatus, 'counters'>> & { counters?: Partial<NodeCounters> } = {}): NodeStatus {
  const { counters, ...rest } = over;
  return {
    nodeId,
    role: 'follower',
    leaderId: '',
    leaderAddress: '',
    term: 1n,
    fencingName: 'term',
    commitIndex: 0n,
    appliedIndex: 0n,
    lastIndex: 0n,
    snapshotIndex: 0n,
    logRecords: 0n,
    logBytes: 0n,
    dataVotersHold: 0n,
    store: 'database',
    members: [],
    protocol: 'raft',
    version: '',
    ...rest,
    counters: { ...zeroCounters(), ...counters },
  };
}
