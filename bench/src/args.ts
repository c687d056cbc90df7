/**
 * Command-line parsing for `quorumlite bench` and the hidden `bench-worker`. Pure: argv in,
 * typed settings or a BenchArgsError naming the flag out.
 */
import { parseArgs } from 'node:util';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';

export class BenchArgsError extends Error {
  readonly code = 'invalid_args';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchArgsError';
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '500ms' → 500, '10s' → 10000, '2m' → 120000, '1.5s' → 1500. A unit is required. */
export function parseDurationMs(text: string, flag = 'duration'): number {
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

export type Baseline = 'echo' | 'sqlite';
const BASELINE_NAMES: readonly Baseline[] = ['echo', 'sqlite'];

export interface BenchSettings {
  concurrency: number[];
  durationMs: number;
  warmupMs: number;
  scenarios: ScenarioName[];
  baselines: Baseline[];
  loaders: number;
  outDir: string;
  preloadRows: number;
  /** Extra flags for every node, e.g. ['--snapshot-every-entries', '100000']. */
  nodeArgs: string[];
  quick: boolean;
  help: boolean;
}

export const DEFAULT_SETTINGS: Readonly<BenchSettings> = {
  concurrency: [1, 16, 64, 256],
  durationMs: 10_000,
  warmupMs: 3_000,
  scenarios: ['insert', 'select', 'select-stale', 'batch100'],
  baselines: ['echo', 'sqlite'],
  loaders: 2,
  outDir: 'bench/results',
  preloadRows: 10_000,
  nodeArgs: [],
  quick: false,
  help: false,
};

/** --quick: fewer levels and shorter runs, for a smoke check of the whole pipeline. */
export const QUICK_SETTINGS: Readonly<Partial<BenchSettings>> = {
  concurrency: [1, 64],
  durationMs: 3_000,
  warmupMs: 1_000,
  preloadRows: 2_000,
};

export const BENCH_USAGE = `quorumlite bench [options]
  --concurrency 1,16,64,256   closed-loop clients per level
  --duration 10s              measured time per run (ms, s, m, h)
  --warmup 3s                 unmeasured time before each run
  --scenarios ${SCENARIO_NAMES.join(',')}
  --baselines echo,sqlite     ceilings measured in the same run ('none' for neither)
  --loaders 2                 loader processes the clients are split across
  --preload-rows 10000        rows loaded before the select scenarios
  --node-args="--flag value"  extra flags for every node (split on spaces; note the =)
  --out bench/results         where <timestamp>.json and .md go
  --quick                     1,64 clients, 3s runs, 1s warm-up (explicit flags still win)`;

export function parseBenchArgs(argv: readonly string[]): BenchSettings {
  const { values } = parseStrict(argv, {
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    scenarios: { type: 'string' },
    baselines: { type: 'string' },
    loaders: { type: 'string' },
    'preload-rows': { type: 'string' },
    'node-args': { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const quick = values.quick === true;
  const base: BenchSettings = { ...DEFAULT_SETTINGS, ...(quick ? QUICK_SETTINGS : {}), quick };
  const settings: BenchSettings = {
    ...base,
    help: values.help === true,
    concurrency: values.concurrency !== undefined ? parsePositiveIntList(values.concurrency, 'concurrency') : base.concurrency,
    durationMs: values.duration !== undefined ? parseDurationMs(values.duration, 'duration') : base.durationMs,
    warmupMs: values.warmup !== undefined ? parseDurationMs(values.warmup, 'warmup') : base.warmupMs,
    scenarios: values.scenarios !== undefined ? parseScenarios(values.scenarios) : base.scenarios,
    baselines: values.baselines !== undefined ? parseBaselines(values.baselines) : base.baselines,
    loaders: values.loaders !== undefined ? parsePositiveInt(values.loaders, 'loaders') : base.loaders,
    preloadRows: values['preload-rows'] !== undefined ? parsePositiveInt(values['preload-rows'], 'preload-rows') : base.preloadRows,
    nodeArgs: values['node-args'] !== undefined ? values['node-args'].split(/\s+/).filter((a) => a.length > 0) : base.nodeArgs,
    outDir: values.out ?? base.outDir,
  };
  if (settings.durationMs < 1) throw new BenchArgsError('--duration: must be at least 1ms');
  return settings;
}

function parseScenarios(text: string): ScenarioName[] {
  if (text.trim() === 'none') return [];
  return parseList(text).map((name) => {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new BenchArgsError(`--scenarios: unknown scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')})`);
    }
    return name as ScenarioName;
  });
}

function parseBaselines(text: string): Baseline[] {
  if (text.trim() === 'none') return [];
  return parseList(text).map((name) => {
    if (!(BASELINE_NAMES as readonly string[]).includes(name)) {
      throw new BenchArgsError(`--baselines: unknown baseline '${name}' (known: ${BASELINE_NAMES.join(', ')}, none)`);
    }
    return name as Baseline;
  });
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

/** Splits C virtual clients across at most L loaders: 10 over 3 → [4, 3, 3]; 1 over 2 → [1]. */
export function splitConcurrency(concurrency: number, loaders: number): number[] {
  const n = Math.max(1, Math.min(concurrency, loaders));
  const base = Math.floor(concurrency / n);
  const extra = concurrency % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}
