import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { describe, expect, it } from 'vitest';
import { BenchArgsError } from './args';
import { parseFailoverArgs, percentile, renderFailoverSummary, summarizeStalls, type FailoverTrial } from './failover';

function trial(stallMs: number): FailoverTrial {
  return { killed: 'n1', newLeader: 'n2', stallMs, electedMs: stallMs / 2, failedWrites: 0, okWrites: 1 };
}

describe('failover bench', () => {
  it('parses its flags with defaults and names a bad one', () => {
    expect(parseFailoverArgs([])).toMatchObject({ trials: 10, writers: 16, settleMs: 1500, nodeArgs: [] });
    expect(parseFailoverArgs(['--trials', '3', '--node-args=--tick-ms 10'])).toMatchObject({ trials: 3, nodeArgs: ['--tick-ms', '10'] });
    expect(() => parseFailoverArgs(['--trials', 'x'])).toThrow(/trials/);
    expect(() => parseFailoverArgs(['--bogus'])).toThrow(BenchArgsError);
  });

  it('runs every registered protocol by default, or those --protocols names, and checks them', () => {
    expect(parseFailoverArgs([]).protocols).toEqual([...PROTOCOL_NAMES]);
    expect(parseFailoverArgs(['--protocols', 'zab,raft']).protocols).toEqual(['zab', 'raft']);
    expect(() => parseFailoverArgs(['--protocols', 'zab,vr'])).toThrow(`--protocols: unknown protocol 'vr' (known: ${PROTOCOL_NAMES.join(', ')})`);
    expect(() => parseFailoverArgs(['--node-args=--protocol raft'])).toThrow(/--node-args: '--protocol' sets the protocol/);
  });

  it('summarizes stalls per protocol and prints one line each', () => {
    const raft = summarizeStalls([300, 100, 200].map(trial), 16);
    expect(raft).toEqual({ trials: 3, writers: 16, stallMsMedian: 200, stallMsMin: 100, stallMsP90: 300, stallMsMax: 300 });
    const text = renderFailoverSummary([
      { protocol: 'raft', summary: raft, trials: [], failure: null },
      { protocol: 'multipaxos', summary: summarizeStalls([trial(50)], 16), trials: [], failure: 'trial 2: no write succeeded' },
      { protocol: 'zab', summary: summarizeStalls([], 16), trials: [], failure: 'cluster did not start' },
    ]).split('\n');
    expect(text).toEqual([
      'raft        stall median 200 ms, min 100, p90 300, max 300 over 3 trials, 16 writers',
      'multipaxos  stall median 50 ms, min 50, p90 50, max 50 over 1 trials, 16 writers — FAILED: trial 2: no write succeeded',
      'zab         stall no trial completed — FAILED: cluster did not start',
    ]);
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.9)).toBe(90);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.5)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });
});
