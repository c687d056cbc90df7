/**
 * Client access control. With TLS on, every connection presented a certificate the cluster
 * authority signed (the handshake refuses others), and its subject OU is the caller's role:
 * `read` may Query and Status, `write` also Execute (and Session calls of both kinds), `admin`
 * all of that and the AdminService calls (Backup; membership and transfer to come); a member's
 * certificate (OU `node`, e.g. a follower forwarding a write) may do all. With TLS off there is
 * no identity to check and every call is allowed, as before.
 */
import * as grpc from '@grpc/grpc-js';
import { QL_ERROR_STATUS } from '@quorumlite/proto';
import { certificateNameOf, CLIENT_ROLES, NODE_CERT_UNIT, type CertificateName, type ClientRole } from '@quorumlite/transport';

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

/** Reads the caller's grant from its connection. */
export type Authorizer = (call: { getAuthContext(): object }) => Grant;

const allowAll: Grant = () => null;

/** TLS off: everyone may do everything (the plaintext path costs nothing more). */
export const openAccess: Authorizer = () => allowAll;

/** TLS on: the grant of the verified certificate. */
export const certificateAccess: Authorizer = (call) => grantOf(certificateNameOf(call as Parameters<typeof certificateNameOf>[0]));

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
