import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '@quorumlite/cluster';
import { packageDefinitions } from '@quorumlite/proto';
import type { WriteRequest } from '@quorumlite/replica';
import { GrpcWriteForwarder } from './forwarder';

const REQUEST: WriteRequest = { statements: [{ sql: 'INSERT INTO t VALUES (1)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 2_000, forwarded: false };

function sqlService(): grpc.ServiceDefinition {
  const pkg = grpc.loadPackageDefinition(packageDefinitions().sql) as unknown as { quorumlite: { v1: { SqlService: { service: grpc.ServiceDefinition } } } };
  return pkg.quorumlite.v1.SqlService.service;
}

describe('GrpcWriteForwarder', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const f of cleanup.splice(0)) f();
  });

  it('reaches a leader that comes back right after a failed forward: a fresh channel, not one waiting out its backoff', async () => {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const forwarder = new GrpcWriteForwarder(4 * 1024 * 1024);
    cleanup.push(() => forwarder.close());
    await expect(forwarder.forward({ id: 'n1', address }, REQUEST)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('leader n1 at') });

    const server = new grpc.Server();
    server.addService(sqlService(), {
      Execute: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { results: [], index: '7' }),
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    cleanup.push(() => server.forceShutdown());
    const r = await forwarder.forward({ id: 'n1', address }, REQUEST);
    expect(r.index).toBe(7);
  });
});
