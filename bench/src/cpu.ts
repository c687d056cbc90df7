/**
 * CPU time of processes from /proc/<pid>/stat (utime + stime), so a run can report how many
 * cores the loaders and each server burned over the measured window.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

let ticksPerSecond: number | null = null;

export function clockTicksPerSecond(): number {
  if (ticksPerSecond !== null) return ticksPerSecond;
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
    ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** utime + stime in clock ticks from the text of /proc/<pid>/stat, or null when malformed. */
export function parseProcStatTicks(stat: string): number | null {
  // The command name (field 2) is in parentheses and may hold spaces; fields resume after ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // After the name: state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** CPU seconds used so far by pid, or null when it is gone or /proc is not there. */
export function cpuSeconds(pid: number): number | null {
  try {
    const ticks = parseProcStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return ticks === null ? null : ticks / clockTicksPerSecond();
  } catch {
    return null;
  }
}

export type CpuSnapshot = Map<number, number | null>;

export function snapshotCpu(pids: readonly number[]): CpuSnapshot {
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
}

/** Cores used by the given pids between two snapshots (null when any reading is missing). */
export function coresUsed(before: CpuSnapshot, after: CpuSnapshot, pids: readonly number[], windowMs: number): number | null {
  let total = 0;
  for (const pid of pids) {
    const a = before.get(pid);
    const b = after.get(pid);
    if (a === null || a === undefined || b === null || b === undefined) return null;
    total += b - a;
  }
  return windowMs > 0 ? total / (windowMs / 1000) : null;
}
