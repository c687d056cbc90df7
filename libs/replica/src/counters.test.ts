import { describe, expect, it } from 'vitest';
import { NodeCounters } from './counters';

describe('NodeCounters', () => {
  it('tallies messages by type, sorted by type', () => {
    const c = new NodeCounters(0);
    c.sent('append', 100);
    c.sent('heartbeat', 20);
    c.sent('append', 50);
    c.received('appendResponse', 30);
    const r = c.read(0);
    expect(r.sent).toEqual([
      { type: 'append', count: 2, bytes: 150 },
      { type: 'heartbeat', count: 1, bytes: 20 },
    ]);
    expect(r.received).toEqual([{ type: 'appendResponse', count: 1, bytes: 30 }]);
  });

  it('counts an election each time the node becomes a candidate, not each Ready it stays one', () => {
    const c = new NodeCounters(0);
    c.softState('follower', null, 10);
    c.softState('candidate', null, 20);
    c.softState('candidate', null, 30);
    c.softState('leader', 'n1', 40);
    c.softState('follower', null, 50);
    c.softState('candidate', null, 60);
    expect(c.read(60).elections).toBe(2);
  });

  it('counts a leader change only when the known leader becomes another node', () => {
    const c = new NodeCounters(0);
    c.softState('follower', 'n1', 10);
    c.softState('follower', 'n1', 20);
    c.softState('candidate', null, 30);
    c.softState('follower', 'n1', 40); // the same leader again after a stretch without one
    c.softState('follower', 'n2', 50);
    expect(c.read(50).leaderChanges).toBe(2);
  });

  it('sums the time without a leader, from the start and across stretches, the current one included', () => {
    const c = new NodeCounters(1_000);
    c.softState('follower', 'n1', 1_100); // 100 ms from the start
    c.softState('candidate', null, 2_000);
    c.softState('follower', 'n2', 2_150); // 150 ms
    expect(c.read(3_000).leaderlessMs).toBe(250);
    c.softState('follower', null, 3_000);
    expect(c.read(3_040).leaderlessMs).toBe(290);
  });

  it('sums the answered writes and their time', () => {
    const c = new NodeCounters(0);
    c.writeAnswered(3);
    c.writeAnswered(5);
    expect(c.read(0)).toMatchObject({ writesAnswered: 2, writeMs: 8 });
  });

  it('sums the answered reads and their time, apart from the writes', () => {
    const c = new NodeCounters(0);
    c.readAnswered(2);
    c.readAnswered(4);
    c.readAnswered(0.5);
    expect(c.read(0)).toMatchObject({ readsAnswered: 3, readMs: 6.5, writesAnswered: 0 });
  });

  it('counts each kind of snapshot and its time, every kind listed from the start', () => {
    const c = new NodeCounters(0);
    expect(c.read(0).snapshots).toEqual([
      { kind: 'taken', count: 0, ms: 0 },
      { kind: 'copied', count: 0, ms: 0 },
      { kind: 'installed', count: 0, ms: 0 },
      { kind: 'sent', count: 0, ms: 0 },
    ]);
    c.snapshot('taken', 120);
    c.snapshot('taken', 80);
    c.snapshot('sent', 40);
    expect(c.read(0).snapshots).toEqual([
      { kind: 'taken', count: 2, ms: 200 },
      { kind: 'copied', count: 0, ms: 0 },
      { kind: 'installed', count: 0, ms: 0 },
      { kind: 'sent', count: 1, ms: 40 },
    ]);
  });
});
