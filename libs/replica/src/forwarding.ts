/**
 * Forwarding: the leader this node knows of, and a client write sent on to it from a node
 * that does not lead — after waiting a few elections for one to appear, and again, once this
 * node's core names another leader, when the one it knew could not be reached.
 */
import type { Member, NodeId } from '@quorumlite/consensus';
import { ReplicaError, withLeaderAddress, withTimeout } from './errors';
import type { Timer, WriteForwarder, WriteRequest, WriteResult } from './ports';
import type { LeaderHint } from './state-machine';

/** How long a follower waits for a leader to appear before refusing a forwarded write. */
const LEADER_WAIT_ELECTIONS = 3;

export interface ForwardingHost {
  readonly nodeId: string;
  readonly members: ReadonlyMap<string, { readonly id: string; readonly address: string; readonly role: Member['role'] }>;
  readonly forwarder: WriteForwarder;
  now(): number;
  /** The driver's timers (Clock.after): virtual time in a simulation. */
  after(ms: number, fn: () => void): Timer;
  /** The longest one election may take. */
  electionMsMax(): number;
  stopped(): boolean;
  /** This node became the leader while the write waited: it runs here. */
  executeHere(request: WriteRequest): Promise<WriteResult>;
}

export class Forwarding {
  private leader: NodeId | null = null;
  /** How many times the leader this node knows of changed (to none included). */
  private leaderChanges = 0;
  private readonly leaderWaiters: (() => void)[] = [];

  constructor(private readonly host: ForwardingHost) {}

  leaderId(): NodeId | null {
    return this.leader;
  }

  /** Where a refused client may find the leader. */
  hint(): LeaderHint {
    const leaderId = this.leader;
    return { leaderId, leaderAddress: leaderId ? (this.host.members.get(leaderId)?.address ?? null) : null };
  }

  /** The core's soft state named a leader (or none): writes that waited for one go on. */
  setLeader(leader: NodeId | null): void {
    if (leader !== this.leader) this.leaderChanges++;
    this.leader = leader;
    if (leader) this.wakeAll();
  }

  /** Stops every wait for a leader (they see the node stopping, or the leader it names). */
  wakeAll(): void {
    for (const wake of this.leaderWaiters.splice(0)) wake();
  }

  /**
   * Sends the write on to the leader. When that leader cannot be reached (it died: its
   * followers learn so within a few ticks and elect another), the write waits here for this
   * node's core to name another leader, and goes there, rather than send the client round the
   * addresses with a growing backoff; the request id makes the second sending apply at most
   * once. The wait is bounded like the wait for a first leader; past it the failure stands.
   */
  async forward(request: WriteRequest, deadlineMs: number): Promise<WriteResult> {
    if (request.forwarded) {
      throw new ReplicaError('not_leader', `node ${this.host.nodeId} is not the leader`, this.hint());
    }
    for (;;) {
      const changes = this.leaderChanges;
      const leader = await this.waitForLeader(deadlineMs - this.host.now());
      const timeoutMs = Math.max(1, deadlineMs - this.host.now());
      if (leader.id === this.host.nodeId) return this.host.executeHere(withTimeout(request, timeoutMs, request.forwarded));
      try {
        const result = await this.host.forwarder.forward(leader, withTimeout(request, timeoutMs, true));
        // A leader of the release before names no address: the one it was reached at is its own.
        return result.leaderAddress !== undefined ? result : withLeaderAddress(result, leader.address);
      } catch (e: unknown) {
        const unreachable = e instanceof ReplicaError && e.code === 'unavailable' && e.details.leaderId === leader.id;
        if (!unreachable || !(await this.leaderChanged(changes, deadlineMs))) throw e;
      }
    }
  }

  /** Waits (bounded by the deadline and a few elections) until the leader known changed since `changes` and one is known. */
  private async leaderChanged(changes: number, deadlineMs: number): Promise<boolean> {
    const deadline = Math.min(deadlineMs, this.host.now() + this.host.electionMsMax() * LEADER_WAIT_ELECTIONS);
    for (;;) {
      if (this.leaderChanges !== changes && this.leader !== null) return true;
      const left = deadline - this.host.now();
      if (left <= 0 || this.host.stopped()) return false;
      await this.nextLeader(left);
    }
  }

  private async waitForLeader(timeoutMs: number): Promise<{ id: string; address: string }> {
    const deadline = this.host.now() + Math.min(timeoutMs, this.host.electionMsMax() * LEADER_WAIT_ELECTIONS);
    for (;;) {
      const known = this.leader ? this.host.members.get(this.leader) : undefined;
      if (known) return { id: known.id, address: known.address };
      const left = deadline - this.host.now();
      if (left <= 0 || this.host.stopped()) {
        throw new ReplicaError('no_leader', 'no leader is known yet (an election may be under way); retry shortly');
      }
      await this.nextLeader(left);
    }
  }

  /** Resolves when a leader is named next, or after `ms`. */
  private nextLeader(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.host.after(ms, resolve);
      this.leaderWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }
}
