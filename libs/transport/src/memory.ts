/**
 * An in-memory twin of GrpcPeerTransport for tests and the simulator: per-link FIFO order,
 * one batch per link per event-loop turn, bounded queues, plus partitions and isolation.
 * Messages queued when a link is cut are dropped on delivery, like frames lost in flight.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeId } from '@quorumlite/consensus';
import { Outbox } from './outbox';
import { resolveLimits, TransportError, type PeerHandlers, type PeerTransport, type TransportLimits, type TransportStats } from './types';

const linkKey = (a: NodeId, b: NodeId): string => `${a}\u0000${b}`;

export class MemoryNetwork {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private stagingDir: string | null;
  readonly limits: TransportLimits;

  constructor(options?: { stagingDir?: string; limits?: Partial<TransportLimits> }) {
    this.stagingDir = options?.stagingDir ?? null;
    this.limits = resolveLimits(options?.limits);
  }

  /** The transport of node `id` (the same object on every call). */
  transport(id: NodeId): PeerTransport {
    let t = this.nodes.get(id);
    if (!t) {
      t = new MemoryTransport(id, this);
      this.nodes.set(id, t);
    }
    return t;
  }

  /**
   * A new transport for `id`, as a restarted process gets: the old one must be closed (a
   * closed transport stays closed). Later transport(id) calls return the new one.
   */
  restart(id: NodeId): PeerTransport {
    const old = this.nodes.get(id);
    if (old?.isOpen()) throw new Error(`the memory transport of '${id}' is still open: close it (stop its node) before restarting`);
    const t = new MemoryTransport(id, this);
    this.nodes.set(id, t);
    return t;
  }

  /** Cut both directions between the two sets; heal() restores everything. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(linkKey(x, y));
        this.cut.add(linkKey(y, x));
      }
    }
    this.announce();
  }

  heal(): void {
    this.cut.clear();
    this.isolated.clear();
    this.announce();
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
    this.announce();
  }

  /** Whether a message from `from` would reach `to` now. */
  connected(from: NodeId, to: NodeId): boolean {
    if (this.isolated.has(from) || this.isolated.has(to)) return false;
    return !this.cut.has(linkKey(from, to));
  }

  /** The started, open transport of `id`, if any. */
  receiver(id: NodeId): MemoryTransport | null {
    const t = this.nodes.get(id);
    return t?.isOpen() ? t : null;
  }

  staging(): string {
    if (!this.stagingDir) this.stagingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlite-memnet-'));
    fs.mkdirSync(this.stagingDir, { recursive: true });
    return this.stagingDir;
  }

  private announce(): void {
    const ids = [...this.nodes.keys()];
    for (const t of this.nodes.values()) t.refreshReachability(ids);
  }
}

class MemoryTransport implements PeerTransport {
  private handlers: PeerHandlers | null = null;
  private closed = false;
  private readonly outboxes = new Map<NodeId, Outbox>();
  private readonly reachable = new Map<NodeId, boolean>();
  private flushScheduled = false;
  private readonly counters: TransportStats = { sentMessages: 0, sentFrames: 0, dropped: 0, received: 0 };

  constructor(
    private readonly id: NodeId,
    private readonly net: MemoryNetwork,
  ) {}

  isOpen(): boolean {
    return !this.closed && this.handlers !== null;
  }

  start(handlers: PeerHandlers): void {
    this.handlers = handlers;
  }

  send(to: NodeId, message: Uint8Array): void {
    if (this.closed || to === this.id || message.byteLength > this.net.limits.frameBytesMax) {
      this.counters.dropped++;
      return;
    }
    let box = this.outboxes.get(to);
    if (!box) {
      box = new Outbox(this.net.limits);
      this.outboxes.set(to, box);
    }
    if (!box.push(message)) {
      this.counters.dropped++;
      return;
    }
    this.scheduleFlush();
  }

  async sendSnapshot(to: NodeId, message: Uint8Array, file: string): Promise<void> {
    if (this.closed) throw new TransportError('closed', 'transport is closed');
    const receiver = this.net.receiver(to);
    if (!receiver || !this.net.connected(this.id, to)) throw new TransportError('unreachable', `'${to}' is not reachable from '${this.id}'`);
    const staged = path.join(this.net.staging(), `snapshot-${this.id}-${randomUUID()}.part`);
    try {
      await fs.promises.copyFile(file, staged, fs.constants.COPYFILE_EXCL);
    } catch (e: unknown) {
      await fs.promises.rm(staged, { force: true });
      throw new TransportError('bad_frame', `cannot read snapshot file ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    // The link may have been cut while the file was copied.
    if (!this.net.connected(this.id, to) || !receiver.isOpen()) {
      await fs.promises.rm(staged, { force: true });
      throw new TransportError('unreachable', `'${to}' became unreachable during the snapshot`);
    }
    try {
      await receiver.acceptSnapshot(this.id, message, staged);
    } catch (e: unknown) {
      await fs.promises.rm(staged, { force: true });
      throw new TransportError('refused', `'${to}' refused the snapshot: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** The in-memory network routes by id: every node it made is reachable by name already. */
  setPeers(): void {}

  isReachable(to: NodeId): boolean {
    return this.net.connected(this.id, to);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const box of this.outboxes.values()) this.counters.dropped += box.clear();
  }

  async acceptSnapshot(from: NodeId, message: Uint8Array, stagedFile: string): Promise<void> {
    await this.handlers?.onSnapshot(from, message, stagedFile);
  }

  deliver(from: NodeId, messages: Uint8Array[]): void {
    this.counters.received += messages.length;
    this.handlers?.onMessages(from, messages);
  }

  /** Reports links whose state changed since the last partition/heal. */
  refreshReachability(ids: readonly NodeId[]): void {
    if (!this.isOpen()) return;
    for (const peer of ids) {
      if (peer === this.id) continue;
      const now = this.net.connected(this.id, peer);
      if ((this.reachable.get(peer) ?? true) === now) continue;
      this.reachable.set(peer, now);
      this.handlers?.onPeerState?.(peer, now);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    for (const [to, box] of this.outboxes) {
      if (box.length === 0) continue;
      const messages = box.takeFrame(Number.MAX_SAFE_INTEGER);
      const receiver = this.net.receiver(to);
      if (this.closed || !receiver || !this.net.connected(this.id, to)) {
        this.counters.dropped += messages.length;
        continue;
      }
      this.counters.sentFrames++;
      this.counters.sentMessages += messages.length;
      receiver.deliver(this.id, messages);
    }
  }
}
