/**
 * The one error type the client throws, decoded from a gRPC status and its trailing metadata
 * (see the comment at the top of proto/quorumlite/v1/sql.proto for the keys).
 */
import { CodedError } from '@quorumlite/errors';
import * as grpc from '@grpc/grpc-js';
import { parseQlCode, qlCodeOfStatus, type QlErrorCode } from '@quorumlite/proto';

/** The ql-code values a node sends, plus what the client derives when a status carries none. */
export type QlCode = QlErrorCode;

/** `code`: the ql-code from the node, or one derived from the gRPC status when the node sent none. */
export class QuorumliteError extends CodedError {
  override readonly name = 'QuorumliteError';
  readonly grpcCode: number;
  readonly sqliteCode?: string;
  readonly leaderId?: string;
  readonly leaderAddress?: string;
  /** The log index a failed command was ordered at (sql_error). */
  readonly index?: bigint;
  /** The node address the failed call went to, when known. */
  readonly address?: string;
  /** The node keeps no database (a witness refusing a read): another node would answer. */
  readonly noData?: boolean;

  constructor(
    message: string,
    fields: {
      code: string;
      grpcCode: number;
      sqliteCode?: string;
      leaderId?: string;
      leaderAddress?: string;
      index?: bigint;
      address?: string;
      noData?: boolean;
      cause?: unknown;
    },
  ) {
    super(fields.code, message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.grpcCode = fields.grpcCode;
    if (fields.sqliteCode !== undefined) this.sqliteCode = fields.sqliteCode;
    if (fields.leaderId !== undefined) this.leaderId = fields.leaderId;
    if (fields.leaderAddress !== undefined) this.leaderAddress = fields.leaderAddress;
    if (fields.index !== undefined) this.index = fields.index;
    if (fields.address !== undefined) this.address = fields.address;
    if (fields.noData === true) this.noData = true;
  }
}

/** Codes that are worth another attempt: the command may go elsewhere or succeed later. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['unavailable', 'not_leader', 'no_leader', 'timeout', 'overloaded']);

/**
 * Whether a failed call may be sent again. Execute is safe to resend because every attempt
 * carries the same request id; the node answers a resend from its deduplication window.
 */
export function isRetryable(e: QuorumliteError): boolean {
  return RETRYABLE_CODES.has(e.code);
}

/** A read refused by a node that keeps no database (a witness): another node would answer it. */
export function isElsewhere(e: QuorumliteError): boolean {
  return e.noData === true && e.code === 'refused';
}

function metaString(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : v.toString('utf8');
  return s === '' ? undefined : s;
}

function metaIndex(md: grpc.Metadata | undefined): bigint | undefined {
  const raw = metaString(md, 'ql-index');
  return raw !== undefined && /^\d{1,20}$/.test(raw) ? BigInt(raw) : undefined;
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}

/** Turns whatever a grpc-js call failed with into a QuorumliteError. */
export function decodeError(e: unknown, address?: string): QuorumliteError {
  if (e instanceof QuorumliteError) return e;
  if (!isServiceError(e)) {
    const message = e instanceof Error ? e.message : String(e);
    return new QuorumliteError(message, { code: 'internal', grpcCode: grpc.status.INTERNAL, address, cause: e });
  }
  const md = e.metadata;
  const code = parseQlCode(metaString(md, 'ql-code')) ?? qlCodeOfStatus(e.code);
  // grpc-js appends an empty "Resolution note:" to connection failures; it says nothing.
  const details = (e.details || e.message).replace(/\s*Resolution note:\s*$/, '');
  const message = code === 'unavailable' && address && !metaString(md, 'ql-code') ? `cannot reach ${address}: ${details}` : details;
  return new QuorumliteError(message, {
    code,
    grpcCode: e.code,
    sqliteCode: metaString(md, 'ql-sqlite-code'),
    leaderId: metaString(md, 'ql-leader'),
    leaderAddress: metaString(md, 'ql-leader-addr'),
    index: metaIndex(md),
    address,
    noData: metaString(md, 'ql-no-data') === '1',
    cause: e,
  });
}
