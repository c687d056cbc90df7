/** Streams a snapshot file to a peer as SnapshotChunks: header, data chunks, then CRC-32 and size. */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { TransportError, type TransportErrorCode, type TransportLimits } from './types';
import { peerMethods, statusName, type WireChunk, type WireSnapshotAck } from './wire';

export interface SnapshotSend {
  readonly client: grpc.Client;
  readonly header: { from: string; to: string; cluster: string; protocol: string };
  readonly message: Uint8Array;
  readonly file: string;
  readonly limits: TransportLimits;
  /** Called with the call as soon as it exists, so close() can cancel it. */
  readonly track: (call: grpc.ClientWritableStream<WireChunk>) => () => void;
  readonly isClosed: () => boolean;
}

export async function sendSnapshotFile(s: SnapshotSend): Promise<void> {
  const size = await fileSize(s.file);
  if (size > s.limits.snapshotBytesMax) throw new TransportError('too_large', `snapshot ${s.file} has ${size} bytes, more than snapshotBytesMax (${s.limits.snapshotBytesMax})`);
  const method = peerMethods().installSnapshot;
  let settled = false;
  let resolveAck: (ack: WireSnapshotAck) => void = () => {};
  let rejectAck: (e: unknown) => void = () => {};
  const ack = new Promise<WireSnapshotAck>((resolve, reject) => {
    resolveAck = resolve;
    rejectAck = reject;
  });
  // Keep the rejection handled while the file is still being written.
  ack.catch(() => undefined);
  const call = s.client.makeClientStreamRequest<WireChunk, WireSnapshotAck>(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    new grpc.Metadata(),
    { deadline: Date.now() + s.limits.snapshotTimeoutMs },
    (err, value) => {
      settled = true;
      if (err) rejectAck(err);
      else resolveAck(value ?? {});
    },
  );
  const untrack = s.track(call);
  try {
    await writeChunks(call, s, () => settled, ack);
    const result = await ack.catch((e: unknown) => {
      throw toTransportError(e, s);
    });
    if (!result.accepted) throw new TransportError('refused', `peer ${s.header.to} refused the snapshot: ${result.error ?? 'no reason given'}`);
  } finally {
    untrack();
  }
}

async function writeChunks(call: grpc.ClientWritableStream<WireChunk>, s: SnapshotSend, settled: () => boolean, ack: Promise<unknown>): Promise<void> {
  const drained = () => new Promise<void>((resolve) => {
    call.once('drain', resolve);
    ack.then(() => resolve(), () => resolve());
  });
  call.write({ ...s.header, message: s.message });
  let crc = 0;
  let size = 0;
  const stream = fs.createReadStream(s.file, { highWaterMark: s.limits.snapshotChunkBytes });
  try {
    for await (const data of stream as AsyncIterable<Buffer>) {
      if (settled()) return; // the peer already answered (an error); the ack says why
      crc = zlib.crc32(data, crc);
      size += data.byteLength;
      if (!call.write({ data })) await drained();
    }
  } catch (e: unknown) {
    call.cancel();
    throw new TransportError('bad_frame', `cannot read snapshot file ${s.file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    stream.destroy();
  }
  if (settled()) return;
  call.write({ done: true, crc32: crc, size: String(size) });
  call.end();
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (e: unknown) {
    throw new TransportError('bad_frame', `cannot read snapshot file ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function toTransportError(e: unknown, s: SnapshotSend): TransportError {
  if (e instanceof TransportError) return e;
  const err = e as Partial<grpc.ServiceError>;
  const code = codeFor(err.code, s.isClosed());
  return new TransportError(code, `snapshot to ${s.header.to} failed: ${statusName(err.code)}: ${err.details ?? String(e)}`, { cause: e });
}

function codeFor(status: grpc.status | undefined, closed: boolean): TransportErrorCode {
  if (closed) return 'closed';
  switch (status) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return 'unreachable';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'too_large';
    default:
      return 'refused';
  }
}
