/**
 * The peers' operations through their standard Node clients, for the same closed loop the
 * quorumlite loaders run: ZooKeeper through `node-zookeeper-client` (one session per loader,
 * pipelining its requests), etcd through `etcd3` (one client per loader). Loaded on demand, so
 * a run without --reference never loads either client.
 *
 * ZooKeeper's getData answers from the member the session is connected to, which may lag; the
 * documented recipe for a linearizable read is sync(path) then getData. node-zookeeper-client
 * 1.1.3 has no sync(): its protocol table knows op code 9 but has no SyncRequest record, and its
 * reply parser drops the connection on an op it does not know. zkSync() sends the request
 * itself — SyncRequest is one ustring, the same bytes as the CreateResponse record — and once
 * the bytes are written marks the pending request as one whose reply carries nothing the client
 * must parse (each reply is framed by its length, so the path the server echoes is skipped).
 */
import type { Etcd3 } from 'etcd3';
import type { Operation } from './loop';
import { BenchArgsError } from './argv';
import { VALUE_TEXT } from './scenarios';
import type { ReferenceSystem } from './reference';

/** The parent directory of every key ZooKeeper's runs touch. */
export const ZK_ROOT = '/ql-bench';

/** What each reference scenario does, per system. */
export const REFERENCE_OPS = ['write', 'read-linearizable', 'read-local'] as const;
export type ReferenceOp = (typeof REFERENCE_OPS)[number];

export interface ReferenceTarget {
  op: Operation;
  warm(): Promise<void>;
  close(): void;
}

export interface ReferenceTargetOptions {
  system: ReferenceSystem;
  op: ReferenceOp;
  addresses: string[];
  loader: number;
  preloadRows: number;
}

/** The key of preloaded row `i` (the same spread of keys the quorumlite reads use). */
export function referenceKey(system: ReferenceSystem, i: number): string {
  const name = `k${i.toString().padStart(8, '0')}`;
  return system === 'zookeeper' ? `${ZK_ROOT}/${name}` : `ql-bench/${name}`;
}

const VALUE = Buffer.from(VALUE_TEXT.padEnd(100, 'x'));

export function parseReferenceOp(text: string | undefined): ReferenceOp {
  if (text === undefined || !(REFERENCE_OPS as readonly string[]).includes(text)) throw new BenchArgsError(`--op: '${text ?? ''}' is not one of ${REFERENCE_OPS.join(', ')}`);
  return text as ReferenceOp;
}

export async function referenceTarget(o: ReferenceTargetOptions): Promise<ReferenceTarget> {
  // Keys spread over the preloaded rows, deterministically per sequence number and loader.
  const key = (seq: number): string => referenceKey(o.system, (seq * 7919 + o.loader * 104729) % o.preloadRows);
  if (o.system === 'zookeeper') {
    const zk = await connectZookeeper(o.addresses);
    const op: Operation =
      o.op === 'write' ? (seq) => zk.setData(key(seq), VALUE) : o.op === 'read-local' ? (seq) => zk.getData(key(seq)) : async (seq) => {
        await zk.sync(ZK_ROOT);
        await zk.getData(key(seq));
      };
    return { op, warm: () => zk.getData(key(0)), close: () => zk.close() };
  }
  const etcd = await connectEtcd(o.addresses);
  const op: Operation =
    o.op === 'write'
      ? async (seq) => {
          await etcd.put(key(seq)).value(VALUE);
        }
      : o.op === 'read-local'
        ? async (seq) => {
            await etcd.get(key(seq)).serializable(true).buffer();
          }
        : async (seq) => {
            await etcd.get(key(seq)).buffer();
          };
  return { op, warm: async () => void (await etcd.get(key(0)).buffer()), close: () => etcd.close() };
}

/** Creates the keys every read and write of a run touches, with 100-byte values. */
export async function preloadReference(system: ReferenceSystem, addresses: string[], rows: number): Promise<void> {
  const WINDOW = 256;
  if (system === 'zookeeper') {
    const zk = await connectZookeeper(addresses);
    try {
      await zk.createIfAbsent(ZK_ROOT, Buffer.alloc(0));
      for (let i = 0; i < rows; i += WINDOW) {
        await Promise.all(Array.from({ length: Math.min(WINDOW, rows - i) }, (_, j) => zk.createIfAbsent(referenceKey(system, i + j), VALUE)));
      }
    } finally {
      zk.close();
    }
    return;
  }
  const etcd = await connectEtcd(addresses);
  try {
    for (let i = 0; i < rows; i += WINDOW) {
      await Promise.all(Array.from({ length: Math.min(WINDOW, rows - i) }, (_, j) => etcd.put(referenceKey(system, i + j)).value(VALUE)));
    }
  } finally {
    etcd.close();
  }
}

// ---- etcd ------------------------------------------------------------------------------

/** How long one etcd call may take before the client gives up on it and retries elsewhere. */
const ETCD_CALL_DEADLINE_MS = 1_000;

export async function connectEtcd(addresses: string[]): Promise<Etcd3> {
  const { Etcd3 } = await import('etcd3');
  // A 1 s deadline per call: the default (none, behind circuit breakers) would leave a write
  // sent to a dead leader hanging for etcd's own 7 s request timeout.
  return new Etcd3({ hosts: addresses.map((a) => `http://${a}`), defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }) });
}

// ---- ZooKeeper -------------------------------------------------------------------------

/** The session timeout the loaders ask for: ZooKeeper's own client default. */
const ZK_SESSION_TIMEOUT_MS = 30_000;
const ZK_CONNECT_TIMEOUT_MS = 20_000;
const ZK_NODE_EXISTS = -110;

export interface ZookeeperSession {
  setData(path: string, data: Buffer): Promise<void>;
  getData(path: string): Promise<void>;
  sync(path: string): Promise<void>;
  createIfAbsent(path: string, data: Buffer): Promise<void>;
  close(): void;
}

interface ZkClient {
  connect(): void;
  close(): void;
  once(event: 'connected', fn: () => void): void;
  setData(path: string, data: Buffer, version: number, cb: (e: Error | null) => void): void;
  getData(path: string, cb: (e: Error | null) => void): void;
  create(path: string, data: Buffer, cb: (e: (Error & { getCode?: () => number }) | null) => void): void;
  connectionManager: { queue(request: unknown, cb: (e: Error | null) => void): void };
}

interface ZkJute {
  OP_CODES: Record<string, number>;
  Request: new (header: unknown, payload: unknown) => { toBuffer(): Buffer };
  protocol: Record<string, new () => Record<string, unknown>>;
}

export async function connectZookeeper(addresses: string[]): Promise<ZookeeperSession> {
  const zookeeper = (await import('node-zookeeper-client')) as unknown as { createClient(c: string, o: object): ZkClient };
  const jute = (await import('node-zookeeper-client/lib/jute/index.js')) as unknown as ZkJute;
  const client = zookeeper.createClient(addresses.join(','), { sessionTimeout: ZK_SESSION_TIMEOUT_MS, spinDelay: 100, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ZooKeeper session with ${addresses.join(',')} within ${ZK_CONNECT_TIMEOUT_MS} ms`)), ZK_CONNECT_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  const done = (resolve: () => void, reject: (e: Error) => void) => (e: Error | null) => (e ? reject(e) : resolve());
  return {
    setData: (path, data) => new Promise((resolve, reject) => client.setData(path, data, -1, done(resolve, reject))),
    getData: (path) => new Promise((resolve, reject) => client.getData(path, done(resolve, reject))),
    sync: (path) =>
      new Promise((resolve, reject) => {
        const header = new jute.protocol['RequestHeader']!();
        header['type'] = jute.OP_CODES['SYNC'];
        const payload = new jute.protocol['CreateResponse']!();
        payload['path'] = path;
        const request = new jute.Request(header, payload);
        const toBuffer = request.toBuffer.bind(request);
        request.toBuffer = () => {
          const bytes = toBuffer();
          // Sent as a sync; its reply is read as one with no body (see the file comment).
          header['type'] = jute.OP_CODES['DELETE'];
          return bytes;
        };
        client.connectionManager.queue(request, done(resolve, reject));
      }),
    createIfAbsent: (path, data) =>
      new Promise((resolve, reject) =>
        client.create(path, data, (e) => {
          if (e && e.getCode?.() !== ZK_NODE_EXISTS) reject(e);
          else resolve();
        }),
      ),
    close: () => client.close(),
  };
}
