/**
 * How the seed suites pick and run their seeds: SEED=<n> replays one seed verbosely,
 * SIM_SEEDS=<count> widens the sweep, PROTOCOL=<name> runs one registered protocol alone.
 * Environment is read here, never inside the simulator.
 */
import type { BaseMessage, ProtocolModule } from '@quorumlite/consensus';
import { SimulationError, simulate, type SimOptions, type SimResult } from '@quorumlite/consensus/sim';

/** Trace lines printed with a replayed failure. */
const TRACE_LINES_SHOWN = 120;

export interface SeedPlan {
  readonly seeds: readonly number[];
  /** One seed asked for by SEED: keep and print its trace on failure. */
  readonly replay: boolean;
}

export function seedPlan(env: NodeJS.ProcessEnv, defaultCount: number): SeedPlan {
  const replay = env['SEED'];
  if (replay !== undefined && replay !== '') {
    const seed = Number(replay);
    if (!Number.isSafeInteger(seed)) throw new Error(`SEED must be an integer, got ${replay}`);
    return { seeds: [seed], replay: true };
  }
  const raw = env['SIM_SEEDS'];
  const count = raw === undefined || raw === '' ? defaultCount : Number(raw);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`SIM_SEEDS must be a positive integer, got ${raw}`);
  return { seeds: Array.from({ length: count }, (_, i) => i + 1), replay: false };
}

/** The protocols to run: all of `known`, or the one PROTOCOL names (an unknown name is refused with the known ones). */
export function protocolPlan(env: NodeJS.ProcessEnv, known: readonly string[]): readonly string[] {
  const wanted = env['PROTOCOL'];
  if (wanted === undefined || wanted === '') return known;
  if (!known.includes(wanted)) throw new Error(`PROTOCOL must be one of ${known.join(', ')}, got ${wanted}`);
  return [wanted];
}

/** Splits the seeds into `parts` contiguous groups (one `it` each). */
export function chunk(seeds: readonly number[], parts: number): number[][] {
  const size = Math.ceil(seeds.length / parts);
  const out: number[][] = [];
  for (let i = 0; i < seeds.length; i += size) out.push(seeds.slice(i, i + size));
  return out;
}

/** Cluster size, an observer or none, and run length vary with the seed so the sweep covers each shape. */
export function shapeFor(seed: number): SeedShape {
  const nodes = seed % 3 === 0 ? 5 : 3;
  const observers = seed % 4 === 1 ? 1 : 0;
  return { nodes, observers, witnesses: 0, steps: stepsFor(seed) };
}

/**
 * Membership runs: 3, 4 or 5 voters. Four matters: two different one-member removals from
 * four voters leave quorums that need not meet (the 2015 single-server bug), which three or
 * five voters never give.
 */
export function membershipShapeFor(seed: number): SeedShape {
  return { ...shapeFor(seed), nodes: 3 + (seed % 3) };
}

/** The witness topologies: 2 data voters + 1 witness, and every third seed 3 + 2; an observer on a quarter. */
export function witnessShapeFor(seed: number): SeedShape {
  const five = seed % 3 === 0;
  return { nodes: five ? 3 : 2, witnesses: five ? 2 : 1, observers: seed % 4 === 1 ? 1 : 0, steps: stepsFor(seed) };
}

export interface SeedShape {
  readonly nodes: number;
  readonly observers: number;
  readonly witnesses: number;
  readonly steps: number;
}

function stepsFor(seed: number): number {
  return 600 + ((seed * 7919) % 1400);
}

export function describeFailure(e: SimulationError, protocol: string, replay: boolean): string {
  const lines = [e.message, `replay: SEED=${e.seed} PROTOCOL=${protocol} npm run sim`];
  if (replay && e.traceTail.length > 0) {
    lines.push(`last ${Math.min(TRACE_LINES_SHOWN, e.traceTail.length)} events:`, ...e.traceTail.slice(-TRACE_LINES_SHOWN));
  }
  return lines.join('\n');
}

/**
 * Runs every seed; returns the failures (message per seed) rather than stopping at the
 * first, so one red run names every bad seed in its group.
 */
export function runSeeds<M extends BaseMessage>(
  protocol: ProtocolModule<M>,
  seeds: readonly number[],
  replay: boolean,
  extra: Partial<SimOptions<M>> = {},
  shape: (seed: number) => SeedShape = shapeFor,
): { failures: string[]; results: SimResult[] } {
  const failures: string[] = [];
  const results: SimResult[] = [];
  for (const seed of seeds) {
    try {
      results.push(simulate({ protocol, seed, ...shape(seed), verbose: replay, ...extra }));
    } catch (e: unknown) {
      if (!(e instanceof SimulationError)) throw e;
      failures.push(describeFailure(e, protocol.name, replay));
    }
  }
  return { failures, results };
}
