export type { PeerHandlers, PeerTransport, TransportErrorCode, TransportLimits, TransportStats } from './types';
export { TransportError, TRANSPORT_LIMITS, FRAME_OVERHEAD_BYTES, grpcMessageBytesFor } from './types';
export { GrpcPeerTransport, peerServerOptions } from './grpc-transport';
export type { GrpcPeerTransportOptions } from './grpc-transport';
export { MemoryNetwork } from './memory';
export { Outbox } from './outbox';
export { checkFrame } from './frame-check';
export type { FrameRules, FrameVerdict } from './frame-check';
export { judgeIncarnation, incarnationRefusal, type Incarnation, type IncarnationVerdict, type PeerIdentity } from './handshake';
