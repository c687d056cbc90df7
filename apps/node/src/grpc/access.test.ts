import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { grantOf, openAccess, type ClientMethod } from './access';

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
    const grant = openAccess({ getAuthContext: () => ({}) });
    expect(METHODS.map(grant)).toEqual(METHODS.map(() => null));
  });
});
