import { describe, expect, it } from 'vitest';
import { BenchArgsError } from './args';
import { parseFailoverArgs, percentile } from './failover';

describe('failover bench', () => {
  it('parses its flags with defaults and names a bad one', () => {
    expect(parseFailoverArgs([])).toMatchObject({ trials: 10, writers: 16, settleMs: 1500, nodeArgs: [] });
    expect(parseFailoverArgs(['--trials', '3', '--node-args=--tick-ms 10'])).toMatchObject({ trials: 3, nodeArgs: ['--tick-ms', '10'] });
    expect(() => parseFailoverArgs(['--trials', 'x'])).toThrow(/trials/);
    expect(() => parseFailoverArgs(['--bogus'])).toThrow(BenchArgsError);
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
