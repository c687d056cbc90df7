/**
 * Bearer tokens: a client may name its role by a token instead of (or over) a certificate.
 * A node keeps only the SHA-256 of each token, in a JSON file the operator manages with
 * `quorumlite tokens create|list|revoke`:
 *
 *   { "version": 1, "tokens": [ { "name": "billing", "role": "write", "sha256": "<64 hex>" } ] }
 *
 * The token itself (`qlt_` and 43 base64url characters, 256 random bits) is shown once, when
 * it is made. A node reads the file again when it changes, so a revoked token stops working
 * without a restart; a file that no longer parses keeps the last good list and is reported.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { CLIENT_ROLES, type ClientRole } from './tls';

export const TOKEN_FILE_VERSION = 1;
export const TOKEN_PREFIX = 'qlt_';
const TOKEN_RANDOM_BYTES = 32;
const TOKEN_SHAPE = /^qlt_[A-Za-z0-9_-]{43}$/;
const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DIGEST_SHAPE = /^[0-9a-f]{64}$/;

/** How often, at most, a node looks at the token file for a change. */
export const TOKEN_FILE_RECHECK_MS = 1_000;

export interface TokenEntry {
  /** Who holds it (an application, a person): shown in logs and refusals, never the token. */
  readonly name: string;
  readonly role: ClientRole;
  /** SHA-256 of the token, lowercase hex. */
  readonly sha256: string;
}

/** A token file that cannot be used, with the file and what is wrong in it. */
export class TokenFileError extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`token file ${file}: ${why}`);
    this.name = 'TokenFileError';
  }
}

/** A fresh token: 256 random bits. */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_RANDOM_BYTES).toString('base64url');
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a string has the shape of a token (a typo is caught before it is sent). */
export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

export function parseTokenFile(text: string, file: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e: unknown) {
    throw new TokenFileError(file, `is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TokenFileError(file, 'must be a JSON object with "version" and "tokens"');
  const { version, tokens } = doc as { version?: unknown; tokens?: unknown };
  if (version !== TOKEN_FILE_VERSION) throw new TokenFileError(file, `"version" must be ${TOKEN_FILE_VERSION}, got ${JSON.stringify(version)}`);
  if (!Array.isArray(tokens)) throw new TokenFileError(file, '"tokens" must be a list');
  const names = new Set<string>();
  const digests = new Set<string>();
  return tokens.map((raw: unknown, i): TokenEntry => {
    const at = `tokens[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new TokenFileError(file, `${at} must be an object with name, role and sha256`);
    const { name, role, sha256 } = raw as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME_SHAPE.test(name)) throw new TokenFileError(file, `${at}.name must be 1–64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
    if (typeof role !== 'string' || !(CLIENT_ROLES as readonly string[]).includes(role)) throw new TokenFileError(file, `${at}.role must be one of ${CLIENT_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    if (typeof sha256 !== 'string' || !DIGEST_SHAPE.test(sha256)) throw new TokenFileError(file, `${at}.sha256 must be 64 lowercase hex digits (the SHA-256 of the token), got ${JSON.stringify(sha256)}`);
    if (names.has(name)) throw new TokenFileError(file, `${at}.name '${name}' appears twice`);
    if (digests.has(sha256)) throw new TokenFileError(file, `${at} repeats the token of another entry`);
    names.add(name);
    digests.add(sha256);
    return { name, role: role as ClientRole, sha256 };
  });
}

export function formatTokenFile(entries: readonly TokenEntry[]): string {
  return `${JSON.stringify({ version: TOKEN_FILE_VERSION, tokens: entries.map((e) => ({ name: e.name, role: e.role, sha256: e.sha256 })) }, null, 2)}\n`;
}

/** Reads a token file; a missing one is an empty list only when `missingIsEmpty`. */
export function readTokenFile(file: string, missingIsEmpty = false): TokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : String(e);
    if (code === 'ENOENT' && missingIsEmpty) return [];
    throw new TokenFileError(file, `cannot be read (${code})`);
  }
  return parseTokenFile(text, file);
}

/** Writes the list so that a node reading the file at the same moment sees the old or the new one whole. */
export function writeTokenFile(file: string, entries: readonly TokenEntry[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, formatTokenFile(entries), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Adds an entry for a fresh token, and returns the token (shown once; the file keeps its digest). */
export function addToken(entries: readonly TokenEntry[], name: string, role: ClientRole, file: string): { token: string; entries: TokenEntry[] } {
  if (entries.some((e) => e.name === name)) throw new TokenFileError(file, `a token named '${name}' exists; revoke it first or choose another name`);
  const token = newToken();
  const next = [...entries, { name, role, sha256: tokenDigest(token) }];
  // Validates the name and role the same way a node will.
  parseTokenFile(formatTokenFile(next), file);
  return { token, entries: next };
}

/**
 * The tokens a node accepts, from its file, looked at again at most every recheckMs; a change
 * that does not parse is reported once through `onError` and the last good list stays.
 */
export class TokenStore {
  private byDigest: Map<string, TokenEntry>;
  private stamp: string;
  private checkedAtMs: number;
  private lastError: string | null = null;

  constructor(
    readonly file: string,
    private readonly opts: { nowMs: () => number; onError: (message: string) => void; onReload?: (count: number) => void; recheckMs?: number },
  ) {
    this.byDigest = indexOf(readTokenFile(file));
    this.stamp = stampOf(file);
    this.checkedAtMs = opts.nowMs();
  }

  /** The entry whose token this is, or null. */
  lookup(token: string): TokenEntry | null {
    return this.lookupDigest(tokenDigest(token));
  }

  /** The entry whose token has this SHA-256 (tokenDigest), or null: a caller that holds a token for long hashes it once. */
  lookupDigest(digest: string): TokenEntry | null {
    this.recheck();
    return this.byDigest.get(digest) ?? null;
  }

  get size(): number {
    return this.byDigest.size;
  }

  private recheck(): void {
    const now = this.opts.nowMs();
    if (now - this.checkedAtMs < (this.opts.recheckMs ?? TOKEN_FILE_RECHECK_MS)) return;
    this.checkedAtMs = now;
    const stamp = stampOf(this.file);
    if (stamp === this.stamp) return;
    try {
      this.byDigest = indexOf(readTokenFile(this.file));
      this.stamp = stamp;
      this.lastError = null;
      this.opts.onReload?.(this.byDigest.size);
    } catch (e: unknown) {
      const message = `${e instanceof Error ? e.message : String(e)}; the tokens read before stay in force`;
      if (message !== this.lastError) this.opts.onError(message);
      this.lastError = message;
    }
  }
}

function indexOf(entries: readonly TokenEntry[]): Map<string, TokenEntry> {
  return new Map(entries.map((e) => [e.sha256, e]));
}

/** What changes when the file is replaced or rewritten. */
function stampOf(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
