/**
 * The argument primitives every bench command and the bench-worker children share. Pure and
 * free of project imports, so a worker process loads nothing it does not run.
 */
import { parseArgs } from 'node:util';

export class BenchArgsError extends Error {
  readonly code = 'invalid_args';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchArgsError';
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '500ms' → 500, '10s' → 10000, '2m' → 120000, '1.5s' → 1500. A unit is required, except for 0 (none, where a flag allows it). */
export function parseDurationMs(text: string, flag = 'duration'): number {
  if (/^\s*0\s*$/.test(text)) return 0;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!match) throw new BenchArgsError(`--${flag}: '${text}' is not a duration like 500ms, 10s or 2m`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  return Math.round(ms);
}

/** 'a, b,,c' → ['a', 'b', 'c']. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function parsePositiveIntList(text: string, flag: string): number[] {
  const items = parseList(text);
  if (items.length === 0) throw new BenchArgsError(`--${flag}: give at least one value`);
  return items.map((item) => parsePositiveInt(item, flag));
}

export function parsePositiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new BenchArgsError(`--${flag}: '${text}' is not a positive integer`);
  }
  return Number(text);
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** node:util parseArgs, with its errors turned into BenchArgsError. */
export function parseStrict<T extends OptionSpec>(argv: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T; args: string[]; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ options, args: [...argv], strict: true, allowPositionals: true });
  } catch (e: unknown) {
    throw new BenchArgsError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}
