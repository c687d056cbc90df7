/**
 * Client access control. A caller's role is `read` (Query, Status, ListMembers), `write` (and
 * Execute, and Session calls of both kinds) or `admin` (and every other AdminService call:
 * Backup, TransferLeadership, ChangeMembers). It comes from:
 * - a bearer token (metadata `authorization: Bearer qlt_…`), when the node has a token file
 *   (`authTokens`): the role of the file's entry. A token, when sent, decides the role even
 *   over a certificate; an unknown or revoked one is refused.
 * - else, with TLS on, the verified client certificate: its subject OU is the role; a member's
 *   certificate (OU `node`, e.g. a follower forwarding a write) may do all.
 * - else nothing: with a token file, such a caller may only ask Status (the cluster's shape, no
 *   data; rejoining members and dashboards read it); with neither tokens nor TLS there is no
 *   identity to check and every call is allowed, as before.
 * With TLS on and no token file, the handshake itself refuses a connection without a certificate
 * the authority signed; with a token file it lets one in, for token-only clients over TLS.
 * The gRPC health service and reflection take no role: load balancers probe health, and
 * reflection shows only the public API's schema.
 */
import * as grpc from '@grpc/grpc-js';
import { QL_ERROR_STATUS } from '@quorumlite/proto';
import { certificateNameOf, CLIENT_ROLES, NODE_CERT_UNIT, TOKEN_PREFIX, tokenDigest, type CertificateName, type ClientRole, type TokenStore } from '@quorumlite/transport';

/** The calls of SqlService and AdminService, by method name. */
export type ClientMethod = 'Execute' | 'Query' | 'Status' | 'Backup' | 'TransferLeadership' | 'ListMembers' | 'ChangeMembers';

/** The least role each call needs: every AdminService call needs admin. */
export const ROLE_REQUIRED: Readonly<Record<ClientMethod, ClientRole>> = { Execute: 'write', Query: 'read', Status: 'read', Backup: 'admin', TransferLeadership: 'admin', ListMembers: 'read', ChangeMembers: 'admin' };

/** A refused call's status, with its ql-code (unauthenticated, permission_denied) like every error. */
export interface Refusal {
  readonly qlCode: 'unauthenticated' | 'permission_denied';
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
}

/** What one caller may do: null when `method` is allowed, else the status refusing it. */
export type Grant = (method: ClientMethod) => Refusal | null;

/** Reads the caller's grant from its connection and call metadata. */
export type Authorizer = (call: { getAuthContext(): object; metadata: grpc.Metadata }) => Grant;

/** The call metadata a bearer token travels in (`Bearer <token>`). */
export const AUTHORIZATION_METADATA_KEY = 'authorization';

const allowAll: Grant = () => null;

/** TLS off: everyone may do everything (the plaintext path costs nothing more). */
export const openAccess: Authorizer = () => allowAll;

/** TLS on: the grant of the verified certificate. */
export const certificateAccess: Authorizer = (call) => grantOf(certificateNameOf(call as Parameters<typeof certificateNameOf>[0]));

/**
 * A token file is set: a bearer token decides the role; without one, the verified certificate
 * (TLS on); without either, only Status.
 */
export function tokenAccess(tokens: TokenStore, tlsOn: boolean): Authorizer {
  return (call) => {
    const header = call.metadata.get(AUTHORIZATION_METADATA_KEY);
    if (header.length > 0) return grantOfToken(tokens, header);
    const name = tlsOn ? certificateNameOf(call as Parameters<typeof certificateNameOf>[0]) : null;
    if (name !== null) return grantOf(name);
    const how = tlsOn ? 'a bearer token (--token) or a client certificate signed by the cluster authority' : 'a bearer token (--token)';
    return (method) => (method === 'Status' ? null : refusal('unauthenticated', `${method} needs ${how} with role '${ROLE_REQUIRED[method]}' or higher; the call carried none`));
  };
}

/** The request with the caller's bearer credential, for the leader to see if it is forwarded. */
export function withAuthorization<T extends object>(request: T, metadata: grpc.Metadata): T & { authorization?: string } {
  const [value] = metadata.get(AUTHORIZATION_METADATA_KEY);
  if (typeof value !== 'string') return request;
  // Set in place: the request was decoded for this call alone, and V8 builds `{ ...request,
  // authorization }` one property at a time, at several microseconds a write.
  (request as { authorization?: string }).authorization = value;
  return request;
}

function grantOfToken(tokens: TokenStore, header: readonly grpc.MetadataValue[]): Grant {
  const value = header.length === 1 && typeof header[0] === 'string' ? header[0] : null;
  const match = value === null ? null : /^bearer[ ]+(\S+)$/i.exec(value.trim());
  if (match === null) return () => refusal('unauthenticated', `the '${AUTHORIZATION_METADATA_KEY}' metadata must be one 'Bearer <token>' value`);
  const token = match[1]!;
  const digest = tokenDigest(token);
  // Looked up at every call, hashed once: a session stream outlives a revocation.
  return (method) => {
    const entry = tokens.lookupDigest(digest);
    if (entry === null) {
      const shape = token.startsWith(TOKEN_PREFIX) ? '' : ` (tokens begin '${TOKEN_PREFIX}')`;
      return refusal('unauthenticated', `the bearer token is not one this node accepts: unknown or revoked${shape}`);
    }
    return roleGrant(entry.role, `token '${entry.name}'`)(method);
  };
}

export function grantOf(name: CertificateName | null): Grant {
  if (name === null) {
    return () => refusal('unauthenticated', 'this node requires a client certificate signed by the cluster authority (--tls-cert, --tls-key, --tls-ca)');
  }
  if (name.unit === NODE_CERT_UNIT) return allowAll;
  const role = CLIENT_ROLES.find((r) => r === name.unit);
  const presented = `certificate CN '${name.commonName}' OU '${name.unit}'`;
  if (role === undefined) {
    return () => refusal('permission_denied', `${presented} names no role; a client certificate's OU must be one of ${CLIENT_ROLES.join(', ')}`);
  }
  return roleGrant(role, presented);
}

function roleGrant(role: ClientRole, presented: string): Grant {
  const rank = CLIENT_ROLES.indexOf(role);
  return (method) => {
    const needed = ROLE_REQUIRED[method];
    if (CLIENT_ROLES.indexOf(needed) <= rank) return null;
    return refusal('permission_denied', `${method} needs role '${needed}' or higher; ${presented} has role '${role}'`);
  };
}

function refusal(qlCode: Refusal['qlCode'], details: string): Refusal {
  const metadata = new grpc.Metadata();
  metadata.set('ql-code', qlCode);
  return { qlCode, code: QL_ERROR_STATUS[qlCode], details, metadata };
}
