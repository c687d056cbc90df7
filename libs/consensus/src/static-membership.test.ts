/**
 * Zab keeps the members it boots with (Raft and Multi-Paxos change them: raft/membership.test.ts,
 * multipaxos/membership.test.ts):
 * a change is refused by name, and the configuration at any index is the boot list.
 */
import { describe, expect, it } from 'vitest';
import { voters } from './common/testkit';
import { logIndex, nodeId } from './contract';
import { ZabNet } from './zab/testkit';

const members = voters('n1', 'n2', 'n3');
const nets = { zab: () => new ZabNet(members) };

describe.each(['zab'] as const)('%s membership is static', (name) => {
  it('refuses a change as unsupported, and gives the boot members as the configuration at any index', () => {
    const net = nets[name]();
    const leader = net.settle();
    net.propose(leader, 'a');
    net.stabilize();
    const core = net.core(leader);
    const next = [...members, { id: nodeId('n4'), role: 'observer' as const }].map((m) => ({ ...m, address: `${m.id}:7000` }));
    expect(core.proposeMembership(next)).toEqual({ ok: false, reason: 'unsupported', message: `${name} does not change membership at runtime yet.` });
    expect(core.membersAt(logIndex(0))).toEqual(members);
    expect(core.membersAt(core.status().commitIndex)).toEqual(members);
  });
});
