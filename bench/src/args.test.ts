import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { BenchArgsError, DEFAULT_SETTINGS, parseBenchArgs, parseDurationMs, parseList, splitConcurrency } from './args';

describe('parseDurationMs', () => {
  it('reads ms, s, m and h, with decimals', () => {
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1.5s')).toBe(1_500);
    expect(parseDurationMs('1h')).toBe(3_600_000);
  });

  it('reads a bare 0 as none (the help offers it), and the flags that need time still refuse it', () => {
    expect(parseDurationMs('0', 'cluster-warmup')).toBe(0);
    expect(parseDurationMs(' 0 ')).toBe(0);
    expect(() => parseBenchArgs(['--duration', '0'])).toThrow(/--duration: must be at least 1ms/);
  });

  it('refuses a bare number or a wrong unit, naming the flag', () => {
    expect(() => parseDurationMs('10', 'warmup')).toThrow(/--warmup: '10' is not a duration/);
    expect(() => parseDurationMs('10 sec')).toThrow(BenchArgsError);
    expect(() => parseDurationMs('-1s')).toThrow(BenchArgsError);
  });
});

describe('parseList and parseBenchArgs', () => {
  it('splits lists, dropping blanks', () => {
    expect(parseList(' a, b,,c ')).toEqual(['a', 'b', 'c']);
  });

  it('uses the defaults without flags', () => {
    expect(parseBenchArgs([])).toEqual(DEFAULT_SETTINGS);
  });

  it('reads every flag', () => {
    const s = parseBenchArgs(['--concurrency', '1,8', '--duration', '2s', '--warmup', '500ms', '--scenarios', 'insert,batch100', '--loaders', '3', '--out', '/tmp/x', '--baselines', 'none', '--preload-rows', '50', '--node-args= --snapshot-every-entries  100000 ']);
    expect(s).toMatchObject({ concurrency: [1, 8], durationMs: 2_000, warmupMs: 500, scenarios: ['insert', 'batch100'], loaders: 3, outDir: '/tmp/x', baselines: [], preloadRows: 50, nodeArgs: ['--snapshot-every-entries', '100000'] });
  });

  it('--interleave measures the protocols back to back per cell; it refuses the peers, which it does not measure', () => {
    expect(parseBenchArgs(['--rounds', '3']).interleave).toBe(false);
    expect(parseBenchArgs(['--rounds', '3', '--interleave']).interleave).toBe(true);
    expect(() => parseBenchArgs(['--interleave', '--reference', 'etcd'])).toThrow(/--interleave: measures the protocols only/);
  });

  it('reads the peers to measure and their failover trials; none by default', () => {
    expect(parseBenchArgs([])).toMatchObject({ reference: [], referenceTrials: 5 });
    expect(parseBenchArgs(['--reference', 'etcd,zookeeper', '--reference-trials', '0'])).toMatchObject({ reference: ['etcd', 'zookeeper'], referenceTrials: 0 });
    expect(() => parseBenchArgs(['--reference', 'consul'])).toThrow(/unknown system 'consul'/);
    expect(() => parseBenchArgs(['--reference-trials', '-1'])).toThrow(/--reference-trials/);
  });

  it('--tls turns on mutual TLS for the clusters under test; off by default', () => {
    expect(parseBenchArgs([]).tls).toBe(false);
    expect(parseBenchArgs(['--tls']).tls).toBe(true);
  });

  it('--quick shortens the run but explicit flags still win', () => {
    const s = parseBenchArgs(['--quick', '--duration', '5s']);
    expect(s).toMatchObject({ quick: true, concurrency: [1, 64], durationMs: 5_000, warmupMs: 1_000 });
  });

  it('refuses unknown scenarios, flags and non-positive numbers', () => {
    expect(() => parseBenchArgs(['--scenarios', 'insert,upsert'])).toThrow(/unknown scenario 'upsert'/);
    expect(() => parseBenchArgs(['--concurrency', '0'])).toThrow(/--concurrency/);
    expect(() => parseBenchArgs(['--loaders', 'two'])).toThrow(/--loaders/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(BenchArgsError);
  });
});

describe('--protocols and --node-args', () => {
  it('defaults to every registered protocol, in registry order', () => {
    expect(parseBenchArgs([]).protocols).toEqual([...PROTOCOL_NAMES]);
    expect(PROTOCOL_NAMES).toEqual(expect.arrayContaining(['raft', 'zab', 'multipaxos']));
  });

  it('keeps the order given', () => {
    expect(parseBenchArgs(['--protocols', 'zab, raft']).protocols).toEqual(['zab', 'raft']);
    expect(parseBenchArgs(['--protocols=multipaxos']).protocols).toEqual(['multipaxos']);
  });

  it('names an unknown protocol and the known ones', () => {
    const error = (): unknown => parseBenchArgs(['--protocols', 'raft,pbft']);
    expect(error).toThrow(BenchArgsError);
    expect(error).toThrow(`--protocols: unknown protocol 'pbft' (known: ${PROTOCOL_NAMES.join(', ')})`);
  });

  it('refuses an empty list and a protocol listed twice', () => {
    expect(() => parseBenchArgs(['--protocols', ' , '])).toThrow(/--protocols: give at least one/);
    expect(() => parseBenchArgs(['--protocols', 'zab,raft,zab'])).toThrow(/--protocols: 'zab' is listed twice/);
  });

  it('refuses --node-args that set the protocol, in either spelling', () => {
    expect(() => parseBenchArgs(['--node-args=--tick-ms 10 --protocol zab'])).toThrow(/--node-args: '--protocol' sets the protocol of every node; choose protocols with --protocols/);
    expect(() => parseBenchArgs(['--node-args=--protocol=zab'])).toThrow(/'--protocol=zab'/);
    expect(parseBenchArgs(['--node-args=--protocol-free-flag 1']).nodeArgs).toEqual(['--protocol-free-flag', '1']);
  });
});

describe('splitConcurrency', () => {
  it('spreads clients over loaders, never starting an idle loader', () => {
    expect(splitConcurrency(10, 3)).toEqual([4, 3, 3]);
    expect(splitConcurrency(64, 2)).toEqual([32, 32]);
    expect(splitConcurrency(1, 2)).toEqual([1]);
    for (const [c, l] of [[1, 1], [7, 4], [256, 3]] as const) {
      const parts = splitConcurrency(c, l);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(c);
      expect(Math.min(...parts)).toBeGreaterThan(0);
    }
  });
});
