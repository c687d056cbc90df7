/**
 * AdminService handlers (proto/quorumlite/v1/admin.proto): operations on the running node. Each
 * checks the caller's role (every admin call needs `admin`, access.ts), calls the replica once
 * and answers; a new admin call is one more entry in the object `adminHandlers` returns.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { MEMBER_ROLES, type MemberRole } from '@quorumlite/consensus';
import { ReplicaError, type BackupCopy, type MemberChange, type Replica } from '@quorumlite/replica';
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
  /** How long a member change may take when the request names no timeout. */
  readonly requestTimeoutMs: number;
}

interface WireChangeMembers {
  change?: 'add' | 'remove' | 'set_role';
  add?: { id: string; address: string; role: string };
  remove?: string;
  set_role?: { id: string; role: string };
  timeout_ms?: number;
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
    ListMembers: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('ListMembers');
      if (refused) {
        callback(refused);
        return;
      }
      const { members, pending } = replica.members();
      callback(null, { members: members.map(memberInfo), change_pending: pending, node_id: info.nodeId, leader_id: replica.status().leaderId ?? '' });
    },
    ChangeMembers: (call: grpc.ServerUnaryCall<WireChangeMembers, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('ChangeMembers');
      if (refused) {
        callback(refused);
        return;
      }
      let change: MemberChange;
      try {
        change = memberChangeOf(call.request);
      } catch (e: unknown) {
        callback(toServiceError(e));
        return;
      }
      replica.changeMembers(change, call.request.timeout_ms ? call.request.timeout_ms : info.requestTimeoutMs).then(
        (outcome) => callback(null, { members: outcome.members.map(memberInfo), index: String(outcome.index) }),
        (e: unknown) => callback(toServiceError(e)),
      );
    },
  };
}

function memberInfo(m: { id: string; role: string; address: string }): { id: string; role: string; address: string } {
  return { id: m.id, role: m.role, address: m.address };
}

/** The request as a change the replica takes; a missing or impossible field is refused by name. */
export function memberChangeOf(req: WireChangeMembers): MemberChange {
  const id = (what: string, v: string | undefined): string => {
    if (v === undefined || v.trim() === '') throw new ReplicaError('invalid', `${what}: a member id is required`);
    return v.trim();
  };
  const role = (what: string, v: string | undefined, fallback?: MemberRole): MemberRole => {
    const r = v === undefined || v === '' ? fallback : v;
    if (r === undefined || !(MEMBER_ROLES as readonly string[]).includes(r)) throw new ReplicaError('invalid', `${what}: role must be one of ${MEMBER_ROLES.join(', ')}${v ? `, not '${v}'` : ''}`);
    return r as MemberRole;
  };
  switch (req.change) {
    case 'add': {
      const address = req.add?.address?.trim() ?? '';
      if (!/^[^\s:]+:\d{1,5}$/.test(address)) throw new ReplicaError('invalid', `add: address must be host:port${address ? `, not '${address}'` : ''}`);
      return { kind: 'add', id: id('add', req.add?.id), address, role: role('add', req.add?.role, 'voter') };
    }
    case 'remove':
      return { kind: 'remove', id: id('remove', req.remove) };
    case 'set_role':
      return { kind: 'set-role', id: id('set_role', req.set_role?.id), role: role('set_role', req.set_role?.role) };
    default:
      throw new ReplicaError('invalid', 'ChangeMembers needs one of add, remove or set_role');
  }
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
