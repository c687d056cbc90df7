/**
 * What certificates mean here, and mutual TLS between members. With TLS on, the node's one
 * gRPC server requires a certificate signed by the cluster's authority from every connection,
 * and a peer stream is accepted only from a certificate that names a current member: subject
 * OU `node` and subject CN the member id the stream's first frame claims (certs.ts issues them
 * so). A client certificate signed by the same authority is thus refused on peer streams.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { quote } from './frame-check';

/** PEM bytes of this node's certificate, its key and the authority. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The OU of a member's certificate. */
export const NODE_CERT_UNIT = 'node';

/**
 * The OU of a client's certificate is its role: `read` (Query, Status), `write` (and Execute),
 * `admin` (and admin calls). A member's certificate may do all a client may.
 */
export const CLIENT_ROLES = ['read', 'write', 'admin'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

/** The names a verified certificate presents; null: the connection is not TLS or has no verified certificate. */
export interface CertificateName {
  readonly commonName: string;
  readonly unit: string;
}

/**
 * Credentials of this node's server: plaintext, or TLS with a client certificate required by
 * the handshake. With `clientCertificateOptional` (a node that also takes bearer tokens) the
 * handshake asks for a certificate but lets a connection without one, or with one the authority
 * did not sign, through; grpc-js then reports no certificate for it (certificateNameOf gives
 * null), so a peer stream from it is still refused and a client call needs a token.
 */
export function serverCredentials(tls: TlsMaterial | null, options: { clientCertificateOptional?: boolean } = {}): grpc.ServerCredentials {
  if (tls === null) return grpc.ServerCredentials.createInsecure();
  if (!options.clientCertificateOptional) return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
  // One provider serves both the authority and the identity: grpc-js 1.14 hands the two
  // providers to its constructor in the other order, which one object makes harmless. It
  // answers a listener on the next microtask: grpc-js registers the server's watcher only after
  // adding its listeners, and an answer given at once would reach no watcher (every connection
  // would then be dropped as "unloaded credentials"). tls.test.ts checks both.
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: tls.ca })),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (listener) => queueMicrotask(() => listener({ certificate: tls.cert, privateKey: tls.key })),
    removeIdentityCertificateListener: () => {},
  };
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Credentials of a channel to another member (peer streams, forwarded writes). */
export function channelCredentials(tls: TlsMaterial | null): grpc.ChannelCredentials {
  return tls === null ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** What the caller's verified certificate names (grpc-js reports only certificates the handshake verified). */
export function certificateNameOf(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): CertificateName | null {
  const subject = call.getAuthContext().sslPeerCertificate?.subject;
  if (!subject) return null;
  return { commonName: first(subject.CN), unit: first(subject.OU) };
}

/** A subject field may repeat (an array): only a single value names anything. */
function first(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Why a peer stream claiming to come from `from` is refused for its certificate, or null when
 * the certificate names that member.
 */
export function peerCertificateRefusal(name: CertificateName | null, from: string, isMember: (id: string) => boolean): string | null {
  if (name === null) return 'the connection presented no certificate signed by the cluster authority';
  const named = `certificate CN ${quote(name.commonName)} OU ${quote(name.unit)}`;
  if (name.unit !== NODE_CERT_UNIT) return `${named} is not a member's certificate (OU must be '${NODE_CERT_UNIT}')`;
  if (!isMember(name.commonName)) return `${named} names no current member`;
  if (name.commonName !== from) return `${named} does not name ${quote(from)}, the member the stream speaks for`;
  return null;
}
