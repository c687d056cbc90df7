import { describe, expect, it } from 'vitest';
import type { RunRow } from './merge';
import { identityRow, row } from './test-rows';
import { compareProtocols, groupByProtocol, renderComparisonText, renderMarkdown, renderSummary, summarize } from './report';
import { summarizeStalls } from './failover';
import { readCeilingIdentity, readCeilingSizes, renderReferenceSection } from './runner';

const META = { startedAt: 't', cpus: 2, cpuModel: 'cpu', node: 'v20', platform: 'linux' };

// Two protocols as the runner produces them: baselines first, then each protocol's cluster in turn.
const ROWS = [
  row(null, 'echo', 16, 4000),
  row(null, 'echo', 64, 8000),
  row(null, 'stream-echo', 64, 10000),
  row(null, 'sqlite-1', 1, 500),
  row('raft', 'insert', 16, 1000, 10),
  row('raft', 'insert', 64, 2000, 40),
  row('raft', 'select', 64, 3000, 5),
  row('zab', 'insert', 16, 1500, 8),
  row('zab', 'insert', 64, 1600, 50),
  row('zab', 'select', 64, 3000, 4),
];

describe('groupByProtocol', () => {
  it('separates the baselines and keeps each protocol its own rows, in the order given', () => {
    const groups = groupByProtocol(ROWS, ['zab', 'raft', 'multipaxos']);
    expect(groups.baselines.map((r) => r.name)).toEqual(['echo', 'echo', 'stream-echo', 'sqlite-1']);
    expect(groups.protocols.map((g) => [g.protocol, g.rows.length])).toEqual([['zab', 3], ['raft', 3], ['multipaxos', 0]]);
    expect(groups.protocols[0]!.rows.every((r) => r.protocol === 'zab')).toBe(true);
  });

  it('without an order, takes the protocols in the order their rows appear', () => {
    expect(groupByProtocol(ROWS).protocols.map((g) => g.protocol)).toEqual(['raft', 'zab']);
  });
});

describe('the side-by-side table', () => {
  it('has one row per scenario × concurrency, each protocol in a cell with its ratio to the best', () => {
    const table = compareProtocols(groupByProtocol(ROWS).protocols);
    expect(table.map((r) => `${r.scenario}@${r.concurrency}`)).toEqual(['insert@16', 'insert@64', 'select@64']);
    const [insert16, insert64, select64] = table;
    expect(insert16!.cells.map((c) => [c.protocol, c.opsPerSec, c.ratioToBest])).toEqual([['raft', 1000, 1000 / 1500], ['zab', 1500, 1]]);
    expect(insert64!.cells.map((c) => [c.protocol, c.ratioToBest])).toEqual([['raft', 1], ['zab', 0.8]]);
    // A tie: both are the best.
    expect(select64!.cells.map((c) => c.ratioToBest)).toEqual([1, 1]);
    // p99 is the row's own (within the histogram's bucket error).
    expect(insert64!.cells[1]!.p99Ms).toBeGreaterThanOrEqual(50);
    expect(insert64!.cells[1]!.p99Ms).toBeLessThanOrEqual(50 * (1 + 1 / 128));
  });

  it('shows a protocol without the run as empty and never counts a failed run as the best', () => {
    const rows = [row('raft', 'insert', 16, 1000), row('zab', 'insert', 16, 5000, 1, 500), row('multipaxos', 'insert', 16, 800)];
    const [cell] = compareProtocols(groupByProtocol(rows, ['raft', 'zab', 'multipaxos', 'other']).protocols);
    expect(cell!.cells.map((c) => [c.protocol, c.ratioToBest, c.failed])).toEqual([
      ['raft', 1, false],
      ['zab', 5, true],
      ['multipaxos', 0.8, false],
      ['other', null, false],
    ]);
    expect(cell!.cells[3]!.opsPerSec).toBeNull();
  });

  it('sorts concurrency ascending within a scenario even when a later protocol adds a level', () => {
    const rows = [row('raft', 'insert', 64, 10), row('raft', 'select', 1, 10), row('zab', 'insert', 1, 10), row('zab', 'insert', 64, 10)];
    expect(compareProtocols(groupByProtocol(rows).protocols).map((r) => `${r.scenario}@${r.concurrency}`)).toEqual(['insert@1', 'insert@64', 'select@1']);
  });
});

describe('summaries and reports by protocol', () => {
  it('takes the ratios per protocol against the one set of baselines: insert ÷ stream echo and insert ÷ unary echo', () => {
    const s = summarize(ROWS, ['raft', 'zab']);
    expect(s.referenceConcurrency).toBe(64);
    expect(s.echoOpsPerSec).toBe(8000);
    expect(s.streamEchoOpsPerSec).toBe(10000);
    expect(s.protocols.map((p) => [p.protocol, p.insertOpsPerSec, p.insertEchoRatio, p.insertStreamEchoRatio])).toEqual([['raft', 2000, 0.25, 0.2], ['zab', 1600, 0.2, 0.16]]);
    expect(s.comparison).toHaveLength(3);
  });

  it('prints the table compactly in the terminal, one column per protocol', () => {
    const s = summarize(ROWS, ['raft', 'zab']);
    const lines = renderComparisonText(s).split('\n');
    expect(lines[1]).toMatch(/^scenario\s+C\s+raft\s+zab$/);
    expect(lines[2]).toMatch(/^insert\s+16\s+1,000 10\.\d+ms ×0\.67\s+1,500 8\.\d+ms ×1\.00$/);
    expect(lines).toHaveLength(5);
    const summary = renderSummary(s);
    expect(summary).toContain('raft: insert ÷ stream-echo at C=64 2,000 / 10,000 = 0.20 (target ≥ 0.85) ✗; insert ÷ echo 2,000 / 8,000 = 0.25');
    expect(summary).toContain('echo 8,000 ops/s (unary), stream-echo 10,000 ops/s (Session client) at C=64');
    expect(summary).toContain('zab: insert ÷ stream-echo at C=64 1,600 / 10,000 = 0.16 (target ≥ 0.85) ✗; insert ÷ echo 1,600 / 8,000 = 0.20');
  });

  it('gives the SQLite read ceiling at each table size, smallest first, and what the larger table keeps', () => {
    // Built as the runner builds them: reads/s is the operations' rate times the reads of an operation.
    const reads = (tableRows: number, readsPerSec: number): RunRow => identityRow(readCeilingIdentity(tableRows, 1000), readsPerSec / 64);
    const s = summarize([...ROWS, reads(2_000_000, 300_000), reads(10_000, 1_200_000)], ['raft', 'zab']);
    expect(s.sqliteReads).toEqual([
      { tableRows: 10_000, readsPerSec: 1_200_000 },
      { tableRows: 2_000_000, readsPerSec: 300_000 },
    ]);
    expect(renderSummary(s)).toContain('rows/s at 100 rows per commit, point reads 1,200,000/s at 10,000 rows, 300,000/s at 2,000,000 rows (25 % of the smaller table\'s)');
    const alone = summarize([...ROWS, reads(10_000, 1_200_000)], ['raft']);
    expect(renderSummary(alone)).toMatch(/point reads 1,200,000\/s at 10,000 rows$/m);
    expect(renderSummary(summarize(ROWS, ['raft']))).not.toContain('point reads');
    // A ceiling that failed (no reads) is reported as failed, not as a rate of 0.
    const failed = summarize([...ROWS, reads(10_000, 1_200_000), identityRow(readCeilingIdentity(2_000_000, 1000), 0, 1, 3)], ['raft']);
    expect(failed.sqliteReads).toEqual([{ tableRows: 10_000, readsPerSec: 1_200_000 }]);
    expect(failed.failedRows).toContain('sqlite-reads-2000000@C=1');
  });

  it('reads at the preload of the run, with the default table beside a larger one, and not at all without a read scenario', () => {
    expect(readCeilingSizes({ scenarios: ['select', 'insert'], preloadRows: 2_000_000 })).toEqual([10_000, 2_000_000]);
    expect(readCeilingSizes({ scenarios: ['hot-update'], preloadRows: 10_000 })).toEqual([10_000]);
    expect(readCeilingSizes({ scenarios: ['select-stale'], preloadRows: 2_000 })).toEqual([2_000]);
    expect(readCeilingSizes({ scenarios: ['insert', 'batch100'], preloadRows: 2_000_000 })).toEqual([]);
  });

  it('writes Markdown with the side-by-side table, the ratios per protocol and the runs grouped by protocol', () => {
    const s = summarize(ROWS, ['raft', 'zab']);
    const md = renderMarkdown(META, 'settings', ROWS, s);
    expect(md).toContain('| scenario | C | raft ops/s | raft p99 ms | raft ÷ best | zab ops/s | zab p99 ms | zab ÷ best |');
    expect(md).toMatch(/\| insert \| 64 \| 2,000 \| 40\.\d\d \| 1\.00 \| 1,600 \| 50\.\d\d \| 0\.80 \|/);
    expect(md).toContain('| raft | 2,000 | 0.20 | 0.25 |');
    const sections = md.split('\n').filter((l) => l.startsWith('### '));
    expect(sections).toEqual(['### baselines', '### raft', '### zab']);
    const raftRuns = md.slice(md.indexOf('### raft'), md.indexOf('### zab'));
    expect(raftRuns).toContain('| insert | 16 | 1 | 1,000 |');
    expect(raftRuns).not.toContain('| 1,500 |');
  });
});

describe('the peers beside each protocol', () => {
  /** A peer's row as the runner makes it: kind reference, named system:op. */
  function peer(name: string, concurrency: number, ops: number): RunRow {
    return { ...row(null, name, concurrency, ops, 2), kind: 'reference' };
  }

  it('puts each protocol\'s insert, select and select-stale beside the peers\' write, linearizable and local reads, with ratios and failover figures', () => {
    const rows = [row('raft', 'insert', 64, 2000, 40), row('raft', 'select', 64, 3000, 5), row('raft', 'select-stale', 64, 6000, 1)];
    const baselines = [peer('zookeeper:write', 64, 1000), peer('zookeeper:read-linearizable', 64, 1500), peer('zookeeper:read-local', 64, 3000), peer('etcd:write', 64, 500)];
    const trial = { killed: 'zookeeper-1', newLeader: 'zookeeper-2', stallMs: 640, electedMs: 300, failedWrites: 3, okWrites: 10 };
    const lines = renderReferenceSection({
      baselines,
      protocols: [{ protocol: 'raft', rows, failure: null }],
      reference: [
        { system: 'zookeeper', failover: { summary: summarizeStalls([trial], 16), trials: [trial] }, failure: null },
        { system: 'etcd', failover: null, failure: 'etcd reference: cluster did not start' },
      ],
    });
    expect(lines).toContain('| write | 64 | 2,000 | 40.0 | 1,000 | 2.0 | 500 | 2.0 | 2.00 | 4.00 |');
    expect(lines).toContain('| read-linearizable | 64 | 3,000 | 5.0 | 1,500 | 2.0 | — | — | 2.00 | — |');
    expect(lines).toContain('| read-local | 64 | 6,000 | 1.0 | 3,000 | 2.0 | — | — | 2.00 | — |');
    expect(lines).toContain('- zookeeper failover: stall median 640 ms, min 640, p90 640, max 640 over 1 trials, 16 writers');
    expect(lines).toContain('- etcd failover: no failover trials — FAILED: etcd reference: cluster did not start');
  });

  it('is empty without --reference', () => {
    expect(renderReferenceSection({ baselines: ROWS, protocols: [{ protocol: 'raft', rows: ROWS, failure: null }], reference: [] })).toEqual([]);
  });
});

describe('node memory and the batch100 targets', () => {
  const withRss = (r: RunRow, rss: Record<string, number | null>): RunRow => ({ ...r, cpu: { ...r.cpu, serverPeakRssMb: rss } });
  const rows = [
    withRss(row('raft', 'insert', 64, 2000, 40), { n1: 150, n2: 210.4, n3: null }),
    withRss(row('raft', 'batch100', 64, 1200, 80), { n1: 190, n2: 180, n3: 170 }),
    withRss(row('zab', 'insert', 64, 2000, 40), { n1: 120, n2: null, n3: 130 }),
    withRss(row('zab', 'batch100', 64, 900, 150), { n1: 199, n2: 140, n3: 150 }),
    row('multipaxos', 'insert', 64, 2000, 40),
  ];

  it('takes the largest peak of any node over every run of the protocol, and null when none was read', () => {
    const summary = summarize(rows);
    expect(summary.protocols.map((p) => [p.protocol, p.peakNodeRssMb])).toEqual([
      ['raft', 210.4],
      ['zab', 199],
      ['multipaxos', null],
    ]);
  });

  it('marks each target met or missed in the summary, and leaves out the mark when nothing was measured', () => {
    const lines = renderSummary(summarize(rows)).split('\n');
    const line = (protocol: string): string => lines.find((l) => l.startsWith(`${protocol}:`))!;
    expect(line('raft')).toContain('peak node RSS 210 MB (target < 200 MB) ✗');
    expect(line('raft')).toContain('batch100 120,000 statements/s at C=64, best 120,000 (target ≥ 100,000) ✓');
    expect(line('raft')).toContain('batch100 p99 80.0 ms (target < 100 ms) ✓');
    expect(line('zab')).toContain('peak node RSS 199 MB (target < 200 MB) ✓');
    expect(line('zab')).toContain('batch100 p99 150.0 ms (target < 100 ms) ✗');
    expect(line('multipaxos').endsWith('peak node RSS — MB (target < 200 MB)')).toBe(true);
    expect(renderMarkdown(META, 's', rows, summarize(rows))).toContain('| insert | 64 | 1 | 2,000 | 2,000 | 40.00 | 40.00 | 40.00 | 40.00 | 0 | — |  | n1 150, n2 210, n3 — |');
  });
});
