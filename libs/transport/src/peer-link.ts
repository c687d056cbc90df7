/**
 * The outbound side of one (self -> peer) pair: a bounded queue, one long-lived client
 * stream opened lazily, at most bytesPerTurnMax encoded per event-loop turn (small messages
 * batched into one PeerFrame, a large one alone in its own), and capped exponential backoff
 * after the stream breaks. While backing off, sends are dropped (consensus retries), so a
 * peer that comes back does not first receive a burst of stale messages.
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '@quorumlite/consensus';
import { REFUSED_INCARNATION_KEY, type Incarnation } from './handshake';
import { Outbox } from './outbox';
import type { TransportLimits, TransportStats } from './types';
import { peerMethods, statusName, type WireAck, type WireFrame } from './wire';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface LinkContext {
  readonly self: NodeId;
  readonly cluster: string;
  readonly protocol: string;
  readonly limits: TransportLimits;
  readonly counters: TransportStats;
  readonly log: Log;
  /**
   * The channel to the peer; `fresh`: a new one, the old closed. After a break the old channel
   * sits in gRPC's own reconnect backoff, where a new stream fails at once without a connection
   * attempt: out of step with the link's backoff, it made a healed link wait up to a second.
   */
  readonly client: (fresh: boolean) => grpc.Client;
  readonly onState: (peer: NodeId, reachable: boolean) => void;
  /** This node's incarnation for the first frame (null: none to send). */
  readonly identity: () => Incarnation | null;
  /** Where this node's database began, for the first frame (handshake.ts originMismatch); absent or '' sends none. */
  readonly origin?: () => string | undefined;
  /** The peer refused this node's incarnation (handshake.ts): the link stays closed. */
  readonly onIdentityRefused: (peer: NodeId, why: string) => void;
}

type LinkState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'open'; readonly call: grpc.ClientWritableStream<WireFrame>; headerSent: boolean; blocked: boolean }
  | { readonly kind: 'backoff'; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'closed' };

export class PeerLink {
  private state: LinkState = { kind: 'idle' };
  private readonly outbox: Outbox;
  private flushScheduled = false;
  private backoffMs: number;
  /** retryNow() already cut this break's backoff short once. */
  private retriedEarly = false;
  /** The last stream broke and none connected since: the next one opens on a fresh channel. */
  private broken = false;
  private reachable = true;
  /** announce() was called and no stream of this link was accepted yet. */
  private announcing = false;
  private ended: Promise<void> = Promise.resolve();
  private resolveEnded: () => void = () => {};

  constructor(
    readonly peer: NodeId,
    private readonly ctx: LinkContext,
  ) {
    this.outbox = new Outbox(ctx.limits);
    this.backoffMs = ctx.limits.reconnectBackoffMsMin;
  }

  isReachable(): boolean {
    return this.reachable;
  }

  send(message: Uint8Array): void {
    if (this.state.kind === 'closed' || this.state.kind === 'backoff') return this.drop(1);
    if (message.byteLength > this.ctx.limits.frameBytesMax) {
      this.ctx.log('warn', `peer ${this.peer}: dropped a ${message.byteLength}-byte message larger than frameBytesMax (${this.ctx.limits.frameBytesMax})`);
      return this.drop(1);
    }
    if (!this.outbox.push(message)) return this.drop(1);
    this.scheduleFlush();
  }

  /**
   * The peer was just heard from (a frame arrived on its stream to us): it is up and reaches
   * us, so a link backing off from it retries at the next send instead of waiting out the
   * backoff. Once per break: if that attempt fails too (a cut in one direction only), the
   * backoff runs its course until a stream connects again. True when it will retry.
   */
  retryNow(): boolean {
    const state = this.state;
    if (state.kind !== 'backoff' || this.retriedEarly) return false;
    clearTimeout(state.timer);
    this.state = { kind: 'idle' };
    this.retriedEarly = true;
    if (this.announcing) this.scheduleFlush();
    return true;
  }

  /**
   * Opens the stream with a header-only frame now, and again after each failed attempt until
   * one is accepted: the peer records this node's incarnation at its first contact, while both
   * run, rather than at the first message, which could be a vote (handshake.ts).
   */
  announce(): void {
    if (this.state.kind === 'closed') return;
    this.announcing = true;
    this.scheduleFlush();
  }

  /** Ends the stream (the peer sees a clean end), cancelling it if it does not finish in time. */
  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    this.drop(this.outbox.clear());
    if (state.kind === 'backoff') clearTimeout(state.timer);
    if (state.kind !== 'open') return;
    state.call.end();
    const timer = setTimeout(() => state.call.cancel(), this.ctx.limits.closeTimeoutMs);
    await this.ended;
    clearTimeout(timer);
  }

  private drop(n: number): void {
    this.ctx.counters.dropped += n;
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
    if (this.state.kind === 'idle' && (this.outbox.length > 0 || this.announcing)) this.open();
    const state = this.state;
    if (state.kind !== 'open' || state.blocked) return;
    if (!state.headerSent && this.outbox.length === 0) {
      state.headerSent = true;
      state.blocked = !state.call.write({ ...this.header(), messages: [] });
      return;
    }
    const turnBytesMax = Math.min(this.ctx.limits.bytesPerTurnMax, this.ctx.limits.frameBytesMax);
    let turnBytes = 0;
    while (this.outbox.length > 0) {
      if (turnBytes >= turnBytesMax) {
        // The rest goes out on later turns: heartbeats, timers and other peers' traffic
        // run in between instead of waiting for every queued MiB to be encoded.
        this.scheduleFlush();
        return;
      }
      const before = this.outbox.bytes;
      const messages = this.outbox.takeFrame(turnBytesMax);
      turnBytes += before - this.outbox.bytes;
      const frame: WireFrame = state.headerSent ? { messages } : { ...this.header(), messages };
      state.headerSent = true;
      this.ctx.counters.sentFrames++;
      this.ctx.counters.sentMessages += messages.length;
      if (!state.call.write(frame)) {
        // The socket is full: keep queueing (bounded) until 'drain'.
        state.blocked = true;
        return;
      }
    }
  }

  private header(): WireFrame {
    const incarnation = this.ctx.identity();
    const origin = this.ctx.origin?.();
    const header: WireFrame = { from: this.ctx.self, to: this.peer, cluster: this.ctx.cluster, protocol: this.ctx.protocol, ...(origin ? { origin } : {}) };
    return incarnation === null ? header : { ...header, incarnation: incarnation.id, rejoined: incarnation.rejoined };
  }

  private open(): void {
    const method = peerMethods().stream;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    const call = this.ctx.client(this.broken).makeClientStreamRequest<WireFrame, WireAck>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new grpc.Metadata(),
      {},
      (err) => this.onEnd(call, err),
    );
    this.state = { kind: 'open', call, headerSent: false, blocked: false };
    // The receiver sends headers as soon as it accepts the stream: the peer is reachable again.
    call.on('metadata', () => this.onConnected(call));
    call.on('drain', () => {
      if (this.state.kind === 'open' && this.state.call === call) {
        this.state.blocked = false;
        this.scheduleFlush();
      }
    });
  }

  private onConnected(call: grpc.ClientWritableStream<WireFrame>): void {
    if (this.state.kind !== 'open' || this.state.call !== call) return;
    this.backoffMs = this.ctx.limits.reconnectBackoffMsMin;
    this.retriedEarly = false;
    this.broken = false;
    this.announcing = false;
    this.setReachable(true);
  }

  private onEnd(call: grpc.ClientWritableStream<WireFrame>, err: grpc.ServiceError | null): void {
    this.resolveEnded();
    if (this.state.kind !== 'open' || this.state.call !== call) return;
    if (err?.metadata?.get(REFUSED_INCARNATION_KEY).length) {
      // Retrying cannot help: the peer knows this member by a data directory it no longer has.
      this.drop(this.outbox.clear());
      this.state = { kind: 'closed' };
      this.setReachable(false);
      this.ctx.onIdentityRefused(this.peer, err.details);
      return;
    }
    const why = err ? `${statusName(err.code)}: ${err.details}` : 'ended by the peer';
    if (this.reachable) this.ctx.log('warn', `peer ${this.peer}: stream broke (${why}); retrying in ${this.backoffMs} ms`);
    this.drop(this.outbox.clear());
    this.broken = true;
    // Reconnect at the end of the backoff whether or not there is anything to send, until a
    // stream is accepted: the core learns the peer is reachable again (onState) only from a
    // stream that connects, and a core that sends this peer nothing until then — a follower
    // that takes no records from a leader it cannot answer (raft/core.ts) — would never learn it.
    this.announcing = true;
    const timer = setTimeout(() => {
      if (this.state.kind !== 'backoff') return;
      this.state = { kind: 'idle' };
      if (this.announcing) this.scheduleFlush();
    }, this.backoffMs);
    this.state = { kind: 'backoff', timer };
    this.backoffMs = Math.min(this.backoffMs * 2, this.ctx.limits.reconnectBackoffMsMax);
    this.setReachable(false);
  }

  private setReachable(reachable: boolean): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    if (reachable) this.ctx.log('info', `peer ${this.peer}: stream connected`);
    this.ctx.onState(this.peer, reachable);
  }
}
