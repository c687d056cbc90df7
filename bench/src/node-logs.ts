/**
 * Reading what local nodes wrote to their log files during a trial: where a file ends now
 * (read from there after the fault), and the moment a node's own log says it took a role.
 */
import * as fs from 'node:fs';

/** The file's size, or 0 when it does not exist yet. */
export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** What the file holds from byte `start` on. */
export function readFrom(file: string, start: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const length = Math.max(0, fs.fstatSync(fd).size - start);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, start);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A node's "role changed" line: when (wall-clock ms), the role it took, and every field it logged. */
export interface RoleChange {
  wallMs: number;
  role: unknown;
  entry: Record<string, unknown>;
}

/** The "role changed" lines of a node's log, in order (a line cut by the read's end is skipped). */
export function roleChanges(text: string): RoleChange[] {
  const out: RoleChange[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"role changed"')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const wallMs = typeof entry.t === 'string' ? Date.parse(entry.t) : NaN;
    if (entry.msg === 'role changed' && Number.isFinite(wallMs)) out.push({ wallMs, role: entry.role, entry });
  }
  return out;
}

/**
 * The wall-clock time (ms) of the first "role changed" line at or after `sinceWallMs` that makes
 * the node `role`, or null (none, or the node logs no role changes: a level above info).
 */
export function roleTakenInLog(text: string, role: string, sinceWallMs: number): number | null {
  return roleChanges(text).find((c) => c.role === role && c.wallMs >= sinceWallMs)?.wallMs ?? null;
}
