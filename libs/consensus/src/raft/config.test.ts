/** validate(): impossible settings are refused with one sentence naming the setting. */
import { describe, expect, it } from 'vitest';
import { ConsensusError, nodeId, type CoreOptions } from '../contract';
import { raft } from './index';
import { observer, options, voters } from './testkit';

const base = options('n1', voters('n1', 'n2', 'n3'));

function refusal(o: CoreOptions): string {
  try {
    raft.validate(o);
  } catch (e: unknown) {
    if (e instanceof ConsensusError && e.code === 'bad_config') return e.message;
    throw e;
  }
  return 'accepted';
}

describe('raft validate', () => {
  it('accepts a sane configuration, observers included', () => {
    expect(refusal(base)).toBe('accepted');
    expect(refusal({ ...base, members: [...voters('n1', 'n2'), observer('n3')] })).toBe('accepted');
  });

  it.each([
    [{ members: [{ id: nodeId('n1'), role: 'witness' as const }, { id: nodeId('nX'), role: 'observer' as const }] }, 'members must include at least one voter.'],
    [{ electionTimeoutTicks: 3, heartbeatTicks: 3 }, /electionTimeoutTicks \(3\) must be greater than heartbeatTicks \(3\)/],
    [{ id: nodeId('n9') }, /this node \(n9\) must be one of the members/],
    [{ members: [observer('n1')] }, /at least one voter/],
    [{ members: [...voters('n1', 'n1')] }, /listed twice/],
    [{ heartbeatTicks: 0 }, /heartbeatTicks must be a positive integer/],
    [{ entriesPerMessageMax: 0 }, /entriesPerMessageMax/],
    [{ bytesPerMessageMax: -1 }, /bytesPerMessageMax/],
    [{ inflightMessagesMax: 1.5 }, /inflightMessagesMax/],
    [{ uncommittedEntriesMax: 0 }, /uncommittedEntriesMax/],
    [{ protocolOptions: { syncLimit: true } }, "raft has no setting 'syncLimit' (it has preVote, checkQuorum)."],
    [{ protocolOptions: { preVote: 'yes' as unknown as boolean } }, 'preVote must be true or false.'],
  ] as const)('refuses %j', (over, message) => {
    const text = refusal({ ...base, ...over });
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  });

  it('declares preVote and checkQuorum as its own options, both on by default', () => {
    expect(raft.options.map((o) => [o.key, o.defaultValue])).toEqual([['preVote', true], ['checkQuorum', true]]);
    expect(refusal({ ...base, protocolOptions: {} })).toBe('accepted');
    expect(raft.roles).toEqual(['voter', 'witness', 'observer']);
  });

  it('reports the longest election its timeout randomization allows, so the driver need not know it', () => {
    expect(raft.electionTicksMax({ electionTimeoutTicks: 12, heartbeatTicks: 2 })).toBe(36);
  });

  it('create() validates too, and refuses an impossible boot state as bad_state', () => {
    expect(() => raft.create({ ...base, heartbeatTicks: 20 }, { hardState: null, snapshot: null, entries: [] })).toThrow(ConsensusError);
    expect(() => raft.create(base, { hardState: { term: 1, vote: null, commit: 5 }, snapshot: null, entries: [] })).toThrow(/commit 5 is beyond the last record 0/);
  });
});
