/**
 * A deliberately tiny protocol for testing the simulator itself: members[0] leads forever
 * (term 1), appends proposals, replicates them in order and commits at a majority of
 * matches. It is safe only because leadership never moves and every write is fsync'd;
 * `skipSync` removes the fsync (acknowledging records a crash can lose), which the
 * simulator must catch.
 */
import {
  ConsensusError,
  logIndex,
  term,
  type BaseMessage,
  type ConsensusCore,
  type CoreOptions,
  type CoreStatus,
  type Entry,
  type NodeId,
  type PersistedState,
  type ProposeResult,
  type ProtocolModule,
  type Ready,
  type ReadFailure,
  type ReadState,
} from '@quorumlite/consensus';

export type StaticLeaderMessage =
  | (BaseMessage & { readonly type: 'append'; readonly prevIndex: number; readonly commit: number; readonly entries: readonly Entry[] })
  | (BaseMessage & { readonly type: 'ack'; readonly match: number; readonly reject: boolean });

interface Bugs {
  /** Never ask for fsync: followers acknowledge records a crash may lose. */
  readonly skipSync?: boolean;
}

class StaticLeaderCore implements ConsensusCore<StaticLeaderMessage> {
  private readonly log: Entry[];
  private readonly leaderId: NodeId;
  private readonly match = new Map<NodeId, number>();
  private commit: number;
  private applied = 0;
  private ticks = 0;
  private unpersisted: Entry[] = [];
  private outbox: StaticLeaderMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private softReported = false;
  private hardDirty = false;
  private pendingCommit = 0;

  constructor(
    private readonly options: CoreOptions,
    persisted: PersistedState,
    private readonly bugs: Bugs,
  ) {
    this.log = persisted.entries.slice();
    this.commit = Math.min(Number(persisted.hardState?.['commit'] ?? 0), this.log.length);
    this.leaderId = options.members[0]!.id;
  }

  private get isLeader(): boolean {
    return this.options.id === this.leaderId;
  }

  tick(): void {
    this.ticks += 1;
    if (this.isLeader && this.ticks % this.options.heartbeatTicks === 0) this.broadcast();
  }

  step(m: StaticLeaderMessage): void {
    if (m.type === 'append') return this.onAppend(m);
    if (m.reject) this.match.set(m.from, m.match);
    else this.match.set(m.from, Math.max(this.match.get(m.from) ?? 0, m.match));
    const matches = this.options.members.map((x) => (x.id === this.options.id ? this.log.length : this.match.get(x.id) ?? 0));
    matches.sort((a, b) => b - a);
    const quorum = matches[Math.floor(this.options.members.length / 2)]!;
    if (quorum > this.commit) this.setCommit(quorum);
  }

  private onAppend(m: Extract<StaticLeaderMessage, { type: 'append' }>): void {
    const reject = m.prevIndex > this.log.length;
    if (!reject) {
      const fresh = m.entries.filter((e) => e.index > this.log.length);
      for (const e of fresh) this.log.push(e);
      this.unpersisted.push(...fresh);
      const commit = Math.min(m.commit, this.log.length);
      if (commit > this.commit) this.setCommit(commit);
    }
    this.outbox.push({ type: 'ack', from: this.options.id, to: m.from, match: this.log.length, reject });
  }

  private setCommit(commit: number): void {
    this.commit = commit;
    this.hardDirty = true;
  }

  private broadcast(): void {
    for (const peer of this.options.members) {
      if (peer.id === this.options.id) continue;
      const prevIndex = this.match.get(peer.id) ?? 0;
      const entries = this.log.slice(prevIndex, prevIndex + this.options.maxEntriesPerMessage);
      this.outbox.push({ type: 'append', from: this.options.id, to: peer.id, prevIndex, commit: this.commit, entries });
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (!this.isLeader) return { ok: false, reason: 'not_leader', leader: this.leaderId };
    const entry: Entry = { index: logIndex(this.log.length + 1), term: term(1), kind: 'command', data };
    this.log.push(entry);
    this.unpersisted.push(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  readIndex(requestId: string): void {
    // Every record this leader ever made is in its log, while its commit index may lag after a restart.
    if (this.isLeader) this.readStates.push({ requestId, index: logIndex(this.log.length) });
    else this.readFailures.push({ requestId, reason: 'not_leader', leader: this.leaderId });
  }

  hasReady(): boolean {
    return (
      !this.softReported || this.hardDirty || this.unpersisted.length > 0 || this.outbox.length > 0 ||
      this.commit > this.applied || this.readStates.length > 0 || this.readFailures.length > 0
    );
  }

  ready(): Ready<StaticLeaderMessage> {
    this.pendingCommit = this.commit;
    const rd: Ready<StaticLeaderMessage> = {
      hardState: this.hardDirty ? { commit: this.commit } : null,
      entries: this.unpersisted,
      mustSync: this.unpersisted.length > 0 && this.bugs.skipSync !== true,
      snapshot: null,
      messages: this.outbox,
      committed: this.log.slice(this.applied, this.commit),
      readStates: this.readStates,
      readFailures: this.readFailures,
      softState: this.softReported ? null : { role: this.isLeader ? 'leader' : 'follower', leader: this.leaderId, term: term(1) },
    };
    this.softReported = true;
    this.hardDirty = false;
    this.unpersisted = [];
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    return rd;
  }

  advance(): void {
    this.applied = this.pendingCommit;
  }

  compact(): void {
    // The log is tiny in tests; this protocol never sends snapshots.
  }

  reportSnapshotFailure(): void {}
  reportUnreachable(): void {}
  transferLeadership(): void {}

  status(): CoreStatus {
    return {
      id: this.options.id, role: this.isLeader ? 'leader' : 'follower', leader: this.leaderId, term: term(1),
      commitIndex: logIndex(this.commit), lastIndex: logIndex(this.log.length), firstIndex: logIndex(1), progress: {},
    };
  }
}

interface WireEntry {
  readonly index: number;
  readonly term: number;
  readonly kind: Entry['kind'];
  readonly data: number[];
}

function encode(message: StaticLeaderMessage): Uint8Array {
  const wire = message.type === 'append' ? { ...message, entries: message.entries.map((e) => ({ ...e, data: [...e.data] })) } : message;
  const json = JSON.stringify(wire);
  return Uint8Array.from(json, (c) => c.charCodeAt(0));
}

function decode(bytes: Uint8Array): StaticLeaderMessage {
  try {
    const raw = JSON.parse(String.fromCharCode(...bytes)) as StaticLeaderMessage & { entries?: WireEntry[] };
    if (raw.type !== 'append') return raw;
    const entries = (raw.entries ?? []).map((e) => ({ index: logIndex(e.index), term: term(e.term), kind: e.kind, data: Uint8Array.from(e.data) }));
    return { ...raw, entries };
  } catch (e: unknown) {
    throw new ConsensusError('bad_message', 'static-leader message is not JSON', { cause: e });
  }
}

export function staticLeader(bugs: Bugs = {}): ProtocolModule<StaticLeaderMessage> {
  return {
    name: 'raft',
    validate: () => undefined,
    create: (options, persisted) => new StaticLeaderCore(options, persisted, bugs),
    encodeMessage: encode,
    decodeMessage: decode,
  };
}
