/**
 * A restarted node's state machine keeps what it applied (the database is durable with its
 * applied index): the core takes those records as committed and does not hand them out again,
 * so a restart costs no re-read of the whole log since the snapshot.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type BaseMessage, type ConsensusCore, type Entry, type PersistedState } from '../contract';
import { PaxosCore } from '../multipaxos';
import { ballotOf } from '../multipaxos/config';
import { RaftCore } from '../raft';
import type { AppendMessage, AppendResponseMessage } from '../raft/messages';
import { ZabCore } from '../zab';
import { options, voters } from './testkit';

const N3 = voters('n1', 'n2', 'n3');
const record = (i: number, t: number): Entry => ({ index: logIndex(i), term: term(t), kind: 'command', data: new Uint8Array([i]) });

/** Every committed record the core hands out over a few Readies (no messages arrive meanwhile). */
function handedOut(core: ConsensusCore<BaseMessage>): number[] {
  const out: number[] = [];
  for (let i = 0; i < 10 && core.hasReady(); i++) {
    out.push(...core.ready().committed.map((e) => e.index));
    core.advance();
  }
  return out;
}

describe('a restart after the state machine applied records', () => {
  const cases: Array<{ name: string; boot: (appliedIndex?: number) => ConsensusCore<BaseMessage> }> = [
    {
      name: 'raft',
      boot: (appliedIndex) => {
        const persisted: PersistedState = { hardState: { term: 2, vote: null, commit: 3 }, snapshot: null, entries: [1, 2, 3, 4, 5, 6].map((i) => record(i, 2)), ...(appliedIndex !== undefined ? { appliedIndex: logIndex(appliedIndex) } : {}) };
        return new RaftCore(options('n1', N3), persisted) as ConsensusCore<BaseMessage>;
      },
    },
    {
      name: 'multipaxos',
      boot: (appliedIndex) => {
        const b = ballotOf(1, 1);
        const persisted: PersistedState = { hardState: { promised: b }, snapshot: null, entries: [1, 2, 3, 4, 5, 6].map((i) => record(i, b)), ...(appliedIndex !== undefined ? { appliedIndex: logIndex(appliedIndex) } : {}) };
        return new PaxosCore(options('n1', N3), persisted) as ConsensusCore<BaseMessage>;
      },
    },
    {
      name: 'zab',
      boot: (appliedIndex) => {
        const persisted: PersistedState = { hardState: { acceptedEpoch: 1, currentEpoch: 1 }, snapshot: null, entries: [1, 2, 3, 4, 5, 6].map((i) => record(i, 1)), ...(appliedIndex !== undefined ? { appliedIndex: logIndex(appliedIndex) } : {}) };
        return new ZabCore(options('n1', N3), persisted) as ConsensusCore<BaseMessage>;
      },
    },
  ];

  for (const { name, boot } of cases) {
    it(`${name}: takes the applied records as committed and hands none of them out again`, () => {
      const core = boot(5);
      expect(core.status().commitIndex).toBe(5);
      expect(handedOut(core)).toEqual([]);
    });

    it(`${name}: a database ahead of its log counts up to the log's end only`, () => {
      const core = boot(9);
      expect(core.status().commitIndex).toBe(6);
      expect(handedOut(core)).toEqual([]);
    });
  }

  it('raft: a new leader whose records conflict above the boot commit replaces them, and one probing below it is told the commit', () => {
    const core = cases[0]!.boot(5) as unknown as RaftCore;
    const append = (prevIndex: number, prevTerm: number, entries: Entry[]): AppendResponseMessage[] => {
      const m: AppendMessage = { type: 'append', from: nodeId('n2'), to: nodeId('n1'), term: term(3), prevIndex: logIndex(prevIndex), prevTerm: term(prevTerm), commit: logIndex(7), entries };
      core.step(m);
      const rd = core.ready();
      core.advance();
      return rd.messages.filter((x): x is AppendResponseMessage => x.type === 'appendResponse');
    };
    // Below the boot commit: answered with the commit point, nothing taken.
    expect(append(3, 2, [record(4, 2), record(5, 2), record(6, 3), record(7, 3)])).toMatchObject([{ reject: false, index: 5 }]);
    // From it: record 6 of term 2 (never committed) gives way to the leader's, without a guard throwing.
    expect(append(5, 2, [record(6, 3), record(7, 3)])).toMatchObject([{ reject: false, index: 7 }]);
    expect(core.status().commitIndex).toBe(7);
    expect(handedOut(core)).toEqual([]); // 6 and 7 went out with the Ready that took them
  });

  it('multipaxos: a hole below the applied index stops the boot commit at the hole', () => {
    const b = ballotOf(1, 1);
    // A hole is stored as a record of ballot 0 with no value (docs/protocols.md).
    const hole: Entry = { index: logIndex(3), term: term(0), kind: 'noop', data: new Uint8Array() };
    const persisted: PersistedState = { hardState: { promised: b }, snapshot: null, entries: [record(1, b), record(2, b), hole, ...[4, 5, 6].map((i) => record(i, b))], appliedIndex: logIndex(5) };
    const core = new PaxosCore(options('n1', N3), persisted) as ConsensusCore<BaseMessage>;
    expect(core.status().commitIndex).toBe(2);
    expect(handedOut(core)).toEqual([]);
  });

  it('raft: without an applied index (a witness), the records its hard state committed are handed out', () => {
    const core = cases[0]!.boot();
    expect(core.status().commitIndex).toBe(3);
    expect(handedOut(core)).toEqual([1, 2, 3]);
  });
});
