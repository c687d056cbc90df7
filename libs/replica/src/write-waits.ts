/**
 * The client writes a leader has proposed, until each is answered: by its commit and apply
 * (with its statements' results), then by as many copies as its durability asks for — or,
 * with durability 'leader', by the leader's own fsync alone. One place owns every such wait,
 * its deadline and how it fails.
 */
import { isProposal, type Entry, type Member, type ProposalToken } from '@quorumlite/consensus';
import type { ApplyOutcome } from '@quorumlite/sql';
import { ReplicaError, toWriteResult } from './errors';
import type { Durability, Timer, WriteResult } from './ports';

/** One proposed write: who waits for it and until when. */
export interface WriteWaiter {
  readonly durability: Durability;
  /** When the client's timeout runs out (clock ms), measured from the request's arrival. */
  readonly deadlineMs: number;
  readonly timeoutMs: number;
  /**
   * Whether a retry of this write is answered once however often it is sent: a command with a
   * request id (the database keeps each id's outcome). A membership change is one too: the
   * same member list proposed again is a change already made.
   */
  readonly idempotent: boolean;
  readonly resolve: (r: WriteResult) => void;
  readonly reject: (e: unknown) => void;
}

interface Pending {
  /** Recognises the committed record as this write (never by fencing number: see isProposal). */
  readonly token: ProposalToken;
  readonly waiter: WriteWaiter;
  readonly timer: Timer;
}

interface LeaderAck {
  readonly index: number;
  readonly waiter: WriteWaiter;
  readonly timer: Timer;
}

interface DurabilityWait {
  readonly index: number;
  readonly result: WriteResult;
  readonly waiter: WriteWaiter;
}

export interface WriteWaitsPorts {
  /** Milliseconds on the driver's clock. */
  now(): number;
  /** The driver's timers (Clock.after): virtual time in a simulation. */
  after(ms: number, fn: () => void): Timer;
  /** Whether the other data nodes hold `index` as `durability` asks ('all' or 'semi'). */
  durabilityMet(index: number, durability: Durability): boolean;
  /** The leader as this node knows it, for errors that send the client elsewhere. */
  leaderHint(): { leaderId: string | null; leaderAddress: string | null };
}

export class WriteWaits {
  private readonly pending = new Map<number, Pending>();
  private readonly leaderAcks = new Set<LeaderAck>();
  private durabilityWaits: DurabilityWait[] = [];

  constructor(private readonly ports: WriteWaitsPorts) {}

  /** A write proposed at `index`: answered when that index applies (or its deadline passes). */
  add(index: number, token: ProposalToken, waiter: WriteWaiter): void {
    if (waiter.durability === 'leader') {
      this.addLeaderAck(index, waiter);
      return;
    }
    // A write still waiting at an index proposed again (this node led, lost the record, leads
    // again) will never see its own record there: it was not applied.
    const earlier = this.pending.get(index);
    if (earlier !== undefined) {
      earlier.timer.cancel();
      earlier.waiter.reject(new ReplicaError('unavailable', `leadership changed before the write at index ${index} committed; it was not applied — retry`, this.ports.leaderHint()));
    }
    const timer = this.deadline(waiter, () => {
      if (this.pending.get(index)?.waiter !== waiter) return false;
      this.pending.delete(index);
      return true;
    }, 'was not committed', index);
    this.pending.set(index, { token, waiter, timer });
  }

  /** Whether a write waits for the record at `index` to apply. */
  waitsAt(index: number): boolean {
    return this.pending.has(index);
  }

  /** Whether a write waits for the leader's own fsync (the persist port records how far it reached). */
  waitsForLeaderFsync(): boolean {
    return this.leaderAcks.size > 0;
  }

  /**
   * Durability 'leader': the log is durable through `index` on this leader. Such a write is
   * acknowledged with no statement results — they exist only once it commits and applies —
   * and is lost if this leader fails before a quorum has it: the one level that may.
   */
  durableOnLeader(index: number): void {
    for (const ack of this.leaderAcks) {
      if (ack.index > index) continue;
      this.leaderAcks.delete(ack);
      ack.timer.cancel();
      ack.waiter.resolve({ results: [], index: ack.index, duplicate: false, uncommitted: true });
    }
  }

  /** Records applied, with the state machine's outcome of each (null where no database ran them). */
  applied(entries: readonly Entry[], outcomes: readonly ApplyOutcome[] | null): void {
    if (this.pending.size === 0) return;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const p = this.pending.get(entry.index);
      if (!p) continue;
      this.pending.delete(entry.index);
      p.timer.cancel();
      this.settle(entry, p, outcomes?.[i] ?? null);
    }
  }

  /** After each round: writes whose copies arrived are answered; past their deadline, or no longer leader, they fail. */
  checkDurability(isLeader: boolean): void {
    if (this.durabilityWaits.length === 0) return;
    const now = this.ports.now();
    this.durabilityWaits = this.durabilityWaits.filter((w) => {
      if (this.ports.durabilityMet(w.index, w.waiter.durability)) {
        w.waiter.resolve(w.result);
        return false;
      }
      if (now <= w.waiter.deadlineMs && isLeader) return true;
      const who = w.waiter.durability === 'all' ? 'every data voter' : 'another data node';
      w.waiter.reject(new ReplicaError('timeout', `write committed at index ${w.index} by a quorum, but not yet acknowledged by ${who}`, { index: w.index }));
      return false;
    });
  }

  /**
   * This node stopped leading: no write it proposed and has not yet seen apply is answered
   * here any longer by waiting. Its record may still commit under the next leader (Raft and
   * Zab keep what a quorum holds) or be cut; and where the next leader has nothing at that
   * index (Zab appends no record for a new epoch, a Multi-Paxos leader fills only the slots
   * a quorum reported), nothing would apply there until new writes arrive — with every client
   * waiting on this node, not until each write's deadline. So the client hears now that the
   * outcome is unknown, and its retry with the same request id is answered by the next
   * leader: applied once, whichever copy commits first (the state machine's dedup).
   */
  leadershipLost(commitIndex: number): void {
    if (this.pending.size === 0) return;
    const hint = this.ports.leaderHint();
    for (const [at, p] of this.pending) {
      // Committed here: never cut, so it applies on this node (or a snapshot supersedes it).
      if (at <= commitIndex) continue;
      this.pending.delete(at);
      p.timer.cancel();
      p.waiter.reject(new ReplicaError('unavailable', `this node stopped leading before the write at index ${at} was known to commit; ${unknownOutcome(p.waiter)}`, { ...hint, index: at }));
    }
  }

  /** A snapshot from the leader covers the writes at or below `index`: their outcome is not known here. */
  supersededThrough(index: number): void {
    for (const [at, p] of this.pending) {
      if (at > index) continue;
      this.pending.delete(at);
      p.timer.cancel();
      p.waiter.reject(new ReplicaError('unavailable', `the write at index ${at} was superseded by a snapshot; ${unknownOutcome(p.waiter)}`));
    }
  }

  failAll(error: unknown): void {
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.waiter.reject(error);
    }
    this.pending.clear();
    for (const ack of this.leaderAcks) {
      ack.timer.cancel();
      ack.waiter.reject(error);
    }
    this.leaderAcks.clear();
    for (const w of this.durabilityWaits) w.waiter.reject(error);
    this.durabilityWaits = [];
  }

  private addLeaderAck(index: number, waiter: WriteWaiter): void {
    const ack: LeaderAck = {
      index,
      waiter,
      timer: this.deadline(waiter, () => this.leaderAcks.delete(ack), "did not reach this leader's disk", index),
    };
    this.leaderAcks.add(ack);
  }

  /**
   * Rejects with a timeout at the waiter's deadline, if `take()` says it is still waiting. The
   * message is built then, not for every write that never times out.
   */
  private deadline(waiter: WriteWaiter, take: () => boolean, what: string, index: number): Timer {
    return this.ports.after(Math.max(0, waiter.deadlineMs - this.ports.now()), () => {
      if (take()) waiter.reject(new ReplicaError('timeout', `write at index ${index} ${what} within ${waiter.timeoutMs} ms; ${unknownOutcome(waiter)}`, { index }));
    });
  }

  private settle(entry: Entry, p: Pending, outcome: ApplyOutcome | null): void {
    const { waiter } = p;
    if (!isProposal(entry, p.token) || !outcome) {
      waiter.reject(
        new ReplicaError('unavailable', `leadership changed before the write at index ${entry.index} committed; it was not applied — retry with the same request id`, this.ports.leaderHint()),
      );
      return;
    }
    let result: WriteResult;
    try {
      result = toWriteResult(outcome, outcome.originalIndex ?? entry.index, outcome.duplicate);
    } catch (e: unknown) {
      waiter.reject(e);
      return;
    }
    if (waiter.durability === 'quorum' || this.ports.durabilityMet(entry.index, waiter.durability)) {
      waiter.resolve(result);
      return;
    }
    this.durabilityWaits.push({ index: entry.index, result, waiter });
  }
}

/** What a client can do about a write whose outcome this node cannot tell. */
function unknownOutcome(waiter: WriteWaiter): string {
  return waiter.idempotent
    ? 'its outcome is unknown — retry with the same request id'
    : 'its outcome is unknown, and the write has no request id: a retry may apply it twice (send a request id to retry safely)';
}

/**
 * Whether the other data nodes hold `index` durably as `durability` asks: 'all' — every
 * data voter; 'semi' — at least one other data node, voter or observer. A witness's
 * acknowledgement never counts: it keeps no database.
 */
export function durabilityMet(
  members: readonly { readonly id: string; readonly role: Member['role'] }[],
  self: string,
  progress: Readonly<Record<string, { readonly match: number } | undefined>>,
  index: number,
  durability: Durability,
): boolean {
  const others = members.filter((m) => m.id !== self && (durability === 'all' ? m.role === 'voter' : m.role !== 'witness'));
  const acked = others.filter((m) => (progress[m.id]?.match ?? 0) >= index).length;
  return durability === 'all' ? acked === others.length : acked >= Math.min(1, others.length);
}
