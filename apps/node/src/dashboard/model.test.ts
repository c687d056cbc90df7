import { describe, expect, it } from 'vitest';
import type { NodeCounters, NodeStatus } from '@quorumlite/client';
import { nodeStatusFixture } from '../../../../libs/client/src/testing';
import { DASHBOARD_EVENTS_MAX, DashboardModel, leaderOf, RateWindow, type MemberReading } from './model';

const MEMBERS = [
  { id: 'n1', address: '127.0.0.1:7001', role: 'voter' },
  { id: 'n2', address: '127.0.0.1:7002', role: 'voter' },
  { id: 'n3', address: '127.0.0.1:7003', role: 'voter' },
];

function status(id: string, s: { role?: string; term?: bigint; commit?: bigint; applied?: bigint; leader?: string; counters?: Partial<NodeCounters> } = {}): NodeStatus {
  const commitIndex = s.commit ?? 0n;
  return nodeStatusFixture(id, { role: s.role ?? 'follower', leaderId: s.leader ?? '', term: s.term ?? 1n, commitIndex, appliedIndex: s.applied ?? commitIndex, lastIndex: commitIndex, counters: s.counters ?? {} });
}

const up = (st: NodeStatus): MemberReading => ({ kind: 'up', status: st });
const down = (error = 'connection refused'): MemberReading => ({ kind: 'down', error });
const readings = (r: Record<string, MemberReading>): Map<string, MemberReading> => new Map(Object.entries(r));
const model = (): DashboardModel => new DashboardModel({ nodeId: 'n2', protocol: 'raft', fencingName: 'term' }, MEMBERS, new RateWindow(1_000, 10_000));

describe('RateWindow', () => {
  it('turns counts per bucket into rates per second and mean latencies, null where a bucket holds none', () => {
    const w = new RateWindow(2_000, 10_000);
    w.add(10_100, { writes: 4, writeMs: 20, reads: 10, readMs: 5 });
    w.add(11_900, { writes: 2, writeMs: 4, reads: 0, readMs: 0 });
    w.add(12_000, { writes: 0, writeMs: 0, reads: 3, readMs: 9 });
    const s = w.series(12_500);
    expect(s.bucketMs).toBe(2_000);
    expect(s.endMs).toBe(14_000);
    expect(s.writesPerSecond).toEqual([0, 0, 0, 3, 0]);
    expect(s.readsPerSecond).toEqual([0, 0, 0, 5, 1.5]);
    expect(s.writeLatencyMs).toEqual([null, null, null, 4, null]);
    expect(s.readLatencyMs).toEqual([null, null, null, 0.5, 3]);
  });

  it('keeps only the window: buckets older than it slide out, and an idle stretch reads as zero', () => {
    const w = new RateWindow(1_000, 3_000);
    w.add(0, { writes: 1, writeMs: 1, reads: 0, readMs: 0 });
    w.add(1_000, { writes: 2, writeMs: 2, reads: 0, readMs: 0 });
    expect(w.series(1_000).writesPerSecond).toEqual([0, 1, 2]);
    expect(w.series(4_500).writesPerSecond).toEqual([0, 0, 0]);
    w.add(3_000, { writes: 5, writeMs: 5, reads: 0, readMs: 0 });
    expect(w.series(3_000).writesPerSecond).toEqual([2, 0, 5]);
    // The bucket of 0..1 s left the window when the one of 3..4 s began: it is gone.
    expect(w.series(2_000).writesPerSecond).toEqual([0, 2, 0]);
  });

  it('refuses a bucket that does not fit its window', () => {
    expect(() => new RateWindow(0, 1_000)).toThrow(RangeError);
    expect(() => new RateWindow(2_000, 1_000)).toThrow(/bucketMs/);
  });
});

describe('leaderOf', () => {
  it('is the member that says it leads at the highest fencing number; a down member and a follower are not', () => {
    expect(leaderOf(readings({ n1: up(status('n1', { role: 'leader', term: 2n })), n2: up(status('n2', { role: 'leader', term: 3n })), n3: down() }))).toEqual({ id: 'n2', fence: 3n });
    expect(leaderOf(readings({ n1: down(), n2: up(status('n2', { role: 'candidate', term: 4n })) }))).toBeNull();
  });
});

describe('DashboardModel', () => {
  it('sums every member’s writes and reads between two readings into the charts', () => {
    const m = model();
    const at = (n1: Partial<NodeCounters>, n2: Partial<NodeCounters>) =>
      readings({ n1: up(status('n1', { role: 'leader', counters: n1 })), n2: up(status('n2', { counters: n2 })), n3: up(status('n3')) });
    m.observe(1_000, at({ writesAnswered: 100, writeMs: 100, readsAnswered: 7 }, { readsAnswered: 50, readMs: 50 }));
    m.observe(2_000, at({ writesAnswered: 110, writeMs: 130, readsAnswered: 7 }, { readsAnswered: 54, readMs: 58 }));
    const s = m.payload(2_500).series;
    // What was counted before the first reading is not this window's: only the differences count.
    expect(s.writesPerSecond.at(-1)).toBe(10);
    expect(s.writeLatencyMs.at(-1)).toBe(3);
    expect(s.readsPerSecond.at(-1)).toBe(4);
    expect(s.readLatencyMs.at(-1)).toBe(2);
    expect(s.writesPerSecond.slice(0, -1).every((v) => v === 0)).toBe(true);
  });

  it('counts a member that was down from its first answer after, not its whole count since it started', () => {
    const m = model();
    m.observe(1_000, readings({ n1: up(status('n1', { counters: { writesAnswered: 500 } })) }));
    m.observe(2_000, readings({ n1: down() }));
    m.observe(3_000, readings({ n1: up(status('n1', { counters: { writesAnswered: 3 } })) }));
    m.observe(4_000, readings({ n1: up(status('n1', { counters: { writesAnswered: 8 } })) }));
    expect(m.payload(4_000).series.writesPerSecond.slice(-4)).toEqual([0, 0, 0, 5]);
  });

  it('shows each member up or down with its role, fencing number, indexes and lag behind the cluster’s commit', () => {
    const m = model();
    m.observe(1_000, readings({ n1: down('n1: No connection established'), n2: up(status('n2', { role: 'leader', term: 7n, commit: 40n, applied: 40n })), n3: up(status('n3', { term: 7n, commit: 38n, applied: 35n, leader: 'n2' })) }));
    const p = m.payload(1_000);
    expect(p).toMatchObject({ nodeId: 'n2', protocol: 'raft', fencingName: 'term', atMs: 1_000, leader: { id: 'n2', fence: '7' } });
    expect(p.members).toEqual([
      { id: 'n1', address: '127.0.0.1:7001', memberRole: 'voter', up: false, role: null, fence: null, leaderId: null, commitIndex: null, appliedIndex: null, lagEntries: null, error: 'n1: No connection established' },
      { id: 'n2', address: '127.0.0.1:7002', memberRole: 'voter', up: true, role: 'leader', fence: '7', leaderId: null, commitIndex: 40, appliedIndex: 40, lagEntries: 0, error: null },
      { id: 'n3', address: '127.0.0.1:7003', memberRole: 'voter', up: true, role: 'follower', fence: '7', leaderId: 'n2', commitIndex: 38, appliedIndex: 35, lagEntries: 5, error: null },
    ]);
    // A JSON payload: what the event stream sends is what the page draws.
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('records a killed leader as down, the cluster without a leader, the election and the new leader, newest first', () => {
    const m = model();
    m.observe(1_000, readings({ n1: up(status('n1', { role: 'leader', term: 2n })), n2: up(status('n2', { term: 2n })), n3: up(status('n3', { term: 2n })) }));
    m.observe(1_250, readings({ n1: down('n1: connection refused'), n2: up(status('n2', { role: 'candidate', term: 3n, counters: { elections: 1 } })), n3: up(status('n3', { term: 2n })) }));
    m.observe(1_500, readings({ n1: down('n1: connection refused'), n2: up(status('n2', { role: 'leader', term: 3n, counters: { elections: 1 } })), n3: up(status('n3', { term: 3n })) }));
    m.observe(9_000, readings({ n1: up(status('n1', { term: 3n, leader: 'n2' })), n2: up(status('n2', { role: 'leader', term: 3n, counters: { elections: 1 } })), n3: up(status('n3', { term: 3n })) }));
    const p = m.payload(9_000);
    expect(p.leader).toEqual({ id: 'n2', fence: '3' });
    expect(p.events.map((e) => [e.atMs, e.kind, e.text])).toEqual([
      [9_000, 'up', 'n1 is up (follower)'],
      [1_500, 'leader', 'n2 leads at term 3 (after n1)'],
      [1_250, 'leaderless', 'no leader answers (n1 led at term 2)'],
      [1_250, 'election', 'n2 stood for election (term 3)'],
      [1_250, 'down', 'n1 is down: n1: connection refused'],
      [1_000, 'leader', 'n1 leads at term 2'],
    ]);
  });

  it('keeps at most DASHBOARD_EVENTS_MAX events, dropping the oldest', () => {
    const m = model();
    for (let i = 0; i <= DASHBOARD_EVENTS_MAX + 10; i++) m.observe(i, readings({ n1: i % 2 === 0 ? up(status('n1')) : down() }));
    const events = m.payload(0).events;
    expect(events).toHaveLength(DASHBOARD_EVENTS_MAX);
    expect(events[0]!.atMs).toBe(DASHBOARD_EVENTS_MAX + 10);
  });
});
