/** JSON-lines logger on stdout/stderr: one object per line, greppable and machine-readable. */
import type { ReplicaLogger } from '@quorumlite/replica';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(nodeId: string, level: Level): ReplicaLogger {
  const min = RANK[level];
  const write = (lvl: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[lvl] < min) return;
    const line = JSON.stringify({ t: new Date().toISOString(), level: lvl, node: nodeId, msg, ...fields });
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
