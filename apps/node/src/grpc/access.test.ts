import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addToken, TokenStore, writeTokenFile, type TokenEntry } from '@quorumlite/transport';
import { grantOf, openAccess, tokenAccess, type ClientMethod } from './access';

const METHODS: ClientMethod[] = ['Execute', 'Query', 'Status', 'Backup', 'TransferLeadership', 'ListMembers', 'ChangeMembers'];
const allowed = (unit: string): ClientMethod[] => METHODS.filter((m) => grantOf({ commonName: 'c', unit })(m) === null);

describe('client access by certificate role', () => {
  it('read may Query and Status; write may also Execute; admin may also Backup and TransferLeadership; a member may do all', () => {
    expect(allowed('read')).toEqual(['Query', 'Status', 'ListMembers']);
    expect(allowed('write')).toEqual(['Execute', 'Query', 'Status', 'ListMembers']);
    expect(allowed('admin')).toEqual(METHODS);
    expect(allowed('node')).toEqual(METHODS);
  });

  it("a refused call is PERMISSION_DENIED with a sentence naming the role it needs and the caller's", () => {
    const refused = grantOf({ commonName: 'alice', unit: 'read' })('Execute');
    expect(refused?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused?.metadata.get('ql-code')).toEqual(['permission_denied']);
    expect(refused?.details).toBe("Execute needs role 'write' or higher; certificate CN 'alice' OU 'read' has role 'read'");
    expect(grantOf({ commonName: 'bob', unit: 'write' })('Backup')?.details).toBe("Backup needs role 'admin' or higher; certificate CN 'bob' OU 'write' has role 'write'");
    expect(grantOf({ commonName: 'bob', unit: 'write' })('TransferLeadership')?.details).toBe("TransferLeadership needs role 'admin' or higher; certificate CN 'bob' OU 'write' has role 'write'");
  });

  it('a certificate without a role may do nothing; no certificate is UNAUTHENTICATED', () => {
    expect(allowed('ops')).toEqual([]);
    expect(grantOf({ commonName: 'x', unit: 'ops' })('Status')?.details).toMatch(/names no role; a client certificate's OU must be one of read, write, admin/);
    const none = grantOf(null)('Status');
    expect(none?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none?.details).toMatch(/requires a client certificate signed by the cluster authority/);
  });

  it('with TLS off every call is allowed', () => {
    const grant = openAccess({ getAuthContext: () => ({}), metadata: new grpc.Metadata() });
    expect(METHODS.map(grant)).toEqual(METHODS.map(() => null));
  });
});

describe('client access by bearer token', () => {
  let dir: string;
  let file: string;
  let nowMs: number;
  let errors: string[];
  const tokens: Record<string, string> = {};

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-tokens-'));
    file = path.join(dir, 'tokens.json');
    let entries: TokenEntry[] = [];
    for (const role of ['read', 'write', 'admin'] as const) {
      const made = addToken(entries, `app-${role}`, role, file);
      entries = made.entries;
      tokens[role] = made.token;
    }
    writeTokenFile(file, entries);
    nowMs = 0;
    errors = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const store = (): TokenStore => new TokenStore(file, { nowMs: () => nowMs, onError: (m) => errors.push(m) });
  const call = (authorization?: string, cert?: { CN: string; OU: string }) => {
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set('authorization', authorization);
    // grpc-js reports only a certificate the handshake verified, as sslPeerCertificate.
    return { metadata, getAuthContext: () => (cert ? { sslPeerCertificate: { subject: cert } } : {}) };
  };
  const allowedBy = (authorize: ReturnType<typeof tokenAccess>, c: ReturnType<typeof call>): ClientMethod[] => METHODS.filter((m) => authorize(c)(m) === null);

  it("each token's role allows what the certificate of that role allows", () => {
    const authorize = tokenAccess(store(), false);
    expect(allowedBy(authorize, call(`Bearer ${tokens['read']}`))).toEqual(['Query', 'Status', 'ListMembers']);
    expect(allowedBy(authorize, call(`bearer ${tokens['write']}`))).toEqual(['Execute', 'Query', 'Status', 'ListMembers']);
    expect(allowedBy(authorize, call(`Bearer ${tokens['admin']}`))).toEqual(METHODS);
    expect(authorize(call(`Bearer ${tokens['read']}`))('Execute')?.details).toBe("Execute needs role 'write' or higher; token 'app-read' has role 'read'");
    expect(authorize(call(`Bearer ${tokens['read']}`))('Execute')?.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('no credential may ask Status only; an unknown or malformed token is UNAUTHENTICATED, naming what is wrong', () => {
    const authorize = tokenAccess(store(), false);
    expect(allowedBy(authorize, call())).toEqual(['Status']);
    const none = authorize(call())('Query');
    expect(none?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none?.metadata.get('ql-code')).toEqual(['unauthenticated']);
    expect(none?.details).toBe("Query needs a bearer token (--token) with role 'read' or higher; the call carried none");
    expect(authorize(call('Bearer qlt_' + 'A'.repeat(43)))('Status')?.details).toBe('the bearer token is not one this node accepts: unknown or revoked');
    expect(authorize(call('Bearer hunter2'))('Query')?.details).toBe("the bearer token is not one this node accepts: unknown or revoked (tokens begin 'qlt_')");
    expect(authorize(call(tokens['read']))('Query')?.details).toBe("the 'authorization' metadata must be one 'Bearer <token>' value");
  });

  it('with TLS, a token decides over the certificate, and without one the certificate decides', () => {
    const authorize = tokenAccess(store(), true);
    expect(allowedBy(authorize, call(`Bearer ${tokens['read']}`, { CN: 'n1', OU: 'node' }))).toEqual(['Query', 'Status', 'ListMembers']);
    expect(allowedBy(authorize, call(undefined, { CN: 'w', OU: 'write' }))).toEqual(['Execute', 'Query', 'Status', 'ListMembers']);
    expect(authorize(call())('Execute')?.details).toBe("Execute needs a bearer token (--token) or a client certificate signed by the cluster authority with role 'write' or higher; the call carried none");
  });

  it('a revoked token stops working once the file changes; a broken file keeps the last good tokens and is reported once', () => {
    const s = store();
    const authorize = tokenAccess(s, false);
    expect(authorize(call(`Bearer ${tokens['write']}`))('Execute')).toBeNull();
    // A session stream reads its grant once and checks each call against it.
    const held = authorize(call(`Bearer ${tokens['write']}`));
    writeTokenFile(file, JSON.parse(fs.readFileSync(file, 'utf8')).tokens.filter((e: TokenEntry) => e.name !== 'app-write'));
    expect(authorize(call(`Bearer ${tokens['write']}`))('Execute')).toBeNull(); // not looked at again yet
    nowMs += 1_000;
    expect(authorize(call(`Bearer ${tokens['write']}`))('Execute')?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(held('Execute')?.code).toBe(grpc.status.UNAUTHENTICATED);
    fs.writeFileSync(file, '{ "version": 1, "tokens": [ { "name": "x" ');
    for (let i = 0; i < 3; i++) {
      nowMs += 1_000;
      expect(authorize(call(`Bearer ${tokens['admin']}`))('Backup')).toBeNull();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/tokens\.json: is not JSON .*; the tokens read before stay in force/);
  });
});
