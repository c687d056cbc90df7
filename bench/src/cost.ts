/**
 * What a cell cost the cluster, from the nodes' own counters (Status `counters`): read every
 * node before and after the cell, and divide what moved by the log entries committed in
 * between — messages and bytes on the wire, storage syncs, and the leader's time per driver
 * step per committed entry. This is how the report explains where the protocols differ.
 */
import { diffCounters, messageTotals, sumCounters, type NodeCounters, type NodeStatus } from '@quorumlite/client';

/** One node's reading: its status, or null when it did not answer (a killed node). */
export type CounterReading = Readonly<Record<string, NodeStatus | null>>;

export interface NodeCost {
  readonly id: string;
  readonly role: string;
  /** It led at the end of the window. */
  readonly leader: boolean;
  readonly counters: NodeCounters;
}

export interface CellCost {
  /** Log entries committed in the window: how far the highest commit index moved. */
  readonly committedEntries: number;
  /** Nodes that answered both readings; a node that did not is left out, and named in `missing`. */
  readonly nodes: readonly NodeCost[];
  readonly missing: readonly string[];
  /** Nodes whose snapshot index moved in the window: each took (or installed) a snapshot. Absent in results recorded before. */
  readonly snapshotsTaken?: readonly string[];
}

export interface PerEntry {
  readonly messages: number;
  readonly bytes: number;
  readonly syncs: number;
}

/** Reads every node's status; a node that does not answer reads as null. */
export async function readCounters(ids: readonly string[], status: (id: string) => Promise<NodeStatus>): Promise<CounterReading> {
  const entries = await Promise.all(ids.map(async (id) => [id, await status(id).catch(() => null)] as const));
  return Object.fromEntries(entries);
}

export function cellCost(before: CounterReading, after: CounterReading): CellCost {
  const nodes: NodeCost[] = [];
  const missing: string[] = [];
  for (const id of Object.keys(after)) {
    const b = before[id];
    const a = after[id];
    if (!a || !b) {
      missing.push(id);
      continue;
    }
    nodes.push({ id, role: a.role, leader: a.role === 'leader', counters: diffCounters(b.counters, a.counters) });
  }
  const highest = (r: CounterReading): bigint => Object.values(r).reduce<bigint>((m, s) => (s && s.commitIndex > m ? s.commitIndex : m), 0n);
  const snapshotsTaken = nodes.filter((n) => after[n.id]!.snapshotIndex > before[n.id]!.snapshotIndex).map((n) => n.id);
  return { committedEntries: Number(highest(after) - highest(before)), nodes, missing, snapshotsTaken };
}

/** What happened in a window besides the load: candidacies stood, leader changes, snapshots taken (by node). */
export interface WindowEvents {
  /** Times a node became a candidate, every node together (in Zab every survivor LOOKING counts). */
  readonly elections: number;
  /** Leader changes: the most any one node saw (each node sees the same change, so a sum would count it once per node). */
  readonly leaderChanges: number;
  readonly snapshots: readonly string[];
}

/** A window's events from its cost. */
export function windowEvents(cost: CellCost): WindowEvents {
  const { elections } = electionCost(cost);
  const leaderChanges = cost.nodes.reduce((m, n) => Math.max(m, n.counters.leaderChanges), 0);
  return { elections, leaderChanges, snapshots: cost.snapshotsTaken ?? [] };
}

/** Messages, bytes and syncs of every node together, per committed entry (null when nothing committed). */
export function perEntry(cost: CellCost): PerEntry | null {
  if (cost.committedEntries <= 0) return null;
  const all = sumCounters(cost.nodes.map((n) => n.counters));
  const sent = messageTotals(all.sent);
  return { messages: sent.count / cost.committedEntries, bytes: sent.bytes / cost.committedEntries, syncs: all.storageSyncs / cost.committedEntries };
}

/** Messages sent per committed entry by type, every node together, most frequent first. */
export function messagesByType(cost: CellCost): { type: string; perEntry: number; bytesPerEntry: number }[] {
  if (cost.committedEntries <= 0) return [];
  const all = sumCounters(cost.nodes.map((n) => n.counters));
  return all.sent
    .map((t) => ({ type: t.type, perEntry: t.count / cost.committedEntries, bytesPerEntry: t.bytes / cost.committedEntries }))
    .sort((a, b) => b.perEntry - a.perEntry);
}

/** The leader's milliseconds per committed entry in each driver step (null without a leader in the window). */
export function leaderStepsPerEntry(cost: CellCost): { step: string; ms: number }[] | null {
  const leader = cost.nodes.find((n) => n.leader);
  if (!leader || cost.committedEntries <= 0) return null;
  return leader.counters.steps.map((t) => ({ step: t.step, ms: t.totalMs / cost.committedEntries }));
}

/** Elections stood and time without a leader, every node together (a failover window). */
export function electionCost(cost: CellCost): { elections: number; leaderChanges: number; leaderlessMs: number } {
  const all = sumCounters(cost.nodes.map((n) => n.counters));
  return { elections: all.elections, leaderChanges: all.leaderChanges, leaderlessMs: all.leaderlessMs };
}
