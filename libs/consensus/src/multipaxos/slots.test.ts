import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '../contract';
import { SlotLog } from './slots';

const value = (index: number, ballot: number, text: string): Entry => ({
  index: logIndex(index),
  term: term(ballot),
  kind: 'command',
  data: new TextEncoder().encode(text),
});

describe('SlotLog between ready() and advance()', () => {
  it('a slot accepted again after it was handed out is not counted durable by stableTo', () => {
    const slots = new SlotLog(null, []);
    slots.accept([value(1, 1025, 'a'), value(2, 1025, 'b')]);
    const handedOut = slots.unstableEntries();
    expect(handedOut.map((e) => e.index)).toEqual([1, 2]);
    // While that persist is in flight, a higher ballot's value replaces slot 2.
    slots.accept([value(2, 2050, 'c')]);
    slots.stableTo(2);
    expect(slots.stableIndex()).toBe(1);
    expect(slots.unstableEntries()).toEqual([value(2, 2050, 'c')]);
    slots.stableTo(2);
    expect(slots.stableIndex()).toBe(2);
  });

  it('slots appended after the hand-out are left for the next Ready', () => {
    const slots = new SlotLog(null, []);
    slots.accept([value(1, 1025, 'a')]);
    slots.unstableEntries();
    slots.accept([value(2, 1025, 'b')]);
    slots.stableTo(1);
    expect(slots.stableIndex()).toBe(1);
    expect(slots.unstableEntries()).toEqual([value(2, 1025, 'b')]);
  });
});
