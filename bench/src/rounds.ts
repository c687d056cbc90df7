/**
 * `quorumlite bench --rounds N`: the protocols measured N times, each round on fresh clusters
 * with the protocol order rotated, so that whatever drifts on the machine during a run (other
 * work, the page cache, thermal state) falls on every protocol alike. Per scenario and client
 * count the report gives each protocol's median over the rounds, its spread, and its median ÷
 * the best median, against the protocol issues' target: within 10% of the best. Pure: rounds'
 * rows in, figures and text out.
 */
import { rowFailed, type ProtocolGroup } from './report';

/** A protocol is "within" when its median is at least this share of the best median. */
export const WITHIN_OF_BEST = 0.9;

/** The protocol order of round `round` (0-based): rotated by one each round. */
export function rotateProtocols<T>(protocols: readonly T[], round: number): T[] {
  if (protocols.length === 0) return [];
  const k = round % protocols.length;
  return [...protocols.slice(k), ...protocols.slice(0, k)];
}

export interface RoundsFigure {
  protocol: string;
  /** ops/s of every round that measured the cell (failed runs left out), in round order. */
  samples: number[];
  /** Rounds whose run of this cell failed (errors above the budget, or no operations). */
  failedRounds: number;
  median: number | null;
  min: number | null;
  max: number | null;
  /** median ÷ the best protocol's median in this cell. */
  ratioToBest: number | null;
  /**
   * Paired (pairedRatiosToBest): over the rounds in which every protocol measured the cell, this
   * protocol's largest median shortfall against any other protocol, round by round. With
   * --interleave a round's runs are back to back, so the machine's drift between rounds, which
   * moves medians by 10–30 %, cancels out.
   */
  pairedToBest: number | null;
}

export interface RoundsCell {
  scenario: string;
  concurrency: number;
  figures: RoundsFigure[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Paired ratios to the best, from rounds in which every protocol measured the cell back to back
 * (`rounds[k][p]`: protocol p's throughput in round k, every value > 0). For each pair of
 * protocols, the median over the rounds of one's throughput ÷ the other's (in logs) says how far
 * behind it is; a protocol's ratio is its largest such shortfall against any other, so the
 * best comes out at 1 and drift between rounds cancels in every pair.
 *
 * Dividing each round by that round's best instead is biased low, and by as much however many
 * rounds run: a protocol below the best in every round it does not win comes out near
 * exp(−0.6σ) of its identical twin (about 0.95 at 8 % noise per run, 0.9 at 15 %). Taking each
 * protocol's median against its round's mean separately loses the pairing with three or more:
 * another protocol's swings move the mean, and two medians then come from different rounds.
 * Null when no round is complete.
 */
export function pairedRatiosToBest(rounds: readonly (readonly number[])[]): number[] | null {
  const n = rounds[0]?.length ?? 0;
  const complete = rounds.filter((ops) => ops.length === n && n > 0 && ops.every((o) => Number.isFinite(o) && o > 0));
  if (complete.length === 0) return null;
  const logs = complete.map((ops) => ops.map(Math.log));
  return Array.from({ length: n }, (_, p) => {
    let worst = 0;
    for (let q = 0; q < n; q++) {
      if (q !== p) worst = Math.min(worst, median(logs.map((l) => l[p]! - l[q]!))!);
    }
    return roundOff(Math.exp(worst));
  });
}

/** Rounds away the last bits that logs and exponents leave, so 1700 ÷ 2000 stays 0.85, not 0.8499999999999999. */
function roundOff(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

/**
 * How far two identical clusters landed apart: the median over the rounds of a ÷ b (in logs, so
 * a and b swap to the reciprocal), folded to at most 1. Pairs where either is not > 0 are left
 * out; null when none is left.
 */
export function pairedCloseness(pairs: readonly (readonly [number, number])[]): number | null {
  const logs = pairs.filter(([a, b]) => a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => Math.log(a / b));
  const m = median(logs);
  return m === null ? null : roundOff(Math.exp(-Math.abs(m)));
}

/** Every round's groups (one per protocol) folded into one cell per scenario × concurrency. */
export function aggregateRounds(rounds: readonly (readonly ProtocolGroup[])[], protocols: readonly string[]): RoundsCell[] {
  const keys = new Map<string, { scenario: string; concurrency: number }>();
  for (const groups of rounds) for (const g of groups) for (const r of g.rows) keys.set(`${r.name}@${r.concurrency}`, { scenario: r.name, concurrency: r.concurrency });
  const scenarios = [...new Set([...keys.values()].map((k) => k.scenario))];
  const ordered = [...keys.values()].sort((a, b) => scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) || a.concurrency - b.concurrency);
  return ordered.map(({ scenario, concurrency }) => {
    // ops/s per round and protocol (null: not measured, or failed), in `protocols` order.
    const perRound = rounds.map((groups) =>
      protocols.map((protocol) => {
        const row = groups.find((g) => g.protocol === protocol)?.rows.find((r) => r.name === scenario && r.concurrency === concurrency);
        return row === undefined ? undefined : rowFailed(row) ? null : row.opsPerSec;
      }),
    );
    const complete = perRound.filter((ops): ops is number[] => ops.every((o) => typeof o === 'number' && o > 0));
    const paired = pairedRatiosToBest(complete);
    const figures = protocols.map((protocol, k): RoundsFigure => {
      const measured = perRound.map((ops) => ops[k]).filter((o) => o !== undefined);
      const samples = measured.filter((o): o is number => o !== null);
      const failedRounds = measured.length - samples.length;
      return { protocol, samples, failedRounds, median: median(samples), min: samples.length > 0 ? Math.min(...samples) : null, max: samples.length > 0 ? Math.max(...samples) : null, ratioToBest: null, pairedToBest: paired?.[k] ?? null };
    });
    const medians = figures.flatMap((f) => (f.median === null ? [] : [f.median]));
    const best = medians.length > 0 ? Math.max(...medians) : null;
    for (const f of figures) f.ratioToBest = f.median !== null && best !== null && best > 0 ? f.median / best : null;
    return { scenario, concurrency, figures };
  });
}

/** Cells where a protocol is below WITHIN_OF_BEST of the best, or failed in some round. */
export function roundsMisses(cells: readonly RoundsCell[]): string[] {
  const out: string[] = [];
  for (const c of cells) {
    for (const f of c.figures) {
      const where = `${f.protocol} ${c.scenario} at C=${c.concurrency}`;
      if (f.failedRounds > 0) out.push(`${where} failed in ${f.failedRounds} round${f.failedRounds === 1 ? '' : 's'}`);
      if (f.ratioToBest !== null && f.ratioToBest < WITHIN_OF_BEST) out.push(`${where} (${ratioText(f.ratioToBest)})`);
      if (f.median === null && f.failedRounds === 0) out.push(`${where} was not measured`);
    }
  }
  return out;
}

/**
 * A ratio to the best median in two decimals, or three where two would round it across the
 * threshold (0.898 is "0.898", not "0.90" beside a ✗).
 */
export function ratioText(r: number): string {
  const two = r.toFixed(2);
  return Number(two) >= WITHIN_OF_BEST && r < WITHIN_OF_BEST ? r.toFixed(3) : two;
}

const num = (n: number | null): string => (n === null ? '—' : Math.round(n).toLocaleString('en-US'));

export function renderRoundsMarkdown(cells: readonly RoundsCell[], protocols: readonly string[], rounds: number, interleaved = false): string {
  const lines = [
    `## Over ${rounds} rounds (median ops/s, min–max, × the best median; ✓ within ${Math.round((1 - WITHIN_OF_BEST) * 100)}%)`,
    '',
    interleaved
      ? `One cluster per protocol ran for the whole benchmark; every cell measured the protocols back to back, round after round, the order rotated by one each round.`
      : `Each round ran every protocol on a fresh cluster, the order rotated by one each round.`,
    '',
    `| scenario | C | ${protocols.join(' | ')} |`,
    `|---|---|${protocols.map(() => '---').join('|')}|`,
  ];
  for (const c of cells) {
    const cols = c.figures.map((f) => {
      if (f.median === null) return f.failedRounds > 0 ? `FAILED in ${f.failedRounds}` : '—';
      const mark = f.ratioToBest !== null && f.ratioToBest >= WITHIN_OF_BEST ? '✓' : '✗';
      const failed = f.failedRounds > 0 ? ` · failed in ${f.failedRounds}` : '';
      const paired = interleaved && f.pairedToBest !== null ? ` · paired ×${ratioText(f.pairedToBest)}` : '';
      return `${num(f.median)} (${num(f.min)}–${num(f.max)}) · ×${ratioText(f.ratioToBest ?? 0)} ${mark}${paired}${failed}`;
    });
    lines.push(`| ${c.scenario} | ${c.concurrency} | ${cols.join(' | ')} |`);
  }
  const misses = roundsMisses(cells);
  lines.push('', misses.length === 0 ? `Every protocol is within ${Math.round((1 - WITHIN_OF_BEST) * 100)}% of the best median in every cell.` : `Below ${WITHIN_OF_BEST} of the best median, or failed: ${misses.join('; ')}.`);
  if (interleaved) {
    const pairedMisses = cells.flatMap((c) => c.figures.filter((f) => f.pairedToBest !== null && f.pairedToBest < WITHIN_OF_BEST).map((f) => `${f.protocol} ${c.scenario} at C=${c.concurrency} (${ratioText(f.pairedToBest!)})`));
    lines.push(
      '',
      `Paired (over the rounds in which every protocol measured the cell back to back: a protocol's largest median shortfall, round by round, against any other): ` +
        (pairedMisses.length === 0 ? `every protocol is within ${Math.round((1 - WITHIN_OF_BEST) * 100)}% of the best in every cell.` : `below ${WITHIN_OF_BEST}: ${pairedMisses.join('; ')}.`),
    );
  }
  return lines.join('\n');
}
