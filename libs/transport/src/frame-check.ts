/** Pure checks on a received PeerFrame: who may send, to whom, and how much. */
import * as grpc from '@grpc/grpc-js';
import { originMismatch, presentedIncarnation, protocolMismatch, type PeerIdentity } from './handshake';
import type { WireFrame } from './wire';

export interface FrameRules {
  readonly self: string;
  readonly cluster: string;
  /** The consensus protocol this node runs (see handshake.ts). */
  readonly protocol: string;
  readonly isPeer: (id: string) => boolean;
  /** This node's identity rule (handshake.ts); null admits every incarnation (tests, before start). */
  readonly identity: () => PeerIdentity | null;
  readonly frameBytesMax: number;
  readonly messagesPerFrameMax: number;
}

export type FrameVerdict =
  | { readonly ok: true; readonly from: string; readonly messages: Uint8Array[] }
  | Refusal;

/** `staleIncarnation`: the sender lost its data directory; it must stop, not retry. */
type Refusal = { readonly ok: false; readonly code: grpc.status; readonly why: string; readonly staleIncarnation?: true };

/** `from` is null for the stream's first frame, which must name sender, receiver, cluster and protocol. */
export function checkFrame(frame: WireFrame, from: string | null, rules: FrameRules): FrameVerdict {
  const header = from === null ? checkHeader(frame, rules) : checkLaterHeader(frame, from);
  if (!header.ok) return header;
  const messages = frame.messages ?? [];
  if (messages.length > rules.messagesPerFrameMax) {
    return refuse(grpc.status.RESOURCE_EXHAUSTED, `frame has ${messages.length} messages, more than ${rules.messagesPerFrameMax}`);
  }
  let bytes = 0;
  for (const m of messages) {
    if (!(m instanceof Uint8Array)) return refuse(grpc.status.INVALID_ARGUMENT, 'frame carries a message that is not bytes');
    bytes += m.byteLength;
  }
  if (bytes > rules.frameBytesMax) {
    return refuse(grpc.status.RESOURCE_EXHAUSTED, `frame of ${bytes} bytes exceeds frameBytesMax (${rules.frameBytesMax})`);
  }
  return { ok: true, from: header.from, messages };
}

type HeaderVerdict = { readonly ok: true; readonly from: string } | Refusal;

function checkHeader(frame: WireFrame, rules: FrameRules): HeaderVerdict {
  const { from = '', to = '', cluster = '' } = frame;
  if (cluster !== rules.cluster) return refuse(grpc.status.FAILED_PRECONDITION, `stream is for cluster ${quote(cluster)}, this node is in cluster '${rules.cluster}'`);
  const mismatch = protocolMismatch(frame.protocol, rules.protocol, 'stream');
  if (mismatch !== null) return refuse(grpc.status.FAILED_PRECONDITION, mismatch);
  if (to !== rules.self) return refuse(grpc.status.FAILED_PRECONDITION, `stream is meant for ${quote(to)}, this node is '${rules.self}'`);
  if (from === rules.self || !rules.isPeer(from)) return refuse(grpc.status.PERMISSION_DENIED, `sender ${quote(from)} is not a peer of this node`);
  const origin = rules.identity()?.origin;
  const differs = origin === undefined ? null : originMismatch(frame.origin ?? '', origin);
  if (differs !== null) return refuse(grpc.status.FAILED_PRECONDITION, differs);
  // Last: admitting a new incarnation records it durably, so only a stream otherwise good does.
  const stale = rules.identity()?.admit(from, presentedIncarnation(frame)) ?? null;
  if (stale !== null) return { ...refuse(grpc.status.FAILED_PRECONDITION, stale), staleIncarnation: true };
  return { ok: true, from };
}

/** Later frames leave the header empty; if they set it, it must not change. */
function checkLaterHeader(frame: WireFrame, from: string): HeaderVerdict {
  if (frame.from && frame.from !== from) return refuse(grpc.status.INVALID_ARGUMENT, `sender changed from '${from}' to ${quote(frame.from)} mid-stream`);
  return { ok: true, from };
}

function refuse(code: grpc.status, why: string): Refusal {
  return { ok: false, code, why };
}

/** Peer-supplied text in a log line: quoted, escaped and short. */
export function quote(s: string): string {
  const json = JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}...` : s);
  return `'${json.slice(1, -1)}'`;
}
