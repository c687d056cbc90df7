/**
 * --param values, typed by how they are written:
 *   42 → integer   1.5, 1e3 → real   'it''s' or text:abc → text   null → NULL   x'00ff' → blob
 * (int:, real: and blob: prefixes are accepted too). A bare word is refused rather than guessed.
 */
import type { SqlValue } from '@quorumlite/client';
import { UsageError } from './errors';

export const PARAM_HELP = `parameter syntax (--param, repeatable, bound to ? in order; --named name=value binds :name):
  42, -7          integer (64-bit)
  1.5, 1e3        real
  'text', 'it''s' text (quote it for the shell: --param "'abc'")
  text:abc        text, everything after "text:"
  null            NULL
  x'00ff'         blob from hex digits`;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function integer(raw: string, shown: string): bigint {
  if (!/^[-+]?\d+$/.test(raw)) throw new UsageError(`--param ${shown}: '${raw}' is not an integer`);
  const n = BigInt(raw);
  if (n < INT64_MIN || n > INT64_MAX) throw new UsageError(`--param ${shown}: ${raw} does not fit in a 64-bit integer`);
  return n;
}

function real(raw: string, shown: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`--param ${shown}: '${raw}' is not a number`);
  return n;
}

function blob(hex: string, shown: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError(`--param ${shown}: blob needs an even number of hex digits`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function parseParam(raw: string): SqlValue {
  const shown = JSON.stringify(raw);
  if (/^null$/i.test(raw)) return null;
  if (/^[-+]?\d+$/.test(raw)) return integer(raw, shown);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][-+]?\d+|\.\d+[eE][-+]?\d+)$/.test(raw)) return real(raw, shown);
  const quoted = /^'((?:[^']|'')*)'$/.exec(raw);
  if (quoted) return quoted[1]!.replace(/''/g, "'");
  const hex = /^[xX]'([^']*)'$/.exec(raw);
  if (hex) return blob(hex[1]!, shown);
  const prefixed = /^(text|int|real|blob):([\s\S]*)$/.exec(raw);
  if (prefixed) {
    const [, kind, rest] = prefixed as unknown as [string, string, string];
    if (kind === 'text') return rest;
    if (kind === 'int') return integer(rest, shown);
    if (kind === 'real') return real(rest, shown);
    return blob(rest.replace(/^[xX]'(.*)'$/, '$1'), shown);
  }
  throw new UsageError(`--param ${shown}: cannot tell its type; write text as "'${raw.replace(/'/g, "''")}'" or text:${raw}`);
}

/** --named name=value (the name may carry its :, @ or $). */
export function parseNamed(raw: string): [string, SqlValue] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`--named ${JSON.stringify(raw)}: expected name=value`);
  return [raw.slice(0, eq).replace(/^[:@$]/, ''), parseParam(raw.slice(eq + 1))];
}

/** The params argument for the client from repeated --param / --named flags. */
export function paramsFrom(positional: string[] = [], named: string[] = []): SqlValue[] | Record<string, SqlValue> | undefined {
  if (positional.length > 0 && named.length > 0) throw new UsageError('use either --param (positional) or --named, not both');
  if (named.length > 0) return Object.fromEntries(named.map(parseNamed));
  return positional.length > 0 ? positional.map(parseParam) : undefined;
}
