/**
 * AdminService handlers (proto/quorumlite/v1/admin.proto): operations on the running node. Each
 * checks the caller's role (every admin call needs `admin`, access.ts), calls the replica once
 * and answers; a new admin call is one more entry in the object `adminHandlers` returns.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { BackupCopy, Replica } from '@quorumlite/replica';
import { openAccess, type Authorizer } from './access';
import { toServiceError } from './errors';

/**
 * Bytes of the backup file per message: small beside any gRPC message limit, large enough
 * that framing costs nothing. With the stream's flow control it bounds what a slow receiver
 * makes this node hold, however large the database.
 */
export const BACKUP_CHUNK_BYTES = 256 * 1024;

export interface AdminInfo {
  readonly nodeId: string;
  readonly protocol: string;
}

export function adminHandlers(replica: Replica, info: AdminInfo, authorize: Authorizer = openAccess): grpc.UntypedServiceImplementation {
  return {
    Backup: (call: grpc.ServerWritableStream<unknown, BackupMessage>) => {
      const refused = authorize(call)('Backup');
      if (refused) {
        call.emit('error', refused);
        return;
      }
      streamBackup(call, replica, info).catch((e: unknown) => {
        if (!call.cancelled) call.emit('error', toServiceError(e));
      });
    },
    TransferLeadership: (call: grpc.ServerUnaryCall<{ to?: string; timeout_ms?: number }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('TransferLeadership');
      if (refused) {
        callback(refused);
        return;
      }
      const { to, timeout_ms: timeoutMs } = call.request;
      replica.transferLeadership(to ? to : null, timeoutMs ? timeoutMs : undefined).then(
        (outcome) => callback(null, { from: outcome.from, to: outcome.to, to_address: replica.status().members.find((m) => m.id === outcome.to)?.address ?? '', elapsed_ms: outcome.elapsedMs }),
        (e: unknown) => callback(toServiceError(e)),
      );
    },
  };
}

/** The wire form of admin.proto's BackupChunk. */
export type BackupMessage =
  | { header: { applied_index: string; size_bytes: string; sha256: Buffer; node_id: string; protocol: string } }
  | { data: Buffer };

/** Copies the database, sends its header then its bytes with the stream's flow control, and removes the copy. */
async function streamBackup(call: grpc.ServerWritableStream<unknown, BackupMessage>, replica: Replica, info: AdminInfo): Promise<void> {
  const copy = await replica.backup();
  try {
    if (call.cancelled) return;
    const sha256 = await sha256OfFile(copy.file);
    await send(call, { header: { applied_index: String(copy.appliedIndex), size_bytes: String(copy.bytes), sha256, node_id: info.nodeId, protocol: info.protocol } });
    await sendFile(call, copy);
    if (!call.cancelled) call.end();
  } finally {
    await copy.discard();
  }
}

async function sendFile(call: grpc.ServerWritableStream<unknown, BackupMessage>, copy: BackupCopy): Promise<void> {
  const file = fs.createReadStream(copy.file, { highWaterMark: BACKUP_CHUNK_BYTES });
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      if (call.cancelled) return;
      await send(call, { data: chunk });
    }
  } finally {
    file.destroy();
  }
}

/** Writes one message; waits while the receiver is behind (or until the call ends). */
function send(call: grpc.ServerWritableStream<unknown, BackupMessage>, message: BackupMessage): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

export async function sha256OfFile(file: string): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: BACKUP_CHUNK_BYTES }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest();
}
