/**
 * The chaos command line: parses
 *   --protocol raft --nemesis kill,pause,partition --workload register,bank,append
 *   --duration 60s --seed N (--nodes 3 | --topology 2v1w) --workers 8 [--overall-timeout 5m] [--node-bin PATH] [--keep] [--json]
 * runs runChaos, prints the summary with the time each phase took, and returns the exit code
 * (0 valid, 1 invalid, 2 usage).
 */
import { FAULTS_BY_NEMESIS, type FaultKind, type NemesisName } from './harness/nemesis';
import { describePhases } from './harness/phases';
import { availabilityLine } from './harness/availability';
import { overallTimeoutMsDefault, runChaos, type ChaosOptions, type ChaosResult } from './harness/run';
import type { WorkloadName } from './harness/history';
import type { ChaosCheck } from './harness/run';
import { resolveTopology } from './harness/roles';
import { TOPOLOGIES } from '@quorumlite/cluster';
import { CodedError } from '@quorumlite/errors';

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

const WORKLOAD_NAMES: readonly WorkloadName[] = ['register', 'bank', 'append'];
const NEMESIS_NAMES = Object.keys(FAULTS_BY_NEMESIS) as NemesisName[];
const FAULT_KINDS = Object.values(FAULTS_BY_NEMESIS).flat();

export const CHAOS_USAGE = `usage: quorumlite chaos [options]
  --protocol NAME        consensus protocol of the nodes (default raft)
  --nemesis LIST         comma-separated: ${NEMESIS_NAMES.join(', ')} or fault kinds (${FAULT_KINDS.join(', ')}); default all; 'none' for no faults
  --workload LIST        comma-separated: ${WORKLOAD_NAMES.join(', ')} (default all)
  --duration TIME        how long the workload runs: 90s, 2m, 1500ms (default 60s)
  --seed N               schedule and workload seed (default: random, printed)
  --nodes N              cluster size, all data voters (default 3)
  --topology NAME        a shipped topology instead: ${TOPOLOGIES.map((t) => t.name).join(', ')} (e.g. 2v1w: n1, n2 data
                         voters, n3 a witness); reads go to data nodes only, writes to any node; every
                         data node's tables are compared, and each witness must have forgotten its log
  --workers N            concurrent clients (default 8)
  --node-bin PATH        node binary (default dist/apps/node/main.js)
  --node-args ARGS       extra node arguments, space-separated, after =
  --client-timeout TIME  one client call's deadline (default 2s); shorter gives more unknown outcomes
  --retry-budget TIME    how long a client retries one operation (default 4s)
  --leader-writes SHARE  share of writes sent with durability leader, 0..1 (default 0): acknowledged
                         before commit, each is checked as in doubt (the only writes allowed to be lost)
  --overall-timeout TIME deadline of the whole run (default: duration + ${overallTimeoutMsDefault(0) / 1000}s); past it the run fails
                         naming the phase it was stuck in, and still leaves its evidence
  --out DIR              where failed runs leave evidence (default ./.chaos)
  --keep                 keep the evidence of a valid run too
  --json                 print the result summary as JSON`;

export class UsageError extends CodedError<'usage'> {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}

export function parseDurationMs(text: string, flag = '--duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} '${text}' is not a duration like 60s, 2m or 1500ms`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1_000 : n * 60_000);
}

function positiveDurationMs(flag: string, text: string): number {
  const ms = parseDurationMs(text, flag);
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0, got '${text}'`);
  return ms;
}

function positiveInt(flag: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) if (!allowed.includes(item as T)) throw new UsageError(`${flag}: unknown '${item}' (choose from ${allowed.join(', ')})`);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value`);
  return items as T[];
}

export interface ParsedChaosArgs {
  options: ChaosOptions;
  json: boolean;
  help: boolean;
}

/** Parses the arguments after `chaos`; `--flag value` and `--flag=value` both work. */
export function parseChaosArgs(argv: readonly string[], randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 31)): ParsedChaosArgs {
  const options: ChaosOptions = { seed: -1, durationMs: 60_000 };
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const eq = token.indexOf('=');
    const flag = eq > 0 ? token.slice(0, eq) : token;
    const value = (): string => {
      if (eq > 0) return token.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--protocol':
        options.protocol = value();
        break;
      case '--nemesis': {
        const v = value();
        options.nemesis = v === 'none' ? [] : list<NemesisName | FaultKind>('--nemesis', v, [...NEMESIS_NAMES, ...FAULT_KINDS]);
        break;
      }
      case '--workload':
        options.workloads = list('--workload', value(), WORKLOAD_NAMES);
        break;
      case '--duration':
        options.durationMs = parseDurationMs(value());
        break;
      case '--seed':
        options.seed = positiveInt('--seed', value(), 0);
        break;
      case '--nodes':
        options.nodes = positiveInt('--nodes', value());
        break;
      case '--topology':
        options.topology = value();
        break;
      case '--workers':
        options.workers = positiveInt('--workers', value());
        break;
      case '--node-bin':
        options.nodeBin = value();
        break;
      case '--node-args':
        options.nodeArgs = value().split(/\s+/).filter((s) => s !== '');
        break;
      case '--client-timeout':
        options.clientTimeoutMs = parseDurationMs(value(), flag);
        break;
      case '--retry-budget':
        options.clientRetryBudgetMs = parseDurationMs(value(), flag);
        break;
      case '--leader-writes': {
        const share = Number(value());
        if (!(share >= 0 && share <= 1)) throw new UsageError(`${flag} must be a share between 0 and 1, e.g. 0.2`);
        options.leaderWrites = share;
        break;
      }
      case '--overall-timeout':
        options.overallTimeoutMs = positiveDurationMs(flag, value());
        break;
      case '--out':
        options.artifactsRoot = value();
        break;
      case '--keep':
        options.keepArtifacts = true;
        break;
      case '--json':
        json = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`unknown option '${token}'`);
    }
  }
  try {
    resolveTopology(options.nodes, options.topology);
  } catch (e: unknown) {
    throw new UsageError(`--topology: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (options.seed < 0) options.seed = randomSeed();
  return { options, json, help };
}

export function summaryLines(r: ChaosResult): string[] {
  const faults = Object.entries(r.faultsByKind).map(([k, n]) => `${k}×${n}`).join(' ') || 'none';
  const byWorkload = new Map<string, number>();
  for (const op of r.history) byWorkload.set(op.workload, (byWorkload.get(op.workload) ?? 0) + 1);
  return [
    `seed ${r.seed}: ${r.valid ? 'VALID' : 'INVALID'}`,
    `operations: ${r.history.length} (ok ${r.counts.ok}, fail ${r.counts.fail}, unknown ${r.counts.unknown}); ${[...byWorkload].map(([w, n]) => `${w} ${n}`).join(', ')}`,
    `faults: ${faults}`,
    availabilityLine(r.availability),
    `phases: ${describePhases(r.phases)}`,
    ...r.verdicts.map((v) => `  ${v.valid === true ? 'ok ' : v.valid === 'unknown' ? '?  ' : 'BAD'} ${v.name}${v.elapsedMs !== undefined ? ` (${v.elapsedMs} ms)` : ''}${v.reasons.length ? `: ${v.reasons.slice(0, 5).join('; ')}${v.reasons.length > 5 ? ` (+${v.reasons.length - 5} more)` : ''}` : ''}`),
    ...(r.artifactsDir ? [`evidence: ${r.artifactsDir}`] : []),
    `replay: ${r.replayCommand}`,
  ];
}

/** Runs the command; `checks` replaces the default history checkers (tests use it). */
export async function chaosMain(argv: readonly string[], checks?: readonly ChaosCheck[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), err: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let parsed: ParsedChaosArgs;
  try {
    parsed = parseChaosArgs(argv);
  } catch (e: unknown) {
    if (!(e instanceof UsageError)) throw e;
    err(`${e.message}\n${CHAOS_USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    out(CHAOS_USAGE);
    return EXIT_VALID;
  }
  err(`chaos: seed ${parsed.options.seed}`);
  const result = await runChaos({ ...parsed.options, ...(checks ? { checks } : {}), log: (line) => err(`chaos: ${line}`) });
  if (parsed.json) {
    out(JSON.stringify({ valid: result.valid, seed: result.seed, counts: result.counts, faultsByKind: result.faultsByKind, availability: result.availability, verdicts: result.verdicts, phases: result.phases, artifactsDir: result.artifactsDir, replay: result.replayCommand }));
  } else {
    for (const line of summaryLines(result)) out(line);
  }
  return result.valid ? EXIT_VALID : EXIT_INVALID;
}
