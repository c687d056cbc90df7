/**
 * The bare gRPC baseline: one unary method carrying raw bytes, served and called with grpc-js
 * alone (no protobuf, no quorumlite code), so its rate is the cost of one RPC and nothing else.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export const ECHO_SERVICE: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export interface EchoClient extends grpc.Client {
  echo(request: Buffer, callback: (err: grpc.ServiceError | null, response?: Buffer) => void): grpc.ClientUnaryCall;
}

const EchoClientCtor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

export function createEchoClient(address: string): EchoClient {
  return new EchoClientCtor(address, grpc.credentials.createInsecure()) as unknown as EchoClient;
}

export function echoOnce(client: EchoClient, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.echo(payload, (err) => (err ? reject(err) : resolve()));
  });
}

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the echo method on host:port (port 0: any free port). */
export function startEchoServer(host = '127.0.0.1', port = 0): Promise<EchoServer> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  return serve(server, host, port);
}

/** Binds `server` on host:port and resolves with the bound port and a close that waits at most 2 s. */
export function serve(server: grpc.Server, host: string, port: number): Promise<EchoServer> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err) return reject(err);
      resolve({
        port: boundPort,
        close: () =>
          new Promise<void>((done) => {
            server.tryShutdown(() => done());
            setTimeout(() => {
              server.forceShutdown();
              done();
            }, 2_000).unref();
          }),
      });
    });
  });
}
