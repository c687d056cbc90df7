/**
 * What a node announces (SEENCONFIG) comes from its own history: an announcement it holds from a
 * peer — a deposed epoch's record at a high index — neither replaces its own committed
 * configuration in what it tells others, nor beats a newer configuration (zxid order).
 */
import { describe, expect, it } from 'vitest';
import { encodeConfig } from '../common/membership';
import { memberList, options } from '../common/testkit';
import { logIndex, nodeId, term, type Entry } from '../contract';
import { ZabCore } from './core';
import type { ZabMessage } from './messages';
import { drainCore, voters } from './testkit';

const V3 = voters('n1', 'n2', 'n3');

const drain = drainCore;

describe('a node holding a committed change, told of a stale higher-index configuration', () => {
  it('still announces its own committed configuration to a member that missed it', () => {
    const entries: Entry[] = [
      { index: logIndex(1), term: term(2), kind: 'command', data: new TextEncoder().encode('a') },
      { index: logIndex(2), term: term(2), kind: 'config', data: encodeConfig(memberList('n1 n2 n3 n4:observer')) },
      { index: logIndex(3), term: term(2), kind: 'config', data: encodeConfig(memberList('n1 n2 n3 n4:voter')) },
    ];
    const core = new ZabCore(options('n3', V3), { hardState: { acceptedEpoch: 2, currentEpoch: 2 }, snapshot: null, entries, appliedIndex: logIndex(3) });
    core.tick();
    drain(core);
    const looking = (from: string): ZabMessage => ({ type: 'notification', from: nodeId(from), to: nodeId('n3'), round: 1, state: 'looking', vote: { leader: nodeId(from), epoch: term(1), zxidEpoch: term(1), zxidIndex: logIndex(1) } }) as ZabMessage;
    // Baseline: n1 looking hears of the committed configuration at 3.
    core.step(looking('n1'));
    const before = drain(core).filter((m) => m.type === 'seenConfig' && m.to === 'n1');
    expect(before.map((m) => (m as { index: number }).index)).toEqual([3]);
    // n2 (a deposed epoch-1 follower) announces an uncommitted record of epoch 1 at index 9.
    core.step({ type: 'seenConfig', from: nodeId('n2'), to: nodeId('n3'), index: logIndex(9), indexEpoch: term(1), config: encodeConfig(memberList('n1 n2 n3')) } as ZabMessage);
    drain(core);
    core.step(looking('n1'));
    const after = drain(core).filter((m) => m.type === 'seenConfig' && m.to === 'n1');
    expect(after.map((m) => (m as { index: number }).index)).toEqual([3]);
  });
});
