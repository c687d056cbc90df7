/** The members a node works with, and the transport peers it dials. */
import { describe, expect, it } from 'vitest';
import { nodeId, type Member } from '@quorumlite/consensus';
import { Membership } from './membership';
import { silentLogger } from './ports';

function membership(): { m: Membership; peers: () => string[] } {
  let last: readonly { id: string; address: string }[] = [];
  const boot = ['n1', 'n2', 'n3'].map((id) => ({ id, role: 'voter' as const, address: `${id}:7000` }));
  const m = new Membership(boot, { nodeId: 'n1', logger: silentLogger, setPeers: (p) => (last = p) });
  return { m, peers: () => last.map((p) => p.id) };
}

const voter = (id: string): Member => ({ id: nodeId(id), role: 'voter' });

describe('Membership', () => {
  it('keeps dialling a member being removed until the change commits, though it is no member', () => {
    const { m, peers } = membership();
    expect(m.refresh([voter('n1'), voter('n2')], [voter('n1'), voter('n2'), voter('n3')])).toBe(true);
    expect(m.list().map((x) => x.id)).toEqual(['n1', 'n2']);
    expect(peers()).toEqual(['n2', 'n3']);
    expect(m.leavingById.get('n3')).toMatchObject({ address: 'n3:7000', role: 'voter' });
    // Committed: the member that left is dialled no more.
    expect(m.refresh([voter('n1'), voter('n2')])).toBe(true);
    expect(peers()).toEqual(['n2']);
    expect(m.leavingById.size).toBe(0);
    expect(m.refresh([voter('n1'), voter('n2')])).toBe(false);
  });

  it('a configuration that does not name this node (older history it relearns, or its removal) drops none of its peers', () => {
    const { m, peers } = membership();
    // n1 catches up through slots from before n3 joined: n3 is the leader catching it up.
    expect(m.refresh([voter('n2'), voter('n4')])).toBe(true);
    expect(m.list().map((x) => x.id)).toEqual(['n2', 'n4']);
    expect(peers()).toEqual(['n2', 'n3']);
    // Once a configuration names it again, the peers are that configuration's.
    expect(m.refresh([voter('n1'), voter('n2'), voter('n4')])).toBe(true);
    expect(peers()).toEqual(['n2']);
  });
});
