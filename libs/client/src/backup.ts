/**
 * Receiving AdminService.Backup: the header first (applied index, size, SHA-256), then the
 * file's bytes, written to the sink with its flow control (the stream pauses while the sink is
 * behind, so memory stays bounded) and checked against the header at the end.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { decodeError, QuorumliteError } from './errors';

export interface BackupOptions {
  /** The node to copy from (any data node); default: each of the client's addresses in turn until one serves it. */
  address?: string;
  /** Deadline of the whole transfer; default none (a large database takes as long as it takes). */
  timeoutMs?: number;
}

export interface BackupResult {
  /** The last log record the file holds: it is exactly the database after that record. */
  appliedIndex: bigint;
  bytes: number;
  /** SHA-256 of the file, hex; the file received matched it. */
  sha256: string;
  /** The node that made the copy, and the protocol of its cluster. */
  nodeId: string;
  protocol: string;
}

/** admin.proto's BackupChunk as proto-loader decodes it (oneof `part`). */
interface WireBackupHeader {
  applied_index: string;
  size_bytes: string;
  sha256: Buffer;
  node_id: string;
  protocol: string;
}

interface WireBackupChunk {
  part?: 'header' | 'data';
  header?: WireBackupHeader;
  data?: Buffer;
}

/** A transfer that failed after bytes reached the sink: it cannot be taken again from another node. */
export class BackupStartedError extends QuorumliteError {}

/** One Backup call to `address`, into `sink` (a file path is created or truncated; removed on failure). */
export async function receiveBackup(
  channel: grpc.Client,
  method: grpc.MethodDefinition<object, object>,
  address: string,
  target: string | Writable,
  timeoutMs: number | undefined,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<BackupResult> {
  if (typeof target !== 'string') return transfer(channel, method, address, target, timeoutMs, metadata);
  const file = fs.createWriteStream(target);
  try {
    const result = await transfer(channel, method, address, file, timeoutMs, metadata);
    await finished(file);
    return result;
  } catch (e: unknown) {
    file.destroy();
    await fs.promises.rm(target, { force: true });
    throw e;
  }
}

function transfer(channel: grpc.Client, method: grpc.MethodDefinition<object, object>, address: string, sink: Writable, timeoutMs: number | undefined, metadata: grpc.Metadata): Promise<BackupResult> {
  return new Promise<BackupResult>((resolve, reject) => {
    const call = channel.makeServerStreamRequest<object, WireBackupChunk>(
      method.path,
      method.requestSerialize as (value: object) => Buffer,
      method.responseDeserialize as (value: Buffer) => WireBackupChunk,
      {},
      metadata,
      timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
    );
    const hash = createHash('sha256');
    let header: WireBackupHeader | null = null;
    let received = 0;
    let settled = false;
    const fail = (e: QuorumliteError): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      reject(received > 0 ? new BackupStartedError(e.message, { code: e.code, grpcCode: e.grpcCode, address, cause: e }) : e);
    };
    const corrupt = (why: string): void => fail(new QuorumliteError(`backup from ${address}: ${why}`, { code: 'internal', grpcCode: grpc.status.DATA_LOSS, address }));
    sink.on('error', (e) => fail(new QuorumliteError(`backup from ${address}: cannot write the file: ${e.message}`, { code: 'internal', grpcCode: grpc.status.INTERNAL, address, cause: e })));
    call.on('data', (chunk: WireBackupChunk) => {
      if (header === null) {
        if (chunk.part !== 'header' || !chunk.header) return corrupt('the first message carries no header');
        header = chunk.header;
        return;
      }
      if (chunk.part !== 'data' || !chunk.data) return corrupt('a message after the header carries no data');
      received += chunk.data.length;
      hash.update(chunk.data);
      if (received > Number(header.size_bytes)) return corrupt(`received more than the ${header.size_bytes} bytes announced`);
      if (!sink.write(chunk.data)) {
        call.pause();
        sink.once('drain', () => call.resume());
      }
    });
    call.on('error', (e) => fail(decodeError(e, address)));
    call.on('end', () => {
      if (settled) return;
      if (header === null) return corrupt('the stream ended without a header');
      checkEnd(header);
    });
    const checkEnd = (header: WireBackupHeader): void => {
      const sha256 = hash.digest('hex');
      if (received !== Number(header.size_bytes)) return corrupt(`received ${received} bytes, the node announced ${header.size_bytes}: the transfer was cut short`);
      if (sha256 !== header.sha256.toString('hex')) return corrupt(`the file's SHA-256 ${sha256} is not the ${header.sha256.toString('hex')} the node announced`);
      settled = true;
      resolve({ appliedIndex: BigInt(header.applied_index), bytes: received, sha256, nodeId: header.node_id, protocol: header.protocol });
    };
  });
}

/** Ends a file stream and waits until its bytes are written and the file closed. */
function finished(sink: fs.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}
