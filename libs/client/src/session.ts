/**
 * A pipelining session: one SqlService.Session stream per node, many calls in flight on it.
 * Calls made in the same event-loop turn leave in one frame; answers come back batched and
 * are matched by id. Errors are rebuilt as the grpc ServiceError a unary call would have
 * failed with, so decodeError() and the retry policy treat both paths alike.
 */
import * as grpc from '@grpc/grpc-js';
import { checkSessionCall, decodeSessionResponse, encodeSessionRequest, type WireSessionCallOut, type WireSessionResult } from './session-wire';

export type SessionKind = 'execute' | 'query';

interface Pending {
  resolve: (res: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

/** Most calls one session keeps in flight; the node refuses more anyway. */
export const SESSION_CALLS_INFLIGHT_MAX = 65_536;

export function serviceError(code: grpc.status, details: string, metadata: Record<string, string> = {}): grpc.ServiceError {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) {
    try {
      md.set(k, v);
    } catch {
      // A key gRPC refuses (empty, upper case, a space) from a confused node: the error stands without it.
    }
  }
  const e = new Error(`${code} ${grpc.status[code] ?? ''}: ${details}`) as grpc.ServiceError;
  e.code = code;
  e.details = details;
  e.metadata = md;
  return e;
}

export class Session {
  private stream: grpc.ClientDuplexStream<Buffer, { results: WireSessionResult[] }> | null = null;
  private readonly pending = new Map<number, Pending>();
  private outbox: WireSessionCallOut[] = [];
  private flushScheduled = false;
  private nextId = 1;
  /** The node does not serve Session (an older version): use unary calls. */
  unsupported = false;

  constructor(
    private readonly channel: grpc.Client,
    private readonly method: grpc.MethodDefinition<unknown, unknown>,
    private readonly address: string,
    /** The metadata the stream opens with (the bearer token, if any). */
    private readonly metadata: () => grpc.Metadata = () => new grpc.Metadata(),
  ) {}

  call<Res>(kind: SessionKind, request: object, timeoutMs: number): Promise<Res> {
    if (this.pending.size >= SESSION_CALLS_INFLIGHT_MAX) {
      return Promise.reject(serviceError(grpc.status.RESOURCE_EXHAUSTED, `more than ${SESSION_CALLS_INFLIGHT_MAX} calls in flight to ${this.address}`, { 'ql-code': 'overloaded' }));
    }
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(serviceError(grpc.status.DEADLINE_EXCEEDED, `no answer from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      // The request objects client.ts builds are the shapes session-wire encodes.
      this.outbox.push(kind === 'execute' ? { id, execute: request as WireSessionCallOut['execute'] } : { id, query: request as WireSessionCallOut['query'] });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  close(): void {
    this.fail(serviceError(grpc.status.CANCELLED, 'client is closed'));
    this.stream?.cancel();
    this.stream = null;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    let calls = this.outbox;
    this.outbox = [];
    let frame: Buffer;
    try {
      frame = encodeSessionRequest({ calls });
    } catch {
      // A call that cannot be encoded fails alone, as the caller's mistake; the rest still go.
      calls = calls.filter((c) => {
        try {
          checkSessionCall(c);
          return true;
        } catch (e: unknown) {
          this.refuse(c.id, e);
          return false;
        }
      });
      if (calls.length === 0) return;
      frame = encodeSessionRequest({ calls });
    }
    // Already bytes: the stream's serializer passes them through.
    this.open().write(frame);
  }

  private refuse(id: number, e: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(e instanceof Error ? new TypeError(`cannot send this call: ${e.message}`) : e);
  }

  private open(): grpc.ClientDuplexStream<Buffer, { results: WireSessionResult[] }> {
    if (this.stream) return this.stream;
    const stream = this.channel.makeBidiStreamRequest(
      this.method.path,
      // Straight from and to bytes (session-wire.ts), not through protobufjs's objects.
      (frame: Buffer) => frame,
      decodeSessionResponse,
      this.metadata(),
      {},
    );
    stream.on('data', (frame: { results: WireSessionResult[] }) => {
      for (const r of frame.results) this.settle(r);
    });
    const broken = (e: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = null;
      const err = e as Partial<grpc.ServiceError>;
      if (err.code === grpc.status.UNIMPLEMENTED) this.unsupported = true;
      // Calls in flight on a broken stream have an unknown outcome; writes carry request
      // ids, so the retry policy may resend them safely.
      this.fail(serviceError(err.code === grpc.status.UNIMPLEMENTED ? grpc.status.UNIMPLEMENTED : grpc.status.UNAVAILABLE, `session to ${this.address} broke: ${err.details ?? String(e)}`));
    };
    stream.on('error', broken);
    stream.on('end', () => broken(serviceError(grpc.status.UNAVAILABLE, 'the node closed the session')));
    this.stream = stream;
    return stream;
  }

  private settle(r: WireSessionResult): void {
    const id = Number(r.id);
    const p = this.pending.get(id);
    if (!p) return; // timed out already
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (r.error) p.reject(serviceError(r.error.code, r.error.message, r.error.metadata));
    else p.resolve(r.execute ?? r.query);
  }

  private fail(e: grpc.ServiceError): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    this.outbox = [];
  }
}
