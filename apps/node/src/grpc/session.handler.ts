/**
 * SqlService.Session: a pipelining client keeps one stream per node and sends many calls on
 * it; each is handled exactly as the unary Execute/Query would be, and the answers go back
 * batched, one frame per event-loop turn. Saves the per-call HTTP/2 stream, headers and
 * trailers that dominate the cost of small unary calls.
 */
import * as grpc from '@grpc/grpc-js';
import { ReplicaError, type Replica } from '@quorumlite/replica';
import {
  decodeExecute,
  decodeQuery,
  encodeExecuteResponse,
  encodeQueryResponse,
  type RequestDefaults,
  type WireExecuteRequest,
  type WireExecuteResponse,
  type WireQueryRequest,
  type WireQueryResponse,
} from './codec';
import { openAccess, withAuthorization, type Authorizer } from './access';
import { toServiceError } from './errors';
import { noRpcObserver, timeCall, type RpcObserver } from './observer';
import { MalformedRequest } from './request-wire';

/** Most calls one stream may have in flight; more are answered 'overloaded' at once. */
export const SESSION_CALLS_INFLIGHT_MAX = 65_536;

interface WireSessionCall {
  id?: string;
  call?: 'execute' | 'query';
  execute?: WireExecuteRequest;
  query?: WireQueryRequest;
}

interface WireSessionResult {
  /** The call's id as it goes out: a number while it is a safe integer (see wireCallId). */
  id: string | number;
  execute?: WireExecuteResponse;
  query?: WireQueryResponse;
  error?: { code: number; message: string; metadata: Record<string, string> };
}

/** A call's uint64 id (a decimal string as decoded) as it goes back out. */
function wireCallId(id: string): string | number {
  const n = Number(id);
  return Number.isSafeInteger(n) && n >= 0 ? n : id;
}

export function sessionHandler(replica: Replica, defaults: RequestDefaults, observer: RpcObserver = noRpcObserver, authorize: Authorizer = openAccess) {
  return (stream: grpc.ServerDuplexStream<{ calls?: WireSessionCall[] }, { results: WireSessionResult[] }>): void => {
    // One caller per stream: its grant is read once, each call checked against it.
    const grant = authorize(stream);
    let inflight = 0;
    let outbox: WireSessionResult[] = [];
    let flushScheduled = false;
    let ended = false;
    let endRequested = false;

    const flush = (): void => {
      flushScheduled = false;
      if (ended || outbox.length === 0) return;
      const results = outbox;
      outbox = [];
      stream.write({ results });
    };
    const closeIfDone = (): void => {
      if (!endRequested || inflight > 0 || ended) return;
      flush();
      ended = true;
      stream.end();
    };
    const answer = (result: WireSessionResult): void => {
      inflight--;
      outbox.push(result);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          flush();
          closeIfDone();
        });
      }
    };
    const fail = (id: string | number, e: unknown, timed?: ReturnType<typeof timeCall>): void => {
      const err = toServiceError(e);
      timed?.failed(err);
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) metadata[k] = String(v);
      answer({ id, error: { code: err.code ?? grpc.status.INTERNAL, message: err.details ?? 'error', metadata } });
    };

    stream.on('data', (frame: { calls?: WireSessionCall[] } | MalformedRequest) => {
      if (frame instanceof MalformedRequest) {
        // A frame that does not decode ends the stream, with the reason (calls in flight are lost).
        if (!ended) stream.emit('error', toServiceError(new ReplicaError('invalid', frame.message)));
        ended = true;
        return;
      }
      for (const c of frame.calls ?? []) {
        // Sent back as a number while it is a safe integer: protobufjs turns a decimal string
        // into its Long digit by digit (1 % of a leader's time under point reads).
        const id = wireCallId(c.id ?? '0');
        inflight++;
        if (inflight > SESSION_CALLS_INFLIGHT_MAX) {
          fail(id, new ReplicaError('overloaded', `more than ${SESSION_CALLS_INFLIGHT_MAX} calls in flight on one session; wait for answers`));
          continue;
        }
        const refused = c.call === 'execute' || c.call === 'query' ? grant(c.call === 'execute' ? 'Execute' : 'Query') : null;
        if (refused) {
          answer({ id, error: { code: refused.code, message: refused.details, metadata: { 'ql-code': refused.qlCode } } });
          continue;
        }
        const timed = c.call === 'execute' || c.call === 'query' ? timeCall(observer, c.call === 'execute' ? 'Execute' : 'Query') : undefined;
        try {
          if (c.call === 'execute' && c.execute) {
            replica.execute(withAuthorization(decodeExecute(c.execute, false, defaults), stream.metadata)).then(
              (r) => {
                timed?.ok();
                answer({ id, execute: encodeExecuteResponse(r) });
              },
              (e: unknown) => fail(id, e, timed),
            );
          } else if (c.call === 'query' && c.query) {
            replica.query(decodeQuery(c.query, defaults)).then(
              (r) => {
                timed?.ok();
                answer({ id, query: encodeQueryResponse(r) });
              },
              (e: unknown) => fail(id, e, timed),
            );
          } else {
            fail(id, new ReplicaError('invalid', `session call ${id} carries neither execute nor query`), timed);
          }
        } catch (e: unknown) {
          fail(id, e, timed);
        }
      }
    });
    stream.on('end', () => {
      // The client is done sending; answer what is in flight (every call settles within its
      // timeout), then close.
      endRequested = true;
      closeIfDone();
    });
    stream.on('error', () => {
      ended = true;
    });
    stream.on('cancelled', () => {
      ended = true;
    });
  };
}
