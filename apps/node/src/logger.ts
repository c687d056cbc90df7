/**
 * The node's log: pino, one JSON object per line — time (`t`), `level`, `node`, `protocol`,
 * the protocol's fencing number under its own name (`term`, `epoch` or `ballot`), `msg` and
 * the event's fields. Info and below go to stdout, warn and error to stderr. On a terminal the
 * same events are written as readable lines instead.
 */
import type { ReplicaLogger } from '@quorumlite/replica';
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface NodeLogger extends ReplicaLogger {
  /** Where the fencing number on each line comes from, once the replica exists (0 before). */
  setFence(read: () => number): void;
}

export interface NodeLoggerOptions {
  readonly nodeId: string;
  readonly protocol: string;
  /** What the protocol calls its fencing number: the key it is logged under. */
  readonly fencingName: string;
  readonly level: LogLevel;
  /** Readable lines instead of JSON (default: when stdout is a terminal). */
  readonly pretty?: boolean;
  /** Where lines go (tests); default stdout and stderr by level. */
  readonly streams?: { readonly out: DestinationStream; readonly err: DestinationStream };
}

export function nodeLogger(options: NodeLoggerOptions): NodeLogger {
  let fence = (): number => 0;
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const sink = options.streams ?? { out: pino.destination({ dest: 1, sync: true }), err: pino.destination({ dest: 2, sync: true }) };
  const wrap = (s: DestinationStream): DestinationStream => (pretty ? readable(s) : s);
  const logger: Logger = pino(
    {
      level: options.level,
      base: { node: options.nodeId, protocol: options.protocol },
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => ({ [options.fencingName]: fence() }),
    },
    pino.multistream(
      [
        { level: 'debug', stream: wrap(sink.out) },
        { level: 'warn', stream: wrap(sink.err) },
      ],
      { dedupe: true },
    ),
  );
  const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>): void => {
    if (fields) logger[level](withoutBaseKeys(fields), msg);
    else logger[level](msg);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setFence: (read) => {
      fence = read;
    },
  };
}

const KNOWN_KEYS = new Set(['t', 'level', 'node', 'protocol', 'msg']);

/** Every line already names its node and protocol: an event field of either name would repeat the key. */
function withoutBaseKeys(fields: Record<string, unknown>): Record<string, unknown> {
  if (!('node' in fields) && !('protocol' in fields)) return fields;
  const { node, protocol, ...rest } = fields;
  return { ...rest, ...(node !== undefined ? { eventNode: node } : {}), ...(protocol !== undefined ? { eventProtocol: protocol } : {}) };
}
/** The fencing number's key, whichever the protocol calls it. */
const FENCE_KEYS = new Set(['term', 'epoch', 'ballot']);

/** A JSON line as a person reads it: `12:00:01.234 WARN  n2 term=3  msg  key=value …`. */
export function readableLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o.t === 'string' ? o.t.slice(11, 23) : '';
  const level = String(o.level ?? '').toUpperCase().padEnd(5);
  const fence = Object.entries(o).find(([k]) => FENCE_KEYS.has(k));
  const fields = Object.entries(o).filter(([k]) => !KNOWN_KEYS.has(k) && k !== fence?.[0]);
  const fenceText = fence ? `${fence[0]}=${String(fence[1])}` : '';
  const fieldText = fields.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return `${time} ${level} ${String(o.node ?? '')} ${fenceText}  ${String(o.msg ?? '')}${fieldText ? `  ${fieldText}` : ''}\n`;
}

function readable(s: DestinationStream): DestinationStream {
  return { write: (line: string) => s.write(readableLine(line.trimEnd())) };
}
