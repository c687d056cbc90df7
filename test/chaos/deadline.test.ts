/**
 * The run's overall deadline: a phase that never finishes is stopped waiting for at the
 * deadline, named in the failing result with every phase's duration, and the run still writes
 * its evidence and stops its processes. The whole run here uses a stand-in node (a few lines of
 * grpc-js) whose replicas never catch up with the commit index it reports, so convergence can
 * never happen; it takes seconds, not the minute a real chaos run takes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChaos, summaryLines } from '@quorumlite/chaos';
import { DeadlineExceededError, PhaseClock, describePhases, settleWithin } from '../../libs/chaos/src/harness/phases';

const REPO = path.resolve(__dirname, '../..');

/**
 * A one-node cluster's node: leads, takes every Execute and Query, and reports a commit index
 * its own applied index never reaches. It writes its pid to --pid-dir so the test can check it
 * was stopped.
 */
const STUCK_NODE = `'use strict';
const fs = require('node:fs');
const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))});
const protoLoader = require(${JSON.stringify(require.resolve('@grpc/proto-loader'))});
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const [id, listen] = [arg('--node-id'), arg('--listen')];
fs.writeFileSync(require('node:path').join(arg('--pid-dir'), id + '.pid'), String(process.pid));
const proto = grpc.loadPackageDefinition(
  protoLoader.loadSync('quorumlite/v1/sql.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [${JSON.stringify(path.join(REPO, 'proto'))}] }),
);
const server = new grpc.Server();
// The only member, so it leads.
server.addService(proto.quorumlite.v1.SqlService.service, {
  Status: (_call, cb) => cb(null, { node_id: id, role: 'leader', leader_id: id, leader_address: listen, term: '1', commit_index: '10', applied_index: '0' }),
  Execute: (call, cb) => cb(null, { results: call.request.statements.map(() => ({ rows_affected: '1', last_insert_rowid: '0' })), index: '1', duplicate: false }),
  Query: (_call, cb) => cb(null, { columns: [], rows: [], index: '1', truncated: false }),
});
// Served until LocalCluster stops it (SIGTERM's default action ends the process).
server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log(JSON.stringify({ level: 'info', msg: 'serving', id, listen }));
});
`;

/** A scratch directory holding the stand-in node, its pid files and the run's evidence. */
const scratch = { dir: '', nodeBin: '' };

beforeAll(() => {
  scratch.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-chaos-deadline-'));
  scratch.nodeBin = path.join(scratch.dir, 'stuck-node.cjs');
  fs.writeFileSync(scratch.nodeBin, STUCK_NODE);
});

afterAll(() => fs.rmSync(scratch.dir, { recursive: true, force: true }));

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

describe('PhaseClock', () => {
  it('stops waiting for a phase at the deadline, names it, aborts its work and starts no later phase', async () => {
    const clock = new PhaseClock(200);
    try {
      expect(await clock.run('setup', async () => 'ok')).toBe('ok');
      let seen: AbortSignal | null = null;
      const err = await clock
        .run('converge', (signal) => {
          seen = signal;
          return never();
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeadlineExceededError);
      expect((err as DeadlineExceededError).phase).toBe('converge');
      expect((err as Error).message).toBe("the run passed its overall deadline of 200 ms while in phase 'converge'");
      expect(seen!.aborted).toBe(true);
      expect(clock.expired()).toBe(true);

      let started = false;
      await expect(
        clock.run('dumps', async () => {
          started = true;
        }),
      ).rejects.toMatchObject({ phase: 'dumps' });
      expect(started).toBe(false);
      expect(clock.timings.map((t) => [t.name, t.ended])).toEqual([
        ['setup', 'done'],
        ['converge', 'deadline'],
        ['dumps', 'deadline'],
      ]);
    } finally {
      clock.dispose();
    }
  });

  it('records a phase that threw as failed and passes its error on', async () => {
    const clock = new PhaseClock(60_000);
    try {
      await expect(clock.run('setup', async () => Promise.reject(new Error('no schema')))).rejects.toThrow('no schema');
      expect(clock.timings).toMatchObject([{ name: 'setup', ended: 'failed' }]);
      expect(describePhases(clock.timings)).toMatch(/^setup \d+\.\d s \(failed\)$/);
    } finally {
      clock.dispose();
    }
  });
});

describe('settleWithin', () => {
  it('returns when its bound passes, counting what is still pending and what failed', async () => {
    const r = await settleWithin([Promise.resolve(), Promise.reject(new Error('crashed')), never()], 50, new AbortController().signal);
    expect(r.pending).toBe(1);
    expect(r.rejected.map((e) => (e as Error).message)).toEqual(['crashed']);
  });

  it('returns at once when its signal aborts', async () => {
    const controller = new AbortController();
    const settled = settleWithin([never()], 600_000, controller.signal);
    controller.abort();
    expect((await settled).pending).toBe(1);
  });
});

describe('runChaos with a convergence that never happens', () => {
  it('ends at its deadline with a problem naming the stuck phase, evidence written and no process left', async () => {
    const pidDir = fs.mkdtempSync(path.join(scratch.dir, 'pids-'));
    const artifactsRoot = path.join(scratch.dir, 'evidence');
    const lines: string[] = [];
    const result = await runChaos({
      seed: 11,
      durationMs: 300,
      nodes: 1,
      workers: 2,
      workloads: ['register'],
      nemesis: [],
      nodeBin: scratch.nodeBin,
      nodeArgs: ['--pid-dir', pidDir],
      artifactsRoot,
      // Convergence alone would wait ten minutes; the run's deadline must cut it short.
      convergeTimeoutMs: 600_000,
      overallTimeoutMs: 8_000,
      log: (line) => lines.push(line),
    });
    const context = `${lines.join('\n')}\n${summaryLines(result).join('\n')}`;
    console.log(summaryLines(result).join('\n'));

    expect(result.valid, context).toBe(false);
    expect(result.phases.map((p) => p.name), context).toEqual(['start', 'setup', 'faults', 'drain', 'heal', 'converge', 'stop']);
    expect(result.phases.find((p) => p.ended !== 'done'), context).toMatchObject({ name: 'converge', ended: 'deadline' });
    expect(result.problems, context).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^the run passed its overall deadline of 8000 ms while in phase 'converge'; it stopped waiting there \(phases: start \d+\.\d s, setup .*, converge \d+\.\d s \(stuck at the deadline\)\)$/);
    expect(result.verdicts).toEqual([{ name: 'harness', valid: false, reasons: result.problems }]);
    expect(result.history.length, context).toBeGreaterThan(0);
    expect(summaryLines(result)).toContain(`phases: ${describePhases(result.phases)}`);

    // The evidence: history, timeline with the phases, node logs, and the replay command.
    expect(result.artifactsDir).not.toBeNull();
    const dir = result.artifactsDir!;
    expect(fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(result.history.length);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'timeline.json'), 'utf8')).phases).toEqual(result.phases);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')).problems).toEqual(result.problems);
    expect(fs.readFileSync(path.join(dir, 'nodes', 'n1', 'n1.log'), 'utf8')).toContain('"msg":"serving"');
    const readme = fs.readFileSync(path.join(dir, 'README.txt'), 'utf8');
    expect(readme).toContain(`replay: ${result.replayCommand}`);
    expect(readme).toContain("while in phase 'converge'");
    expect(result.replayCommand).toContain('--overall-timeout 8000ms');

    // Every node process it started was stopped before it returned.
    const pids = fs.readdirSync(pidDir).map((f) => Number(fs.readFileSync(path.join(pidDir, f), 'utf8')));
    expect(pids).toHaveLength(1);
    // Signal 0 only asks whether the process exists: ESRCH means it is gone.
    for (const pid of pids) expect(() => process.kill(pid, 0), `node process ${pid} is still running`).toThrow(/ESRCH/);
  }, 60_000); // the run's own deadline is 8 s; the rest is margin for a loaded machine
});
