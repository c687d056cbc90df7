/**
 * A TCP proxy for one directed peer link: node `from` dials the proxy, the proxy dials `to`.
 * Cutting it is a network partition between real processes: no packet filter, no root.
 *
 * Two ways to cut, because real partitions look like both:
 * - 'refuse': every connection is destroyed (the peer sees a reset) and new ones are closed at
 *   once — what a dead route with ICMP unreachable looks like; failure detection is fast.
 * - 'blackhole': connections stay open but carry nothing (both sides stop being read, so
 *   TCP back-pressure holds the sender's bytes, as retransmission would); new connections are
 *   accepted and held. On heal, held bytes flow again — a short partition that TCP rides out.
 */
import * as net from 'node:net';
import { CodedError } from '@quorumlite/errors';

export type CutMode = 'refuse' | 'blackhole';

export interface ProxyOptions {
  /** Where to listen; port 0 (default) lets the OS choose. */
  host?: string;
  port?: number;
  /** The real address (host:port) to forward to; may be set later with setTarget(). */
  target?: string;
  /** Extra one-way latency added to every chunk, both directions. */
  delayMs?: number;
}

/** Bytes in flight per direction before the proxy stops reading (keeps delayed queues bounded). */
const DELAY_QUEUE_BYTES_MAX = 4 * 1024 * 1024;

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
}

export class ProxyError extends CodedError<'listen_failed' | 'bad_address' | 'closed'> {
  override readonly name = 'ProxyError';
  constructor(message: string, code: 'listen_failed' | 'bad_address' | 'closed', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new ProxyError(`'${address}' is not host:port`, 'bad_address');
  return { host: address.slice(0, at), port };
}

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private target: { host: string; port: number } | null = null;
  private cutMode: CutMode | null = null;
  private delayMs: number;
  private closed = false;
  /** Counters, for tests and the run report. */
  readonly stats = { accepted: 0, refused: 0, bytesForwarded: 0 };

  private constructor(
    server: net.Server,
    readonly address: string,
    options: ProxyOptions,
  ) {
    this.server = server;
    this.delayMs = options.delayMs ?? 0;
    if (options.target !== undefined) this.setTarget(options.target);
    server.on('connection', (socket) => this.onConnection(socket));
  }

  static async start(options: ProxyOptions = {}): Promise<TcpProxy> {
    const host = options.host ?? '127.0.0.1';
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: unknown) => reject(new ProxyError(`proxy cannot listen on ${host}:${options.port ?? 0}`, 'listen_failed', { cause: e })));
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    return new TcpProxy(server, `${host}:${port}`, options);
  }

  setTarget(address: string): void {
    this.target = parseAddress(address);
  }

  setDelay(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`);
    this.delayMs = delayMs;
  }

  isCut(): boolean {
    return this.cutMode !== null;
  }

  connectionCount(): number {
    return this.pairs.size;
  }

  cut(mode: CutMode = 'refuse'): void {
    this.cutMode = mode;
    for (const pair of this.pairs) {
      if (mode === 'refuse') destroyPair(pair);
      else stopFlow(pair);
    }
  }

  heal(): void {
    if (this.cutMode === null) return;
    this.cutMode = null;
    for (const pair of [...this.pairs]) {
      if (pair.upstream === null) this.dial(pair);
      else startFlow(pair);
    }
  }

  /** Stops listening and destroys every connection; synchronous so a process exit hook can call it. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pair of this.pairs) destroyPair(pair);
    this.pairs.clear();
    this.server.close();
  }

  async close(): Promise<void> {
    const wasOpen = !this.closed;
    this.closeNow();
    if (wasOpen) await new Promise<void>((resolve) => (this.server.listening ? this.server.once('close', () => resolve()) : resolve()));
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed || this.cutMode === 'refuse' || this.target === null) {
      this.stats.refused++;
      reset(socket);
      return;
    }
    this.stats.accepted++;
    const pair: Pair = { client: socket, upstream: null };
    this.pairs.add(pair);
    socket.setNoDelay(true);
    socket.on('error', () => destroyPair(pair));
    socket.on('close', () => {
      destroyPair(pair);
      this.pairs.delete(pair);
    });
    // Blackholed: held open, never dialed until heal.
    if (this.cutMode !== 'blackhole') this.dial(pair);
  }

  private dial(pair: Pair): void {
    const target = this.target;
    if (target === null || pair.client.destroyed) return destroyPair(pair);
    const upstream = net.connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    upstream.on('error', () => destroyPair(pair));
    upstream.on('close', () => destroyPair(pair));
    this.pipe(pair.client, upstream, pair);
    this.pipe(upstream, pair.client, pair);
    upstream.once('connect', () => {
      if (this.cutMode === null) startFlow(pair);
    });
  }

  /** Forwards `from` → `to`, in order, each chunk no earlier than delayMs after it arrived. */
  private pipe(from: net.Socket, to: net.Socket, pair: Pair): void {
    let queuedBytes = 0;
    let lastDueMs = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.cutMode !== null) {
        // Read just before the cut: hand it back, to flow after heal (bytes are never dropped
        // mid-stream, which would corrupt the connection instead of partitioning it).
        from.pause();
        from.unshift(chunk);
        return;
      }
      this.stats.bytesForwarded += chunk.length;
      if (this.delayMs === 0) {
        if (!to.write(chunk)) from.pause();
        return;
      }
      queuedBytes += chunk.length;
      if (queuedBytes > DELAY_QUEUE_BYTES_MAX) from.pause();
      const dueMs = Math.max(performance.now() + this.delayMs, lastDueMs);
      lastDueMs = dueMs;
      setTimeout(() => {
        queuedBytes -= chunk.length;
        if (to.destroyed) return;
        to.write(chunk);
        if (queuedBytes <= DELAY_QUEUE_BYTES_MAX && this.cutMode === null && !pair.client.destroyed) from.resume();
      }, dueMs - performance.now());
    });
    to.on('drain', () => {
      if (this.cutMode === null) from.resume();
    });
    from.on('end', () => to.end());
  }
}

function startFlow(pair: Pair): void {
  pair.client.resume();
  pair.upstream?.resume();
}

function stopFlow(pair: Pair): void {
  pair.client.pause();
  pair.upstream?.pause();
}

function destroyPair(pair: Pair): void {
  reset(pair.client);
  if (pair.upstream) reset(pair.upstream);
}

/**
 * RST for an established connection (the peer sees a reset, as from a dead route). A socket
 * that never connected, or whose write side was already ended (shut down), is destroyed
 * plainly: a reset then fails inside libuv (EINVAL after shutdown), the handle is never
 * closed, and Node's exit cleanup spins forever waiting for it.
 */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.pending || socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
