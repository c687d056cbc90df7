/**
 * A deliberately tiny protocol for testing the simulator itself: members[0] leads forever
 * (term 1), appends proposals, replicates them in order, commits at a majority of matches,
 * and ships its snapshot to a follower that is behind its compacted log. It is safe only
 * because leadership never moves and every write is fsync'd; `skipSync` removes the fsync
 * (acknowledging records a crash can lose), which the simulator must catch.
 */
import {
  proposalToken,
  ConsensusError,
  logIndex,
  membershipUnsupported,
  term,
  type BaseMessage,
  type ConsensusCore,
  type CoreOptions,
  type Member,
  type CoreStatus,
  type Entry,
  type NodeId,
  type PersistedState,
  type ProposeResult,
  type ProtocolModule,
  type Ready,
  type ReadFailure,
  type ReadState,
  type SnapshotMeta,
} from '@quorumlite/consensus';

export type StaticLeaderMessage =
  | (BaseMessage & { readonly type: 'append'; readonly prevIndex: number; readonly commit: number; readonly entries: readonly Entry[] })
  | (BaseMessage & { readonly type: 'install' })
  | (BaseMessage & { readonly type: 'ack'; readonly match: number; readonly reject: boolean });

interface Bugs {
  /** Never ask for fsync: followers acknowledge records a crash may lose. */
  readonly skipSync?: boolean;
}

class StaticLeaderCore implements ConsensusCore<StaticLeaderMessage> {
  /** log[k] has index offset + 1 + k; everything up to offset is in `snapshot`. */
  private log: Entry[];
  private offset: number;
  private snapshot: SnapshotMeta | null;
  private readonly leaderId: NodeId;
  private readonly match = new Map<NodeId, number>();
  private commit: number;
  private applied: number;
  private ticks = 0;
  private unpersisted: Entry[] = [];
  private outbox: StaticLeaderMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private accepted: SnapshotMeta | null = null;
  private softReported = false;
  private hardDirty = false;
  private pendingCommit = 0;

  constructor(
    private readonly options: CoreOptions,
    persisted: PersistedState,
    private readonly bugs: Bugs,
  ) {
    this.snapshot = persisted.snapshot;
    this.offset = persisted.snapshot?.index ?? 0;
    this.log = persisted.entries.filter((e) => e.index > this.offset);
    this.applied = this.offset;
    this.commit = Math.max(this.offset, Math.min(Number(persisted.hardState?.['commit'] ?? 0), this.last));
    this.leaderId = options.members[0]!.id;
  }

  private get isLeader(): boolean {
    return this.options.id === this.leaderId;
  }

  private get last(): number {
    return this.offset + this.log.length;
  }

  tick(): void {
    this.ticks += 1;
    if (this.isLeader && this.ticks % this.options.heartbeatTicks === 0) this.broadcast();
  }

  step(m: StaticLeaderMessage): void {
    switch (m.type) {
      case 'append':
        return this.onAppend(m);
      case 'install':
        return this.onInstall(m);
      case 'ack':
        return this.onAck(m);
    }
  }

  private onAck(m: Extract<StaticLeaderMessage, { type: 'ack' }>): void {
    if (m.reject) this.match.set(m.from, m.match);
    else this.match.set(m.from, Math.max(this.match.get(m.from) ?? 0, m.match));
    const matches = this.options.members.map((x) => (x.id === this.options.id ? this.last : this.match.get(x.id) ?? 0));
    matches.sort((a, b) => b - a);
    const quorum = matches[Math.floor(this.options.members.length / 2)]!;
    if (quorum > this.commit) this.setCommit(quorum);
  }

  private onAppend(m: Extract<StaticLeaderMessage, { type: 'append' }>): void {
    const reject = m.prevIndex > this.last;
    if (!reject) {
      const fresh = m.entries.filter((e) => e.index > this.last);
      for (const e of fresh) this.log.push(e);
      this.unpersisted.push(...fresh);
      const commit = Math.min(m.commit, this.last);
      if (commit > this.commit) this.setCommit(commit);
    }
    this.ack(m.from, reject);
  }

  private onInstall(m: Extract<StaticLeaderMessage, { type: 'install' }>): void {
    const meta = m.snapshot;
    if (meta !== undefined && meta.index > this.commit && this.accepted === null) {
      this.accepted = meta;
      this.snapshot = meta;
      this.offset = meta.index;
      this.log = [];
      this.unpersisted = [];
      this.applied = meta.index;
      this.setCommit(meta.index);
    }
    this.ack(m.from, false);
  }

  private ack(to: NodeId, reject: boolean): void {
    this.outbox.push({ type: 'ack', from: this.options.id, to, match: this.last, reject });
  }

  private setCommit(commit: number): void {
    this.commit = commit;
    this.hardDirty = true;
  }

  private broadcast(): void {
    for (const peer of this.options.members) {
      if (peer.id === this.options.id) continue;
      const prevIndex = this.match.get(peer.id) ?? 0;
      if (prevIndex < this.offset && this.snapshot !== null) {
        this.outbox.push({ type: 'install', from: this.options.id, to: peer.id, snapshot: this.snapshot });
        continue;
      }
      const from = Math.max(0, prevIndex - this.offset);
      const entries = this.log.slice(from, from + this.options.entriesPerMessageMax);
      this.outbox.push({ type: 'append', from: this.options.id, to: peer.id, prevIndex, commit: this.commit, entries });
    }
  }

  readonly proposeMembership = membershipUnsupported('static-leader');

  membersAt(): readonly Member[] {
    return this.options.members;
  }

  propose(data: Uint8Array): ProposeResult {
    if (!this.isLeader) return { ok: false, reason: 'not_leader', leader: this.leaderId };
    const entry: Entry = { index: logIndex(this.last + 1), term: term(1), kind: 'command', data };
    this.log.push(entry);
    this.unpersisted.push(entry);
    return { ok: true, index: entry.index, term: entry.term, token: proposalToken(data) };
  }

  readIndex(requestId: string): void {
    // Every record this leader ever made is in its log, while its commit index may lag after a restart.
    if (this.isLeader) this.readStates.push({ requestId, index: logIndex(this.last) });
    else this.readFailures.push({ requestId, reason: 'not_leader', leader: this.leaderId });
  }

  hasReady(): boolean {
    return (
      !this.softReported || this.hardDirty || this.unpersisted.length > 0 || this.outbox.length > 0 ||
      this.commit > this.applied || this.readStates.length > 0 || this.readFailures.length > 0 || this.accepted !== null
    );
  }

  ready(): Ready<StaticLeaderMessage> {
    this.pendingCommit = this.commit;
    const rd: Ready<StaticLeaderMessage> = {
      hardState: this.hardDirty ? { commit: this.commit } : null,
      entries: this.unpersisted,
      mustSync: this.unpersisted.length > 0 && this.bugs.skipSync !== true,
      snapshot: this.accepted,
      messages: this.outbox,
      committed: this.log.slice(this.applied - this.offset, this.commit - this.offset),
      readStates: this.readStates,
      readFailures: this.readFailures,
      earlyMessages: [],
      truncateAfter: null,
      softState: this.softReported ? null : { role: this.isLeader ? 'leader' : 'follower', leader: this.leaderId, term: term(1) },
    };
    this.softReported = true;
    this.hardDirty = false;
    this.accepted = null;
    this.unpersisted = [];
    this.outbox = [];
    this.readStates = [];
    this.readFailures = [];
    return rd;
  }

  advance(): void {
    this.applied = this.pendingCommit;
  }

  /** Sends nothing early: every message waits for its Ready's persist. */
  takeEarlyMessages(): StaticLeaderMessage[] {
    return [];
  }

  compact(meta: SnapshotMeta): void {
    // The driver compacts while it applies a Ready, before advance(): what it handed out counts.
    if (meta.index <= this.offset || meta.index > Math.max(this.applied, this.pendingCommit)) return;
    this.log = this.log.slice(meta.index - this.offset);
    this.offset = meta.index;
    this.snapshot = meta;
  }

  reportSnapshotFailure(): void {}
  reportUnreachable(): void {}
  reportReachable(): void {}
  transferLeadership(): void {}

  status(): CoreStatus {
    return {
      id: this.options.id, role: this.isLeader ? 'leader' : 'follower', leader: this.leaderId, term: term(1),
      commitIndex: logIndex(this.commit), lastIndex: logIndex(this.last), firstIndex: logIndex(this.offset + 1), progress: {}, promisedFence: term(1),
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
    name: 'static-leader',
    fencingName: 'term',
    logMatching: 'prefix',
    roles: ['voter', 'observer'],
    options: [],
    // The leader is fixed: there is no election to wait for beyond one timeout.
    electionTicksMax: (options) => options.electionTimeoutTicks,
    orderFree: () => false,
    promisedFence: () => null,
    // It keeps no promises (the leader is fixed), so a rejoined node keeps what it holds.
    rejoinedHardState: (hard) => hard ?? {},
    fencedHardState: (hard) => hard ?? {},
    validate: () => undefined,
    create: (options, persisted) => new StaticLeaderCore(options, persisted, bugs),
    encodeMessage: encode,
    decodeMessage: decode,
  };
}
