import { CodedError } from '@quorumlite/errors';
import type { NodeId } from '@quorumlite/consensus';
import type { PeerIdentity } from './handshake';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

export interface PeerHandlers {
  /** Messages from one peer, in the order it sent them (already split from frames). */
  onMessages(from: NodeId, messages: Uint8Array[]): void;
  /**
   * A snapshot arrived and was written completely to `stagedFile` (CRC and size verified).
   * `message` is the encoded protocol message that carries its meta. The driver takes
   * ownership of the file once this returns (or its promise resolves); throwing (or
   * rejecting) refuses the snapshot: the transport deletes the file and the sender's
   * sendSnapshot rejects with the reason.
   */
  onSnapshot(from: NodeId, message: Uint8Array, stagedFile: string): void | Promise<void>;
  /** A peer's outbound stream broke or recovered. */
  onPeerState?(peer: NodeId, reachable: boolean): void;
  /**
   * This node's incarnation, sent on every stream's first frame, and the rule that admits
   * its peers' (handshake.ts). Without it every incarnation is admitted and none is sent.
   */
  readonly identity?: PeerIdentity;
  /**
   * A peer refused this node's stream because it knows this member under another data
   * directory: this node lost its state and must stop (the peer counts nothing from it).
   */
  onIdentityRefused?(peer: NodeId, why: string): void;
}

export interface TransportStats {
  sentMessages: number;
  sentFrames: number;
  dropped: number;
  received: number;
}

export interface PeerTransport {
  start(handlers: PeerHandlers): void;
  /**
   * Never throws, never blocks: queues the message; queued messages to one peer go out
   * together as one PeerFrame per event-loop turn (batching), at most bytesPerTurnMax of
   * them per turn (a larger message goes alone). Bounded queue per peer
   * (messagesQueuedMax, bytesQueuedMax): when full, drop and count (consensus retries).
   * An `orderFree` message (ProtocolModule.orderFree) goes on a lane of its own, with its own
   * queue and connection, so it never waits behind a large message still on the wire; it
   * may arrive before messages sent earlier. Messages of one lane arrive in order.
   */
  send(to: NodeId, message: Uint8Array, orderFree?: boolean): void;
  /** Streams a file as SnapshotChunks; resolves when the peer acknowledged it, rejects with TransportError otherwise. */
  sendSnapshot(to: NodeId, message: Uint8Array, file: string): Promise<void>;
  isReachable(to: NodeId): boolean;
  /**
   * The members to talk to changed (a membership change): a new one is dialled, a removed one's
   * streams close and its incoming streams are refused from then on.
   */
  setPeers(peers: readonly { id: NodeId; address: string }[]): void;
  stats(): TransportStats;
  close(): Promise<void>;
}

export type TransportErrorCode = 'unreachable' | 'refused' | 'bad_frame' | 'closed' | 'too_large';

export class TransportError extends CodedError<TransportErrorCode> {
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TransportError';
  }
}

export interface TransportLimits {
  /** Largest PeerFrame: the sum of its messages' bytes. A single larger message is dropped. */
  frameBytesMax: number;
  /**
   * Most message bytes serialized and written to one peer per event-loop turn, and where a
   * frame closes (a larger message goes alone in its own frame). Encoding a frame holds the
   * loop: many MiB-sized appends in one frame would hold it for as long as a leader has
   * between heartbeats. Capped at frameBytesMax.
   */
  bytesPerTurnMax: number;
  /** Most messages waiting for one peer (while its stream connects or its socket drains). */
  messagesQueuedMax: number;
  /** Most message bytes waiting for one peer. */
  bytesQueuedMax: number;
  /** Data bytes per SnapshotChunk. */
  snapshotChunkBytes: number;
  /** Largest snapshot file accepted from a peer. */
  snapshotBytesMax: number;
  /** Longest a whole snapshot transfer may take before it is abandoned. */
  snapshotTimeoutMs: number;
  /**
   * First wait before reopening a broken stream; doubles per failure up to the max. The max is
   * what a healed partition may cost when the peer says nothing first: a healed node should
   * serve again within 300 ms (issue 19), and a retry on loopback or a LAN costs one connect.
   */
  reconnectBackoffMsMin: number;
  reconnectBackoffMsMax: number;
  /** HTTP/2 keepalive ping interval and how long to wait for its answer. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Longest close() waits for outbound streams to finish before cancelling them. */
  closeTimeoutMs: number;
}

/** Defaults sized for the node's defaults (grpcMessageBytesMax 64 MiB, append messages of 4 MiB). */
export const TRANSPORT_LIMITS: Readonly<TransportLimits> = {
  frameBytesMax: 32 * MIB,
  bytesPerTurnMax: 1 * MIB,
  messagesQueuedMax: 10_000,
  bytesQueuedMax: 64 * MIB,
  snapshotChunkBytes: 1 * MIB,
  snapshotBytesMax: 64 * GIB,
  snapshotTimeoutMs: 10 * 60_000,
  reconnectBackoffMsMin: 50,
  reconnectBackoffMsMax: 200,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  closeTimeoutMs: 1_000,
};

/** Room for the frame's own fields and per-message length prefixes on top of message bytes. */
export const FRAME_OVERHEAD_BYTES = 64 * KIB;

export function resolveLimits(partial: Partial<TransportLimits> | undefined): TransportLimits {
  const limits = { ...TRANSPORT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TransportError('bad_frame', `transport limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.reconnectBackoffMsMin > limits.reconnectBackoffMsMax) {
    throw new TransportError('bad_frame', 'transport limit reconnectBackoffMsMin must be at most reconnectBackoffMsMax');
  }
  if (limits.snapshotChunkBytes > limits.frameBytesMax) {
    throw new TransportError('bad_frame', 'transport limit snapshotChunkBytes must be at most frameBytesMax');
  }
  return limits;
}

/** gRPC message size for peer traffic: a full frame plus its overhead. */
export function grpcMessageBytesFor(limits: TransportLimits): number {
  return limits.frameBytesMax + FRAME_OVERHEAD_BYTES;
}
