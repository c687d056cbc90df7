/** Zab's phases on a hand-driven network: election, discovery, synchronization, broadcast. */
import { describe, expect, it } from 'vitest';
import { ZabNet, voters, observer, diskOf } from './testkit';

describe('zab: fast leader election', () => {
  it('elects the voter with the highest (currentEpoch, last zxid, id) when all start equal: the highest id', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    expect(leader).toBe('n3');
    expect(net.core('n1').status().leader).toBe('n3');
    expect(net.core('n2').status().leader).toBe('n3');
  });

  it('prefers a higher current epoch over a longer history from an older epoch', () => {
    // n1 synchronized to epoch 2 with history [1,1]; n3 holds [1,1,1,1] but only currentEpoch 1.
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, {
      n1: diskOf(2, 2, [1, 1]),
      n2: diskOf(2, 2, [1, 1]),
      n3: diskOf(1, 1, [1, 1, 1, 1]),
    });
    const leader = net.settle();
    expect(leader).not.toBe('n3');
  });
});

describe('zab: discovery persists epochs before acknowledging them', () => {
  it('every node ends with acceptedEpoch = currentEpoch = the new epoch, above all earlier ones', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, {
      n1: diskOf(4, 3, []),
      n2: diskOf(1, 1, []),
      n3: diskOf(2, 2, []),
    });
    net.settle();
    for (const id of ['n1', 'n2', 'n3']) expect(net.hard(id)).toEqual({ acceptedEpoch: 5, currentEpoch: 5 });
  });
});

describe('zab: broadcast', () => {
  it('commits proposals in zxid order on every replica', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    for (let i = 0; i < 50; i++) net.propose(leader, `w${i}`);
    net.stabilize();
    net.tickAll(2);
    const want = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(want);
  });

  it('observers learn committed proposals and never count toward a quorum', () => {
    const net = new ZabNet([...voters('n1', 'n2', 'n3'), observer('o1')]);
    const leader = net.settle();
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData('o1')).toEqual(['a']);
    expect(net.core('o1').status().role).toBe('observer');
  });
});

describe('zab: synchronization', () => {
  it('a proposal of an epoch that never committed is truncated on the follower and never applied (ZOOKEEPER-1549)', () => {
    // n3 led epoch 1, logged a proposal nobody else has, and died before anyone acknowledged it.
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, {
      n1: diskOf(1, 1, [1]),
      n2: diskOf(1, 1, [1]),
      n3: diskOf(1, 1, [1, 1]),
    });
    net.crash('n3');
    const leader = net.settle();
    expect(leader).not.toBe('n3');
    net.propose(leader, 'after');
    net.stabilize();
    net.restart('n3');
    net.settle();
    net.tickAll(3);
    expect(net.epochsOnDisk('n3')).toEqual(net.epochsOnDisk(leader));
    expect(net.appliedData('n3')).not.toContain('2@1');
    expect(net.appliedData('n3')).toContain('after');
  });
});
