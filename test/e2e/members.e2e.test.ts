/**
 * Membership changes on a running cluster under a write load: grow 3 → 5, hand leadership to a
 * new member, shrink 5 → 3, replace a dead node — with no failed write, every member agreeing
 * on the members, and every replica holding the same rows — Raft, Multi-Paxos and Zab through
 * the one driver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumliteClient } from '@quorumlite/client';
import { clusterPerTest, rowsPerNode, sleep, startWriteLoad, waitAllApplied } from './helpers';

const startCluster = clusterPerTest();
let loadClient: QuorumliteClient | null = null;

afterEach(() => {
  loadClient?.close();
  loadClient = null;
});

describe.each(['raft', 'multipaxos', 'zab'] as const)('members of a running %s cluster', (protocol) => {
  it('grow 3 → 5, transfer to a new member, shrink 5 → 3 and replace a dead node under writes: no write fails, every member agrees', async () => {
    const { cluster, client } = await startCluster(`members-${protocol}`, { protocol });
    await client.execute('CREATE TABLE w(k TEXT PRIMARY KEY, writer INTEGER)');
    const n4 = await cluster.addNode('n4');
    await cluster.addNode('n5');
    loadClient = new QuorumliteClient({ addresses: cluster.addresses(), timeoutMs: 5_000, retryBudgetMs: 20_000 });
    const load = startWriteLoad(loadClient, 4);
    await sleep(300);

    const grown = await client.changeMembers({ kind: 'add', id: 'n4', address: n4.address });
    expect(grown.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:voter', 'n4:voter']);
    const five = await client.changeMembers({ kind: 'add', id: 'n5', address: cluster.address('n5') });
    expect(five.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    // The change is committed and applied on the leader; a follower learns it with the next message.
    await waitAllApplied(cluster, five.index);
    for (const n of cluster.nodes) {
      const view = await client.members({ address: n.address });
      expect(view.members.map((m) => `${m.id}:${m.role}@${m.address}`), n.id).toEqual(cluster.nodes.map((x) => `${x.id}:voter@${x.address}`));
    }

    const moved = await client.transferLeadership({ to: 'n5' });
    expect(moved.to).toBe('n5');

    // Shrink: the two first nodes leave; their processes stop once the change committed.
    for (const id of ['n1', 'n2']) {
      await client.changeMembers({ kind: 'remove', id });
      await cluster.kill(id, 'SIGTERM');
    }
    // Replace a dead node: n3 dies, n6 joins, n3 is removed.
    await cluster.kill('n3', 'SIGKILL');
    await cluster.addNode('n6', ['n3', 'n4', 'n5']);
    await client.changeMembers({ kind: 'add', id: 'n6', address: cluster.address('n6') });
    const replaced = await client.changeMembers({ kind: 'remove', id: 'n3' });
    expect(replaced.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n4:voter', 'n5:voter', 'n6:voter']);

    await sleep(300);
    await load.stop();
    expect(load.failures).toEqual([]);
    const leader = await cluster.waitForLeader(15_000, ['n1', 'n2', 'n3']);
    await waitAllApplied(cluster, (await client.status(leader.address)).commitIndex);
    const rows = await rowsPerNode(cluster, client, 'SELECT k FROM w ORDER BY k');
    expect([...rows.keys()].sort()).toEqual(['n4', 'n5', 'n6']);
    const [first, ...rest] = [...rows.values()];
    for (const other of rest) expect(other).toEqual(first);
    expect(new Set(first!.map((r) => String(r[0])))).toEqual(load.acked);
  }, 180_000);
});
