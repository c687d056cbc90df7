/**
 * Zab's dynamic reconfiguration (Shraer, Reed, Malkhi and Junqueira, "Dynamic Reconfiguration
 * of Primary/Backup Clusters", USENIX ATC 2012; ZooKeeper 3.5's `reconfig`: Leader.propose of a
 * reconfig transaction, Leader.processAck/tryToCommit with a proposal's QuorumVerifier set,
 * QuorumPeer.processReconfig, FastLeaderElection's use of the last seen configuration).
 *
 * A configuration is a `config` record in the history, proposed like any transaction. Two
 * configurations matter to a node at any moment (this file's ZabConfigs):
 *   - the last committed one (ZooKeeper's QuorumVerifier): the latest record at or below the
 *     commit point, else the base — the snapshot's members, or the members a node booted with;
 *   - the last seen one (lastSeenQuorumVerifier): the latest record in the history, committed
 *     or not.
 * While they differ — a reconfiguration is proposed and not yet committed — every quorum this
 * node counts (FLE's votes, discovery's FOLLOWERINFO and ACKEPOCH, NEWLEADER's acknowledgements,
 * a proposal's acknowledgements, the sync limit, a read round) must be a quorum of both, as
 * ZooKeeper's SyncedLearnerTracker asks of every proposal made while a reconfig is pending.
 * Committing the record activates the new configuration (ZooKeeper's COMMITANDACTIVATE: here the
 * COMMIT or PING that moves a learner's commit point past the record, which is the same event on
 * a FIFO stream); from then on only its quorums count, and members it no longer names are
 * ignored. History is a prefix, so a record commits only after every record before it: the
 * single pending record is the only one whose two configurations are both counted.
 */
import type { Entry, Member, NodeId } from '../contract';
import { decodeConfig, hasQuorum, quorumValue, votingMembers } from '../common';

/** One config record of the history: its place (index and epoch) and the members it names. */
export interface ConfigRecord {
  readonly index: number;
  readonly epoch: number;
  readonly members: readonly Member[];
}

/** What ZabConfigs reads of a history (MemoryLog has all of it). */
export interface HistoryView {
  firstIndex(): number;
  lastIndex(): number;
  commitIndex(): number;
  term(i: number): number | null;
  slice(lo: number, hi: number, maxCount: number, maxBytes: number): Entry[];
}

const SCAN_RECORDS_MAX = 4096;

/**
 * The configurations of one node's history: the base (below every record) and the config records
 * it holds by index. Kept in step with the history by sync() (records appended, or cut by a
 * TRUNC), compactTo() (records folded into the base) and restore() (a SNAP replaced the history).
 */
export class ZabConfigs {
  private base: readonly Member[];
  private records: ConfigRecord[] = [];
  /** The last record of the history scanned for config records, by index and epoch. */
  private scanned = { index: 0, epoch: 0 };

  constructor(base: readonly Member[], history: HistoryView) {
    this.base = base;
    this.scanned = { index: history.firstIndex() - 1, epoch: history.term(history.firstIndex() - 1) ?? 0 };
    this.sync(history);
  }

  /**
   * Catch up with the history: forget records it no longer holds (a TRUNC cut them, or a record of
   * another epoch replaced them), then note those appended since the last scan.
   */
  sync(history: HistoryView): void {
    const last = history.lastIndex();
    const kept = (r: { readonly index: number; readonly epoch: number }): boolean => r.index <= last && (r.index < history.firstIndex() || history.term(r.index) === r.epoch);
    if (!kept(this.scanned)) {
      // Cut back: records from the committed prefix on may have changed (committed ones never do).
      const from = Math.max(history.commitIndex(), history.firstIndex() - 1);
      this.records = this.records.filter((r) => r.index <= from && kept(r));
      this.scanned = { index: from, epoch: history.term(from) ?? 0 };
    }
    for (let next = this.scanned.index + 1; next <= last; ) {
      const entries = history.slice(next, last, SCAN_RECORDS_MAX, Number.MAX_SAFE_INTEGER);
      for (const e of entries) if (e.kind === 'config') this.records.push({ index: e.index, epoch: e.term, members: decodeConfig(e.data) });
      next += entries.length;
      if (entries.length === 0) break;
    }
    this.scanned = { index: last, epoch: history.term(last) ?? 0 };
  }

  /** The configuration as of `index`: the latest record at or before it, else the base. */
  asOf(index: number): readonly Member[] {
    return this.latestAtOrBefore(index)?.members ?? this.base;
  }

  latestAtOrBefore(index: number): ConfigRecord | null {
    let best: ConfigRecord | null = null;
    for (const r of this.records) if (r.index <= index && (best === null || r.index > best.index)) best = r;
    return best;
  }

  /** Whether any configuration here differs from `boot` (a change was ever made, as far as this history tells). */
  changedFrom(boot: readonly Member[]): boolean {
    if (this.records.length > 0 || this.base.length !== boot.length) return true;
    return this.base.some((m, i) => m.id !== boot[i]?.id || m.role !== boot[i]?.role);
  }

  /** Records up to `index` were compacted away: the configuration there becomes the base. */
  compactTo(index: number): void {
    this.base = this.asOf(index);
    this.records = this.records.filter((r) => r.index > index);
  }

  /** A snapshot at `index` replaced the history up to it (SNAP): its members are the base. */
  restore(index: number, epoch: number, members: readonly Member[]): void {
    if (members.length > 0) this.base = members;
    this.records = this.records.filter((r) => r.index > index);
    if (this.scanned.index < index) this.scanned = { index, epoch };
  }
}

/**
 * The configurations that count at one moment: the last committed one and, while a record past
 * the commit point is pending, the last seen one too (equal to the committed one otherwise).
 */
export interface ConfigView {
  readonly committed: readonly Member[];
  readonly seen: readonly Member[];
  /** Index of the pending record (the last seen configuration's), or null when none is pending. */
  readonly pendingIndex: number | null;
}

/** A reconfiguration a peer's history holds and ours does not (SeenConfigMessage): ZooKeeper's lastSeenQuorumVerifier learned from FLE. */
export interface AnnouncedConfig {
  readonly index: number;
  readonly epoch: number;
  readonly members: readonly Member[];
}

/**
 * `committedAtLeast`: an index known committed beyond our commit point (what the driver applied
 * before a restart). `announced`: a pending record a peer told us of, beyond our history.
 */
export function configView(configs: ZabConfigs, history: HistoryView, committedAtLeast = 0, announced: AnnouncedConfig | null = null): ConfigView {
  const commit = Math.max(history.commitIndex(), committedAtLeast);
  const committed = configs.asOf(commit);
  if (announced !== null) return { committed, seen: announced.members, pendingIndex: announced.index };
  const latest = configs.latestAtOrBefore(history.lastIndex());
  const pending = latest !== null && latest.index > commit ? latest : null;
  return { committed, seen: pending?.members ?? committed, pendingIndex: pending?.index ?? null };
}

/** The voting members of each configuration that counts (one, or two while a change is pending). */
export function countedVoterSets(v: ConfigView): (readonly NodeId[])[] {
  const committed = votingMembers(v.committed);
  return v.pendingIndex === null ? [committed] : [committed, votingMembers(v.seen)];
}

/** `ids` hold a quorum of every configuration that counts (ZooKeeper's SyncedLearnerTracker.hasAllQuorums). */
export function quorumOfAll(sets: readonly (readonly NodeId[])[], ids: readonly NodeId[]): boolean {
  return sets.every((voters) => hasQuorum(voters, ids));
}

/** The highest index a quorum of every counted configuration holds (the commit rule of tryToCommit, on prefixes). */
export function quorumValueOfAll(sets: readonly (readonly NodeId[])[], value: (id: NodeId) => number): number {
  let q = Infinity;
  for (const voters of sets) q = Math.min(q, quorumValue(voters, value));
  return q === Infinity ? 0 : q;
}

/** Every member of either configuration (a member of neither is ignored). */
export function membersOfAny(v: ConfigView): Member[] {
  const out = new Map<NodeId, Member>();
  for (const m of v.committed) out.set(m.id, m);
  for (const m of v.seen) if (!out.has(m.id) || m.role === 'voter' || m.role === 'witness') out.set(m.id, m);
  return [...out.values()];
}
