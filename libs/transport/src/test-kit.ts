/** Test helpers shared by the transport tests: loopback servers, recording handlers, bounded waits. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { nodeId, type NodeId } from '@quorumlite/consensus';
import { GrpcPeerTransport, peerServerOptions } from './grpc-transport';
import { serverCredentials, type TlsMaterial } from './tls';
import type { PeerHandlers, TransportLimits } from './types';

export const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
export const str = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Polls `check` every few ms; throws after `timeoutMs` so a broken transport fails instead of hanging. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export class Recorder implements PeerHandlers {
  readonly batches: { from: NodeId; messages: string[] }[] = [];
  readonly snapshots: { from: NodeId; message: string; stagedFile: string }[] = [];
  readonly states: { peer: NodeId; reachable: boolean }[] = [];

  onMessages(from: NodeId, messages: Uint8Array[]): void {
    this.batches.push({ from, messages: messages.map(str) });
  }
  onSnapshot(from: NodeId, message: Uint8Array, stagedFile: string): void {
    this.snapshots.push({ from, message: str(message), stagedFile });
  }
  onPeerState(peer: NodeId, reachable: boolean): void {
    this.states.push({ peer, reachable });
  }
  from(id: string): string[] {
    return this.batches.filter((b) => b.from === id).flatMap((b) => b.messages);
  }
}

export interface Node {
  readonly id: NodeId;
  server: grpc.Server;
  readonly port: number;
  readonly address: string;
  readonly transport: GrpcPeerTransport;
  readonly recorder: Recorder;
  readonly logs: string[];
  readonly stagingDir: string;
}

export async function bindServer(port = 0, tls: TlsMaterial | null = null, clientCertificateOptional = false): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(peerServerOptions());
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, serverCredentials(tls, { clientCertificateOptional }), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

/** Tracks what a test created so afterEach can shut it all down. */
export class Harness {
  readonly nodes: Node[] = [];
  readonly servers: grpc.Server[] = [];
  readonly transports: { close(): Promise<void> }[] = [];
  readonly clients: grpc.Client[] = [];
  readonly dirs: string[] = [];

  tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlite-transport-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Binds one server per id first, then builds transports that know every port. */
  async cluster(
    ids: string[],
    options: { cluster?: string; protocol?: string; limits?: Partial<TransportLimits>; tls?: (id: string) => TlsMaterial; clientCertificateOptional?: boolean } = {},
  ): Promise<Node[]> {
    const bound = await Promise.all(ids.map((id) => bindServer(0, options.tls?.(id) ?? null, options.clientCertificateOptional)));
    const peers = ids.map((id, i) => ({ id: nodeId(id), address: `127.0.0.1:${bound[i]?.port ?? 0}` }));
    return ids.map((id, i) => {
      const { server, port } = bound[i] as { server: grpc.Server; port: number };
      this.servers.push(server);
      const logs: string[] = [];
      const stagingDir = this.tempDir();
      const transport = new GrpcPeerTransport({
        self: nodeId(id),
        cluster: options.cluster ?? 'test',
        protocol: options.protocol ?? 'raft',
        peers,
        stagingDir,
        limits: options.limits,
        log: (level, msg) => logs.push(`${level} ${msg}`),
        tls: options.tls?.(id) ?? null,
      });
      this.transports.push(transport);
      transport.addTo(server);
      const recorder = new Recorder();
      transport.start(recorder);
      const node: Node = { id: nodeId(id), server, port, address: `127.0.0.1:${port}`, transport, recorder, logs, stagingDir };
      this.nodes.push(node);
      return node;
    });
  }

  async cleanup(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.transports.map((t) => t.close()));
    for (const s of this.servers) s.forceShutdown();
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
