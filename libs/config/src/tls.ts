/**
 * The TLS keys: all three or none, each file readable and what its key says it is (a
 * certificate, a private key matching it, an authority that signed it), so a wrong file stops
 * the node at boot with a sentence naming key and file instead of failing every handshake later.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { ConfigError, type TlsConfig } from './types';

type SourceOf = (key: string) => string;

const TLS_KEYS = ['tlsCert', 'tlsKey', 'tlsCa'] as const;
type TlsKey = (typeof TLS_KEYS)[number];

/**
 * `nodeId` is this node's member id: its certificate must name it (subject CN), or every peer
 * would refuse its streams (libs/transport/src/tls.ts) with nothing wrong on this side to see.
 */
export function loadTls(files: Partial<Record<TlsKey, string>>, nodeId: string, sourceOf: SourceOf): TlsConfig | null {
  const set = TLS_KEYS.filter((k) => files[k] !== undefined);
  if (set.length === 0) return null;
  const missing = TLS_KEYS.find((k) => files[k] === undefined);
  if (missing !== undefined) {
    throw new ConfigError('missing', missing, `config key '${missing}' (not set): required when ${set.map((k) => `'${k}'`).join(' and ')} ${set.length === 1 ? 'is' : 'are'} set (TLS needs a certificate, its key and the authority)`);
  }
  const read = (key: TlsKey): Buffer => readPem(key, files[key]!, sourceOf(key));
  const cert = read('tlsCert');
  const key = read('tlsKey');
  const ca = read('tlsCa');
  const certificate = parse(cert, 'tlsCert', files.tlsCert!, sourceOf, 'a PEM certificate', (b) => new crypto.X509Certificate(b));
  const privateKey = parse(key, 'tlsKey', files.tlsKey!, sourceOf, 'a PEM private key', (b) => crypto.createPrivateKey(b));
  const authority = parse(ca, 'tlsCa', files.tlsCa!, sourceOf, 'a PEM certificate', (b) => new crypto.X509Certificate(b));
  if (!certificate.checkPrivateKey(privateKey)) throw unreadable('tlsKey', sourceOf, `${files.tlsKey!} is not the key of the certificate in ${files.tlsCert!}`);
  const commonName = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  if (commonName !== nodeId) {
    throw unreadable('tlsCert', sourceOf, `the certificate in ${files.tlsCert!} names ${commonName === undefined ? 'no one' : `'${commonName}'`} (subject CN), not this node '${nodeId}'; peers would refuse its streams`);
  }
  if (!certificate.checkIssued(authority) || !certificate.verify(authority.publicKey)) {
    throw unreadable('tlsCa', sourceOf, `${files.tlsCa!} did not sign the certificate in ${files.tlsCert!}`);
  }
  return { certFile: files.tlsCert!, keyFile: files.tlsKey!, caFile: files.tlsCa!, cert, key, ca };
}

function readPem(key: TlsKey, file: string, source: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e: unknown) {
    const why = e instanceof Error && 'code' in e ? String(e.code) : String(e);
    throw new ConfigError('unreadable', key, `config key '${key}' (${source}): cannot read ${file}: ${why}`, { cause: e });
  }
}

function parse<T>(bytes: Buffer, key: TlsKey, file: string, sourceOf: SourceOf, what: string, fn: (b: Buffer) => T): T {
  try {
    return fn(bytes);
  } catch (e: unknown) {
    throw unreadable(key, sourceOf, `${file} is not ${what}`, e);
  }
}

function unreadable(key: TlsKey, sourceOf: SourceOf, why: string, cause?: unknown): ConfigError {
  return new ConfigError('unreadable', key, `config key '${key}' (${sourceOf(key)}): ${why}`, { cause });
}
