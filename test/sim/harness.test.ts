/**
 * The simulator's own parts (disk, network, event order) and the whole loop driven by a
 * tiny static-leader protocol: clean runs pass, a protocol that skips fsync is caught, and
 * a seed replays to the same trace digest.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, raft, term, type Entry } from '@quorumlite/consensus';
import { SimDisk, SimNetwork, SimulationError, simulate, type SimOptions } from '@quorumlite/consensus/sim';
import { EventQueue } from '@quorumlite/consensus/sim/event-queue';
import { chunk, protocolPlan, runSeeds, seedPlan } from './seeds';
import { staticLeader, type StaticLeaderMessage } from './static-leader';

const meta = (index: number, t: number) => ({ index: logIndex(index), term: term(t), members: [] });

function entries(from: number, to: number, t: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: logIndex(i), term: term(t), kind: 'command', data: Uint8Array.of(i) });
  return out;
}

describe('SimDisk', () => {
  it('keeps synced writes and loses the whole unsynced tail on a crash that keeps nothing', () => {
    const disk = new SimDisk();
    disk.append(entries(1, 3, 1));
    disk.writeHardState({ term: 1 });
    disk.fsync();
    disk.append(entries(4, 5, 1));
    disk.writeHardState({ term: 2 });
    expect(disk.lastIndex()).toBe(5);
    expect(disk.crash(0)).toBe(2);
    const loaded = disk.load();
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(loaded.hardState).toEqual({ term: 1 });
  });

  it('keeps a prefix of the unsynced writes when the crash lets some through', () => {
    const disk = new SimDisk();
    disk.append(entries(1, 2, 1));
    disk.writeHardState({ term: 5 });
    expect(disk.crash(1)).toBe(1);
    expect(disk.load().entries.length).toBe(2);
    expect(disk.load().hardState).toBeNull();
  });

  it('truncates a conflicting suffix and rejects gaps and writes into the snapshot', () => {
    const disk = new SimDisk();
    disk.append(entries(1, 5, 1));
    disk.append(entries(3, 4, 2));
    disk.fsync();
    expect(disk.load().entries.map((e) => `${e.index}@${e.term}`)).toEqual(['1@1', '2@1', '3@2', '4@2']);
    expect(() => disk.append(entries(7, 7, 2))).toThrow(/gap/);
    disk.installSnapshot({ meta: meta(3, 2), state: ['', 'a', 'b', 'c'] });
    expect(() => disk.append(entries(2, 2, 2))).toThrow(/snapshot/);
  });

  it('carries out a rewrite (a cut and records after it) as one write: a crash leaves the old log or the new one', () => {
    const terms = (d: SimDisk) => d.load().entries.map((e) => `${e.index}@${e.term}`);
    for (const viaTruncate of [false, true]) {
      const disk = new SimDisk();
      disk.append(entries(1, 5, 1));
      disk.fsync();
      expect(disk.persistLog(viaTruncate ? 2 : null, entries(3, 5, 2))).toBe(true);
      disk.crash(0);
      expect(terms(disk)).toEqual(['1@1', '2@1', '3@1', '4@1', '5@1']);
      disk.persistLog(viaTruncate ? 2 : null, entries(3, 5, 2));
      disk.crash(1);
      expect(terms(disk)).toEqual(['1@1', '2@1', '3@2', '4@2', '5@2']);
    }
    // An append past the end rewrites nothing.
    const plain = new SimDisk();
    plain.append(entries(1, 2, 1));
    expect(plain.persistLog(null, entries(3, 3, 1))).toBe(false);
  });

  it("models a storage that makes a rewrite's cut durable before its records ('cut_first'): a crash keeps the cut alone", () => {
    const disk = new SimDisk('cut_first');
    disk.append(entries(1, 5, 1));
    disk.fsync();
    disk.persistLog(null, entries(3, 5, 2));
    disk.crash(0);
    expect(disk.load().entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('keeps the log after a snapshot that matches it and drops a log that does not', () => {
    const keep = new SimDisk();
    keep.append(entries(1, 5, 1));
    keep.installSnapshot({ meta: meta(3, 1), state: ['', 'a', 'b', 'c'] });
    expect(keep.load().entries.map((e) => e.index)).toEqual([4, 5]);
    expect(keep.load().snapshot?.index).toBe(3);
    const drop = new SimDisk();
    drop.append(entries(1, 5, 1));
    drop.installSnapshot({ meta: meta(3, 9), state: ['', 'a', 'b', 'c'] });
    expect(drop.load().entries).toEqual([]);
    expect(drop.heldAt(2, () => 'log')).toBe('b');
  });
});

describe('SimNetwork', () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'].map(nodeId);
  const reachable = (net: SimNetwork) => ids.flatMap((a) => ids.filter((b) => a !== b && net.linkUp(a, b)).map((b) => `${a}>${b}`));
  const rng = () => 0.3;

  it('isolate cuts one node both ways; heal restores every link', () => {
    const net = new SimNetwork(ids);
    net.partition('isolate', rng);
    expect(reachable(net).length).toBe(20 - 8);
    net.heal();
    expect(reachable(net).length).toBe(20);
  });

  it('bridge leaves one node talking to both sides', () => {
    const net = new SimNetwork(ids);
    net.partition('bridge', rng);
    const bridge = ids.find((a) => ids.every((b) => a === b || (net.linkUp(a, b) && net.linkUp(b, a))));
    expect(bridge).toBeDefined();
    expect(reachable(net).length).toBeLessThan(20);
  });

  it('one_way cuts only outgoing links of one node', () => {
    const net = new SimNetwork(ids);
    net.partition('one_way', rng);
    const cut = ids.filter((a) => ids.every((b) => a === b || !net.linkUp(a, b)));
    expect(cut.length).toBe(1);
    expect(ids.every((b) => b === cut[0] || net.linkUp(b, cut[0]!))).toBe(true);
  });

  it('deaf cuts only incoming links of one node', () => {
    const net = new SimNetwork(ids);
    net.partition('deaf', rng);
    const deaf = ids.filter((a) => ids.every((b) => a === b || !net.linkUp(b, a)));
    expect(deaf.length).toBe(1);
    expect(ids.every((b) => b === deaf[0] || net.linkUp(deaf[0]!, b))).toBe(true);
    expect(net.describe()).toBe(`one-way others -/-> ${deaf[0]}`);
  });
});

describe('EventQueue', () => {
  it('pops by time, then by insertion order', () => {
    const q = new EventQueue<string>();
    q.push(2, 'c');
    q.push(1, 'a');
    q.push(1, 'b');
    q.push(0.5, 'first');
    expect([q.pop()?.value, q.pop()?.value, q.pop()?.value, q.pop()?.value, q.pop()]).toEqual(['first', 'a', 'b', 'c', undefined]);
  });
});

const toyRun = (seed: number, skipSync = false): SimOptions<StaticLeaderMessage> => ({
  protocol: staticLeader({ skipSync }),
  seed,
  nodes: seed % 2 === 0 ? 5 : 3,
  steps: 1500,
  compactEveryApplies: 10,
  coreOptions: { entriesPerMessageMax: 64 },
});

describe('simulate() with a static-leader protocol', () => {
  it('passes every invariant on 60 seeds with faults, and exercises the faults', () => {
    let crashes = 0;
    let partitions = 0;
    let acknowledged = 0;
    let lost = 0;
    let installed = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = simulate(toyRun(seed));
      crashes += r.stats.crashes;
      partitions += r.stats.partitions;
      acknowledged += r.stats.acknowledged;
      lost += r.stats.messagesLost + r.stats.messagesBlocked;
      installed += r.stats.snapshotsInstalled;
    }
    expect(installed).toBeGreaterThan(0);
    expect(crashes).toBeGreaterThan(0);
    expect(partitions).toBeGreaterThan(0);
    expect(acknowledged).toBeGreaterThan(1000);
    expect(lost).toBeGreaterThan(0);
  });

  it('catches a protocol that acknowledges writes without fsync', () => {
    const failures: SimulationError[] = [];
    for (let seed = 1; seed <= 60 && failures.length === 0; seed++) {
      try {
        simulate(toyRun(seed, true));
      } catch (e: unknown) {
        if (!(e instanceof SimulationError)) throw e;
        failures.push(e);
      }
    }
    expect(failures.length).toBe(1);
    expect(failures[0]!.message).toMatch(/^\[seed=\d+ event=\d+\] /);
  });

  it('replays a seed exactly (same trace digest), and another seed differs', () => {
    const a = simulate(toyRun(42));
    const b = simulate(toyRun(42));
    const c = simulate(toyRun(43));
    expect(a.digest).toBe(b.digest);
    expect(a.stats).toEqual(b.stats);
    expect(c.digest).not.toBe(a.digest);
  });

  it('fails liveness with the seed when a node can never catch up', () => {
    // A fault-free phase of zero ticks cannot even commit the final probe.
    expect(() =>
      simulate({ ...toyRun(7), steps: 200, livenessTicksMax: 0 }),
    ).toThrow(/\[seed=7 event=\d+\] cluster did not converge/);
  });
});

describe('seed selection for the sweeps', () => {
  it('SEED replays one seed verbosely; SIM_SEEDS widens the sweep; junk is refused', () => {
    expect(seedPlan({ SEED: '77' }, 10)).toEqual({ seeds: [77], replay: true });
    expect(seedPlan({ SIM_SEEDS: '3' }, 10)).toEqual({ seeds: [1, 2, 3], replay: false });
    expect(seedPlan({}, 2).seeds).toEqual([1, 2]);
    expect(() => seedPlan({ SEED: 'x' }, 10)).toThrow(/SEED/);
    expect(() => seedPlan({ SIM_SEEDS: '0' }, 10)).toThrow(/SIM_SEEDS/);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]]);
    expect(protocolPlan({}, ['raft', 'zab'])).toEqual(['raft', 'zab']);
    expect(protocolPlan({ PROTOCOL: 'zab' }, ['raft', 'zab'])).toEqual(['zab']);
    expect(() => protocolPlan({ PROTOCOL: 'pbft' }, ['raft', 'zab'])).toThrow('PROTOCOL must be one of raft, zab, got pbft');
  });

  it('a failing seed is reported with its replay command and, when replayed, its trace', () => {
    const seeds = Array.from({ length: 30 }, (_, i) => i + 1);
    const { failures } = runSeeds(staticLeader({ skipSync: true }), seeds, true, { compactEveryApplies: 10 });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/\[seed=(\d+) event=\d+\][^\n]*\nreplay: SEED=\1 PROTOCOL=static-leader npm run sim\nlast \d+ events:\n/);
  });
});

describe('simulated members have roles', () => {
  it('an observer replicates and applies what the voters commit, and the run converges with it', () => {
    const result = simulate({ protocol: raft, seed: 21, nodes: 3, observers: 1, steps: 500, compactionPoint: 'after_advance' });
    expect(result.nodes).toBe(3);
    expect(result.stats.committedIndex).toBeGreaterThan(0);
  });

  it('refuses a negative count of observers', () => {
    expect(() => simulate({ protocol: raft, seed: 1, nodes: 3, observers: -1, steps: 10 })).toThrow('observers must be a non-negative integer, got -1');
  });
});
