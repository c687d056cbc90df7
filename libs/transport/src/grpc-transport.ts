/**
 * Peer messaging over gRPC (proto/quorumlite/v1/peer.proto). Outbound: one PeerLink per
 * peer (long-lived client stream, batching, backoff). Inbound: PeerService handlers the node
 * adds to its single grpc.Server; every frame is checked before the driver sees it.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '@quorumlite/consensus';
import { checkFrame, quote, type FrameRules } from './frame-check';
import { REFUSED_INCARNATION_KEY } from './handshake';
import { PeerLink, type Log } from './peer-link';
import { ackFor, receiveSnapshot } from './snapshot-receive';
import { sendSnapshotFile } from './snapshot-send';
import { certificateNameOf, channelCredentials, peerCertificateRefusal, type TlsMaterial } from './tls';
import { grpcMessageBytesFor, resolveLimits, TransportError, type PeerHandlers, type PeerTransport, type TransportLimits, type TransportStats } from './types';
import { peerClient, peerMethods, type WireAck, type WireChunk, type WireFrame, type WireSnapshotAck } from './wire';

export interface GrpcPeerTransportOptions {
  self: NodeId;
  cluster: string;
  /** The consensus protocol this node runs: named in each stream's first frame, checked on receipt. */
  protocol: string;
  peers: { id: NodeId; address: string }[];
  stagingDir: string;
  limits?: Partial<TransportLimits>;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /**
   * Mutual TLS (tls.ts): this node dials peers with its certificate, and accepts a peer stream
   * only from a certificate naming the member it speaks for. Null or absent: plaintext.
   */
  tls?: TlsMaterial | null;
}

/**
 * Refused certificates already logged (source host, presented name, claimed member): a refused
 * sender retries every backoff, each time on a fresh connection, and one line says it all.
 */
const REFUSED_CERTIFICATES_LOGGED_MAX = 1_024;

/** A peer's two lanes: ordered messages, and order-free ones (heartbeats) that must not wait behind them. */
type Lane = 'ordered' | 'orderFree';

/** One connection (gRPC channel) per lane, opened at its first use. */
type Clients = Record<Lane, grpc.Client | null>;

interface Peer {
  readonly address: string;
  readonly clients: Clients;
  readonly link: PeerLink;
  /** Opened at the first order-free message. */
  orderFreeLink: PeerLink | null;
}

const defaultLog: Log = (level, msg) => process.stderr.write(`${level} transport: ${msg}\n`);

/** Server options the node should use so peer frames and keepalive pings are accepted. */
export function peerServerOptions(limits?: Partial<TransportLimits>): grpc.ServerOptions {
  const l = resolveLimits(limits);
  return {
    'grpc.max_receive_message_length': grpcMessageBytesFor(l),
    'grpc.max_send_message_length': grpcMessageBytesFor(l),
    'grpc.keepalive_time_ms': l.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

export class GrpcPeerTransport implements PeerTransport {
  private readonly limits: TransportLimits;
  private readonly log: Log;
  private readonly frameRules: FrameRules;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly counters: TransportStats = { sentMessages: 0, sentFrames: 0, dropped: 0, received: 0 };
  private readonly inbound = new Set<() => void>();
  private readonly snapshotCalls = new Set<grpc.ClientWritableStream<WireChunk>>();
  private readonly credentials: grpc.ChannelCredentials;
  private readonly refusedCertificatesLogged = new Set<string>();
  private handlers: PeerHandlers | null = null;
  private closed = false;

  constructor(private readonly options: GrpcPeerTransportOptions) {
    this.limits = resolveLimits(options.limits);
    this.log = options.log ?? defaultLog;
    this.credentials = channelCredentials(options.tls ?? null);
    this.frameRules = {
      self: options.self,
      cluster: options.cluster,
      protocol: options.protocol,
      isPeer: (id) => this.peers.has(id as NodeId),
      identity: () => this.handlers?.identity ?? null,
      frameBytesMax: this.limits.frameBytesMax,
      messagesPerFrameMax: this.limits.messagesQueuedMax,
    };
    fs.mkdirSync(options.stagingDir, { recursive: true });
    this.setPeers(options.peers);
  }

  /**
   * Replaces the peer list (membership change, or tests that learn ports after binding).
   * A peer whose address changed gets a new stream; a removed peer's stream is closed.
   */
  setPeers(peers: readonly { id: NodeId; address: string }[]): void {
    const next = new Map(peers.filter((p) => p.id !== this.options.self).map((p) => [p.id, p.address]));
    for (const [id, peer] of this.peers) {
      if (next.get(id) === peer.address) continue;
      this.peers.delete(id);
      void this.closePeer(peer);
    }
    for (const [id, address] of next) {
      if (this.peers.has(id)) continue;
      this.peers.set(id, this.newPeer(id, address));
      // A new link starts reachable and reports only a change: say so, or a core that was told
      // this peer was unreachable on the link it replaces (removed and added again, or at a new
      // address) would never hear it is back.
      this.handlers?.onPeerState?.(id, true);
    }
  }

  addTo(server: grpc.Server): void {
    const methods = peerMethods();
    server.addService(methods.service, {
      Stream: (call: grpc.ServerReadableStream<WireFrame, WireAck>, callback: grpc.sendUnaryData<WireAck>) => this.onStream(call, callback),
      InstallSnapshot: (call: grpc.ServerReadableStream<WireChunk, WireSnapshotAck>, callback: grpc.sendUnaryData<WireSnapshotAck>) =>
        this.onInstallSnapshot(call, callback),
    });
  }

  start(handlers: PeerHandlers): void {
    this.handlers = handlers;
    // Every peer up now records this node's incarnation before any vote of ours reaches it.
    if (handlers.identity) for (const peer of this.peers.values()) peer.link.announce();
  }

  send(to: NodeId, message: Uint8Array, orderFree = false): void {
    const peer = this.peers.get(to);
    if (!peer || this.closed) {
      this.counters.dropped++;
      return;
    }
    if (!orderFree) {
      peer.link.send(message);
      return;
    }
    peer.orderFreeLink ??= this.newLink(to, peer.address, peer.clients, 'orderFree');
    peer.orderFreeLink.send(message);
  }

  async sendSnapshot(to: NodeId, message: Uint8Array, file: string): Promise<void> {
    if (this.closed) throw new TransportError('closed', 'transport is closed');
    const peer = this.peers.get(to);
    if (!peer) throw new TransportError('unreachable', `'${to}' is not a peer of this node`);
    await sendSnapshotFile({
      client: this.clientOf(to, peer.address, peer.clients, 'ordered'),
      header: { from: this.options.self, to, cluster: this.options.cluster, protocol: this.options.protocol },
      message,
      file,
      limits: this.limits,
      isClosed: () => this.closed,
      track: (call) => {
        this.snapshotCalls.add(call);
        return () => this.snapshotCalls.delete(call);
      },
    });
  }

  isReachable(to: NodeId): boolean {
    return this.peers.get(to)?.link.isReachable() ?? false;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.snapshotCalls) call.cancel();
    for (const end of this.inbound) end();
    await Promise.all([...this.peers.values()].map((peer) => this.closePeer(peer)));
    this.peers.clear();
  }

  private newPeer(id: NodeId, address: string): Peer {
    const clients: Clients = { ordered: null, orderFree: null };
    return { address, clients, link: this.newLink(id, address, clients, 'ordered'), orderFreeLink: null };
  }

  private newLink(id: NodeId, address: string, clients: Clients, lane: Lane): PeerLink {
    return new PeerLink(id, {
      self: this.options.self,
      cluster: this.options.cluster,
      protocol: this.options.protocol,
      limits: this.limits,
      counters: this.counters,
      log: this.log,
      identity: () => this.handlers?.identity?.self ?? null,
      origin: () => this.handlers?.identity?.origin,
      onIdentityRefused: (p, why) => this.handlers?.onIdentityRefused?.(p, why),
      client: (fresh) => this.clientOf(id, address, clients, lane, fresh),
      // The ordered lane speaks for the peer's reachability; the other follows it.
      onState: lane === 'ordered' ? (p, reachable) => this.handlers?.onPeerState?.(p, reachable) : () => undefined,
    });
  }

  private clientOf(id: NodeId, address: string, clients: Clients, lane: Lane, fresh = false): grpc.Client {
    const open = clients[lane];
    if (open && !fresh) return open;
    open?.close();
    const bytes = grpcMessageBytesFor(this.limits);
    const client = peerClient(address, {
      'grpc.keepalive_time_ms': this.limits.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': this.limits.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_send_message_length': bytes,
      'grpc.max_receive_message_length': bytes,
      // The channel's own reconnect backoff must not outlast the stream's.
      'grpc.initial_reconnect_backoff_ms': this.limits.reconnectBackoffMsMin,
      'grpc.max_reconnect_backoff_ms': this.limits.reconnectBackoffMsMax,
      // Separate channels per transport and per lane: two transports in one process do not
      // share sockets, and an order-free message never waits in a socket behind a large one.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.primary_user_agent': `quorumlite-peer/${this.options.self}->${id}${lane === 'orderFree' ? '/order-free' : ''}`,
    }, this.credentials);
    clients[lane] = client;
    return client;
  }

  private async closePeer(peer: Peer): Promise<void> {
    await Promise.all([peer.link.close(), peer.orderFreeLink?.close()]);
    for (const lane of ['ordered', 'orderFree'] as const) {
      peer.clients[lane]?.close();
      peer.clients[lane] = null;
    }
  }

  private onStream(call: grpc.ServerReadableStream<WireFrame, WireAck>, callback: grpc.sendUnaryData<WireAck>): void {
    if (this.closed || !this.handlers) {
      callback({ code: grpc.status.UNAVAILABLE, details: `node ${this.options.self} is not accepting peer streams yet` });
      return;
    }
    const handlers = this.handlers;
    let from: string | null = null;
    let finished = false;
    const finish = (err: Partial<grpc.StatusObject> | null): void => {
      if (finished) return;
      finished = true;
      this.inbound.delete(endOnClose);
      if (err) callback(err);
      else callback(null, {});
    };
    const endOnClose = () => finish({ code: grpc.status.UNAVAILABLE, details: `node ${this.options.self} is shutting down` });
    this.inbound.add(endOnClose);
    call.on('data', (frame: WireFrame) => {
      if (finished) return;
      try {
        from = this.onFrame(call, frame, from, handlers, finish);
      } catch (e: unknown) {
        // A bug here must cost one stream (the sender reconnects), never the process.
        this.log('error', `peer stream from ${quote(from ?? '?')} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        finish({ code: grpc.status.INTERNAL, details: 'internal error' });
      }
    });
    call.on('end', () => finish(null));
    call.on('error', (e: Error) => {
      this.log('warn', `peer stream from ${quote(from ?? '?')} failed: ${e.message}`);
      finish({ code: grpc.status.CANCELLED, details: e.message });
    });
    call.on('cancelled', () => finish({ code: grpc.status.CANCELLED, details: 'cancelled by the sender' }));
  }

  /** Checks one frame and delivers it; returns the stream's sender (null until the first good frame). */
  private onFrame(
    call: grpc.ServerReadableStream<WireFrame, WireAck>,
    frame: WireFrame,
    from: string | null,
    handlers: PeerHandlers,
    finish: (err: Partial<grpc.StatusObject> | null) => void,
  ): string | null {
    const verdict = checkFrame(frame, from, this.frameRules);
    if (!verdict.ok) {
      this.log(verdict.staleIncarnation ? 'error' : 'warn', `refused peer stream from ${quote(from ?? frame.from ?? '')} (${call.getPeer()}): ${verdict.why}`);
      const metadata = new grpc.Metadata();
      if (verdict.staleIncarnation) metadata.set(REFUSED_INCARNATION_KEY, '1');
      finish({ code: verdict.code, details: verdict.why, metadata });
      return from;
    }
    if (from === null) {
      const refusal = this.certificateRefusal(call, verdict.from);
      if (refusal !== null) {
        finish({ code: grpc.status.PERMISSION_DENIED, details: refusal });
        return from;
      }
      // Headers after the first good frame tell the sender its stream was accepted (reachable).
      call.sendMetadata(new grpc.Metadata());
    }
    this.counters.received += verdict.messages.length;
    this.retryTowards(verdict.from as NodeId);
    if (verdict.messages.length > 0) this.deliver(handlers, verdict.from, verdict.messages);
    return verdict.from;
  }

  /**
   * Why the caller's certificate may not speak for member `from` (null: it may, or TLS is off).
   * Logged once per source host, presented name and claimed member.
   */
  private certificateRefusal(call: Pick<grpc.ServerReadableStream<unknown, unknown>, 'getPeer' | 'getAuthContext'>, from: string): string | null {
    if (!this.options.tls) return null;
    const name = certificateNameOf(call);
    const refusal = peerCertificateRefusal(name, from, (id) => this.peers.has(id as NodeId));
    if (refusal === null) return null;
    const connection = call.getPeer();
    const presented = name ? `CN ${quote(name.commonName)} OU ${quote(name.unit)}` : 'no certificate';
    const seen = `${connection.replace(/:\d+$/, '')} ${presented} ${from}`;
    if (!this.refusedCertificatesLogged.has(seen)) {
      if (this.refusedCertificatesLogged.size >= REFUSED_CERTIFICATES_LOGGED_MAX) this.refusedCertificatesLogged.clear();
      this.refusedCertificatesLogged.add(seen);
      this.log('warn', `refused peer stream from ${quote(from)} (${connection}, presented ${presented}): ${refusal}`);
    }
    return refusal;
  }

  /**
   * A frame from `id` says it is up and reaches us: our links to it that are backing off
   * retry now (on a fresh channel, as every retry after a break), so a healed partition costs
   * no backoff wait.
   */
  private retryTowards(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    peer.link.retryNow();
    peer.orderFreeLink?.retryNow();
  }

  /** A handler bug must not take the peer's stream (or the process) down with it. */
  private deliver(handlers: PeerHandlers, from: string, messages: Uint8Array[]): void {
    try {
      handlers.onMessages(from as NodeId, messages);
    } catch (e: unknown) {
      this.log('error', `onMessages from '${from}' threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }

  private onInstallSnapshot(call: grpc.ServerReadableStream<WireChunk, WireSnapshotAck>, callback: grpc.sendUnaryData<WireSnapshotAck>): void {
    if (this.closed || !this.handlers) {
      callback({ code: grpc.status.UNAVAILABLE, details: `node ${this.options.self} is not accepting snapshots yet` });
      return;
    }
    const handlers = this.handlers;
    // A certificate that names no member is refused before a byte of its file is staged; the
    // member it names is held to the sender the first chunk claims, below.
    const presented = this.options.tls ? (certificateNameOf(call)?.commonName ?? '') : '';
    const stranger = this.certificateRefusal(call, presented);
    if (stranger !== null) {
      callback(null, ackFor(new TransportError('refused', stranger)));
      return;
    }
    const abortOnClose = () => call.destroy(new TransportError('closed', `node ${this.options.self} is shutting down`));
    this.inbound.add(abortOnClose);
    receiveSnapshot(call, {
      rules: this.frameRules,
      stagingDir: this.options.stagingDir,
      snapshotBytesMax: this.limits.snapshotBytesMax,
      snapshotTimeoutMs: this.limits.snapshotTimeoutMs,
      deliver: (from, message, stagedFile) => {
        const refusal = this.certificateRefusal(call, from);
        if (refusal !== null) throw new TransportError('refused', refusal);
        return handlers.onSnapshot(from as NodeId, message, stagedFile);
      },
    }).then(
      ({ from, stagedFile }) => {
        this.inbound.delete(abortOnClose);
        this.log('info', `snapshot from '${from}' staged at ${stagedFile}`);
        callback(null, { accepted: true, error: '' });
      },
      (e: unknown) => {
        this.inbound.delete(abortOnClose);
        this.log('warn', `refused snapshot (${call.getPeer()}): ${e instanceof Error ? e.message : String(e)}`);
        callback(null, ackFor(e));
      },
    );
  }
}

