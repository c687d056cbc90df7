import { describe, expect, it } from 'vitest';
import { Histogram } from './histogram';
import type { WorkerResult } from './loop';
import { errorCodeOf } from './loop';
import { mergeWorkerResults, type RunRow } from './merge';
import { renderMarkdown, rowFailed, summarize } from './report';
import { parseProcStatTicks } from './cpu';

function worker(latenciesUs: number[], errorsByCode: Record<string, number> = {}): WorkerResult {
  const h = new Histogram();
  for (const v of latenciesUs) h.record(v);
  const errors = Object.values(errorsByCode).reduce((a, b) => a + b, 0);
  return { ops: latenciesUs.length, errors, errorsByCode, errorSamples: Object.keys(errorsByCode).map((c) => `${c}: x`), histogram: h.toJSON(), windowMs: 1000, clients: 1, abandoned: 0 };
}

const NO_CPU = { loaderCores: null, serverCores: {} };

function row(name: string, concurrency: number, ops: number, perOp = 1, errors: Record<string, number> = {}): RunRow {
  const kind = name === 'echo' ? 'echo' : name.startsWith('sqlite') ? 'sqlite' : 'quorumlite';
  const protocol = kind === 'quorumlite' ? 'raft' : null;
  return mergeWorkerResults({ name, kind, protocol, concurrency, durationMs: 1000, statementsPerOp: perOp }, [worker(Array.from({ length: ops }, () => 1000), errors)], NO_CPU);
}

describe('mergeWorkerResults', () => {
  it('adds counts and errors by code, and takes percentiles over all operations', () => {
    const a = worker([1000, 2000, 3000], { unavailable: 1 });
    const b = worker([40_000], { unavailable: 2, timeout: 1 });
    const r = mergeWorkerResults({ name: 'insert', kind: 'quorumlite', protocol: 'raft', concurrency: 4, durationMs: 2000, statementsPerOp: 100 }, [a, b], NO_CPU);
    expect(r).toMatchObject({ ops: 4, errors: 4, errorsByCode: { unavailable: 3, timeout: 1 }, loaders: 2, opsPerSec: 2, statementsPerSec: 200, errorRate: 0.5 });
    // Percentiles are bucket upper bounds: at most 1/128 above the recorded 2 ms.
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(2);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(2 * (1 + 1 / 128));
    expect(r.latencyMs.max).toBe(40);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(40 * (1 - 1 / 128));
    expect(r.errorSamples).toEqual(['unavailable: x', 'timeout: x']);
  });
});

describe('summarize', () => {
  it('takes the ratios at C=64 and flags runs over the error budget', () => {
    const rows = [row('echo', 1, 10), row('echo', 64, 2000), row('insert', 64, 1500), row('batch100', 64, 600, 100), row('batch100', 1, 100, 100), row('sqlite-1', 1, 5000), row('select', 64, 100, 1, { timeout: 2 })];
    const s = summarize(rows);
    expect(s.referenceConcurrency).toBe(64);
    expect(s.protocols.map((p) => p.protocol)).toEqual(['raft']);
    expect(s.protocols[0]!.insertEchoRatio).toBeCloseTo(0.75);
    expect(s.protocols[0]!.batch100StatementsPerSec).toBe(60_000);
    expect(s.protocols[0]!.batch100BestStatementsPerSec).toBe(60_000);
    expect(s.sqliteCommitsPerSec).toBe(5000);
    expect(s.failedRows).toEqual(['raft select@C=64']);
    expect(rowFailed(row('insert', 1, 0))).toBe(true);
    const md = renderMarkdown({ startedAt: 't', cpus: 2, cpuModel: 'cpu', node: 'v20', platform: 'linux' }, 'settings', rows, s);
    expect(md).toContain('| insert | 64 | 1 | 1,500 |');
    expect(md).toContain('= 0.75');
  });
});

describe('errorCodeOf and /proc parsing', () => {
  it('names errors by string code, gRPC status or class', () => {
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'not_leader' }))).toBe('not_leader');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 14 }))).toBe('UNAVAILABLE');
    expect(errorCodeOf(new TypeError('x'))).toBe('TypeError');
    expect(errorCodeOf('boom')).toBe('unknown');
  });

  it('reads utime + stime after a command name holding spaces and parentheses', () => {
    const stat = '1234 (node (a) b) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
    expect(parseProcStatTicks(stat)).toBe(325);
    expect(parseProcStatTicks('garbage')).toBeNull();
  });
});
