import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '@quorumlite/cluster';
import { sqlServiceCtor } from '@quorumlite/proto';
import type { ReadRequest, Replica, WriteRequest } from '@quorumlite/replica';
import { withRequestDecoders } from './request-wire';
import { sqlHandlers } from './sql.handlers';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A replica that answers every write at index 5 and every read with its first parameter. */
const echoReplica = {
  execute: (r: WriteRequest) => Promise.resolve({ results: r.statements.map(() => ({ rowsAffected: 1, lastInsertRowid: 2n ** 62n })), index: 5, duplicate: false }),
  query: (r: ReadRequest) => Promise.resolve({ columns: [{ name: 'p', declType: '' }], rows: [[r.params[0] ?? null]], truncated: false, index: 6 }),
} as unknown as Replica;

/** A gRPC server of the SQL service with the wire decoders, over echoReplica, and a raw client of it. */
async function serveSql(): Promise<{ client: grpc.Client; service: grpc.ServiceDefinition }> {
  const [port] = await freePorts(1);
  const address = `127.0.0.1:${port}`;
  const server = new grpc.Server();
  const service = sqlServiceCtor().service;
  server.addService(withRequestDecoders(service), sqlHandlers(echoReplica, { timeoutMs: 5_000, resultRowsMax: 100 }));
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  cleanup.push(() => {
    client.close();
    server.forceShutdown();
  });
  return { client, service };
}

describe('a Session stream served with the wire decoders', () => {
  it('answers each call under its own id, the largest uint64 included, with its results', async () => {
    const { client, service } = await serveSql();
    const method = service['Session']!;
    const stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    const results: { id: string; execute?: unknown; query?: unknown }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (frame: { results: typeof results }) => results.push(...frame.results));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({
      calls: [
        { id: '18446744073709551615', execute: { statements: [{ sql: 'INSERT INTO t VALUES (?)', params: [{ integer: '-9223372036854775808' }] }] } },
        { id: 7, query: { sql: 'SELECT ?', params: [{ text: 'héllo' }] } },
        { id: '9007199254740993', query: { sql: 'SELECT ?', params: [{ integer: '9007199254740993' }] } },
      ],
    });
    stream.end();
    await done;
    const byId = new Map(results.map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual(['18446744073709551615', '7', '9007199254740993']);
    expect(byId.get('18446744073709551615')!.execute).toMatchObject({ index: '5', results: [{ rows_affected: '1', last_insert_rowid: '4611686018427387904' }] });
    expect(byId.get('7')!.query).toMatchObject({ index: '6', rows: [{ values: [{ text: 'héllo' }] }] });
    expect(byId.get('9007199254740993')!.query).toMatchObject({ rows: [{ values: [{ integer: '9007199254740993' }] }] });
  });

  it('refuses a request whose bytes do not decode with INVALID_ARGUMENT and the reason, on a stream and on a unary call', async () => {
    const { client, service } = await serveSql();
    const bytes = (b: Buffer): Buffer => b;
    const session = service['Session']!;
    const stream = client.makeBidiStreamRequest(session.path, bytes, session.responseDeserialize);
    const ended = new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', () => undefined);
      stream.on('error', resolve);
    });
    // Field 1 (calls) as a varint: the wrong wire type.
    stream.write(Buffer.from([0x08, 0x05]));
    const streamError = await ended;
    expect(streamError.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(streamError.details).toMatch(/^malformed SessionRequest: field 1 has wire type 0, expected 2/);

    const query = service['Query']!;
    const unary = await new Promise<grpc.ServiceError | null>((resolve) => {
      // min_index (field 5) as an 11-byte varint.
      client.makeUnaryRequest(query.path, bytes, query.responseDeserialize, Buffer.from([0x28, ...Array<number>(10).fill(0xff), 0x01]), (e) => resolve(e));
    });
    expect(unary?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unary?.details).toMatch(/^malformed QueryRequest: varint longer than 10 bytes/);
  });
});
