import { afterEach, describe, expect, it, vi } from 'vitest';
import { NodeSupervisor, restartDelayMs, type RestartPolicy, type Restartable } from './supervisor';

const POLICY: RestartPolicy = { firstDelayMs: 100, delayMaxMs: 350, attemptsMax: 3, stableAfterMs: 10_000 };

/** A node that either comes back or exits again at once, as a LocalCluster reports it. */
class NodeThatCrashes implements Restartable {
  restarts = 0;
  comesBack = false;
  restart(): Promise<void> {
    this.restarts++;
    return this.comesBack ? Promise.resolve() : Promise.reject(new Error('node n2 exited while restarting:\nbad config'));
  }
  kill(): Promise<void> {
    return Promise.resolve();
  }
  isRunning(): boolean {
    return false;
  }
  pid(): number {
    return 4242;
  }
  logFile(id: string): string {
    return `/data/logs/${id}.log`;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('restartDelayMs', () => {
  it('doubles from the first delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((a) => restartDelayMs(POLICY, a))).toEqual([100, 200, 350, 350, 350]);
  });
});

describe('NodeSupervisor', () => {
  it('retries with growing delays, logs each try, and gives up after attemptsMax', async () => {
    vi.useFakeTimers();
    const node = new NodeThatCrashes();
    const lines: string[] = [];
    const supervisor = new NodeSupervisor(node, (l) => lines.push(l), POLICY, () => Date.now());
    supervisor.nodeExited('n2');
    supervisor.nodeExited('n2'); // the same crash reported twice schedules one restart
    await vi.advanceTimersByTimeAsync(10_000);
    expect(node.restarts).toBe(3);
    expect(lines).toEqual([
      'restarting node n2 in 100 ms (attempt 1 of 3)',
      'node n2 did not come back: node n2 exited while restarting:',
      'restarting node n2 in 200 ms (attempt 2 of 3)',
      'node n2 did not come back: node n2 exited while restarting:',
      'restarting node n2 in 350 ms (attempt 3 of 3)',
      'node n2 did not come back: node n2 exited while restarting:',
      'node n2 exited 4 times in a row; not restarting it again (log: /data/logs/n2.log)',
    ]);
  });

  it('counts afresh once a restarted node stayed up, and stop() cancels a pending restart', async () => {
    vi.useFakeTimers();
    const node = new NodeThatCrashes();
    node.comesBack = true;
    const lines: string[] = [];
    const supervisor = new NodeSupervisor(node, (l) => lines.push(l), POLICY, () => Date.now());
    supervisor.nodeExited('n1');
    await vi.advanceTimersByTimeAsync(100);
    expect(lines.at(-1)).toBe('node n1 is back (pid 4242)');
    await vi.advanceTimersByTimeAsync(POLICY.stableAfterMs);
    supervisor.nodeExited('n1');
    expect(lines.at(-1)).toBe('restarting node n1 in 100 ms (attempt 1 of 3)');
    supervisor.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(node.restarts).toBe(1);
  });
});
