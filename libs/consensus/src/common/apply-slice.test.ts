import { describe, expect, it } from 'vitest';
import { logIndex, term, type BaseMessage, type ConsensusCore, type Entry } from '../contract';
import { SlotLog } from '../multipaxos/slots';
import { RaftCore } from '../raft';
import { COMMITTED_BYTES_PER_READY_MAX, COMMITTED_ENTRIES_PER_READY_MAX, withinBytes } from './apply-slice';
import { MemoryLog } from './log';
import { options, voters } from './testkit';

const KIB = 1024;
const sized = (i: number, bytes: number, t = 1): Entry => ({ index: logIndex(i), term: term(t), kind: 'command', data: new Uint8Array(bytes) });
const indexes = (es: readonly Entry[]): number[] => es.map((e) => e.index);

describe('committed records per Ready: a byte budget besides the count', () => {
  it('withinBytes keeps the longest prefix within the budget, and always the first record', () => {
    const es = [sized(1, 100 * KIB), sized(2, 100 * KIB), sized(3, 100 * KIB)];
    expect(indexes(withinBytes(es, 200 * KIB))).toEqual([1, 2]);
    expect(indexes(withinBytes(es, 199 * KIB))).toEqual([1]);
    expect(indexes(withinBytes(es, 1))).toEqual([1]);
    expect(indexes(withinBytes(es, 300 * KIB))).toEqual([1, 2, 3]);
    expect(withinBytes([], 1)).toEqual([]);
  });

  it('the shared log (Raft, Zab) and the slot log (Multi-Paxos) hand out within both limits', () => {
    const records = Array.from({ length: 10 }, (_, k) => sized(k + 1, 100 * KIB));
    const log = new MemoryLog(null, records, 10);
    expect(indexes(log.committedToApply(COMMITTED_ENTRIES_PER_READY_MAX, 250 * KIB))).toEqual([1, 2]);
    expect(indexes(log.committedToApply(1, 250 * KIB))).toEqual([1]);
    const slots = new SlotLog(null, []);
    slots.accept(records);
    slots.chooseTo(10);
    expect(indexes(slots.committedToApply(COMMITTED_ENTRIES_PER_READY_MAX, 250 * KIB))).toEqual([1, 2]);
    expect(indexes(slots.committedToApply(3, 10 * 1024 * KIB))).toEqual([1, 2, 3]);
  });

  it('a core hands a burst of committed records out over several Readies, each within the budget, in order and complete', () => {
    const per = 100 * KIB;
    const n = 12;
    const entries = Array.from({ length: n }, (_, k) => sized(k + 1, per, 2));
    const core = new RaftCore(options('n1', voters('n1', 'n2', 'n3')), { hardState: { term: 2, vote: null, commit: n }, snapshot: null, entries }) as ConsensusCore<BaseMessage>;
    const readies: number[][] = [];
    for (let i = 0; i < 3 * n && core.hasReady(); i++) {
      const rd = core.ready();
      if (rd.committed.length > 0) readies.push(indexes(rd.committed));
      core.advance();
    }
    const perReady = Math.floor(COMMITTED_BYTES_PER_READY_MAX / per);
    expect(readies.flat()).toEqual(Array.from({ length: n }, (_, k) => k + 1));
    expect(Math.max(...readies.map((r) => r.length))).toBe(perReady);
  });
});
