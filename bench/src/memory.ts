/**
 * Resident memory of server processes from /proc/<pid>/status, sampled through a run so the
 * report can give each node's peak (issue 18: a node under 200 MB on a fresh cluster).
 */
import * as fs from 'node:fs';

/** How often a run samples its servers' resident memory. */
export const RSS_SAMPLE_MS = 200;

/** VmRSS in bytes from the text of /proc/<pid>/status, or null when absent or malformed. */
export function parseVmRssBytes(status: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/** Resident bytes of pid now, or null when it is gone or /proc is not there. */
export function rssBytes(pid: number): number | null {
  try {
    return parseVmRssBytes(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** The largest resident size each labelled process reached while sampled. */
export class PeakRss {
  private readonly peaks = new Map<string, number | null>();

  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly read: (pid: number) => number | null = rssBytes,
  ) {
    for (const label of Object.keys(pids)) this.peaks.set(label, null);
  }

  sample(): void {
    for (const [label, pid] of Object.entries(this.pids)) {
      const now = this.read(pid);
      const before = this.peaks.get(label) ?? null;
      if (now !== null && (before === null || now > before)) this.peaks.set(label, now);
    }
  }

  /** Peak megabytes (MiB) per label; null for a process never read. */
  megabytes(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const [label, bytes] of this.peaks) out[label] = bytes === null ? null : bytes / (1024 * 1024);
    return out;
  }
}
