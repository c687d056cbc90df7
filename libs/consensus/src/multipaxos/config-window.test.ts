/**
 * ConfigWindow on its own: which configuration governs each slot as records are noted,
 * compacted mid-window and replaced by a snapshot taken inside a window.
 */
import { describe, expect, it } from 'vitest';
import { memberList } from '../common/testkit';
import { encodeConfig } from '../common';
import { logIndex, term, type Entry, type Member, type MemberSpec } from '../contract';
import { ConfigWindow } from './configs';

const ALPHA = 4;
const A = memberList('n1 n2 n3');
const B = memberList('n1 n2 n3 n4:observer');
const C = memberList('n1 n2 n3 n4');

const config = (slot: number, members: readonly MemberSpec[]): Entry => ({ index: logIndex(slot), term: term(1), kind: 'config', data: encodeConfig(members) });
const noop = (slot: number): Entry => ({ index: logIndex(slot), term: term(2), kind: 'noop', data: new Uint8Array(0) });

/** The configuration governing each slot from..to, as 'A', 'B' or 'C'. */
function governing(w: ConfigWindow, from: number, to: number): string {
  const name = (m: readonly Member[]): string => (sameAs(m, A) ? 'A' : sameAs(m, B) ? 'B' : sameAs(m, C) ? 'C' : '?');
  const out: string[] = [];
  for (let s = from; s <= to; s++) out.push(name(w.governing(s)));
  return out.join('');
}

function sameAs(a: readonly Member[], b: readonly Member[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

describe('multipaxos ConfigWindow', () => {
  it('a record in slot i governs from slot i + α on; below it, the base', () => {
    const w = new ConfigWindow(ALPHA, A, [config(10, B), config(20, C)]);
    expect(governing(w, 12, 26)).toBe('AA' + 'BBBBBBBBBB' + 'CCC');
    expect(w.asOf(9)).toBe(A);
    expect(sameAs(w.asOf(10), B)).toBe(true);
    expect(w.after(10).map((r) => r.slot)).toEqual([20]);
  });

  it('a slot that later holds another value (a new leader filled it with a no-op) drops its record', () => {
    const w = new ConfigWindow(ALPHA, A, [config(10, B)]);
    w.note([noop(10)]);
    expect(governing(w, 13, 16)).toBe('AAAA');
    expect(w.latest()).toBeNull();
  });

  it('compacting mid-window keeps the record whose window is still open, and the slots after the compaction point keep their configuration', () => {
    const w = new ConfigWindow(ALPHA, A, [config(10, B)]);
    const before = governing(w, 11, 20);
    // Slots up to 12 compacted: the record's window (slots 10..13) is still open at slot 13.
    w.compactTo(12);
    expect(governing(w, 13, 20)).toBe(before.slice(2));
    expect(w.latest()?.slot).toBe(10);
    // Up to 13: slot 14 is governed by the record, which folds into the base.
    w.compactTo(13);
    expect(governing(w, 14, 20)).toBe('BBBBBBB');
    expect(w.latest()).toBeNull();
    expect(sameAs(w.asOf(14), B)).toBe(true);
  });

  it('compacting past one record and inside the next window folds only the first', () => {
    const w = new ConfigWindow(ALPHA, A, [config(10, B), config(15, C)]);
    w.compactTo(16);
    expect(w.latest()?.slot).toBe(15);
    expect(governing(w, 17, 20)).toBe('BBCC');
  });

  it('a snapshot taken inside a window carries the configuration as of its index, which governs the rest of that window too: one member from the true one', () => {
    const w = new ConfigWindow(ALPHA, A, []);
    // The node lagged: it never held slot 10. The snapshot at 12 carries B (as of slot 12).
    w.restore(12, B);
    expect(governing(w, 13, 16)).toBe('BBBB');
    // Slots 13 (true: A) differ from A by one observer: every quorum of voters is the same.
    const voters = (m: readonly Member[]): string[] => m.filter((x) => x.role === 'voter').map((x) => x.id);
    expect(voters(w.governing(13))).toEqual(voters(A));
  });

  it('a snapshot removes the records at or below its index and keeps those after it', () => {
    const w = new ConfigWindow(ALPHA, A, [config(10, B), config(20, C)]);
    w.restore(15, B);
    expect(w.after(0).map((r) => r.slot)).toEqual([20]);
    expect(governing(w, 16, 24)).toBe('BBBBBBBBC');
  });
});
