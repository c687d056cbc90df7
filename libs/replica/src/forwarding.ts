/**
 * Forwarding: the leader this node knows of, and a client write sent on to it from a node
 * that does not lead — after waiting a few elections for one to appear.
 */
import type { Member, NodeId } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
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
    this.leader = leader;
    if (leader) this.wakeAll();
  }

  /** Stops every wait for a leader (they see the node stopping, or the leader it names). */
  wakeAll(): void {
    for (const wake of this.leaderWaiters.splice(0)) wake();
  }

  async forward(request: WriteRequest, deadlineMs: number): Promise<WriteResult> {
    if (request.forwarded) {
      throw new ReplicaError('not_leader', `node ${this.host.nodeId} is not the leader`, this.hint());
    }
    const leader = await this.waitForLeader(deadlineMs - this.host.now());
    const timeoutMs = Math.max(1, deadlineMs - this.host.now());
    if (leader.id === this.host.nodeId) return this.host.executeHere({ ...request, timeoutMs });
    return this.host.forwarder.forward(leader, { ...request, forwarded: true, timeoutMs });
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
      await new Promise<void>((resolve) => {
        const timer = this.host.after(left, resolve);
        this.leaderWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
  }
}
