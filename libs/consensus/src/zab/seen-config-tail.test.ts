/**
 * A member whose history holds a deposed epoch's tail longer than the index of the committed
 * change it missed still learns that change: announcements are ordered by zxid (epoch first),
 * not by index, so it follows the member the change added instead of dropping its messages.
 */
import { describe, expect, it } from 'vitest';
import { memberList, rolesOf } from '../common/testkit';
import { voters, ZabNet, diskOf } from './testkit';

const V3 = voters('n1', 'n2', 'n3');

function runUntil(net: ZabNet, done: () => boolean, ticks = 200, ids?: readonly string[]): void {
  for (let i = 0; i < ticks && !done(); i++) {
    if (ids === undefined) net.tickAll();
    else for (const id of ids) net.tick(id);
    net.stabilize();
  }
}

describe('a member with a stale longer tail that missed the change adding the new leader', () => {
  it('n1 (epoch-1 tail to index 8) follows n4, added and promoted at indexes 3..4 of epoch 2', () => {
    // n1 accepted records 2..8 of a deposed epoch-1 leader that nobody else kept.
    const net = new ZabNet(V3, {}, { n1: diskOf(1, 1, [1, 1, 1, 1, 1, 1, 1, 1]), n2: diskOf(1, 1, [1]), n3: diskOf(1, 1, [1]) });
    net.isolate('n1');
    const leader = net.settle();
    expect(['n2', 'n3']).toContain(leader);
    const other = leader === 'n2' ? 'n3' : 'n2';
    runUntil(net, () => net.core(leader).proposeMembership(memberList('n1 n2 n3 n4:observer')).ok, 50, ['n2', 'n3']);
    net.start('n4', undefined, { members: memberList('n1 n2 n3 n4:observer') });
    runUntil(net, () => !net.core(leader).status().membershipPending && net.core('n4').status().commitIndex >= net.core(leader).status().commitIndex, 200, ['n2', 'n3', 'n4']);
    runUntil(net, () => net.core(leader).proposeMembership(memberList('n1 n2 n3 n4:voter')).ok, 100, ['n2', 'n3', 'n4']);
    runUntil(net, () => !net.core(leader).status().membershipPending && net.core('n4').status().role === 'follower', 200, ['n2', 'n3', 'n4']);
    expect(rolesOf(net.core(other))).toBe('n1:voter n2:voter n3:voter n4:voter');
    const configIndex = net.core(leader).status().commitIndex;
    expect(configIndex).toBeLessThan(8); // below n1's stale tail
    expect(rolesOf(net.core('n1'))).toBe('n1:voter n2:voter n3:voter');
    net.core(leader).transferLeadership('n4' as never);
    runUntil(net, () => net.leaderOf() === 'n4', 100, ['n2', 'n3', 'n4']);
    expect(net.leaderOf()).toBe('n4');
    net.heal();
    runUntil(net, () => net.core('n1').status().leader === 'n4', 400);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader: 'n4' });
  });
});
