import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { zeroCounters, type NodeCounters } from '@quorumlite/client';
import { belowTarget, buildFigures, cellFailed, cellMissesWithControl, CONTROL_COLUMN, controlRatio, controlTable, eventfulRoundsTable, eventsText, interleaved, ratioToBest, costReading, cpuTable, failoverMisses, failoverReading, failoverTable, latencyReading, leaderStepTable, loadTable, messageTypeTable, renderCompareHtml, renderCompareMarkdown, scenarioMisses, scenarioRatios, scenarioTable, throughputReading, type CellResult, type CompareResults } from './compare-report';
import type { RoundSample } from './compare-report';
import { foldRounds } from './compare';
import type { CellCost } from './cost';
import { barChart, lineChart, niceMax, stripChart } from './svg';

/**
 * Recorded results of a small matrix: 3 protocols × 3v, 2v1w × insert, select × C=16, 64, and
 * failover. multipaxos's insert at C=64 on 2v1w completed nothing (240 unavailable), its
 * failover on 3v stopped after one trial, and its 2v1w cluster never started for failover.
 */
const RESULTS = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'compare-results.json'), 'utf8')) as CompareResults;

const svgsOf = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

/**
 * What a browser's XML parser would refuse in an inline SVG, short of running one: a tag
 * closed out of order or never, an unquoted attribute, a bare & or < in text.
 */
function xmlProblems(svg: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const tags = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of svg.matchAll(tags)) {
    const between = svg.slice(last, m.index);
    if (/<|&(?!amp;|lt;|gt;|quot;)/.test(between)) problems.push(`bad text before ${m[0]}: ${between.slice(0, 40)}`);
    last = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) problems.push(`</${name}> closes the wrong element`);
  }
  if (last !== svg.length) problems.push(`unparsed tail: ${svg.slice(last, last + 40)}`);
  if (stack.length > 0) problems.push(`never closed: ${stack.join(', ')}`);
  return problems;
}

describe('compare report: readings computed from the numbers', () => {
  it('names the leader of a scenario and its lead over the second, in percent', () => {
    // zab 2140 vs raft 2000 ops/s at C=64 on 3v: 7% ahead.
    expect(throughputReading(RESULTS, '3v', 'insert', 64)).toBe('zab leads insert on 3v at C=64 by 7% (2,140 vs raft 2,000 ops/s)');
  });

  it('says a failed protocol failed, and never ranks it', () => {
    const reading = throughputReading(RESULTS, '2v1w', 'insert', 64);
    expect(reading).toMatch(/^zab leads insert on 2v1w at C=64/);
    expect(reading).toMatch(/; multipaxos failed$/);
    expect(latencyReading(RESULTS, '2v1w', 'insert', 64)).not.toMatch(/multipaxos 0/);
  });

  it('ranks p99 from the lowest and the failover medians against the 150 ms target', () => {
    expect(latencyReading(RESULTS, '3v', 'select', 64)).toMatch(/^zab has the lowest p99 of select on 3v at C=64: [\d.]+ ms \(raft [\d.]+, multipaxos [\d.]+\)$/);
    // raft's median of 120.5, 140.2, 181 is 140; zab's of 95.1, 130, 210.4 is 130: zab is shortest.
    expect(failoverReading(RESULTS, '3v')).toBe('zab has the shortest median stall on 3v: 130 ms (raft 140, multipaxos 300); median under 150 ms: zab, raft; multipaxos failed');
    expect(failoverReading(RESULTS, '2v1w')).toMatch(/; multipaxos failed$/);
  });

  it('says when every run of a cell failed', () => {
    const allFailed: CompareResults = { ...RESULTS, cells: RESULTS.cells.map((c) => (c.kind === 'load' && c.scenario === 'select' && c.concurrency === 16 ? { ...c, row: null, failure: 'cluster did not start' } : c)) };
    expect(throughputReading(allFailed, '3v', 'select', 16)).toBe('every run of select on 3v at C=16 failed');
  });
});

describe('compare report: charts', () => {
  const sections = buildFigures(RESULTS);
  const figures = sections.flatMap((s) => s.figures);

  it('draws throughput and latency per topology × scenario and failover per topology', () => {
    expect(sections.map((s) => s.title)).toEqual(['Throughput vs concurrency', 'Latency percentiles at C=64', 'Failover stall distribution']);
    expect(figures.map((f) => f.id)).toEqual([
      'throughput-3v-insert',
      'throughput-3v-select',
      'throughput-2v1w-insert',
      'throughput-2v1w-select',
      'latency-3v-insert',
      'latency-3v-select',
      'latency-2v1w-insert',
      'latency-2v1w-select',
      'failover-3v',
      'failover-2v1w',
    ]);
  });

  it('has no empty chart: each has marks, axes, a legend naming every protocol and a reading', () => {
    for (const f of figures) {
      expect(f.svg).toMatch(/<circle class="point"|<rect class="bar"/);
      expect(f.svg).toContain('class="axes"');
      for (const p of ['raft', 'zab', 'multipaxos']) expect(f.svg).toContain(`<text x="14">${p}</text>`);
      expect(f.svg).not.toMatch(/NaN|Infinity|undefined/);
      expect(f.reading.length).toBeGreaterThan(20);
    }
  });

  it('puts the numbers into the chart: a point per measured cell, at its value', () => {
    const insert3v = figures.find((f) => f.id === 'throughput-3v-insert')!.svg;
    expect(insert3v.match(/<circle class="point"/g)).toHaveLength(6);
    // 2140 ops/s is the top of the data; the axis rounds up to 2500 and labels it 2.5k.
    expect(insert3v).toContain('>2.5k</text>');
    const latency = figures.find((f) => f.id === 'latency-3v-insert')!.svg;
    expect(latency.match(/<rect class="bar"/g)).toHaveLength(9);
    expect(latency).toContain('<title>zab p99: ');
  });

  it('shows a failed cell as failed, never as a zero', () => {
    const insert2v1w = figures.find((f) => f.id === 'throughput-2v1w-insert')!.svg;
    // multipaxos: C=16 drawn, C=64 marked failed; no point at the zero line.
    expect(insert2v1w.match(/class="failed"/g)).toHaveLength(1);
    expect(insert2v1w.match(/<circle class="point"/g)).toHaveLength(5);
    const latency = figures.find((f) => f.id === 'latency-2v1w-insert')!.svg;
    expect(latency.match(/class="failed"/g)).toHaveLength(3);
    expect(latency).not.toMatch(/height="0(\.0)?"/);
    expect(figures.find((f) => f.id === 'failover-2v1w')!.svg).toContain('✗ failed');
    const table = loadTable(RESULTS);
    const failedRow = table.find((r) => r[0] === '2v1w' && r[1] === 'insert' && r[2] === '64')!;
    expect(failedRow[5]).toMatch(/^FAILED: no operation completed \(unavailable 240\)/);
    expect(RESULTS.cells.filter(cellFailed)).toHaveLength(3);
  });
});

describe('compare report: tables', () => {
  it('lists the cells below 0.9 of the best of their row, never a failed one', () => {
    const below = belowTarget(RESULTS);
    // multipaxos runs at 900 / 1070 = 0.84 of zab everywhere it ran; raft at 0.93 is within.
    expect(below).toContain('multipaxos insert on 3v at C=64 (0.84)');
    expect(below.some((b) => b.startsWith('raft'))).toBe(false);
    expect(below).not.toContain(expect.stringMatching(/^multipaxos insert on 2v1w at C=64/));
  });

  it('says which step of a failover that misses 150 ms costs most', () => {
    // raft and zab meet it on 3v (medians 140 and 130 ms); multipaxos's one 300 ms trial was elected at 210 ms.
    expect(failoverMisses(RESULTS)).toEqual(['multipaxos on 3v misses the 150 ms target with a median stall of 300 ms: 210 ms until a new leader answered Status, 90 ms from there to the first write; the election costs most']);
  });

  it('splits a miss at the moment the new leader took office by its own log, when every trial has it', () => {
    const logged: CompareResults = { ...RESULTS, cells: RESULTS.cells.map((c) => (c.kind === 'failover' && c.protocol === 'multipaxos' && c.topology === '3v' ? { ...c, trials: c.trials.map((t) => ({ ...t, inOfficeMs: 80 })) } : c)) };
    // The one 300 ms trial: in office at 80 ms, so 220 ms went after the election.
    expect(failoverMisses(logged)).toEqual(['multipaxos on 3v misses the 150 ms target with a median stall of 300 ms: 80 ms until the new leader took office (its log), 220 ms from there to the first write; the time after it until writes are served costs most']);
    expect(failoverTable(logged).find((row) => row[0] === '3v' && row[1] === 'multipaxos')![8]).toBe('80');
  });

  it('gives each node its cores at the reference level, and FAILED for a failed cell', () => {
    const table = cpuTable(RESULTS);
    expect(table[0]).toEqual(['topology', 'scenario', 'C', 'raft', 'zab', 'multipaxos']);
    expect(table[1]).toEqual(['3v', 'insert', '64', 'n1* 0.60 · n2 0.30 · n3 0.30', 'n1* 0.60 · n2 0.30 · n3 0.30', 'n1* 0.60 · n2 0.30 · n3 0.30']);
    expect(table.find((r) => r[0] === '2v1w' && r[1] === 'insert')![5]).toBe('FAILED');
  });
});

describe('compare report: interleaved rounds', () => {
  type Load = Extract<CellResult, { kind: 'load' }>;
  const isInsert64 = (c: CellResult): c is Load => c.kind === 'load' && c.topology === '3v' && c.scenario === 'insert' && c.concurrency === 64;
  /** 3v insert C=64 measured in rounds of these ops/s per protocol; a null round failed. */
  const withRounds = (ops: Record<string, Array<number | null>>): CompareResults => ({
    ...RESULTS,
    cells: RESULTS.cells.map((c) => {
      if (!isInsert64(c)) return c;
      const rounds = ops[c.protocol]!.map((o, position) => ({ row: o === null ? null : { ...c.row!, opsPerSec: o }, failure: o === null ? 'loader exited' : null, position }));
      return { ...c, row: c.row === null ? null : { ...c.row, opsPerSec: [...ops[c.protocol]!].filter((o): o is number => o !== null).sort((a, b) => a - b)[1] ?? c.row.opsPerSec }, failure: null, rounds };
    }),
  });

  it('pairs each round with itself: drift between rounds cancels, a protocol\'s largest median shortfall against another is kept', () => {
    // Round 2 ran on a slow machine; every protocol sees it alike. Medians alone would put zab at 1,500 / 1,800 = 0.83 of raft.
    const r = withRounds({ raft: [2000, 1000, 1800], zab: [1900, 950, 1500], multipaxos: [2100, 1000, 1700] });
    // Pair by pair, the median over the rounds: zab ÷ raft 0.95, 0.95, 0.833 → 0.95; zab ÷ multipaxos
    // 0.905, 0.95, 0.882 → 0.905, its largest shortfall. Raft and multipaxos are behind no one.
    expect(ratioToBest(r, 'multipaxos', '3v', 'insert', 64)).toBe(1);
    expect(ratioToBest(r, 'raft', '3v', 'insert', 64)).toBe(1);
    expect(ratioToBest(r, 'zab', '3v', 'insert', 64)).toBeCloseTo(1900 / 2100, 9);
    expect(belowTarget(r).some((b) => b.startsWith('zab insert on 3v at C=64'))).toBe(false);
    expect(loadTable(r).find((row) => row[0] === '3v' && row[1] === 'insert' && row[2] === '64')![4]).toMatch(/ · ×0\.90$/);
  });

  it('puts identical protocols that take turns winning at 1', () => {
    const r = withRounds({ raft: [2160, 2000, 2000], zab: [2000, 2160, 2000], multipaxos: [2000, 2000, 2160] });
    for (const p of ['raft', 'zab', 'multipaxos']) expect(ratioToBest(r, p, '3v', 'insert', 64)).toBeCloseTo(1, 9);
  });

  it('leaves out a round in which a protocol failed, and lists a paired miss', () => {
    const r = withRounds({ raft: [2000, 2000, 2000], zab: [1000, null, 1700], multipaxos: [2000, 2000, 2000] });
    // Rounds 1 and 3 pair: zab 0.5 and 0.85 of the others, in logs the middle of the two: √(0.5 × 0.85).
    expect(ratioToBest(r, 'zab', '3v', 'insert', 64)).toBeCloseTo(Math.sqrt(0.425), 6);
    expect(belowTarget(r)).toContain('zab insert on 3v at C=64 (0.65)');
  });

  it('says in the header how the cells were measured', () => {
    const all: CompareResults = { ...RESULTS, cells: RESULTS.cells.map((c) => (c.kind === 'load' ? { ...c, rounds: [{ row: c.row, failure: c.failure, position: 0 }] } : c)) };
    expect(interleaved(all)).toBe(true);
    expect(interleaved(RESULTS)).toBe(false);
    expect(renderCompareMarkdown(all)).toContain('Interleaved: a topology\'s clusters ran together');
    expect(renderCompareMarkdown(RESULTS)).toContain('Sequential: each protocol × topology ran on its own');
  });

  it('says where the failover trials ran, as the results record it', () => {
    // The recorded fixture predates the setting: its trials ran on the load cluster.
    expect(renderCompareMarkdown(RESULTS)).toContain('failover last, on the same cluster');
    const fresh: CompareResults = { ...RESULTS, settings: { ...RESULTS.settings, failoverOnFreshCluster: true } };
    expect(renderCompareMarkdown(fresh)).toContain('the failover trials on a fresh cluster per protocol');
    expect(renderCompareMarkdown(fresh)).not.toContain('on the same cluster');
    expect(renderCompareMarkdown(RESULTS)).not.toContain('warmed by');
    expect(renderCompareMarkdown({ ...fresh, settings: { ...fresh.settings, clusterWarmupMs: 15_000 } })).toContain('warmed by 15000 ms of unmeasured inserts');
  });
});

describe('compare report: rounds with other work in them', () => {
  type Load = Extract<CellResult, { kind: 'load' }>;
  const insert64 = (c: CellResult): c is Load => c.kind === 'load' && c.topology === '3v' && c.scenario === 'insert' && c.concurrency === 64;
  const quiet = { elections: 0, leaderChanges: 0, snapshots: [] };
  const withEvents = (events: Record<string, Array<{ ops: number; events?: { elections: number; leaderChanges: number; snapshots: string[] } }>>): CompareResults => ({
    ...RESULTS,
    cells: RESULTS.cells.map((c) => (insert64(c) && events[c.protocol] ? { ...c, failure: null, rounds: events[c.protocol]!.map((x, position) => ({ row: { ...c.row!, opsPerSec: x.ops }, failure: null, position, ...(x.events ? { events: x.events } : {}) })) } : c)),
  });

  it('says what ran besides the load: elections, leader changes, snapshots by node', () => {
    expect(eventsText({ elections: 1, leaderChanges: 2, snapshots: ['n1', 'n3'] })).toBe('candidacy 1 · leader changes 2 · snapshot n1, n3');
    expect(eventsText({ elections: 2, leaderChanges: 1, snapshots: [] })).toBe('candidacies 2 · leader change 1');
    expect(eventsText(quiet)).toBe('');
  });

  it('lists only the rounds something else ran in, each beside its cell\'s median; a round recorded without events is not listed', () => {
    const r = withEvents({
      raft: [{ ops: 2000, events: quiet }, { ops: 800, events: { elections: 0, leaderChanges: 0, snapshots: ['n2'] } }, { ops: 2100 }],
      zab: [{ ops: 1900, events: { elections: 1, leaderChanges: 3, snapshots: [] } }, { ops: 2000, events: quiet }, { ops: 2050, events: quiet }],
    });
    const table = eventfulRoundsTable(r);
    const raftRow = RESULTS.cells.find((c): c is Load => insert64(c) && c.protocol === 'raft')!.row!;
    expect(table).toEqual([
      ['topology', 'scenario', 'C', 'cluster', 'round', 'throughput', 'cell median', 'in the round'],
      ['3v', 'insert', '64', 'raft', '2', '800', raftRow.opsPerSec.toLocaleString('en-US', { maximumFractionDigits: 0 }), 'snapshot n2'],
      ['3v', 'insert', '64', 'zab', '1', '1,900', expect.any(String), 'candidacy 1 · leader changes 3'],
    ]);
    expect(renderCompareMarkdown(r)).toContain('## Rounds with other work in them');
    expect(renderCompareHtml(r)).toContain('<h2>Rounds with other work in them</h2>');
  });

  it('lists a cell measured once too: its one round is the cell', () => {
    const r = withEvents({ multipaxos: [{ ops: 1500, events: { elections: 0, leaderChanges: 0, snapshots: ['n3'] } }] });
    expect(eventfulRoundsTable(r).slice(1)).toEqual([['3v', 'insert', '64', 'multipaxos', '1', '1,500', expect.any(String), 'snapshot n3']]);
  });

  it('has no section when every round was quiet, or the results carry no rounds', () => {
    const r = withEvents({ raft: [{ ops: 2000, events: quiet }, { ops: 2100, events: quiet }] });
    expect(eventfulRoundsTable(r)).toHaveLength(1);
    expect(renderCompareMarkdown(r)).not.toContain('other work');
    expect(renderCompareMarkdown(RESULTS)).not.toContain('other work');
  });
});

describe('compare report: the A/A control', () => {
  type Load = Extract<CellResult, { kind: 'load' }>;
  const insert64 = RESULTS.cells.find((c): c is Load => c.kind === 'load' && c.protocol === 'raft' && c.topology === '3v' && c.scenario === 'insert' && c.concurrency === 64)!;
  const rounds = (ops: number[]) => ops.map((o, position) => ({ row: { ...insert64.row!, opsPerSec: o }, failure: null, position }));
  /** 3v insert C=64 in three rounds: raft, zab, multipaxos and a second raft cluster. */
  const measured = (ops: Record<string, number[]>, control: number[]): CompareResults => ({
    ...RESULTS,
    cells: RESULTS.cells.map((c) => (c.kind === 'load' && c.topology === '3v' && c.scenario === 'insert' && c.concurrency === 64 ? { ...c, row: { ...insert64.row!, opsPerSec: ops[c.protocol]![0]! }, failure: null, rounds: rounds(ops[c.protocol]!) } : c)),
    controls: [{ ...insert64, row: { ...insert64.row!, opsPerSec: control[0]! }, rounds: rounds(control) }],
  });

  it('takes the median of one identical cluster ÷ the other over the rounds, folded to at most 1, and calls a gap within it no difference', () => {
    const r = measured({ raft: [2000, 2000, 2000], zab: [1700, 1700, 1700], multipaxos: [1500, 1500, 1500] }, [1600, 2000, 1700]);
    // the twin ÷ raft: 0.8, 1, 0.85 → 0.85.
    expect(controlRatio(r, '3v', 'insert', 64)).toBeCloseTo(0.85, 6);
    const below = belowTarget(r);
    expect(below).toContain('zab insert on 3v at C=64 (0.85, within the A/A 0.85)');
    expect(below).toContain('multipaxos insert on 3v at C=64 (0.75, A/A 0.85)');
    const md = renderCompareMarkdown(r);
    expect(md).toContain('## A/A control');
    expect(md).toMatch(/came within 0\.9 of each other in 0 of 1 cells \(median 0\.85, lowest 0\.85\)/);
    expect(controlTable(r)[1]).toEqual(['3v', 'insert', '64', expect.stringMatching(/^2,000 · p99/), expect.stringMatching(/^1,600 · p99/), '0.85']);
  });

  it('does not fold each round before the median: twins that take turns ahead come out close', () => {
    // Per round the twin ÷ raft is 0.9, 1.1, 0.9, 1.1: the lower ÷ the higher of each round would say 0.9.
    const r = measured({ raft: [2000, 2000, 2000, 2000], zab: [2000, 2000, 2000, 2000], multipaxos: [2000, 2000, 2000, 2000] }, [1800, 2200, 1800, 2200]);
    expect(controlRatio(r, '3v', 'insert', 64)).toBeCloseTo(Math.exp(-Math.abs(Math.log(0.9) + Math.log(1.1)) / 2), 9);
    expect(controlRatio(r, '3v', 'insert', 64)).toBeGreaterThan(0.99);
    // A twin behind in most rounds stays behind by its median: 1600, 2400, 1700 → 0.8, 1.2, 0.85 → 0.85.
    expect(controlRatio(measured({ raft: [2000, 2000, 2000], zab: [2000, 2000, 2000], multipaxos: [2000, 2000, 2000] }, [1600, 2400, 1700]), '3v', 'insert', 64)).toBeCloseTo(0.85, 9);
  });

  it('has no figure without a control', () => {
    expect(controlRatio(RESULTS, '3v', 'insert', 64)).toBeNull();
    expect(renderCompareMarkdown(RESULTS)).not.toContain('A/A');
  });
});

describe('compare report: per scenario, every level and round pooled', () => {
  type Load = Extract<CellResult, { kind: 'load' }>;
  const base = (c: number): Load => RESULTS.cells.find((x): x is Load => x.kind === 'load' && x.protocol === 'raft' && x.topology === '3v' && x.scenario === 'insert' && x.concurrency === c)!;
  const rounds = (c: number, ops: number[]) => ops.map((o, position) => ({ row: { ...base(c).row!, opsPerSec: o }, failure: null, position }));
  /** 3v insert at C=16 and C=64, measured in rounds: per protocol, each level's throughputs. */
  const measured = (ops: Record<string, Record<16 | 64, number[]>>, control?: Record<16 | 64, number[]>): CompareResults => ({
    ...RESULTS,
    cells: RESULTS.cells.map((c) => (c.kind === 'load' && c.topology === '3v' && c.scenario === 'insert' ? { ...c, failure: null, rounds: rounds(c.concurrency, ops[c.protocol]![c.concurrency as 16 | 64]) } : c)),
    ...(control ? { controls: ([16, 64] as const).map((c) => ({ ...base(c), rounds: rounds(c, control[c]) })) } : {}),
  });
  const even = { 16: [2000, 2000, 2000], 64: [4000, 4000, 4000] };

  it('pools the levels: a protocol behind at one level by a cell\'s noise is judged on every pair of the scenario', () => {
    // Zab ÷ the others: 0.85, 0.95, 0.86 at C=64 (a cell median of 0.86) and 1.0, 0.97, 0.99 at C=16.
    const r = measured({ raft: even, multipaxos: even, zab: { 16: [2000, 1940, 1980], 64: [3400, 3800, 3440] } });
    expect(ratioToBest(r, 'zab', '3v', 'insert', 64)).toBeCloseTo(0.86, 9);
    const s = scenarioRatios(r, '3v', 'insert')!;
    expect(s.columns).toEqual(['raft', 'zab', 'multipaxos']);
    expect(s.rounds).toBe(6);
    // Six pairs: 0.85, 0.86, 0.95, 0.97, 0.99, 1 — the median in logs is √(0.95 × 0.97).
    expect(s.ratios[1]).toBeCloseTo(Math.sqrt(0.95 * 0.97), 9);
    expect(s.ratios[0]).toBe(1);
    expect(scenarioMisses(r)).toEqual([]);
    const md = renderCompareMarkdown(r);
    expect(md).toContain('## Per scenario');
    expect(md).toContain('Every protocol is within 0.9 of the best in every scenario as a whole.');
    expect(scenarioTable(r)).toEqual([
      ['topology', 'scenario', 'rounds pooled', 'raft', 'zab', 'multipaxos'],
      ['3v', 'insert', '6', '×1.00 ✓', '×0.96 ✓', '×1.00 ✓'],
    ]);
  });

  it('names a protocol behind at every level, and scores the control as one more column', () => {
    const slow = { 16: [1700, 1700, 1700], 64: [3400, 3400, 3400] };
    const r = measured({ raft: even, multipaxos: even, zab: slow }, { 16: [2000, 1900, 2100], 64: [4000, 4200, 3800] });
    const s = scenarioRatios(r, '3v', 'insert')!;
    expect(s.columns).toEqual(['raft', 'zab', 'multipaxos', CONTROL_COLUMN]);
    expect(s.ratios[1]).toBeCloseTo(0.85, 9);
    expect(s.ratios[3]).toBeGreaterThanOrEqual(0.9);
    expect(scenarioMisses(r)).toEqual(['zab insert on 3v (0.85)']);
    expect(scenarioTable(r)[0]).toEqual(['topology', 'scenario', 'rounds pooled', 'raft', 'zab', 'multipaxos', 'raft (control)']);
    expect(renderCompareMarkdown(r)).toContain('Below 0.9 in a scenario as a whole: zab insert on 3v (0.85).');
  });

  it('counts, cell by cell, how often the control misses when scored like a protocol: the resolution of the run', () => {
    // The control trails its twin by 0.8 at C=16 only; zab trails everyone at C=64 only.
    const r = measured({ raft: even, multipaxos: even, zab: { 16: [2000, 2000, 2000], 64: [3400, 3400, 3400] } }, { 16: [1600, 1600, 1600], 64: [4000, 4000, 4000] });
    expect(cellMissesWithControl(r)).toEqual({ columns: ['raft', 'zab', 'multipaxos', CONTROL_COLUMN], misses: [0, 1, 0, 1], cells: 2 });
    expect(renderCompareMarkdown(r)).toContain('the control fell below 0.9 in 1 of 2 cells, the protocols scored the same way in: raft 0, zab 1, multipaxos 0.');
    expect(cellMissesWithControl(RESULTS)).toBeNull();
  });

  it('has no section for a run without rounds', () => {
    expect(scenarioRatios(RESULTS, '3v', 'insert')).toBeNull();
    expect(scenarioTable(RESULTS)).toEqual([]);
    expect(renderCompareMarkdown(RESULTS)).not.toContain('## Per scenario');
  });
});

describe('foldRounds', () => {
  const row = (RESULTS.cells.find((c) => c.kind === 'load' && c.row !== null) as Extract<CellResult, { kind: 'load' }>).row!;
  const plan = { kind: 'load' as const, protocol: 'raft' as const, topology: '3v', scenario: 'insert' as const, concurrency: 64 };
  const sample = (ops: number | null, position = 0): { sample: RoundSample; cost: null } => ({ sample: { row: ops === null ? null : { ...row, opsPerSec: ops, errors: 0, abandoned: 0, ops: 1000 }, failure: ops === null ? 'loader exited' : null, position }, cost: null });

  it('keeps the median round as the row and every round beside it', () => {
    const cell = foldRounds(plan, [sample(900), sample(1200, 1), sample(1000, 2)]);
    expect(cell.kind === 'load' && cell.row?.opsPerSec).toBe(1000);
    expect(cell.failure).toBeNull();
    expect(cell.kind === 'load' && cell.rounds?.map((x) => x.position)).toEqual([0, 1, 2]);
    expect(cellFailed(cell)).toBe(false);
  });

  it('fails the cell when any round failed, saying how many', () => {
    const cell = foldRounds(plan, [sample(900), sample(null), sample(1000)]);
    expect(cell.failure).toBe('failed in 1 of 3 rounds: loader exited');
    expect(cellFailed(cell)).toBe(true);
    expect(foldRounds(plan, [sample(null)]).failure).toBe('loader exited');
  });
});

describe('compare report: pages', () => {
  it('report.md carries the machine, versions, command, readings, the table and failures', () => {
    const md = renderCompareMarkdown(RESULTS);
    expect(md).toContain('Command: `quorumlite compare --quick`');
    expect(md).toContain('Machine: 2 × AMD EPYC, 23.5 GiB memory, Node v20.20.2');
    expect(md).toContain('quorumlite 0.1.0, commit e50c41b');
    expect(md).toContain('- zab leads insert on 3v at C=64 by 7%');
    expect(md).toContain('**3 of 30 cells failed**');
    expect(md).toMatch(/\| 2v1w \| insert \| 64 \| [^|]+ \| [^|]+ \| FAILED: no operation completed/);
    expect(md).toContain('Below 0.9 of the best of their row: multipaxos insert on 3v at C=16 (0.84)');
    expect(md).toContain('## CPU per node');
  });

  it('report.html is self-contained: inline SVG, no script, nothing fetched', () => {
    const html = renderCompareHtml(RESULTS);
    expect(svgsOf(html)).toHaveLength(10);
    for (const svg of svgsOf(html)) expect(xmlProblems(svg)).toEqual([]);
    // The check bites: a stray tag, an unescaped & and an unclosed group are each caught.
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><g><rect x="1"/></svg>')).not.toEqual([]);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('<figcaption>zab leads insert on 3v at C=64 by 7%');
    expect(html).toContain('class="failed"');
  });
});

describe('svg charts', () => {
  it('rounds the axis up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect([niceMax(0), niceMax(7), niceMax(2140), niceMax(180), niceMax(0.3)]).toEqual([1, 10, 2500, 200, 0.5]);
  });

  it('says so when nothing was measured, rather than drawing an empty frame', () => {
    const empty = { title: 't', yLabel: 'y', categories: ['a'], series: [{ name: 's', values: [{ y: null, failed: false }] }] };
    expect(lineChart(empty)).toContain('nothing was measured');
    expect(barChart(empty)).toContain('nothing was measured');
    expect(stripChart({ title: 't', yLabel: 'y', series: [{ name: 's', values: [], failed: false }] })).toContain('nothing was measured');
  });

  it('escapes names', () => {
    expect(lineChart({ title: 'a<b', yLabel: 'y', categories: ['C=1'], series: [{ name: 'x&y', values: [{ y: 1, failed: false }] }] })).toContain('x&amp;y');
  });
});

describe('compare report: cost per committed entry, from the nodes\' counters', () => {
  const counters = (over: Partial<NodeCounters>): NodeCounters => ({ ...zeroCounters(), ...over });
  /** 1,000 entries committed; the leader sent `appends` appends of 300 B, each follower as many acks of 40 B. */
  const cost = (appends: number, syncs: number): CellCost => ({
    committedEntries: 1_000,
    missing: [],
    nodes: [
      { id: 'n1', role: 'leader', leader: true, counters: counters({ sent: [{ type: 'append', count: appends, bytes: appends * 300 }], storageSyncs: syncs, steps: [{ step: 'fsync', count: 500, totalMs: 400 }, { step: 'apply', count: 500, totalMs: 100 }] }) },
      { id: 'n2', role: 'follower', leader: false, counters: counters({ sent: [{ type: 'ack', count: appends / 2, bytes: (appends / 2) * 40 }], storageSyncs: syncs }) },
      { id: 'n3', role: 'follower', leader: false, counters: counters({ sent: [{ type: 'ack', count: appends / 2, bytes: (appends / 2) * 40 }], storageSyncs: syncs }) },
    ],
  });
  const withCosts = (costs: Record<string, CellCost>, failed: string[] = []): CompareResults => ({
    ...RESULTS,
    cells: RESULTS.cells.map((c): CellResult => {
      if (c.kind !== 'load' || c.topology !== '3v' || c.scenario !== 'insert' || c.concurrency !== 64) return c;
      const withCost = costs[c.protocol] ? { ...c, cost: costs[c.protocol] } : c;
      return failed.includes(c.protocol) ? { ...withCost, row: null, failure: 'cluster did not start' } : withCost;
    }),
  });

  it('ranks the protocols by messages, bytes and syncs per committed entry', () => {
    const r = withCosts({ raft: cost(2_000, 500), zab: cost(1_000, 400), multipaxos: cost(3_000, 900) });
    // zab: 1,000 appends + 1,000 acks over 1,000 entries = 2.0; raft 4.0; multipaxos 6.0.
    expect(costReading(r, '3v', 'insert', 64, 'messages')).toBe('zab costs the fewest messages per committed entry of insert on 3v at C=64: 2.00 (raft 4.00, multipaxos 6.00)');
    // zab: 3 nodes × 400 syncs / 1,000 entries.
    expect(costReading(r, '3v', 'insert', 64, 'syncs')).toBe('zab costs the fewest storage syncs per committed entry of insert on 3v at C=64: 1.20 (raft 1.50, multipaxos 2.70)');
    expect(costReading(r, '3v', 'insert', 64, 'bytes')).toMatch(/^zab costs the fewest bytes on the wire per committed entry of insert on 3v at C=64: 340 \(raft 680, multipaxos 1,020\)$/);
  });

  it('never ranks a failed cell, and draws the cost charts only where counters exist', () => {
    const r = withCosts({ raft: cost(2_000, 500), zab: cost(1_000, 400) }, ['zab']);
    expect(costReading(r, '3v', 'insert', 64, 'messages')).toBe('raft costs the fewest messages per committed entry of insert on 3v at C=64: 4.00');
    const section = buildFigures(r).find((s) => s.title.startsWith('Cost per committed entry'));
    expect(section?.figures.map((f) => f.id)).toEqual(['cost-messages-3v', 'cost-bytes-3v', 'cost-syncs-3v']);
    // Results recorded before the counters existed have no cost section at all.
    expect(buildFigures(RESULTS).some((s) => s.title.startsWith('Cost'))).toBe(false);
  });

  it('tables the messages by type and the leader\'s time per step, and counts elections per failover trial', () => {
    const r = withCosts({ raft: cost(2_000, 500) });
    expect(messageTypeTable(r)[1]).toEqual(['3v', 'insert C=64', 'raft', 'ack 2.00 (40 B) · append 2.00 (300 B)']);
    // 400 ms of fsync wait over 1,000 entries: 400 µs each.
    expect(leaderStepTable(r)[1]).toEqual(['3v', 'insert C=64', 'raft', 'fsync 400 · apply 100']);
    const failover = { ...r, cells: r.cells.map((c): CellResult => (c.kind === 'failover' && c.protocol === 'raft' && c.topology === '3v' ? { ...c, trials: c.trials.map((t, i) => ({ ...t, elections: [1, 1, 4][i] })) } : c)) };
    const row = failoverTable(failover).find((x) => x[0] === '3v' && x[1] === 'raft')!;
    // 6 candidacies over raft's 3 trials; trials recorded without counters show a dash.
    expect(row[9]).toBe('2.0');
    expect(failoverTable(r).find((x) => x[0] === '3v' && x[1] === 'raft')![9]).toBe('—');
    const md = renderCompareMarkdown(r);
    expect(md).toContain('## Where the protocols differ');
    expect(md).toContain('| 3v | insert C=64 | raft | ack 2.00 (40 B) · append 2.00 (300 B) |');
  });
});
