import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { BenchArgsError } from './argv';
import { CELL_OVERHEAD_MS_EST, cellFileName, cellLabel, CLUSTER_START_MS_EST, COMPARE_DEFAULTS, COMPARE_SCENARIOS, estimateMs, formatDurationMs, loadClusterStartMs, parseCompareArgs, planCells, TRIAL_OVERHEAD_MS_EST } from './compare-args';
import { progressEstimatesMs, Progress } from './compare';

describe('parseCompareArgs', () => {
  it('defaults to every protocol × 3v, 2v1w, 5v × every scenario × C=1,16,64,256', () => {
    const s = parseCompareArgs([]);
    expect(s).toEqual(COMPARE_DEFAULTS);
    expect(s.protocols).toEqual([...PROTOCOL_NAMES]);
    expect(s.topologies).toEqual(['3v', '2v1w', '5v']);
    expect(s.scenarios).toEqual(['insert', 'select', 'select-any', 'select-stale', 'mixed90', 'mixed50', 'batch100', 'hot-update', 'failover']);
    expect(s.concurrency).toEqual([1, 16, 64, 256]);
  });

  it('--quick shrinks the matrix; explicit flags still win', () => {
    const q = parseCompareArgs(['--quick']);
    expect(q).toMatchObject({ quick: true, topologies: ['3v', '2v1w'], concurrency: [16, 64], durationMs: 1_200, loaders: 1 });
    expect(q.scenarios).toContain('failover');
    expect(parseCompareArgs(['--quick', '--concurrency', '8', '--duration', '1s'])).toMatchObject({ concurrency: [8], durationMs: 1_000, topologies: ['3v', '2v1w'] });
  });

  it('reads every flag', () => {
    const s = parseCompareArgs(['--protocols', 'zab,raft', '--topologies', '5v,3v2w', '--scenarios', 'hot-update,failover', '--concurrency', '2,4', '--duration', '3s', '--warmup', '100ms', '--trials', '4', '--loaders', '1', '--preload-rows', '50', '--node-args=--snapshot-every-entries 10', '--out', '/tmp/x']);
    expect(s).toMatchObject({ protocols: ['zab', 'raft'], topologies: ['5v', '3v2w'], scenarios: ['hot-update', 'failover'], concurrency: [2, 4], durationMs: 3_000, warmupMs: 100, failoverTrials: 4, loaders: 1, preloadRows: 50, nodeArgs: ['--snapshot-every-entries', '10'], outDir: '/tmp/x' });
  });

  it('refuses unknown names and repeats with a sentence naming the flag', () => {
    expect(() => parseCompareArgs(['--topologies', '4v'])).toThrow(/--topologies: unknown topology '4v'; known: 3v/);
    expect(() => parseCompareArgs(['--scenarios', 'delete'])).toThrow(/--scenarios: unknown scenario 'delete' \(known: .*failover/);
    expect(() => parseCompareArgs(['--scenarios', 'insert,insert'])).toThrow(/--scenarios: 'insert' is listed twice/);
    expect(() => parseCompareArgs(['--protocols', 'viewstamped'])).toThrow(BenchArgsError);
    expect(() => parseCompareArgs(['--concurrency', '0'])).toThrow(/--concurrency/);
    expect(() => parseCompareArgs(['--node-args=--protocol zab'])).toThrow(/--node-args/);
    expect(() => parseCompareArgs(['--bogus'])).toThrow(BenchArgsError);
  });
});

describe('parseCompareArgs --report', () => {
  it('takes a results directory and nothing else', () => {
    expect(parseCompareArgs(['--report', 'bench/results/x']).report).toBe('bench/results/x');
    expect(parseCompareArgs([]).report).toBeNull();
    expect(() => parseCompareArgs(['--report', 'bench/results/x', '--rounds', '3'])).toThrow(/--report: takes a results directory and no other flag/);
    expect(() => parseCompareArgs(['--report='])).toThrow(/--report: takes a results directory/);
  });

  it('refuses a second directory, or any word that is not a flag', () => {
    expect(() => parseCompareArgs(['--report', 'bench/results/x', 'bench/results/y'])).toThrow(/unexpected argument 'bench\/results\/y'/);
    expect(() => parseCompareArgs(['raft'])).toThrow(/unexpected argument 'raft'/);
  });
});

describe('planCells', () => {
  it('interleaved (the default): per topology, each scenario × C for every protocol side by side, then the failovers', () => {
    const s = parseCompareArgs(['--protocols', 'raft,zab', '--topologies', '3v,2v1w', '--scenarios', 'failover,insert', '--concurrency', '1,16', '--trials', '3']);
    expect(s.interleave).toBe(true);
    expect(planCells(s).map(cellLabel)).toEqual([
      'raft 3v insert C=1',
      'zab 3v insert C=1',
      'raft 3v insert C=16',
      'zab 3v insert C=16',
      'raft 3v failover ×3',
      'zab 3v failover ×3',
      'raft 2v1w insert C=1',
      'zab 2v1w insert C=1',
      'raft 2v1w insert C=16',
      'zab 2v1w insert C=16',
      'raft 2v1w failover ×3',
      'zab 2v1w failover ×3',
    ]);
  });

  it('--rounds multiplies each interleaved load cell, and needs interleaving', () => {
    const one = parseCompareArgs(['--scenarios', 'insert', '--topologies', '3v']);
    const three = parseCompareArgs(['--scenarios', 'insert', '--topologies', '3v', '--rounds', '3']);
    expect(three.rounds).toBe(3);
    expect(planCells(three)).toEqual(planCells(one));
    const clusters = PROTOCOL_NAMES.length * loadClusterStartMs(one);
    expect(estimateMs(three) - clusters).toBe(3 * (estimateMs(one) - clusters));
    expect(() => parseCompareArgs(['--rounds', '2', '--sequential'])).toThrow(/--rounds: needs interleaved cells/);
    expect(() => parseCompareArgs(['--control', '--sequential'])).toThrow(/--control: needs interleaved cells/);
    expect(() => parseCompareArgs(['--rounds', '0'])).toThrow(/--rounds/);
  });

  it('--control adds a cluster per topology and a run of every load cell of the first protocol per round', () => {
    const base = ['--scenarios', 'insert,failover', '--topologies', '3v,5v', '--concurrency', '1,64', '--rounds', '2'];
    const without = parseCompareArgs(base);
    const withControl = parseCompareArgs([...base, '--control']);
    expect(withControl.control).toBe(true);
    expect(planCells(withControl)).toEqual(planCells(without));
    const run = withControl.warmupMs + withControl.durationMs + CELL_OVERHEAD_MS_EST;
    // 2 topologies × (a cluster start + 2 load cells × 2 rounds).
    expect(estimateMs(withControl) - estimateMs(without)).toBe(2 * (loadClusterStartMs(withControl) + 2 * 2 * run));
  });

  it('--sequential runs each protocol × topology together, load cells in scenario × C order, failover last', () => {
    const s = parseCompareArgs(['--sequential', '--protocols', 'raft,zab', '--topologies', '3v,2v1w', '--scenarios', 'failover,insert', '--concurrency', '1,16', '--trials', '3']);
    expect(planCells(s).map(cellLabel)).toEqual([
      'raft 3v insert C=1',
      'raft 3v insert C=16',
      'raft 3v failover ×3',
      'raft 2v1w insert C=1',
      'raft 2v1w insert C=16',
      'raft 2v1w failover ×3',
      'zab 3v insert C=1',
      'zab 3v insert C=16',
      'zab 3v failover ×3',
      'zab 2v1w insert C=1',
      'zab 2v1w insert C=16',
      'zab 2v1w failover ×3',
    ]);
    expect(new Set(planCells(s).map(cellFileName)).size).toBe(12);
  });

  it('the full matrix is every protocol × 3 topologies × (7 scenarios × 4 levels + failover)', () => {
    const s = parseCompareArgs([]);
    expect(planCells(s)).toHaveLength(PROTOCOL_NAMES.length * 3 * ((COMPARE_SCENARIOS.length - 1) * 4 + 1));
    expect(estimateMs(s)).toBeGreaterThan(60 * 60_000);
  });

  it('a failover cell carries the start of its own fresh cluster; failovers alone start no load cluster', () => {
    const s = parseCompareArgs(['--protocols', 'raft,zab', '--topologies', '3v', '--scenarios', 'failover', '--trials', '4']);
    const trials = 4 * (s.failoverSettleMs + TRIAL_OVERHEAD_MS_EST);
    expect(estimateMs(s)).toBe(2 * (CLUSTER_START_MS_EST + trials));
    const withLoad = parseCompareArgs(['--protocols', 'raft,zab', '--topologies', '3v', '--scenarios', 'insert,failover', '--trials', '4', '--concurrency', '1']);
    const run = withLoad.warmupMs + withLoad.durationMs + CELL_OVERHEAD_MS_EST;
    // Two load clusters, two load cells, and the two failover cells as above.
    expect(estimateMs(withLoad)).toBe(2 * loadClusterStartMs(withLoad) + 2 * run + 2 * (CLUSTER_START_MS_EST + trials));
  });

  it('--cluster-warmup: a load cluster warms before its first cell (15 s by default, none in --quick, 0 for none)', () => {
    expect(parseCompareArgs([]).clusterWarmupMs).toBe(15_000);
    expect(parseCompareArgs(['--quick']).clusterWarmupMs).toBe(0);
    expect(parseCompareArgs(['--cluster-warmup', '5s']).clusterWarmupMs).toBe(5_000);
    expect(() => parseCompareArgs(['--cluster-warmup', 'soon'])).toThrow(/--cluster-warmup/);
    const none = parseCompareArgs(['--cluster-warmup', '0s']);
    expect(none.clusterWarmupMs).toBe(0);
    // The help says "0: none": a bare 0 is taken too.
    expect(parseCompareArgs(['--cluster-warmup', '0']).clusterWarmupMs).toBe(0);
    expect(loadClusterStartMs(none)).toBe(CLUSTER_START_MS_EST);
    // Each load cluster's warm-up and its loaders' start are in the expected duration.
    const warm = parseCompareArgs(['--cluster-warmup', '10s']);
    const clusters = warm.protocols.length * warm.topologies.length;
    expect(estimateMs(warm) - estimateMs(none)).toBe(clusters * (10_000 + CELL_OVERHEAD_MS_EST));
  });

  it('--quick is expected to take about 3 minutes', () => {
    const ms = estimateMs(parseCompareArgs(['--quick']));
    expect(ms).toBeGreaterThan(90_000);
    expect(ms).toBeLessThanOrEqual(200_000);
  });
});

describe('Progress', () => {
  const sink = (isTTY: boolean): { out: { isTTY: boolean; write(t: string): void }; text: () => string } => {
    const chunks: string[] = [];
    return { out: { isTTY, write: (t: string) => void chunks.push(t) }, text: () => chunks.join('') };
  };

  it('prints plain lines when not on a terminal: current cell, done of total, ETA', () => {
    const { out, text } = sink(false);
    const p = new Progress([10_000, 20_000], out);
    p.begin('raft 3v insert C=16');
    expect(text()).toBe('[0/2] raft 3v insert C=16 · ETA 30s\n');
    p.done();
    p.log('a log line');
    expect(text()).not.toContain('\r');
  });

  it('rewrites one line on a terminal, logs printing above it', () => {
    const { out, text } = sink(true);
    const p = new Progress([10_000], out);
    p.begin('zab 2v1w failover ×2');
    p.log('cluster started');
    expect(text()).toBe('\r\x1b[2K[0/1] zab 2v1w failover ×2 · ETA 10s\r\x1b[2Kcluster started\n\r\x1b[2K[0/1] zab 2v1w failover ×2 · ETA 10s');
  });

  it('scales the ETA by how fast the done cells went', () => {
    const p = new Progress([10_000, 10_000], sink(false).out);
    const start = Date.now();
    p.done();
    // The first cell took 20 s instead of 10: the second should too.
    expect(p.etaMs(start + 20_000)).toBeGreaterThanOrEqual(19_000);
    expect(p.etaMs(start + 20_000)).toBeLessThanOrEqual(21_000);
  });

  it('moves the ETA while a group of cells is measured over rounds, before any is done', () => {
    const p = new Progress([10_000, 10_000, 20_000], sink(false).out);
    const start = Date.now();
    expect(p.etaMs(start)).toBeCloseTo(40_000, -3);
    // Half of the first two cells measured, in the 10 s they were expected to take.
    p.within(1);
    expect(p.etaMs(start + 10_000)).toBeGreaterThanOrEqual(29_000);
    expect(p.etaMs(start + 10_000)).toBeLessThanOrEqual(31_000);
    // The same part measured in twice the time: the rest should take twice as long too.
    expect(p.etaMs(start + 20_000)).toBeGreaterThanOrEqual(59_000);
    expect(p.etaMs(start + 20_000)).toBeLessThanOrEqual(61_000);
    p.within(1.5);
    expect(p.etaMs(start + 15_000)).toBeGreaterThanOrEqual(24_000);
    expect(p.etaMs(start + 15_000)).toBeLessThanOrEqual(26_000);
    p.done();
    p.done();
    // Done cells replace the partial count.
    expect(p.etaMs(start + 20_000)).toBeGreaterThanOrEqual(19_000);
    expect(p.etaMs(start + 20_000)).toBeLessThanOrEqual(21_000);
  });
});

describe('progressEstimatesMs', () => {
  it('adds up to the expected duration printed up front: each cluster start rides on its first cell', () => {
    for (const argv of [[], ['--quick'], ['--sequential'], ['--rounds', '3', '--topologies', '3v,5v'], ['--control', '--rounds', '2'], ['--protocols', 'raft', '--scenarios', 'failover']]) {
      const s = parseCompareArgs(argv);
      expect(progressEstimatesMs(s, planCells(s)).reduce((a, b) => a + b, 0)).toBe(estimateMs(s));
    }
  });
});

describe('formatDurationMs', () => {
  it('reads like a clock', () => {
    expect([formatDurationMs(42_000), formatDurationMs(185_000), formatDurationMs(3_720_000)]).toEqual(['42s', '3m 05s', '1h 02m']);
  });
});
