/**
 * A restarted node's state machine keeps what it applied (the database is durable with its
 * applied index): the core takes those records as committed and does not hand them out again,
 * so a restart costs no re-read of the whole log since the snapshot.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, term, type BaseMessage, type ConsensusCore, type Entry, type PersistedState } from '../contract';
import { PaxosCore } from '../multipaxos';
import { ballotOf } from '../multipaxos/config';
import { RaftCore } from '../raft';
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

  it('raft: without an applied index (a witness), the records its hard state committed are handed out', () => {
    const core = cases[0]!.boot();
    expect(core.status().commitIndex).toBe(3);
    expect(handedOut(core)).toEqual([1, 2, 3]);
  });
});
