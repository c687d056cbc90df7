import { describe, expect, it } from 'vitest';
import { addToken, formatTokenFile, isTokenShaped, newToken, parseTokenFile, tokenDigest, type TokenEntry } from './tokens';

const F = '/etc/ql/tokens.json';
const digest = 'a'.repeat(64);
const doc = (tokens: unknown, version: unknown = 1): string => JSON.stringify({ version, tokens });

describe('bearer token files', () => {
  it('a made token has 256 random bits, its shape, and only its digest goes in the file', () => {
    const t = newToken();
    expect(isTokenShaped(t)).toBe(true);
    expect(newToken()).not.toBe(t);
    const { token, entries } = addToken([], 'billing', 'write', F);
    expect(entries).toEqual([{ name: 'billing', role: 'write', sha256: tokenDigest(token) }]);
    expect(formatTokenFile(entries)).not.toContain(token);
    expect(parseTokenFile(formatTokenFile(entries), F)).toEqual(entries);
  });

  it('every mistake is named with the file and the entry', () => {
    const bad: [string, string][] = [
      ['nope', 'token file /etc/ql/tokens.json: is not JSON'],
      ['[]', 'must be a JSON object with "version" and "tokens"'],
      [doc([], 2), '"version" must be 1, got 2'],
      [JSON.stringify({ version: 1 }), '"tokens" must be a list'],
      [doc(['x']), 'tokens[0] must be an object with name, role and sha256'],
      [doc([{ name: '', role: 'read', sha256: digest }]), 'tokens[0].name must be 1–64 letters'],
      [doc([{ name: 'a', role: 'root', sha256: digest }]), 'tokens[0].role must be one of read, write, admin, got "root"'],
      [doc([{ name: 'a', role: 'read', sha256: 'ABC' }]), 'tokens[0].sha256 must be 64 lowercase hex digits'],
      [doc([{ name: 'a', role: 'read', sha256: digest }, { name: 'a', role: 'read', sha256: 'b'.repeat(64) }]), "tokens[1].name 'a' appears twice"],
      [doc([{ name: 'a', role: 'read', sha256: digest }, { name: 'b', role: 'admin', sha256: digest }]), 'tokens[1] repeats the token of another entry'],
    ];
    for (const [text, message] of bad) expect(() => parseTokenFile(text, F), text).toThrow(message);
  });

  it('a name already in use or a bad name is refused when a token is made', () => {
    const entries: TokenEntry[] = [{ name: 'billing', role: 'read', sha256: digest }];
    expect(() => addToken(entries, 'billing', 'admin', F)).toThrow("a token named 'billing' exists; revoke it first or choose another name");
    expect(() => addToken(entries, 'has space', 'admin', F)).toThrow('tokens[1].name must be');
  });
});
