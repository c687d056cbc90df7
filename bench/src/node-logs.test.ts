import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSize, readFrom, roleTakenInLog } from './node-logs';

const line = (t: string, role: string, msg = 'role changed'): string => JSON.stringify({ level: 'info', t, node: 'n2', role, msg });

describe('roleTakenInLog', () => {
  const kill = Date.parse('2026-12-05T10:00:00.000Z');

  it('finds the first line at or after the moment that gives the node the role', () => {
    const text = [
      line('2026-12-05T09:59:59.900Z', 'leader'), // before the kill: an earlier term
      line('2026-12-05T10:00:00.030Z', 'follower'),
      line('2026-12-05T10:00:00.045Z', 'candidate'),
      line('2026-12-05T10:00:00.071Z', 'leader'),
      line('2026-12-05T10:00:00.300Z', 'leader'),
    ].join('\n');
    expect(roleTakenInLog(text, 'leader', kill)).toBe(kill + 71);
    expect(roleTakenInLog(text, 'candidate', kill)).toBe(kill + 45);
  });

  it('is null when no such line came, and skips other messages and a line cut by the read', () => {
    const text = [line('2026-12-05T10:00:00.010Z', 'leader', 'took a snapshot and compacted the log'), '{"level":"info","t":"2026-12-05T10:00:00.020Z","msg":"role chang'].join('\n');
    expect(roleTakenInLog(text, 'leader', kill)).toBeNull();
    expect(roleTakenInLog('', 'leader', kill)).toBeNull();
  });
});

describe('readFrom and fileSize', () => {
  it('read what a file gained after a point; a missing file has size 0', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-node-logs-'));
    try {
      const file = path.join(dir, 'n1.log');
      expect(fileSize(file)).toBe(0);
      fs.writeFileSync(file, 'before\n');
      const start = fileSize(file);
      fs.appendFileSync(file, 'after\n');
      expect(readFrom(file, start)).toBe('after\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
