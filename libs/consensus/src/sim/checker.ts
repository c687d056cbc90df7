/**
 * The safety invariants, as pure observers. The simulated driver reports what it sees
 * (leaders, log writes, applies, snapshots, acknowledgements, reads) and every method throws
 * an InvariantViolation the moment an observation contradicts the history so far. Each check
 * costs O(size of the observation), so the simulator can call them after every event.
 */
import type { Entry, LogMatching, NodeId, Term } from '../contract';
import { appliedKey } from './encoding';
import { InvariantViolation } from './errors';

/**
 * A node's state-machine content: position i holds the appliedKey of the record applied at
 * index i (position 0 is an unused sentinel), so the applied index is `length - 1`.
 */
export type AppliedLog = readonly string[];

interface LogRecordFacts {
  readonly key: string;
  /** Term of the record just before this one in the log that first held it. */
  readonly prevTerm: number;
}

export class SafetyChecker {
  constructor(private readonly logMatching: LogMatching = 'prefix') {}

  private readonly leaderByTerm = new Map<number, NodeId>();
  /** `${index}:${term}` -> facts, for every record any node ever wrote. */
  private readonly records = new Map<string, LogRecordFacts>();
  /** index -> key of the record applied there by any node (known committed). */
  private readonly committed: string[] = [''];
  /**
   * index -> the highest fencing number any leader had when the record was first applied: at
   * least the one it was committed under (a record is committed by a leader of its term,
   * ballot or epoch, which some node saw elected before anything it committed was applied).
   */
  private readonly committedFence: number[] = [0];
  private highestLeaderTerm = 0;
  /** Each node's highest promise (ProtocolModule.promisedFence) and to whom, across its restarts. */
  private readonly promises = new Map<NodeId, { readonly fence: number; readonly to: NodeId }>();
  private readonly appliedIndex = new Map<NodeId, number>();
  private readonly acknowledged = new Map<number, string>();
  private readonly proposedPayloads = new Set<string>();
  private readonly payloadIndex = new Map<string, number>();
  private readonly readFloors = new Map<string, number>();

  /** Highest index some node applied: a lower bound of the cluster's commit index. */
  get highestCommittedIndex(): number {
    return this.committed.length - 1;
  }

  committedKey(index: number): string | undefined {
    return index >= 1 ? this.committed[index] : undefined;
  }

  acknowledgedCount(): number {
    return this.acknowledged.size;
  }

  /**
   * Election safety: at most one leader per term, across configurations — whichever nodes
   * are members when each is elected (membership changes, sim FaultOptions.membershipChange).
   */
  observeLeader(node: NodeId, term: Term): void {
    const other = this.leaderByTerm.get(term);
    if (other !== undefined && other !== node) {
      throw new InvariantViolation('election_safety', `two leaders in term ${term}: ${other} and ${node}`);
    }
    this.leaderByTerm.set(term, node);
    this.highestLeaderTerm = Math.max(this.highestLeaderTerm, term);
  }

  /**
   * Log matching: a record (index, fencing number) must always carry the same kind and bytes;
   * with 'prefix' matching (Raft) it must also follow a record of the same fencing number, by
   * induction making equal prefixes. 'record' matching (Multi-Paxos: slots are chosen one by
   * one) checks the record alone.
   * `prevTerm` is the term of the record at `entries[0].index - 1` in the writer's log.
   */
  observeLogWrite(node: NodeId, prevTerm: number, entries: readonly Entry[]): void {
    let prev = prevTerm;
    for (const entry of entries) {
      const id = `${entry.index}:${entry.term}`;
      const key = appliedKey(entry);
      const known = this.records.get(id);
      if (known === undefined) {
        this.records.set(id, { key, prevTerm: prev });
      } else if (known.key !== key) {
        throw new InvariantViolation(
          'log_matching',
          `${node} wrote index ${entry.index} term ${entry.term} as ${key}, another log holds ${known.key}`,
        );
      } else if (this.logMatching === 'prefix' && known.prevTerm !== prev) {
        throw new InvariantViolation(
          'log_matching',
          `${node} holds index ${entry.index} term ${entry.term} after a term-${prev} record, another log after term ${known.prevTerm}`,
        );
      }
      prev = entry.term;
    }
  }

  /**
   * Promise durability: a node promises a fencing number to one recipient, and never a lower
   * one after it — across restarts, so a promise must be on disk before it leaves.
   */
  observePromise(node: NodeId, fence: number, to: NodeId): void {
    const before = this.promises.get(node);
    if (before !== undefined && (fence < before.fence || (fence === before.fence && to !== before.to))) {
      throw new InvariantViolation(
        'promise_durability',
        `${node} promised ${fence} to ${to} after promising ${before.fence} to ${before.to} (was the promise durable before it was sent?)`,
      );
    }
    this.promises.set(node, { fence, to });
  }

  /**
   * Leader completeness: a new leader holds every record known committed under a lower
   * fencing number than its own (Raft §5.4: "present in the logs of the leaders for all
   * higher-numbered terms"; Paxos: a value chosen at a lower ballot is proposed again at every
   * higher one). A leader of a number no higher — elected by answers delayed from before a
   * later leader committed (a promise to ballot b arriving after ballot b+2 chose a slot) —
   * is not bound to hold it, and can commit nothing while a quorum has promised the higher one.
   * `holds(i)` returns the key of what the leader has at index i (log or snapshot).
   */
  checkLeaderCompleteness(node: NodeId, term: Term, holds: (index: number) => string | undefined): void {
    for (let i = 1; i < this.committed.length; i++) {
      if ((this.committedFence[i] ?? 0) >= term) continue;
      const has = holds(i);
      if (has !== this.committed[i]) {
        throw new InvariantViolation(
          'leader_completeness',
          `${node} became leader of term ${term} holding ${has ?? 'nothing'} at committed index ${i} (committed: ${this.committed[i]})`,
        );
      }
    }
  }

  /**
   * A node that (re)starts takes as committed only records that were: every record it holds
   * up to the commit point its core starts with is the one committed there.
   */
  checkCommittedAtBoot(node: NodeId, after: number, commitIndex: number, holds: (index: number) => string | undefined): void {
    for (let i = after + 1; i <= commitIndex && i < this.committed.length; i++) {
      const has = holds(i);
      if (has !== undefined && has !== this.committed[i]) {
        throw new InvariantViolation('committed_at_boot', `${node} restarted with index ${commitIndex} committed, holding ${has} at index ${i} (committed: ${this.committed[i]})`);
      }
    }
  }

  observeProposal(payloadHex: string): void {
    this.proposedPayloads.add(payloadHex);
  }

  /**
   * State-machine safety and apply order for one applied record. `payloadHex` is set for
   * command records, to check integrity: only proposed commands, each at one index.
   */
  observeApply(node: NodeId, index: number, key: string, payloadHex: string | null): void {
    const last = this.appliedIndex.get(node) ?? 0;
    if (index !== last + 1) {
      throw new InvariantViolation('apply_order', `${node} applied index ${index} right after ${last}`);
    }
    this.checkAgainstHistory(node, index, key);
    if (payloadHex !== null) this.checkIntegrity(node, index, payloadHex);
    this.appliedIndex.set(node, index);
  }

  /** The node's state machine was replaced (snapshot install, restart): check all it holds. */
  observeStateReset(node: NodeId, state: AppliedLog): void {
    for (let i = 1; i < state.length; i++) this.checkAgainstHistory(node, i, state[i]!);
    this.appliedIndex.set(node, state.length - 1);
  }

  /** A client saw its proposal applied by the node it proposed to. */
  observeAcknowledged(index: number, key: string): void {
    const committed = this.committed[index];
    if (committed !== key) {
      throw new InvariantViolation('acknowledged_durability', `acknowledged ${key} at ${index}, but ${committed ?? 'nothing'} is committed there`);
    }
    this.acknowledged.set(index, key);
  }

  /** A linearizable read was requested now: its read point must cover what is committed now. */
  observeReadRequest(requestId: string): void {
    this.readFloors.set(requestId, this.highestCommittedIndex);
  }

  observeReadState(node: NodeId, requestId: string, index: number): void {
    const floor = this.readFloors.get(requestId);
    if (floor === undefined) {
      throw new InvariantViolation('read_safety', `${node} answered unknown read request ${requestId}`);
    }
    if (index < floor) {
      throw new InvariantViolation(
        'read_safety',
        `${node} answered read ${requestId} at index ${index}, but index ${floor} was already committed when it was asked`,
      );
    }
  }

  /** End of run: every node holds the same applied sequence, and every acknowledged write is in it. */
  checkConverged(states: ReadonlyMap<NodeId, AppliedLog>): void {
    let reference: { node: NodeId; state: AppliedLog } | null = null;
    for (const [node, state] of states) {
      this.checkAcknowledgedIn(node, state);
      if (reference === null) {
        reference = { node, state };
        continue;
      }
      const diverge = firstDifference(reference.state, state);
      if (diverge !== -1) {
        throw new InvariantViolation(
          'convergence',
          `${reference.node} (applied ${reference.state.length - 1}) and ${node} (applied ${state.length - 1}) differ from index ${diverge}`,
        );
      }
    }
  }

  private checkAgainstHistory(node: NodeId, index: number, key: string): void {
    const acked = this.acknowledged.get(index);
    if (acked !== undefined && acked !== key) {
      throw new InvariantViolation('acknowledged_durability', `${node} applied ${key} at ${index}, where acknowledged ${acked} was committed`);
    }
    if (index < this.committed.length) {
      const known = this.committed[index];
      if (known !== key) {
        throw new InvariantViolation('state_machine_safety', `${node} applied ${key} at ${index}, another node applied ${known}`);
      }
      return;
    }
    if (index !== this.committed.length) {
      throw new InvariantViolation('apply_order', `${node} applied index ${index} beyond every node's applied index ${this.committed.length - 1} + 1`);
    }
    this.committed.push(key);
    this.committedFence.push(this.highestLeaderTerm);
  }

  private checkIntegrity(node: NodeId, index: number, payloadHex: string): void {
    if (!this.proposedPayloads.has(payloadHex)) {
      throw new InvariantViolation('integrity', `${node} applied a command at ${index} that no client proposed`);
    }
    const at = this.payloadIndex.get(payloadHex);
    if (at !== undefined && at !== index) {
      throw new InvariantViolation('integrity', `${node} applied the command committed at ${at} again at ${index}`);
    }
    this.payloadIndex.set(payloadHex, index);
  }

  private checkAcknowledgedIn(node: NodeId, state: AppliedLog): void {
    for (const [index, key] of this.acknowledged) {
      const has = state[index];
      if (has !== key) {
        throw new InvariantViolation('acknowledged_durability', `${node} holds ${has ?? 'nothing'} at ${index}, where ${key} was acknowledged`);
      }
    }
  }
}

function firstDifference(a: AppliedLog, b: AppliedLog): number {
  const n = Math.max(a.length, b.length);
  for (let i = 1; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
