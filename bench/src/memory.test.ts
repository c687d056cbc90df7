import { describe, expect, it } from 'vitest';
import { parseVmRssBytes, PeakRss, rssBytes } from './memory';

describe('resident memory of servers', () => {
  it('reads VmRSS in kB from a status text, and nothing from a text without it', () => {
    const status = 'Name:\tnode\nVmPeak:\t  900000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t   70000 kB\n';
    expect(parseVmRssBytes(status)).toBe(123456 * 1024);
    expect(parseVmRssBytes('Name:\tzombie\nState:\tZ (zombie)\n')).toBeNull();
    expect(parseVmRssBytes('VmRSS:\t lots kB\n')).toBeNull();
  });

  it('reads this process, and null for a pid that does not exist', () => {
    expect(rssBytes(process.pid)).toBeGreaterThan(1024 * 1024);
    expect(rssBytes(2 ** 30)).toBeNull();
  });

  it('keeps the largest sample per process, and null for one never read', () => {
    const readings: Record<number, (number | null)[]> = { 1: [10, 30, 20].map((m) => m * 1024 * 1024), 2: [null, null, null] };
    const peak = new PeakRss({ n1: 1, n2: 2 }, (pid) => readings[pid]!.shift() ?? null);
    peak.sample();
    peak.sample();
    peak.sample();
    expect(peak.megabytes()).toEqual({ n1: 30, n2: null });
  });
});
