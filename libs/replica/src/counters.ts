/**
 * What a node counts about its own work since it started: the messages it sent and received
 * by type, its elections and how long it knew no leader, and its own client writes and reads. Status
 * carries them, so the comparison report can explain where protocols differ (messages and
 * bytes per committed write, elections, time without a leader) from the nodes' own figures.
 * Monotonic: a reader takes the difference of two readings.
 */
import type { Role } from '@quorumlite/consensus';

/** Messages of one type, and their encoded bytes. */
export interface MessageTally {
  readonly type: string;
  readonly count: number;
  readonly bytes: number;
}

/**
 * What a node did with snapshots: took one (synced its database and cut the log), copied its
 * database into a file for a peer behind the cut, installed one from the leader, sent one to a peer.
 */
export const SNAPSHOT_KINDS = ['taken', 'copied', 'installed', 'sent'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

/** Snapshots of one kind that completed, and the milliseconds they took in all. */
export interface SnapshotTally {
  readonly kind: SnapshotKind;
  readonly count: number;
  readonly ms: number;
}

export interface CountersReading {
  readonly sent: readonly MessageTally[];
  readonly received: readonly MessageTally[];
  /** Times this node stood for election (became a candidate). */
  readonly elections: number;
  /** Times the leader this node knows changed to another node. */
  readonly leaderChanges: number;
  /** Milliseconds this node knew no leader, the current stretch included. */
  readonly leaderlessMs: number;
  /** Client writes this node proposed as leader and answered successfully, and their time from arrival to answer. */
  readonly writesAnswered: number;
  readonly writeMs: number;
  /** Client reads this node answered successfully (any consistency), and their time from arrival to answer. */
  readonly readsAnswered: number;
  readonly readMs: number;
  /** Every kind, in SNAPSHOT_KINDS order (a kind not yet seen counts zero). */
  readonly snapshots: readonly SnapshotTally[];
  /**
   * Times the log could not prepare its next segment ahead of time (a disk short of room, say):
   * appends then grow the current segment, and each sync commits the file system's journal too.
   */
  readonly logSpareFailures: number;
}

class Tallies {
  private readonly byType = new Map<string, { count: number; bytes: number }>();

  add(type: string, bytes: number): void {
    const t = this.byType.get(type);
    if (t) {
      t.count++;
      t.bytes += bytes;
    } else {
      this.byType.set(type, { count: 1, bytes });
    }
  }

  read(): MessageTally[] {
    return [...this.byType].map(([type, t]) => ({ type, count: t.count, bytes: t.bytes })).sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }
}

export class NodeCounters {
  private readonly sentTallies = new Tallies();
  private readonly receivedTallies = new Tallies();
  private elections = 0;
  private leaderChanges = 0;
  private leaderlessMs = 0;
  /** When the current stretch without a leader began (clock ms), or null while one is known. */
  private leaderlessSince: number | null;
  private role: Role | null = null;
  private leader: string | null = null;
  private writesAnswered = 0;
  private writeMs = 0;
  private readsAnswered = 0;
  private readMs = 0;
  private logSpareFailures = 0;
  private readonly snapshotTallies = new Map<SnapshotKind, { count: number; ms: number }>(SNAPSHOT_KINDS.map((k) => [k, { count: 0, ms: 0 }]));

  /** `nowMs`: the node's start, which it begins without a leader. */
  constructor(nowMs: number) {
    this.leaderlessSince = nowMs;
  }

  sent(type: string, bytes: number): void {
    this.sentTallies.add(type, bytes);
  }

  received(type: string, bytes: number): void {
    this.receivedTallies.add(type, bytes);
  }

  /** The core's role and leader after a Ready (called with every soft state, changed or not). */
  softState(role: Role, leader: string | null, nowMs: number): void {
    if (role === 'candidate' && this.role !== 'candidate') this.elections++;
    this.role = role;
    if (leader !== null && leader !== this.leader) this.leaderChanges++;
    if (leader === null && this.leaderlessSince === null) this.leaderlessSince = nowMs;
    if (leader !== null && this.leaderlessSince !== null) {
      this.leaderlessMs += nowMs - this.leaderlessSince;
      this.leaderlessSince = null;
    }
    // A leader that becomes unknown and then known again is a change only if it is another node.
    if (leader !== null) this.leader = leader;
  }

  writeAnswered(ms: number): void {
    this.writesAnswered++;
    this.writeMs += ms;
  }

  readAnswered(ms: number): void {
    this.readsAnswered++;
    this.readMs += ms;
  }

  /** A snapshot of `kind` completed after `ms` (taken: the copy; installed: file to log cut; sent: until the peer acknowledged it). */
  snapshot(kind: SnapshotKind, ms: number): void {
    const t = this.snapshotTallies.get(kind)!;
    t.count++;
    t.ms += ms;
  }

  /** The log's spare segment could not be made (DurableLogOptions.onSpareFailure). */
  spareFailed(): void {
    this.logSpareFailures++;
  }

  read(nowMs: number): CountersReading {
    return {
      sent: this.sentTallies.read(),
      received: this.receivedTallies.read(),
      elections: this.elections,
      leaderChanges: this.leaderChanges,
      leaderlessMs: this.leaderlessMs + (this.leaderlessSince === null ? 0 : nowMs - this.leaderlessSince),
      writesAnswered: this.writesAnswered,
      writeMs: this.writeMs,
      readsAnswered: this.readsAnswered,
      readMs: this.readMs,
      snapshots: SNAPSHOT_KINDS.map((kind) => ({ kind, ...this.snapshotTallies.get(kind)! })),
      logSpareFailures: this.logSpareFailures,
    };
  }
}
