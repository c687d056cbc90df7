/**
 * Sends a write that reached a follower to the leader, and reads a peer's status for a node
 * that rejoins, over the other members' client API.
 */
import * as grpc from '@grpc/grpc-js';
import { sqlServiceCtor } from '@quorumlite/proto';
import { TRANSPORT_LIMITS } from '@quorumlite/transport';
import { ReplicaError, type PeerStatusReader, type PeerView, type WriteForwarder, type WriteRequest, type WriteResult } from '@quorumlite/replica';
import { decodeExecuteResponse, encodeExecuteRequest, type WireExecuteResponse } from './grpc/codec';
import { AUTHORIZATION_METADATA_KEY } from './grpc/access';
import { fromServiceError } from './grpc/errors';

/** Marks a forwarded call so a node that is not the leader answers instead of forwarding again. */
export const FORWARDED_METADATA_KEY = 'ql-forwarded';

type UnaryFn = (
  req: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, res?: WireExecuteResponse) => void,
) => void;

type StatusFn = (
  req: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, res?: { role: string; leader_id: string; term: string; last_index: string; promised_fence?: string; store?: string }) => void,
) => void;

export class GrpcWriteForwarder implements WriteForwarder, PeerStatusReader {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    private readonly messageBytesMax: number,
    /** This node's own credentials: with TLS on, the leader sees a member's certificate. */
    private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {}

  forward(leader: { id: string; address: string }, request: WriteRequest): Promise<WriteResult> {
    const client = this.client(leader.address);
    const metadata = new grpc.Metadata();
    metadata.set(FORWARDED_METADATA_KEY, '1');
    if (request.authorization !== undefined) metadata.set(AUTHORIZATION_METADATA_KEY, request.authorization);
    const execute = (client as unknown as { Execute: UnaryFn }).Execute.bind(client);
    return new Promise<WriteResult>((resolve, reject) => {
      execute(encodeExecuteRequest(request), metadata, { deadline: Date.now() + request.timeoutMs }, (err, res) => {
        if (err) {
          const e = fromServiceError(err);
          const unreachable = e.code === 'unavailable' && !err.metadata?.get('ql-code').length;
          // A channel that failed to connect waits out its reconnect backoff, failing every call
          // meanwhile: the next write after a heal opens a fresh one instead.
          if (unreachable) this.drop(leader.address, client);
          reject(
            unreachable
              ? new ReplicaError('unavailable', `leader ${leader.id} at ${leader.address} is unreachable: ${err.details}; retry`, {
                  leaderId: leader.id,
                  leaderAddress: leader.address,
                })
              : e,
          );
          return;
        }
        resolve(decodeExecuteResponse(res!));
      });
    });
  }

  status(address: string, timeoutMs: number): Promise<PeerView> {
    const client = this.client(address);
    const status = (client as unknown as { Status: StatusFn }).Status.bind(client);
    return new Promise<PeerView>((resolve, reject) => {
      status({}, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) {
          reject(new Error(`${address}: ${err?.details ?? 'no answer'}`));
          return;
        }
        resolve({
          role: res.role,
          leaderId: res.leader_id === '' ? null : res.leader_id,
          term: Number(res.term),
          // A node that predates the field answers 0: its term is then the best known.
          promised: Math.max(Number(res.term), Number(res.promised_fence ?? 0)),
          lastIndex: Number(res.last_index),
          store: res.store === 'database' || res.store === 'log' ? res.store : null,
        });
      });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private drop(address: string, client: grpc.Client): void {
    if (this.clients.get(address) !== client) return;
    this.clients.delete(address);
    client.close();
  }

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = sqlServiceCtor();
      c = new Ctor(address, this.credentials, {
        'grpc.max_receive_message_length': this.messageBytesMax,
        'grpc.max_send_message_length': this.messageBytesMax,
        'grpc.keepalive_time_ms': 10_000,
        // The peer links' backoff, not gRPC's default (1 s growing to 2 min): the leader this
        // node forwards to is back within the links' cap after a heal.
        'grpc.initial_reconnect_backoff_ms': TRANSPORT_LIMITS.reconnectBackoffMsMin,
        'grpc.max_reconnect_backoff_ms': TRANSPORT_LIMITS.reconnectBackoffMsMax,
      });
      this.clients.set(address, c);
    }
    return c;
  }
}
