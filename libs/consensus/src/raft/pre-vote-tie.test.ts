/**
 * Two followers that lose a silent leader at the same tick campaign together. Pre-votes are
 * not binding, so each used to grant the other's: both became candidates of one term, each
 * voted for itself, and the round elected no one (a split vote and another timeout). In its
 * first pre-vote round a pre-candidate now grants a rival pre-candidate of the same term only if
 * the rival's log is newer, or as new and the rival ranks first (data voters before witnesses,
 * by id); the other one wins the round alone.
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from './messages';
import { Net, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');
const SURVIVORS = ['n2', 'n3'] as const;

/** n1 leads, then is black-holed (no error reaches anyone); n2 and n3 draw the same timeout, so they campaign in the same tick. */
function leaderBlackHoled(): Net {
  const net = new Net(three, { preVote: true, checkQuorum: true, random: () => 0.5 });
  net.elect('n1');
  net.filter = (m: RaftMessage) => m.to !== 'n1' && m.from !== 'n1';
  return net;
}

describe('raft: two pre-candidates of one term do not split the vote', () => {
  it('followers that time out in the same tick elect one leader in one round', () => {
    const net = leaderBlackHoled();
    const before = net.core('n2').status().term;
    const candidatesByTerm = new Map<number, Set<string>>();
    let ticks = 0;
    while (!SURVIVORS.some((id) => net.core(id).status().role === 'leader') && ticks < 200) {
      for (const id of SURVIVORS) net.tick(id);
      // Both tick before anything is delivered: their pre-votes cross on the wire.
      for (const id of SURVIVORS) {
        const s = net.core(id).status();
        if (s.role === 'candidate' && s.term > before) candidatesByTerm.set(s.term, (candidatesByTerm.get(s.term) ?? new Set()).add(id));
      }
      net.stabilize();
      ticks++;
    }
    const leader = SURVIVORS.find((id) => net.core(id).status().role === 'leader');
    expect(leader).toBeDefined();
    // One round: the leader's term is the next one, and no term had two real candidates.
    expect(net.core(leader!).status().term).toBe(before + 1);
    expect([...candidatesByTerm.values()].filter((s) => s.size > 1)).toEqual([]);
    const other = SURVIVORS.find((id) => id !== leader)!;
    expect(net.core(other).status()).toMatchObject({ role: 'follower', leader, term: before + 1 });
  });

  it('nodes given their members in different orders rank alike: one of two tied pre-candidates passes', () => {
    const net = new Net(three, { preVote: true, checkQuorum: true });
    net.start('n3', undefined, { members: voters('n3', 'n2', 'n1') });
    net.elect('n1');
    net.filter = (m: RaftMessage) => m.to !== 'n1' && m.from !== 'n1';
    const before = net.core('n2').status().term;
    // Both ask before anything is delivered.
    net.campaign('n2');
    net.campaign('n3');
    net.stabilize();
    expect(net.core('n2').status()).toMatchObject({ role: 'leader', term: before + 1 });
    expect(net.core('n3').status()).toMatchObject({ role: 'follower', leader: 'n2', term: before + 1 });
  });

  it('a data voter wins a tie against a witness whose id comes first', () => {
    const members = [...voters('n2', 'n3'), { ...voters('a1')[0]!, role: 'witness' as const }];
    const net = new Net(members, { preVote: true, checkQuorum: true });
    net.elect('n2');
    net.filter = (m: RaftMessage) => m.to !== 'n2' && m.from !== 'n2';
    expect(net.core('a1').status().lastIndex).toBe(net.core('n3').status().lastIndex);
    net.campaign('a1');
    net.campaign('n3');
    net.stabilize();
    expect(net.core('n3').status().role).toBe('leader');
  });

  it('a node ranked first that cannot win refuses the one that can only in its first round: a leader is elected', () => {
    // Five voters, n1 (the leader) and n5 down, the n2–n4 link cut: only n3 reaches a quorum
    // (n2, n3, n4), and it needs n2's grant. n2 asks first and refuses n3 in its first round.
    const net = new Net(voters('n1', 'n2', 'n3', 'n4', 'n5'), { preVote: true, checkQuorum: true });
    net.elect('n1');
    const down = new Set(['n1', 'n5']);
    const cut = (a: string, b: string): boolean => (a === 'n2' && b === 'n4') || (a === 'n4' && b === 'n2');
    net.filter = (m: RaftMessage) => !down.has(m.to) && !down.has(m.from) && !cut(m.from, m.to);
    net.campaign('n2');
    net.stabilize();
    const live = ['n2', 'n3', 'n4'];
    let ticks = 0;
    while (!live.some((id) => net.core(id).status().role === 'leader') && ticks < 400) {
      for (const id of live) net.tick(id);
      net.stabilize();
      ticks++;
    }
    expect(net.core('n3').status().role).toBe('leader');
  });

  it('five voters whose four followers time out in one tick: the first-ranked stands alone, the others yield though a quorum granted them', () => {
    const five = voters('n1', 'n2', 'n3', 'n4', 'n5');
    const net = new Net(five, { preVote: true, checkQuorum: true, random: () => 0.5 });
    net.elect('n1');
    net.filter = (m: RaftMessage) => m.to !== 'n1' && m.from !== 'n1';
    const live = ['n2', 'n3', 'n4', 'n5'];
    const before = net.core('n2').status().term;
    const realCandidates = new Map<number, Set<string>>();
    let ticks = 0;
    while (!live.some((id) => net.core(id).status().role === 'leader') && ticks < 200) {
      const sent = net.sent.length;
      for (const id of live) net.tick(id);
      net.stabilize();
      for (const m of net.sent.slice(sent)) if (m.type === 'vote') realCandidates.set(m.term, (realCandidates.get(m.term) ?? new Set()).add(m.from));
      ticks++;
    }
    expect(net.core('n2').status()).toMatchObject({ role: 'leader', term: before + 1 });
    expect([...realCandidates.entries()].map(([t, ids]) => `${t}:${[...ids].join(',')}`)).toEqual([`${before + 1}:n2`]);
  });
});
