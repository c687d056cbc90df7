/**
 * The line protocol between `quorumlite bench` and its child processes. A child writes
 * `READY`/`LISTENING <port>` once set up, waits for `start <epochMs>` on stdin, and writes one
 * `RESULT <json>` line at the end. Everything else on stdout/stderr is passed through as logs.
 */
export const LINE_LISTENING = 'QLBENCH_LISTENING';
export const LINE_READY = 'QLBENCH_READY';
export const LINE_RESULT = 'QLBENCH_RESULT';
export const LINE_START = 'start';

export type ChildLine = { kind: 'listening'; port: number } | { kind: 'ready' } | { kind: 'result'; json: unknown } | { kind: 'log'; text: string };

export function parseChildLine(line: string): ChildLine {
  if (line.startsWith(`${LINE_LISTENING} `)) {
    const port = Number(line.slice(LINE_LISTENING.length + 1).trim());
    if (Number.isInteger(port) && port > 0) return { kind: 'listening', port };
  }
  if (line.trim() === LINE_READY) return { kind: 'ready' };
  if (line.startsWith(`${LINE_RESULT} `)) {
    try {
      return { kind: 'result', json: JSON.parse(line.slice(LINE_RESULT.length + 1)) as unknown };
    } catch {
      return { kind: 'log', text: line };
    }
  }
  return { kind: 'log', text: line };
}
