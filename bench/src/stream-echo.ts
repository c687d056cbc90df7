/**
 * The streaming echo ceiling: a bare server of SqlService.Session alone (no replica, no SQL,
 * no log), with the node's framing — answers batched into one frame per event-loop turn —
 * answering every call at once with the ExecuteResponse an insert gets. Driven by the
 * project's own pipelining client, its rate is the most this client and transport can carry
 * on this machine, the ceiling the insert path through Session is measured against.
 */
import * as grpc from '@grpc/grpc-js';
import { sqlServiceCtor } from '@quorumlite/proto';
import { serve, type EchoServer } from './echo';

interface EchoCall {
  id?: string;
}

interface EchoResult {
  id: string;
  execute: { results: Array<{ rows_affected: number; last_insert_rowid: number }>; index: number; duplicate: boolean; uncommitted: boolean };
}

/** Each call's answer, in order: what an applied one-row insert returns, under the call's id. */
export function echoResults(calls: readonly EchoCall[], nextIndex: () => number): EchoResult[] {
  return calls.map((c) => {
    // 64-bit fields as numbers, as the node sends them (wireInt64).
    const index = nextIndex();
    return { id: c.id ?? '0', execute: { results: [{ rows_affected: 1, last_insert_rowid: index }], index, duplicate: false, uncommitted: false } };
  });
}

/** Serves SqlService.Session on host:port (port 0: any free port); other methods are UNIMPLEMENTED. */
export function startStreamEchoServer(host = '127.0.0.1', port = 0): Promise<EchoServer> {
  const server = new grpc.Server();
  let index = 0;
  const nextIndex = (): number => ++index;
  const session = (stream: grpc.ServerDuplexStream<{ calls?: EchoCall[] }, { results: EchoResult[] }>): void => {
    // As the node's handler does: answers of one event-loop turn leave in one frame.
    let outbox: EchoResult[] = [];
    let flushScheduled = false;
    let ended = false;
    const flush = (): void => {
      flushScheduled = false;
      if (ended || outbox.length === 0) return;
      const results = outbox;
      outbox = [];
      stream.write({ results });
    };
    stream.on('data', (frame: { calls?: EchoCall[] }) => {
      outbox.push(...echoResults(frame.calls ?? [], nextIndex));
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
    const stop = (): void => {
      ended = true;
    };
    stream.on('end', () => {
      flush();
      stop();
      stream.end();
    });
    stream.on('error', stop);
    stream.on('cancelled', stop);
  };
  const service = sqlServiceCtor().service;
  const sessionDef = service['Session'];
  if (!sessionDef) throw new Error('SqlService has no method Session');
  server.addService({ Session: sessionDef }, { Session: session as grpc.handleBidiStreamingCall<unknown, unknown> });
  return serve(server, host, port);
}
