import { describe, expect, it } from 'vitest';
import { TickGate } from './tick-gate';

describe('TickGate', () => {
  it('lets a follower waiting on its disk queue one tick per wait, not a backlog', () => {
    const gate = new TickGate();
    expect([gate.admit(true, false), gate.admit(true, false), gate.admit(true, false)]).toEqual([true, false, false]);
    gate.waitEnded();
    expect([gate.admit(false, false), gate.admit(false, false)]).toEqual([true, true]);
    expect([gate.admit(true, false), gate.admit(true, false)]).toEqual([true, false]);
    expect(gate.coalesced()).toBe(3);
  });

  it('passes every tick of a leader, whose heartbeats and lease are counted in them', () => {
    const gate = new TickGate();
    expect([gate.admit(true, true), gate.admit(true, true), gate.admit(true, true)]).toEqual([true, true, true]);
    expect(gate.coalesced()).toBe(0);
  });
});
