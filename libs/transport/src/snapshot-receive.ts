/**
 * Receives an InstallSnapshot stream into a staged file: header chunk, data chunks, a last
 * chunk with CRC-32 and size. The file is fsync'd before the driver sees it; on any error it
 * is deleted and the sender gets `accepted: false` with the reason.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { quote, type FrameRules } from './frame-check';
import { protocolMismatch } from './handshake';
import { TransportError } from './types';
import type { WireChunk, WireSnapshotAck } from './wire';

export interface ReceiveContext {
  readonly rules: FrameRules;
  readonly stagingDir: string;
  readonly snapshotBytesMax: number;
  readonly snapshotTimeoutMs: number;
  /** Hands the verified file over; throwing (or rejecting) refuses the snapshot. */
  readonly deliver: (from: string, message: Uint8Array, stagedFile: string) => void | Promise<void>;
}

interface Progress {
  from: string;
  message: Uint8Array;
  file: fs.promises.FileHandle;
  stagedFile: string;
  crc: number;
  size: number;
  last: WireChunk | null;
}

export async function receiveSnapshot(call: grpc.ServerReadableStream<WireChunk, WireSnapshotAck>, ctx: ReceiveContext): Promise<{ from: string; stagedFile: string }> {
  // A cancelled or timed-out call must end the loop below instead of leaving it waiting.
  const abort = (why: string) => call.destroy(new TransportError('closed', why));
  call.on('cancelled', () => abort('the sender cancelled the snapshot'));
  const timer = setTimeout(() => abort(`snapshot not complete after snapshotTimeoutMs (${ctx.snapshotTimeoutMs})`), ctx.snapshotTimeoutMs);
  let progress: Progress | null = null;
  try {
    for await (const chunk of call as AsyncIterable<WireChunk>) {
      progress = progress ? await appendChunk(progress, chunk, ctx) : await firstChunk(chunk, ctx);
    }
    if (!progress?.last) throw new TransportError('bad_frame', 'snapshot stream ended before its last chunk');
    await finish(progress, progress.last);
    await ctx.deliver(progress.from, progress.message, progress.stagedFile);
    return { from: progress.from, stagedFile: progress.stagedFile };
  } catch (e: unknown) {
    if (progress) await discard(progress);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function firstChunk(chunk: WireChunk, ctx: ReceiveContext): Promise<Progress> {
  const { from = '', to = '', cluster = '' } = chunk;
  if (cluster !== ctx.rules.cluster) throw new TransportError('refused', `snapshot is for cluster ${quote(cluster)}, this node is in cluster '${ctx.rules.cluster}'`);
  const mismatch = protocolMismatch(chunk.protocol, ctx.rules.protocol, 'snapshot');
  if (mismatch !== null) throw new TransportError('refused', mismatch);
  if (to !== ctx.rules.self) throw new TransportError('refused', `snapshot is meant for ${quote(to)}, this node is '${ctx.rules.self}'`);
  if (from === ctx.rules.self || !ctx.rules.isPeer(from)) throw new TransportError('refused', `snapshot sender ${quote(from)} is not a peer of this node`);
  if (!chunk.message || chunk.message.byteLength === 0) throw new TransportError('bad_frame', 'first snapshot chunk carries no message');
  const stagedFile = path.join(ctx.stagingDir, `snapshot-${from}-${randomUUID()}.part`);
  await fs.promises.mkdir(ctx.stagingDir, { recursive: true });
  const file = await fs.promises.open(stagedFile, 'wx');
  const progress: Progress = { from, message: Buffer.from(chunk.message), file, stagedFile, crc: 0, size: 0, last: null };
  return appendChunk(progress, { data: chunk.data, done: chunk.done, crc32: chunk.crc32, size: chunk.size }, ctx);
}

async function appendChunk(p: Progress, chunk: WireChunk, ctx: ReceiveContext): Promise<Progress> {
  if (p.last) throw new TransportError('bad_frame', 'snapshot chunk after the last chunk');
  const data = chunk.data ?? new Uint8Array(0);
  if (data.byteLength > 0) {
    if (p.size + data.byteLength > ctx.snapshotBytesMax) {
      throw new TransportError('too_large', `snapshot exceeds snapshotBytesMax (${ctx.snapshotBytesMax})`);
    }
    p.crc = zlib.crc32(data, p.crc);
    p.size += data.byteLength;
    await p.file.write(data);
  }
  if (chunk.done) p.last = chunk;
  return p;
}

async function finish(p: Progress, last: WireChunk): Promise<void> {
  const size = Number(last.size ?? 0);
  if (size !== p.size) throw new TransportError('bad_frame', `snapshot size mismatch: the sender says ${size} bytes, received ${p.size}`);
  if ((last.crc32 ?? 0) !== p.crc) throw new TransportError('bad_frame', `snapshot CRC-32 mismatch: the sender says ${last.crc32 ?? 0}, received data has ${p.crc}`);
  await p.file.sync();
  await p.file.close();
}

async function discard(p: Progress): Promise<void> {
  await p.file.close().catch(() => undefined);
  await fs.promises.rm(p.stagedFile, { force: true });
}

export function ackFor(e: unknown): WireSnapshotAck {
  return { accepted: false, error: e instanceof Error ? e.message : String(e) };
}
