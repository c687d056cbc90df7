/**
 * The pure parts of the harness: the seeded schedule, outcome classification, the command
 * line, replay commands, the replica comparison and the translation to checker ops.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { QuorumliteError } from '../../libs/client/src';
import {
  FAULTS_BY_NEMESIS,
  HistoryRecorder,
  parseChaosArgs,
  parseDurationMs,
  planSchedule,
  replayCommand,
  replicasIdentical,
  resolveOptions,
  toAppendOps,
  toBankOps,
  toRegisterOps,
  writeOutcome,
  type ChaosRun,
  type FaultKind,
} from '@quorumlite/chaos';
import { overallTimeoutMsDefault } from '../../libs/chaos/src/harness/run';

const ALL: FaultKind[] = Object.values(FAULTS_BY_NEMESIS).flat();

function err(code: string): QuorumliteError {
  return new QuorumliteError(code, { code, grpcCode: grpc.status.UNKNOWN });
}

describe('planSchedule', () => {
  const options = { faults: ALL, seed: 42, durationMs: 60_000, quietMs: [1_000, 2_000] as const, holdMs: [2_000, 3_000] as const };

  it('is a function of the seed', () => {
    expect(planSchedule(options)).toEqual(planSchedule(options));
    expect(planSchedule({ ...options, seed: 43 })).not.toEqual(planSchedule(options));
  });

  it('starts with every kind once, then keeps within the duration without overlaps', () => {
    const plan = planSchedule(options);
    expect(new Set(plan.slice(0, ALL.length).map((f) => f.kind))).toEqual(new Set(ALL));
    for (const [i, f] of plan.entries()) {
      expect(f.atMs + f.holdMs).toBeLessThanOrEqual(options.durationMs);
      expect(f.holdMs).toBeGreaterThanOrEqual(2_000);
      const next = plan[i + 1];
      if (next) expect(next.atMs).toBeGreaterThanOrEqual(f.atMs + f.holdMs + 1_000);
    }
  });

  it('plans nothing without faults or time', () => {
    expect(planSchedule({ ...options, faults: [] })).toEqual([]);
    expect(planSchedule({ ...options, durationMs: 2_500 })).toEqual([]);
  });
});

describe('writeOutcome', () => {
  it('fails only what certainly did not apply', () => {
    for (const code of ['sql_error', 'refused', 'invalid', 'too_large']) expect(writeOutcome(err(code), true)).toBe('fail');
    for (const code of ['not_leader', 'no_leader', 'overloaded']) {
      expect(writeOutcome(err(code), false)).toBe('fail');
      // An earlier attempt that timed out may still have been applied.
      expect(writeOutcome(err(code), true)).toBe('unknown');
    }
    for (const code of ['timeout', 'unavailable', 'internal', 'something_new']) expect(writeOutcome(err(code), false)).toBe('unknown');
    expect(writeOutcome(new Error('boom'), false)).toBe('unknown');
  });
});

describe('command line', () => {
  it('parses the documented flags', () => {
    const { options } = parseChaosArgs(
      ['--protocol', 'raft', '--nemesis', 'kill,partition-bridge', '--workload=register,bank', '--duration', '90s', '--seed', '7', '--nodes', '5', '--workers', '4', '--client-timeout', '500ms'],
      () => 99,
    );
    expect(options).toMatchObject({ protocol: 'raft', nemesis: ['kill', 'partition-bridge'], workloads: ['register', 'bank'], durationMs: 90_000, seed: 7, nodes: 5, workers: 4, clientTimeoutMs: 500 });
    expect(parseChaosArgs([], () => 99).options.seed).toBe(99);
    expect(parseChaosArgs(['--overall-timeout', '4m'], () => 1).options.overallTimeoutMs).toBe(240_000);
    expect(parseChaosArgs(['--nemesis', 'none'], () => 1).options.nemesis).toEqual([]);
  });

  it('rejects what it does not know, with a sentence', () => {
    expect(() => parseChaosArgs(['--nemesis', 'flood'])).toThrow(/--nemesis: unknown 'flood'/);
    expect(() => parseChaosArgs(['--seed', '-1'])).toThrow(/--seed must be an integer >= 0/);
    expect(() => parseChaosArgs(['--bogus'])).toThrow(/unknown option '--bogus'/);
    expect(() => parseDurationMs('soon')).toThrow(/not a duration/);
    expect(() => parseChaosArgs(['--overall-timeout', 'later'])).toThrow("--overall-timeout 'later' is not a duration");
    expect(() => parseChaosArgs(['--overall-timeout', '0s'])).toThrow('--overall-timeout must be longer than 0');
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1500ms')).toBe(1_500);
  });

  it('prints a replay command that parses back to the same options', () => {
    const o = resolveOptions({ seed: 5, durationMs: 45_000, nemesis: ['pause', 'partition-leader'], workloads: ['append'], workers: 3, clientTimeoutMs: 900 });
    const cmd = replayCommand(o);
    const argv = cmd.replace(/^npm run chaos -- /, '').split(' ');
    expect(resolveOptions(parseChaosArgs(argv).options)).toEqual(o);
  });

  it('derives the overall deadline from the duration, and replays one that was chosen', () => {
    const byDefault = resolveOptions({ seed: 5, durationMs: 45_000 });
    expect(byDefault.overallTimeoutMs).toBe(overallTimeoutMsDefault(45_000));
    expect(overallTimeoutMsDefault(45_000)).toBeGreaterThan(45_000);
    expect(replayCommand(byDefault)).not.toContain('--overall-timeout');
    const chosen = resolveOptions({ seed: 5, durationMs: 1_500, nemesis: [], overallTimeoutMs: 240_000 });
    const cmd = replayCommand(chosen);
    expect(cmd).toContain('--overall-timeout 240000ms');
    expect(cmd).toContain('--nemesis none');
    expect(resolveOptions(parseChaosArgs(cmd.replace(/^npm run chaos -- /, '').split(' ')).options)).toEqual(chosen);
    expect(() => resolveOptions({ seed: 5, durationMs: 1_000, overallTimeoutMs: 0 })).toThrow('overallTimeoutMs must be a positive integer, got 0');
  });
});

function runWithDumps(tables: Record<string, unknown[][] | null>[]): ChaosRun {
  return {
    seed: 1,
    options: resolveOptions({ seed: 1, durationMs: 1 }),
    history: [],
    timeline: [],
    plan: [],
    problems: [],
    phases: [],
    startedAtMs: 0,
    endedAtMs: 1,
    dumps: tables.map((t, i) => ({ nodeId: `n${i + 1}`, tables: t as never, appliedIndex: '1' })),
    witnesses: [],
  };
}

describe('replicasIdentical', () => {
  it('passes identical replicas and names the one that differs or could not be read', () => {
    expect(replicasIdentical(runWithDumps([{ reg: [[1n, 2n]] }, { reg: [[1n, 2n]] }])).valid).toBe(true);
    const v = replicasIdentical(runWithDumps([{ reg: [[1n, 2n]] }, { reg: [[1n, 3n]] }, { reg: null }]));
    expect(v.valid).toBe(false);
    expect(v.reasons).toEqual(['node n3: table reg could not be read', 'table reg: node n2 differs from node n1', 'table reg: node n3 differs from node n1']);
  });
});

describe('translation to checker ops', () => {
  it('keeps ids, processes, times and outcomes, and renames reads', () => {
    const h = new HistoryRecorder();
    const w = h.invoke(0, 'register', { f: 'write', key: 1, value: 10 }, 'r1');
    h.complete(w, 'ok', { f: 'write' });
    const c = h.invoke(1, 'register', { f: 'cas', key: 1, from: 10, to: 11 }, 'r2');
    h.complete(c, 'unknown', null, { error: err('timeout') });
    const t = h.invoke(2, 'bank', { f: 'transfer', from: 0, to: 1, amount: 5 }, 'r3');
    h.complete(t, 'fail', null, { error: err('sql_error') });
    const b = h.invoke(2, 'bank', { f: 'balances' });
    h.complete(b, 'ok', { f: 'balances', balances: { '0': 100, '1': 100 } });
    const l = h.invoke(3, 'append', { f: 'list', key: 2 });
    h.complete(l, 'ok', { f: 'list', values: [7] });
    const ops = h.seal();

    const reg = toRegisterOps(ops);
    expect(reg.map((o) => [o.id, o.process, o.outcome, o.input.f, o.input.key])).toEqual([
      [0, 0, 'ok', 'write', '1'],
      [1, 1, 'unknown', 'cas', '1'],
    ]);
    expect(reg[1]!.output).toBeNull();
    expect(reg[1]!.completeMs).toBeNull(); // unknown: may still take effect after the client gave up
    const bank = toBankOps(ops);
    expect(bank.map((o) => [o.input.f, o.outcome])).toEqual([
      ['transfer', 'fail'],
      ['read', 'ok'],
    ]);
    expect(bank[1]!.output).toEqual({ f: 'read', balances: { '0': 100, '1': 100 } });
    expect(toAppendOps(ops)).toMatchObject([{ input: { f: 'read', key: '2' }, output: { f: 'read', values: [7] } }]);
    for (const op of ops) expect(op.completeMs).toBeGreaterThanOrEqual(op.invokeMs);
  });
});
