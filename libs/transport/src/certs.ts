/**
 * A local certificate authority and the certificates a secured cluster needs, made with the
 * system's `openssl` (3.0 or later: `req -x509 -CA` signs in one step). Node's crypto reads
 * certificates but cannot issue them, and a pure-JS issuer would be a heavy dependency for a
 * development convenience.
 *
 * What a certificate says (the node and the client read the same fields, docs/architecture.md):
 * - subject CN: the member id (a node) or a client's name;
 * - subject OU: `node` for a member, or the client's role (`read`, `write`, `admin`);
 * - a node's subjectAltName lists the host names peers dial it by (its id, localhost, 127.0.0.1
 *   and any extra hosts), so the TLS host check passes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NODE_CERT_UNIT, type ClientRole } from './tls';
import { CodedError } from '@quorumlite/errors';

export interface CertsSpec {
  /** Member ids: one node certificate each. */
  nodes: readonly string[];
  /** Client certificates: a name (its CN) and a role each. */
  clients: readonly { name: string; role: ClientRole }[];
  /** Host names or IPs every node certificate also answers to (docker service names, a LAN address). */
  hosts?: readonly string[];
  /** Days each certificate is valid. */
  validDays?: number;
}

export interface CertFiles {
  ca: string;
  cert: string;
  key: string;
}

const VALID_DAYS_DEFAULT = 825;
/** Names that end up in a subject or a file name: no '/', ',' or '=' that would change their meaning. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export class CertsError extends CodedError<'certs'> {
  override readonly name = 'CertsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('certs', message, options);
  }
}

/** The files of one node's or client's certificate in a certs directory. */
export function certFilesOf(dir: string, name: string): CertFiles {
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/**
 * Writes ca.crt/ca.key (kept when already there, so adding a certificate does not orphan the
 * others), then `<name>.crt` and `<name>.key` per node and client. Keys are written 0600.
 */
export function makeCerts(dir: string, spec: CertsSpec): void {
  for (const name of [...spec.nodes, ...spec.clients.map((c) => c.name), ...(spec.hosts ?? [])]) {
    if (!NAME.test(name)) throw new CertsError(`'${name}' must be 1-64 letters, digits, '_', '.' or '-' to be named in a certificate`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const days = String(spec.validDays ?? VALID_DAYS_DEFAULT);
  const caCert = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  if (!fs.existsSync(caCert) || !fs.existsSync(caKey)) {
    openssl(['req', '-x509', ...newKey(caKey), '-out', caCert, '-days', String(10 * 365), '-subj', '/O=quorumlite/CN=quorumlite local CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  const issue = (name: string, unit: string, extensions: string[]): void => {
    const files = certFilesOf(dir, name);
    openssl(['req', '-x509', ...newKey(files.key), '-out', files.cert, '-days', days, '-subj', `/O=quorumlite/OU=${unit}/CN=${name}`,
      '-CA', caCert, '-CAkey', caKey, '-addext', 'basicConstraints=critical,CA:FALSE', ...extensions.flatMap((e) => ['-addext', e])]);
    fs.chmodSync(files.key, 0o600);
  };
  for (const id of spec.nodes) {
    const hosts = [...new Set([id, 'localhost', '127.0.0.1', ...(spec.hosts ?? [])])];
    const san = hosts.map((h) => (IPV4.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    // A node is a TLS server to clients and peers, and a TLS client to its peers.
    issue(id, NODE_CERT_UNIT, [`subjectAltName=${san}`, 'extendedKeyUsage=serverAuth,clientAuth']);
  }
  for (const client of spec.clients) issue(client.name, client.role, ['extendedKeyUsage=clientAuth']);
  fs.chmodSync(caKey, 0o600);
}

function newKey(keyFile: string): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile];
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e: unknown) {
    const stderr = e instanceof Error && 'stderr' in e ? String((e as { stderr: unknown }).stderr).trim() : '';
    const missing = e instanceof Error && 'code' in e && e.code === 'ENOENT';
    throw new CertsError(missing ? 'openssl was not found; install it (Debian: apt-get install openssl)' : `openssl ${args[0] ?? ''} failed: ${stderr || String(e)}`, { cause: e });
  }
}
