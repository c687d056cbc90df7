/** The successor a leader resigning for want of a quorum names: a transfer's target first, then the data voter heard from lately, holding the most, heard from last. */
import { describe, expect, it } from 'vitest';
import { nodeId } from '../contract';
import { bytes, Net, voters } from './testkit';

const handOff = (net: Net): string[][] =>
  net.sent.filter((m) => m.from === 'n1' && (m.type === 'timeoutNow' || m.type === 'resign')).map((m) => [m.type, m.to]);

function tickUntilFollower(net: Net): void {
  for (let i = 0; i < 40 && net.core('n1').status().role === 'leader'; i++) {
    net.tick('n1');
    net.stabilize();
  }
  expect(net.core('n1').status().role).toBe('follower');
}

describe('successor of a leader resigning for want of a quorum', () => {
  it('is the target of a transfer under way, even one that holds less of the log', () => {
    const net = new Net(voters('n1', 'n2', 'n3'), { checkQuorum: true, preVote: true });
    net.elect('n1');
    net.isolate('n3');
    net.core('n1').propose(bytes('x'));
    net.stabilize(); // n2 holds x, n3 does not (as n1 knows)
    net.heal();
    net.filter = (m) => m.to !== 'n1';
    for (let i = 0; i < 10; i++) {
      net.tick('n1');
      net.stabilize(); // the round n2 answered in passes
    }
    expect(net.core('n1').status().role).toBe('leader');
    net.core('n1').transferLeadership(nodeId('n3'));
    net.stabilize();
    tickUntilFollower(net);
    expect(handOff(net).filter(([t]) => t === 'timeoutNow' || t === 'resign').slice(-2)).toEqual([['resign', 'n2'], ['timeoutNow', 'n3']]);
  });

  it('prefers a data voter that answered lately over one that holds more but went silent', () => {
    const net = new Net(voters('n1', 'n2', 'n3', 'n4', 'n5'), { checkQuorum: true, preVote: true });
    net.elect('n1');
    net.isolate('n3');
    net.core('n1').propose(bytes('x'));
    net.stabilize(); // n2, n4, n5 hold x; n3 does not
    net.heal();
    // n1 hears only n3 (2 of 5), and n3 gets heartbeats but no entries.
    net.filter = (m) => (m.to === 'n1' ? m.from === 'n3' : !(m.to === 'n3' && m.type === 'append'));
    tickUntilFollower(net);
    expect(handOff(net).find(([t]) => t === 'timeoutNow')).toEqual(['timeoutNow', 'n3']);
  });

  it('among equals none heard lately, names the one heard from last, not the first in member order', () => {
    const net = new Net(voters('n1', 'n2', 'n3'), { checkQuorum: true, preVote: true });
    net.elect('n1');
    net.filter = (m) => !(m.to === 'n1' && m.from === 'n2');
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize(); // n3 answers after n2 fell silent
    }
    net.filter = (m) => m.to !== 'n1';
    tickUntilFollower(net);
    expect(handOff(net).find(([t]) => t === 'timeoutNow')).toEqual(['timeoutNow', 'n3']);
  });
});
