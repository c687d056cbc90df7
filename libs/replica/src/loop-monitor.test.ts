import { describe, expect, it } from 'vitest';
import { LoopMonitor } from './loop-monitor';

/** A monitor on a hand-driven clock: `block(ms)` is a synchronous step that holds the loop. */
function harness() {
  let now = 1_000;
  let due = now + 25;
  const warnings: { msg: string; fields: Record<string, unknown> }[] = [];
  let timer: (() => void) | null = null;
  const monitor = new LoopMonitor(
    { blockedMsMax: 50, checkEveryMs: 25 },
    {
      now: () => now,
      every: (_ms, fn) => {
        timer = fn;
        return () => (timer = null);
      },
      warn: (msg, fields) => warnings.push({ msg, fields }),
    },
  );
  return {
    monitor,
    warnings,
    block: (ms: number) => {
      now += ms;
    },
    /** The drift timer fires when it is due, or at once if the loop was held past that. */
    fire: () => {
      now = Math.max(now, due);
      due = now + 25;
      timer?.();
    },
    running: () => timer !== null,
  };
}

describe('LoopMonitor', () => {
  it('names the driver step that held the loop longer than a heartbeat interval', () => {
    const h = harness();
    h.monitor.start();
    const result = h.monitor.run('apply', () => {
      h.block(400);
      return 'applied';
    });
    expect(result).toBe('applied');
    expect(h.warnings.map((w) => w.msg)).toEqual(["event loop blocked for 400 ms in step 'apply'"]);
    expect(h.warnings[0]?.fields).toMatchObject({ step: 'apply', blockedMs: 400, heartbeatMs: 50 });
    // The drift timer sees the same stall; it is not reported twice.
    h.fire();
    expect(h.warnings).toHaveLength(1);
    expect(h.monitor.stats()).toEqual({ stalls: 1, blockedMsMax: 400 });
  });

  it('stays quiet for steps and timer drift within a heartbeat interval', () => {
    const h = harness();
    h.monitor.start();
    h.monitor.run('persist', () => h.block(50));
    h.fire();
    h.monitor.run('send', () => h.block(10));
    h.fire();
    h.block(74);
    h.fire();
    expect(h.warnings).toEqual([]);
  });

  it('reports a stall outside every step, with the last step for context', () => {
    const h = harness();
    h.monitor.start();
    h.monitor.run('send', () => h.block(1));
    h.fire();
    h.block(325);
    h.fire();
    expect(h.warnings.map((w) => w.msg)).toEqual([
      "event loop blocked for 300 ms outside the driver's steps (gRPC, protobuf or timers; last step 'send')",
    ]);
    expect(h.warnings[0]?.fields).toMatchObject({ step: 'outside', lastStep: 'send', blockedMs: 300 });
  });

  it('reports a stall outside the steps even when a step stalled in the same interval', () => {
    const h = harness();
    h.monitor.start();
    h.monitor.run('apply', () => h.block(300));
    h.block(425); // 25 ms of it is the timer's own interval
    h.fire();
    expect(h.warnings.map((w) => w.msg)).toEqual([
      "event loop blocked for 300 ms in step 'apply'",
      "event loop blocked for 400 ms outside the driver's steps (gRPC, protobuf or timers; last step 'apply')",
    ]);
  });

  it('counts short steps as time inside the driver, not as a stall outside it', () => {
    const h = harness();
    h.monitor.start();
    for (let i = 0; i < 8; i++) h.monitor.run('send', () => h.block(40));
    h.fire();
    expect(h.warnings).toEqual([]);
  });

  it('reports a step that throws, and passes the error on', () => {
    const h = harness();
    expect(() =>
      h.monitor.run('decode', () => {
        h.block(120);
        throw new Error('bad message');
      }),
    ).toThrow('bad message');
    expect(h.warnings.map((w) => w.fields['step'])).toEqual(['decode']);
  });

  it('names a wait that held the round longer than a heartbeat interval', async () => {
    const h = harness();
    const slowFsync = async (): Promise<string> => {
      h.block(700);
      return 'synced';
    };
    expect(await h.monitor.wait('fsync', slowFsync)).toBe('synced');
    await h.monitor.wait('fsync', async () => h.block(20));
    expect(h.warnings.map((w) => w.msg)).toEqual([
      "driver waited 700 ms on 'fsync': a follower answered no heartbeat meanwhile",
    ]);
    expect(h.warnings[0]?.fields).toMatchObject({ step: 'fsync', blockedMs: 700 });
  });

  it('stops its timer', () => {
    const h = harness();
    h.monitor.start();
    expect(h.running()).toBe(true);
    h.monitor.stop();
    expect(h.running()).toBe(false);
  });

  it('refuses a threshold that is not positive', () => {
    const ports = { now: () => 0, every: () => () => {}, warn: () => {} };
    expect(() => new LoopMonitor({ blockedMsMax: 0, checkEveryMs: 10 }, ports)).toThrow('blockedMsMax must be positive, got 0');
    expect(() => new LoopMonitor({ blockedMsMax: 10, checkEveryMs: -1 }, ports)).toThrow('checkEveryMs must be positive, got -1');
  });

  it('totals the time and count of every step and wait, stalled or not', async () => {
    const h = harness();
    h.monitor.run('apply', () => h.block(3));
    h.monitor.run('apply', () => h.block(400));
    h.monitor.run('send', () => h.block(1));
    await h.monitor.wait('fsync', async () => h.block(7));
    const seen: [string, number][] = [];
    const withHook = new LoopMonitor({ blockedMsMax: 50, checkEveryMs: 25 }, { now: () => 0, every: () => () => {}, warn: () => {}, onStep: (step, ms) => seen.push([step, ms]) });
    withHook.run('feed', () => undefined);
    await withHook.wait('fsync', async () => undefined);
    expect(seen).toEqual([['feed', 0], ['fsync', 0]]);
    expect(h.monitor.totals()).toEqual([
      { step: 'apply', count: 2, ms: 403 },
      { step: 'send', count: 1, ms: 1 },
      { step: 'fsync', count: 1, ms: 7 },
    ]);
  });
});
