/**
 * Leadership transfer on request — the admin call and a leader's graceful shutdown. The core
 * hands over by its protocol's own means (Raft's TimeoutNow, and each other protocol's
 * equivalent, documented with its core); this picks the target, checks it may lead, and waits
 * for the outcome: this node no longer leads and names the leader that took over.
 */
import { nodeId, type CoreStatus, type Member, type NodeId, type Role } from '@quorumlite/consensus';
import { askTheLeader, ReplicaError } from './errors';
import type { Timer } from './ports';
import type { LeaderHint } from './state-machine';

export interface TransferHost {
  readonly nodeId: string;
  readonly members: ReadonlyMap<string, { readonly id: string; readonly role: Member['role'] }>;
  role(): Role;
  leaderId(): NodeId | null;
  hint(): LeaderHint;
  /** Per peer, how far its log matches this leader's (the core's status). */
  progress(): CoreStatus['progress'];
  /** Ask the core to hand leadership to `to` (stepped on the loop, in order). */
  request(to: NodeId): void;
  now(): number;
  /** The driver's timers (Clock.after): virtual time in a simulation. */
  after(ms: number, fn: () => void): Timer;
  stopped(): boolean;
}

export interface TransferOutcome {
  /** The node that led when the transfer began (this one). */
  readonly from: string;
  /** The leader afterwards: the target, unless another data voter won the election. */
  readonly to: string;
  readonly elapsedMs: number;
}

export class Transfers {
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly host: TransferHost) {}

  /**
   * Hands leadership to `to` (null: the most up-to-date other data voter) and resolves once
   * another node leads, or fails with `timeout` after `timeoutMs` (the core abandons a transfer
   * that does not finish within an election, and this node goes on leading).
   */
  async transfer(to: string | null, timeoutMs: number): Promise<TransferOutcome> {
    const { host } = this;
    if (host.role() !== 'leader') throw askTheLeader(host.nodeId, host.hint(), 'transfer');
    const target = this.target(to);
    const startedMs = host.now();
    if (target === host.nodeId) return { from: host.nodeId, to: host.nodeId, elapsedMs: 0 };
    host.request(nodeId(target));
    const deadlineMs = startedMs + timeoutMs;
    for (;;) {
      const leader = host.leaderId();
      if (host.role() !== 'leader' && leader !== null && leader !== host.nodeId) {
        return { from: host.nodeId, to: leader, elapsedMs: host.now() - startedMs };
      }
      const left = deadlineMs - host.now();
      if (left <= 0 || host.stopped()) {
        throw host.role() === 'leader'
          ? new ReplicaError('timeout', `leadership transfer to ${target} did not complete within ${timeoutMs} ms; ${host.nodeId} still leads (is ${target} reachable and caught up?)`)
          : new ReplicaError('no_leader', `${host.nodeId} stepped down for ${target}, but no new leader was known within ${timeoutMs} ms; retry shortly`);
      }
      await new Promise<void>((resolve) => {
        const timer = host.after(left, resolve);
        this.waiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
  }

  /** The role or leader changed (or the node stops): transfers in wait look again. */
  changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Whether another data voter could take over from this node. */
  hasCandidate(): boolean {
    return this.dataVoters().some((id) => id !== this.host.nodeId);
  }

  private target(to: string | null): string {
    const { host } = this;
    if (to !== null) {
      const member = host.members.get(to);
      if (!member) throw new ReplicaError('invalid', `no member '${to}'; members are ${[...host.members.keys()].join(', ')}`);
      if (member.role !== 'voter') throw new ReplicaError('invalid', `${to} is ${member.role === 'witness' ? 'a witness' : 'an observer'}: only a data voter can lead`);
      return to;
    }
    const progress = host.progress();
    const candidates = this.dataVoters().filter((id) => id !== host.nodeId);
    if (candidates.length === 0) throw new ReplicaError('invalid', `no other data voter to hand leadership to: ${host.nodeId} is the only one`);
    // The most caught-up takes over soonest; ties go to the first in member order.
    let best = candidates[0]!;
    for (const id of candidates) if ((progress[id]?.match ?? 0) > (progress[best]?.match ?? 0)) best = id;
    return best;
  }

  private dataVoters(): string[] {
    return [...this.host.members.values()].filter((m) => m.role === 'voter').map((m) => m.id);
  }
}
