/**
 * A hand-driven network of cores of any protocol for the tests: every node persists its Ready
 * in memory (a truncate-only cut included), messages wait in one queue until delivered,
 * links can be cut, and a node can be restarted from its disk.
 */
import { seededRandom } from '../prng';
import {
  logIndex,
  nodeId,
  term,
  type BaseMessage,
  type ConsensusCore,
  type CoreOptions,
  type Entry,
  type HardState,
  type Member,
  type MemberRole,
  type MemberSpec,
  type PersistedState,
  type ReadFailure,
  type ReadState,
  type Ready,
  type SnapshotMeta,
} from '../contract';

export const voters = (...names: string[]): Member[] => names.map((n) => ({ id: nodeId(n), role: 'voter' as const }));
export const observer = (name: string): Member => ({ id: nodeId(name), role: 'observer' });
/** A member list for a configuration change: `n1:voter n4:observer …` (voter by default), each with an address. */
export function memberList(spec: string): MemberSpec[] {
  return spec.split(' ').map((s) => {
    const [id = '', role = 'voter'] = s.split(':');
    return { id: nodeId(id), role: role as MemberRole, address: `${id}.local:7000` };
  });
}

/** The configuration a core uses, as `n1:voter n4:observer …`. */
export const rolesOf = (core: ConsensusCore<BaseMessage>): string => (core.status().members ?? []).map((m) => `${m.id}:${m.role}`).join(' ');

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function options(id: string, members: readonly Member[], over: Partial<CoreOptions> = {}): CoreOptions {
  let seed = 11;
  for (const ch of id) seed = seed * 31 + ch.charCodeAt(0);
  return {
    id: nodeId(id),
    members,
    electionTimeoutTicks: 10,
    heartbeatTicks: 1,
    random: seededRandom(seed),
    protocolOptions: {},
    entriesPerMessageMax: 64,
    bytesPerMessageMax: 1 << 20,
    inflightMessagesMax: 16,
    uncommittedEntriesMax: 1000,
    ...over,
  };
}

export interface Disk {
  hardState: HardState | null;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
}

export const emptyDisk = (): Disk => ({ hardState: null, snapshot: null, entries: [] });

/** A history whose record i+1 has epoch epochs[i] (commands named "index@epoch"). */
export function historyOf(epochs: readonly number[]): Entry[] {
  return epochs.map((e, i) => ({ index: logIndex(i + 1), term: term(e), kind: 'command' as const, data: bytes(`${i + 1}@${e}`) }));
}

export type CoreFactory<M extends BaseMessage> = (options: CoreOptions, persisted: PersistedState) => ConsensusCore<M>;

export class TestNet<M extends BaseMessage> {
  readonly cores = new Map<string, ConsensusCore<M>>();
  readonly disks = new Map<string, Disk>();
  readonly applied = new Map<string, Entry[]>();
  readonly readStates = new Map<string, ReadState[]>();
  readonly readFailures = new Map<string, ReadFailure[]>();
  readonly sent: M[] = [];
  queue: M[] = [];
  private readonly down = new Set<string>();
  private readonly cut = new Set<string>();
  filter: (m: M) => boolean = () => true;
  /**
   * Called for each Ready once its records and hard state are on the disk, before advance():
   * what a driver steps into a leader while its persist is in flight. Returns the messages to
   * send then, which go after the Ready's early messages and before its late ones.
   */
  duringPersist: ((id: string, core: ConsensusCore<M>, rd: Ready<M>) => M[]) | null = null;

  constructor(
    private readonly create: CoreFactory<M>,
    readonly members: readonly Member[],
    private readonly over: Partial<CoreOptions> = {},
    disks: Readonly<Record<string, Disk>> = {},
  ) {
    for (const m of members) this.start(m.id, disks[m.id] ?? emptyDisk());
  }

  /**
   * (Re)starts `id` on `disk`; `over` adds to the network's overrides for this start only;
   * `appliedIndex`: how far its state machine applied before (PersistedState.appliedIndex).
   */
  start(id: string, disk: Disk = this.disks.get(id) ?? emptyDisk(), over: Partial<CoreOptions> = {}, appliedIndex?: number): ConsensusCore<M> {
    this.down.delete(id);
    this.disks.set(id, disk);
    const persisted = { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries], ...(appliedIndex !== undefined ? { appliedIndex: logIndex(appliedIndex) } : {}) };
    const core = this.create(options(id, this.members, { ...this.over, ...over }), persisted);
    this.cores.set(id, core);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.readFailures.set(id, []);
    return core;
  }

  /** The process dies: what it persisted stays, messages to it are lost. */
  crash(id: string): void {
    this.down.add(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: string): ConsensusCore<M> {
    return this.start(id);
  }

  core(id: string): ConsensusCore<M> {
    const c = this.cores.get(id);
    if (c === undefined) throw new Error(`no core ${id}`);
    return c;
  }

  disk(id: string): Disk {
    const d = this.disks.get(id);
    if (d === undefined) throw new Error(`no disk ${id}`);
    return d;
  }

  /** Take every Ready of `id`: persist (cut, then append), queue messages, apply, advance. */
  process(id: string): void {
    if (this.down.has(id)) return;
    const core = this.core(id);
    const disk = this.disk(id);
    for (let i = 0; i < 100 && core.hasReady(); i++) {
      const rd = core.ready();
      if (rd.snapshot) {
        const cut = rd.snapshot.index;
        disk.snapshot = rd.snapshot;
        disk.entries = rd.snapshotKeepsLog === true ? disk.entries.filter((e) => e.index > cut) : [];
      }
      if (rd.truncateAfter !== null) {
        const cutAfter = rd.truncateAfter;
        disk.entries = disk.entries.filter((e) => e.index <= cutAfter);
      }
      const first = rd.entries[0];
      if (first) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...rd.entries];
      if (rd.hardState) disk.hardState = rd.hardState;
      const during = this.duringPersist?.(id, core, rd) ?? [];
      for (const m of [...rd.earlyMessages, ...during, ...rd.messages]) {
        this.sent.push(m);
        this.queue.push(m);
      }
      this.applied.get(id)?.push(...rd.committed);
      this.readStates.get(id)?.push(...rd.readStates);
      this.readFailures.get(id)?.push(...rd.readFailures);
      core.advance();
    }
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

  private passes(m: M): boolean {
    return !this.cut.has(m.from) && !this.cut.has(m.to) && !this.down.has(m.to) && this.filter(m);
  }

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
  stabilize(maxRounds = 400): void {
    this.processAll();
    for (let i = 0; i < maxRounds; i++) {
      if (this.queue.length === 0) return;
      this.deliverOnce();
    }
    throw new Error('network did not stabilize');
  }

  /** Tick every live node once, then deliver until quiet. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, c] of this.cores) if (!this.down.has(id)) c.tick();
      this.stabilize();
    }
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) this.core(id).tick();
    this.process(id);
  }

  /** Tick everyone until a leader is established (bounded). */
  settle(maxTicks = 200): string {
    for (let i = 0; i < maxTicks; i++) {
      const l = this.leaderOf();
      if (l !== null && this.allFollow(l)) return l;
      this.tickAll();
    }
    throw new Error('no established leader');
  }

  private allFollow(leader: string): boolean {
    for (const [id, c] of this.cores) {
      if (this.down.has(id) || this.cut.has(id) || this.cut.has(leader)) continue;
      if (c.status().leader !== leader) return false;
    }
    return true;
  }

  leaderOf(): string | null {
    for (const [id, c] of this.cores) if (!this.down.has(id) && c.status().role === 'leader') return id;
    return null;
  }

  propose(id: string, data: string): number {
    const r = this.core(id).propose(bytes(data));
    if (!r.ok) throw new Error(`${id} refused a proposal: ${r.reason}`);
    return r.index;
  }

  appliedData(id: string): string[] {
    return (this.applied.get(id) ?? []).filter((e) => e.kind === 'command').map((e) => text(e.data));
  }

  hard(id: string): HardState | null {
    return this.disk(id).hardState;
  }

  /** The fencing number (term, epoch, ballot) of each record on `id`'s disk. */
  termsOnDisk(id: string): number[] {
    return this.disk(id).entries.map((e) => e.term);
  }
}
