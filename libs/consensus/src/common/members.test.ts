/**
 * The member-list rule every protocol shares: witnesses may not make a cluster tolerate fewer
 * failures than its quorum suggests (each protocol that takes witnesses refuses such a list;
 * one that takes none refuses the witness by name first).
 */
import { describe, expect, it } from 'vitest';
import { ConsensusError, nodeId, type Member, type ProtocolModule } from '../contract';
import { PROTOCOLS } from '../registry';
import { witnessShortfall } from './members';
import { options } from './testkit';

/** `<v>v<w>w`: data voters n1…, then witnesses. */
function shape(dataVoters: number, witnessCount: number): Member[] {
  return [
    ...Array.from({ length: dataVoters }, (_, i): Member => ({ id: nodeId(`n${i + 1}`), role: 'voter' })),
    ...Array.from({ length: witnessCount }, (_, i): Member => ({ id: nodeId(`w${dataVoters + i + 1}`), role: 'witness' })),
  ];
}

function refusal(protocol: ProtocolModule, members: readonly Member[]): string {
  try {
    protocol.validate(options('n1', members));
  } catch (e: unknown) {
    if (e instanceof ConsensusError && e.code === 'bad_config') return e.message;
    throw e;
  }
  return 'accepted';
}

/** Shapes whose f = voters − majority failures may stop every data voter. */
const SHORT = [[1, 2], [2, 3], [1, 3], [2, 4], [3, 4]] as const;
/** The shipped witness topologies, and ones that waste a witness without losing a failure. */
const SOUND = [[2, 1], [3, 2], [1, 1], [2, 2], [3, 0], [4, 3]] as const;

describe('witnessShortfall', () => {
  it.each(SHORT)('refuses %iv%iw, naming the failures its quorum promises and the data voters it needs', (v, w) => {
    expect(witnessShortfall(shape(v, w))).toMatch(/witnesses keep no database to serve or lead from; list at least \d+ data voters, or fewer witnesses\./);
  });

  it.each(SOUND)('takes %iv%iw: the failures its quorum survives leave a data voter up', (v, w) => {
    expect(witnessShortfall(shape(v, w))).toBeNull();
  });

  it('says it in one sentence with the counts', () => {
    expect(witnessShortfall(shape(1, 2))).toBe(
      'members list 1 data voter and 2 witnesses: a quorum of 2 of 3 survives 1 failure, but 1 may stop every data voter, ' +
        'and witnesses keep no database to serve or lead from; list at least 2 data voters, or fewer witnesses.',
    );
  });
});

describe.each(Object.values(PROTOCOLS) as ProtocolModule[])('$name validate with witnesses', (protocol) => {
  if (!protocol.roles.includes('witness')) {
    it('refuses a witness by name before any count', () => {
      expect(refusal(protocol, shape(1, 2))).toMatch(/does not support witness members yet/);
    });
    return;
  }
  it.each(SHORT)('refuses %iv%iw', (v, w) => {
    expect(refusal(protocol, shape(v, w))).toBe(witnessShortfall(shape(v, w)));
  });
  it.each(SOUND)('takes %iv%iw', (v, w) => {
    expect(refusal(protocol, shape(v, w))).toBe('accepted');
  });
});
