/**
 * Membership changes on a running cluster under a write load: grow 3 → 5, hand leadership to a
 * new member, shrink 5 → 3, replace a dead node — with no failed write, every member agreeing
 * on the members, and every replica holding the same rows — Raft, Multi-Paxos and Zab through
 * the one driver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumliteClient } from '@quorumlite/client';
import type { LocalCluster } from '@quorumlite/cluster';
import { PROTOCOL_NAMES, PROTOCOLS, type ProtocolModule } from '@quorumlite/consensus';
import { clusterPerTest, rowsPerNode, sleep, startWriteLoad, waitAllApplied } from './helpers';

const startCluster = clusterPerTest();
let loadClient: QuorumliteClient | null = null;

afterEach(() => {
  loadClient?.close();
  loadClient = null;
});

/** The running nodes are exactly `ids`, and each holds the same rows of w: every acknowledged key, no other. */
async function expectEveryRowEverywhere(cluster: LocalCluster, client: QuorumliteClient, ids: string[], acked: ReadonlySet<string>): Promise<void> {
  const rows = await rowsPerNode(cluster, client, 'SELECT k FROM w ORDER BY k');
  expect([...rows.keys()].sort()).toEqual(ids);
  const [first, ...rest] = [...rows.values()];
  for (const other of rest) expect(other).toEqual(first);
  expect(new Set(first!.map((r) => String(r[0])))).toEqual(acked);
}

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
    await expectEveryRowEverywhere(cluster, client, ['n4', 'n5', 'n6'], load.acked);
  }, 180_000);
});

/**
 * A member changes what it keeps, as docs say: a data voter is removed and a witness process
 * started on an empty data directory is added in its place — under the same id where every
 * other node forgets a removed member's old directory once it applied the removal
 * (ProtocolModule.appliedMembersInForce: Raft, Zab), under a new id otherwise (Multi-Paxos) —
 * with which the other data voter alone keeps a quorum while n2 is down; then it goes back the
 * same way to a data voter holding every row, for each protocol that changes the members of a
 * cluster with witnesses.
 */
const WITNESS_CHANGERS = PROTOCOL_NAMES.filter((name) => (PROTOCOLS[name] as ProtocolModule).witnessMembershipChanges === true);

describe.each(WITNESS_CHANGERS)('a %s voter becomes a witness and a voter again', (protocol) => {
  it('under writes: no write fails, the witness keeps no database, and the voter that comes back holds every row', async () => {
    const { cluster, client } = await startCluster(`members-witness-${protocol}`, { protocol });
    const sameId = (PROTOCOLS[protocol] as ProtocolModule).appliedMembersInForce === true;
    await client.execute('CREATE TABLE w(k TEXT PRIMARY KEY, writer INTEGER)');
    loadClient = new QuorumliteClient({ addresses: [cluster.address('n1'), cluster.address('n2')], timeoutMs: 5_000, retryBudgetMs: 20_000 });
    const load = startWriteLoad(loadClient, 4);
    await sleep(300);

    /**
     * Removes the third member, stops it, waits until the others applied that (a removed node
     * need not ever learn its removal committed), and starts a process keeping `store` on an
     * empty data directory: the same id, or `next`. Returns the id it runs under.
     */
    let third = 'n3';
    const replaceAs = async (store: 'data' | 'witness', next: string): Promise<string> => {
      const removed = await client.changeMembers({ kind: 'remove', id: third });
      expect(removed.members.map((m) => m.id)).toEqual(['n1', 'n2']);
      await cluster.kill(third, 'SIGTERM');
      await waitAllApplied(cluster, removed.index);
      if (sameId) await cluster.startEmpty(third, store);
      else await cluster.addNode((third = next), ['n1', 'n2'], undefined, store);
      return third;
    };

    const w = await replaceAs('witness', 'n4');
    const witnessed = await client.changeMembers({ kind: 'add', id: w, address: cluster.address(w), role: 'witness' });
    expect(witnessed.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', `${w}:witness`]);
    await waitAllApplied(cluster, witnessed.index);
    const asWitness = await cluster.status(w);
    expect([asWitness.role, asWitness.store]).toEqual(['witness', 'log']);

    // The witness and n1 are a quorum: writes go on with n2 down.
    const before = load.acked.size;
    await cluster.kill('n2', 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (load.acked.size < before + 20 && Date.now() < deadline) await sleep(50);
    expect(load.acked.size).toBeGreaterThanOrEqual(before + 20);
    await cluster.restart('n2');

    const v = await replaceAs('data', 'n5');
    const back = await client.changeMembers({ kind: 'add', id: v, address: cluster.address(v), role: 'voter' });
    expect(back.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', `${v}:voter`]);

    await sleep(300);
    await load.stop();
    expect(load.failures).toEqual([]);
    const leader = await cluster.waitForLeader();
    await waitAllApplied(cluster, (await client.status(leader.address)).commitIndex);
    const asVoter = await cluster.status(third);
    expect([asVoter.store, asVoter.role === 'leader' || asVoter.role === 'follower']).toEqual(['database', true]);
    await expectEveryRowEverywhere(cluster, client, ['n1', 'n2', third], load.acked);
  }, 180_000);
});
