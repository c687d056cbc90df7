/** The peer.proto messages as @grpc/proto-loader presents them (PROTO_LOADER_OPTIONS: defaults filled, uint64 as string). */
import * as grpc from '@grpc/grpc-js';
import { packageDefinitions, peerServiceCtor } from '@quorumlite/proto';

export interface WireFrame {
  from?: string;
  to?: string;
  cluster?: string;
  protocol?: string;
  incarnation?: string;
  rejoined?: boolean;
  origin?: string;
  messages?: Uint8Array[];
}

export type WireAck = Record<string, never>;

export interface WireChunk {
  from?: string;
  to?: string;
  cluster?: string;
  protocol?: string;
  message?: Uint8Array;
  data?: Uint8Array;
  done?: boolean;
  crc32?: number;
  size?: string | number;
}

export interface WireSnapshotAck {
  accepted?: boolean;
  error?: string;
}

export interface PeerMethods {
  readonly stream: grpc.MethodDefinition<WireFrame, WireAck>;
  readonly installSnapshot: grpc.MethodDefinition<WireChunk, WireSnapshotAck>;
  readonly service: grpc.ServiceDefinition;
}

let cached: PeerMethods | null = null;

/** The service definition from packageDefinitions().peer and its two methods, typed. */
export function peerMethods(): PeerMethods {
  if (cached) return cached;
  const service = packageDefinitions().peer['quorumlite.v1.PeerService'] as unknown as grpc.ServiceDefinition | undefined;
  if (!service) throw new Error('quorumlite.v1.PeerService not found in peer.proto');
  const stream = service['Stream'];
  const installSnapshot = service['InstallSnapshot'];
  if (!stream || !installSnapshot) throw new Error('quorumlite.v1.PeerService lacks Stream or InstallSnapshot');
  cached = {
    service,
    stream: stream as grpc.MethodDefinition<WireFrame, WireAck>,
    installSnapshot: installSnapshot as grpc.MethodDefinition<WireChunk, WireSnapshotAck>,
  };
  return cached;
}

export function statusName(code: number | undefined): string {
  return code === undefined ? 'UNKNOWN' : (grpc.status[code] ?? String(code));
}

/** A grpc status error the server handler can pass to its callback. */
export function statusError(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

/** One channel to a peer, through the generated PeerService stub. */
export function peerClient(address: string, options: grpc.ChannelOptions, credentials = grpc.credentials.createInsecure()): grpc.Client {
  const Ctor = peerServiceCtor();
  return new Ctor(address, credentials, options);
}
