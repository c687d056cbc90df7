/**
 * A tiny hand-driven network of Raft cores for the tests: every node persists its Ready in
 * memory, messages wait in one queue until delivered, and links can be cut.
 */
import { carryOutReady, type ReadyPorts } from '../driver';
import { seededRandom } from '../prng';
import {
  logIndex,
  nodeId,
  term,
  type CoreOptions,
  type Entry,
  type HardState,
  type Member,
  type NodeId,
  type ReadFailure,
  type ReadState,
  type SnapshotMeta,
} from '../contract';
import { RaftCore } from './core';
import type { RaftOptions } from './config';
import type { RaftMessage } from './messages';

export const ids = (...names: string[]): NodeId[] => names.map(nodeId);

/** CoreOptions overrides, with Raft's own settings (preVote, checkQuorum) given flat for brevity. */
export type Overrides = Partial<CoreOptions> & Partial<RaftOptions>;

export function options(id: string, members: readonly Member[], over: Overrides = {}): CoreOptions {
  const { preVote = false, checkQuorum = false, ...core } = over;
  let seed = 7;
  for (const ch of id) seed = seed * 31 + ch.charCodeAt(0);
  return {
    id: nodeId(id),
    members,
    electionTimeoutTicks: 10,
    heartbeatTicks: 1,
    random: seededRandom(seed),
    protocolOptions: { preVote, checkQuorum },
    entriesPerMessageMax: 64,
    bytesPerMessageMax: 1 << 20,
    inflightMessagesMax: 16,
    uncommittedEntriesMax: 1000,
    ...core,
  };
}

export const voters = (...names: string[]): Member[] => names.map((n) => ({ id: nodeId(n), role: 'voter' as const }));
export const observer = (name: string): Member => ({ id: nodeId(name), role: 'observer' });

export interface Disk {
  hardState: HardState | null;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export class Net {
  readonly cores = new Map<string, RaftCore>();
  readonly disks = new Map<string, Disk>();
  readonly applied = new Map<string, Entry[]>();
  /** The newest record each node's state machine holds (from a snapshot or applied). */
  readonly lastApplied = new Map<string, { index: number; term: number }>();
  /** Called for every record any node applies. */
  onApply: (id: string, e: Entry) => void = () => undefined;
  readonly readStates = new Map<string, ReadState[]>();
  readonly readFailures = new Map<string, ReadFailure[]>();
  /** Every message sent, in order, for assertions. */
  readonly sent: RaftMessage[] = [];
  queue: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  /** Extra filter: return false to drop a message. */
  filter: (m: RaftMessage) => boolean = () => true;

  constructor(
    readonly members: readonly Member[],
    private readonly over: Overrides = {},
  ) {
    for (const m of members) this.start(m.id);
  }

  /** (Re)starts `id` on `disk`; `over` adds to the network's overrides for this start only. */
  start(id: string, disk: Disk = { hardState: null, snapshot: null, entries: [] }, over: Overrides = {}): RaftCore {
    this.disks.set(id, disk);
    const core = new RaftCore(options(id, this.members, { ...this.over, ...over }), {
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: [...disk.entries],
    });
    this.cores.set(id, core);
    this.lastApplied.set(id, { index: disk.snapshot?.index ?? 0, term: disk.snapshot?.term ?? 0 });
    if (!this.applied.has(id)) this.applied.set(id, []);
    this.readStates.set(id, []);
    this.readFailures.set(id, []);
    return core;
  }

  core(id: string): RaftCore {
    const c = this.cores.get(id);
    if (c === undefined) throw new Error(`no core ${id}`);
    return c;
  }

  /** Take every Ready of `id`: persist, queue messages, apply, advance. */
  process(id: string): void {
    const core = this.core(id);
    const disk = this.disks.get(id);
    if (disk === undefined) throw new Error(`no disk ${id}`);
    const ports = this.portsOf(id, disk);
    for (let i = 0; i < 100 && core.hasReady(); i++) {
      carryOutReady(core.ready(), ports);
      core.advance();
    }
  }

  /** In-memory ports for the driver's one Ready carrier. */
  private portsOf(id: string, disk: Disk): ReadyPorts<RaftMessage> {
    return {
      installSnapshot: (meta) => {
        disk.snapshot = meta;
        disk.entries = [];
        this.applied.set(id, []);
        this.lastApplied.set(id, { index: meta.index, term: meta.term });
      },
      persist: (truncateAfter, hardState, entries) => {
        if (truncateAfter !== null) disk.entries = disk.entries.filter((e) => e.index <= truncateAfter);
        if (hardState) disk.hardState = hardState;
        const first = entries[0];
        if (first) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...entries];
      },
      send: (m) => {
        this.sent.push(m);
        this.queue.push(m);
      },
      apply: (entries) => {
        this.applied.get(id)?.push(...entries);
        for (const e of entries) {
          this.onApply(id, e);
          this.lastApplied.set(id, { index: e.index, term: e.term });
        }
      },
      reads: (readStates, readFailures) => {
        this.readStates.get(id)?.push(...readStates);
        this.readFailures.get(id)?.push(...readFailures);
      },
      softState: () => undefined,
    };
  }

  processAll(): void {
    for (const id of this.cores.keys()) this.process(id);
  }

  isolate(id: string): void {
    this.cut.add(id);
  }

  heal(): void {
    this.cut.clear();
  }

  private passes(m: RaftMessage): boolean {
    return !this.cut.has(m.from) && !this.cut.has(m.to) && this.filter(m);
  }

  /** Deliver what is queued now (not what those deliveries produce); returns how many. */
  deliverOnce(): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of batch) {
      if (!this.passes(m) || !this.cores.has(m.to)) continue;
      this.core(m.to).step(m);
      n++;
    }
    this.processAll();
    return n;
  }

  /** Process and deliver until quiet (bounded). */
  stabilize(maxRounds = 200): void {
    this.processAll();
    for (let i = 0; i < maxRounds; i++) {
      if (this.queue.length === 0) return;
      this.deliverOnce();
    }
    throw new Error('network did not stabilize');
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) this.core(id).tick();
    this.process(id);
  }

  /** Tick `id` alone until it campaigns, then let the election run to the end. */
  elect(id: string): void {
    this.campaign(id);
    this.stabilize();
  }

  /** Tick `id` alone until its election timeout fires (it then has vote requests to send). */
  campaign(id: string): void {
    const core = this.core(id);
    this.process(id);
    for (let i = 0; i < 100 && !core.hasReady(); i++) core.tick();
  }

  leaderOf(): string | null {
    for (const [id, c] of this.cores) if (c.status().role === 'leader') return id;
    return null;
  }

  appliedData(id: string): string[] {
    return (this.applied.get(id) ?? []).filter((e) => e.kind === 'command').map((e) => text(e.data));
  }

  drop(pred: (m: RaftMessage) => boolean): void {
    this.queue = this.queue.filter((m) => !pred(m));
  }
}

export const idx = logIndex;

/** A log whose record i+1 has term terms[i] (commands named "index@term"). */
export function logOf(terms: readonly number[]): Entry[] {
  return terms.map((t, i) => ({ index: logIndex(i + 1), term: term(t), kind: 'command' as const, data: bytes(`${i + 1}@${t}`) }));
}

export function diskOf(currentTerm: number, terms: readonly number[], commit = 0): Disk {
  return { hardState: { term: currentTerm, vote: null, commit }, snapshot: null, entries: logOf(terms) };
}

export const termsOf = (d: Disk | undefined): number[] => (d?.entries ?? []).map((e) => e.term);
