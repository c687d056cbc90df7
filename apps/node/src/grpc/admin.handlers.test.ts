import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumliteClient } from '@quorumlite/client';
import { freePorts } from '@quorumlite/cluster';
import { packageDefinitions } from '@quorumlite/proto';
import { ReplicaError, type BackupCopy, type Replica } from '@quorumlite/replica';
import { grantOf, type Authorizer } from './access';
import { adminHandlers, BACKUP_CHUNK_BYTES, memberChangeOf, type BackupMessage } from './admin.handlers';

function adminService(): grpc.ServiceDefinition {
  const pkg = grpc.loadPackageDefinition(packageDefinitions().admin) as unknown as { quorumlite: { v1: { AdminService: { service: grpc.ServiceDefinition } } } };
  return pkg.quorumlite.v1.AdminService.service;
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-admin-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(handlers: grpc.UntypedServiceImplementation): Promise<{ address: string; client: QuorumliteClient }> {
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const server = new grpc.Server();
  server.addService(adminService(), handlers);
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const client = new QuorumliteClient({ addresses: [address] });
  cleanup.push(() => {
    client.close();
    server.forceShutdown();
  });
  return { address, client };
}

/** A replica whose backup() hands out a copy of `content` in `dir`, recording discards. */
function replicaWith(dir: string, content: Buffer, discarded: string[]): Replica {
  const backup = async (): Promise<BackupCopy> => {
    const file = path.join(dir, `copy-${discarded.length}`);
    fs.writeFileSync(file, content);
    return {
      file,
      appliedIndex: 42,
      bytes: content.length,
      discard: async () => {
        discarded.push(file);
        fs.rmSync(file, { force: true });
      },
    };
  };
  return { backup } as unknown as Replica;
}

describe('AdminService.Backup', () => {
  it('streams the header then the file in chunks; the client checks size and SHA-256; the copy is removed', async () => {
    const dir = tempDir();
    const content = randomBytes(3 * BACKUP_CHUNK_BYTES + 123);
    const discarded: string[] = [];
    const { client } = await serve(adminHandlers(replicaWith(dir, content, discarded), { nodeId: 'n2', protocol: 'zab', requestTimeoutMs: 10_000 }));
    const out = path.join(dir, 'out.sqlite');
    const result = await client.backup(out);
    expect(result).toEqual({ appliedIndex: 42n, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex'), nodeId: 'n2', protocol: 'zab' });
    expect(fs.readFileSync(out).equals(content)).toBe(true);
    expect(discarded).toHaveLength(1);
    expect(fs.existsSync(discarded[0]!)).toBe(false);
  });

  it('removes the copy when the receiver goes away mid-stream', async () => {
    const dir = tempDir();
    const discarded: string[] = [];
    const { address } = await serve(adminHandlers(replicaWith(dir, randomBytes(64 * BACKUP_CHUNK_BYTES), discarded), { nodeId: 'n1', protocol: 'raft', requestTimeoutMs: 10_000 }));
    const Ctor = grpc.makeGenericClientConstructor(adminService(), 'AdminService');
    const raw = new Ctor(address, grpc.credentials.createInsecure());
    cleanup.push(() => raw.close());
    const method = adminService()['Backup']!;
    const call = raw.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, {});
    call.on('error', () => undefined);
    // Read the header, then stop reading and hang up while the node still has most of the file to send.
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.pause();
    call.cancel();
    const deadline = Date.now() + 5_000;
    while (discarded.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(discarded).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a witness's refusal reaches the client with its code and sentence", async () => {
    const witness = {
      backup: () => Promise.reject(new ReplicaError('refused', 'node w1 is a witness: it keeps no database to back up; take the backup from a voter or an observer')),
    } as unknown as Replica;
    const { client } = await serve(adminHandlers(witness, { nodeId: 'w1', protocol: 'zab', requestTimeoutMs: 10_000 }));
    const dir = tempDir();
    await expect(client.backup(path.join(dir, 'out.sqlite'))).rejects.toMatchObject({ code: 'refused', message: expect.stringContaining('is a witness: it keeps no database') });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('needs role admin when the caller has a certificate', async () => {
    const dir = tempDir();
    const discarded: string[] = [];
    const asWriter: Authorizer = () => grantOf({ commonName: 'app', unit: 'write' });
    const { client } = await serve(adminHandlers(replicaWith(dir, Buffer.from('x'), discarded), { nodeId: 'n1', protocol: 'raft', requestTimeoutMs: 10_000 }, asWriter));
    await expect(client.backup(path.join(dir, 'out.sqlite'))).rejects.toMatchObject({ code: 'permission_denied', message: "Backup needs role 'admin' or higher; certificate CN 'app' OU 'write' has role 'write'" });
    expect(discarded).toEqual([]);
  });

  it.each([
    ['a short file', (data: Buffer) => ({ size: data.length + 1, sha: createHash('sha256').update(data).digest(), data }), /received 5 bytes, the node announced 6: the transfer was cut short/],
    ['a wrong digest', (data: Buffer) => ({ size: data.length, sha: Buffer.alloc(32), data }), /SHA-256 [0-9a-f]{64} is not the 0{64} the node announced/],
  ])('refuses %s and removes what it wrote', async (_what, lie, message) => {
    const { size, sha, data } = lie(Buffer.from('hello'));
    const { client } = await serve({
      Backup: (call: grpc.ServerWritableStream<unknown, BackupMessage>) => {
        call.write({ header: { applied_index: '1', size_bytes: String(size), sha256: sha, node_id: 'n1', protocol: 'raft' } });
        call.write({ data });
        call.end();
      },
    });
    const dir = tempDir();
    await expect(client.backup(path.join(dir, 'out.sqlite'))).rejects.toThrow(message);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('AdminService.ChangeMembers requests', () => {
  it('become one change each, with voter the default role of an added member', () => {
    expect(memberChangeOf({ change: 'add', add: { id: ' n4 ', address: '10.0.0.4:7001', role: '' } })).toEqual({ kind: 'add', id: 'n4', address: '10.0.0.4:7001', role: 'voter' });
    expect(memberChangeOf({ change: 'remove', remove: 'n2' })).toEqual({ kind: 'remove', id: 'n2' });
    expect(memberChangeOf({ change: 'set_role', set_role: { id: 'n3', role: 'observer' } })).toEqual({ kind: 'set-role', id: 'n3', role: 'observer' });
  });

  it('are refused by name when a field is missing or impossible', () => {
    const refusal = (req: Parameters<typeof memberChangeOf>[0]): string => {
      try {
        memberChangeOf(req);
      } catch (e: unknown) {
        expect(e).toBeInstanceOf(ReplicaError);
        expect((e as ReplicaError).code).toBe('invalid');
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refusal({})).toBe('ChangeMembers needs one of add, remove or set_role');
    expect(refusal({ change: 'add', add: { id: 'n4', address: 'nowhere', role: 'voter' } })).toBe("add: address must be host:port, not 'nowhere'");
    expect(refusal({ change: 'add', add: { id: '', address: 'h:1', role: 'voter' } })).toBe('add: a member id is required');
    expect(refusal({ change: 'set_role', set_role: { id: 'n3', role: 'boss' } })).toBe("set_role: role must be one of voter, witness, observer, not 'boss'");
    expect(refusal({ change: 'remove', remove: '  ' })).toBe('remove: a member id is required');
  });
});
