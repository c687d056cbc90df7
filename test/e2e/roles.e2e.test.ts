/**
 * Observers (non-voting replicas that keep the database and serve reads) and per-write
 * durability levels, on real processes of every registered protocol.
 */
import { describe, expect, it } from 'vitest';
import { QuorumliteClient, QuorumliteError } from '@quorumlite/client';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { clusterForFile, waitAllApplied } from './helpers';

describe.each(PROTOCOL_NAMES)('observers and durability levels on %s', (protocol) => {
  const c = clusterForFile(`roles-${protocol}`, { protocol, nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }, { id: 'n4', role: 'observer' }] });

  it('an observer replicates the data, serves reads at every consistency, and never leads', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE obs(n INTEGER)');
    const w = await client.execute({ sql: 'INSERT INTO obs VALUES (?)', params: [42] });
    const observer = cluster.nodes.find((n) => n.id === 'n4')!;
    const s = await client.status(observer.address);
    expect(s.role).toBe('observer');
    expect(s.members.find((m) => m.id === 'n4')?.role).toBe('observer');
    for (const consistency of ['linearizable', 'session', 'stale'] as const) {
      if (consistency === 'stale') await waitAllApplied(cluster, w.index);
      const r = await client.query('SELECT n FROM obs', [], { address: observer.address, consistency, minIndex: w.index });
      expect(r.rows).toEqual([[42n]]);
    }
    const leader = await cluster.waitForLeader();
    expect(leader.id).not.toBe('n4');
  });

  it('an observer never counts toward a quorum: with two voters down no write commits; a voter leads once one is back', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE vote(k TEXT PRIMARY KEY)');
    const leader = await cluster.waitForLeader();
    const observer = cluster.nodes.find((n) => n.id === 'n4')!;
    const followers = cluster.nodes.filter((n) => n.id !== 'n4' && n.id !== leader.id);
    for (const f of followers) await cluster.kill(f.id, 'SIGKILL');
    try {
      // The leader's own copy and the observer's would make two of three if the observer counted.
      let error: unknown = null;
      const once = new QuorumliteClient({ addresses: [leader.address], retryBudgetMs: 0 });
      try {
        await once.execute({ sql: "INSERT INTO vote VALUES ('without-quorum')" }, { timeoutMs: 1_000 });
      } catch (e: unknown) {
        error = e;
      } finally {
        once.close();
      }
      expect(error).toBeInstanceOf(QuorumliteError);
      for (const node of [leader, observer]) {
        const r = await client.query("SELECT k FROM vote WHERE k = 'without-quorum'", [], { address: node.address, consistency: 'stale' });
        expect(r.rows, `${node.id} applied a write that one voter of three holds`).toEqual([]);
      }
      await cluster.restart(followers[0]!.id);
      const next = await cluster.waitForLeader(15_000);
      expect(next.id).not.toBe('n4');
      const w = await client.execute({ sql: "INSERT INTO vote VALUES ('after')" });
      const r = await client.query("SELECT k FROM vote WHERE k = 'after'", [], { address: observer.address, consistency: 'session', minIndex: w.index });
      expect(r.rows).toEqual([['after']]);
    } finally {
      for (const f of followers) if (!cluster.isRunning(f.id)) await cluster.restart(f.id);
    }
  });

  it('durability all waits for every voter; with one voter down it times out while quorum writes go on', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE dur(k TEXT PRIMARY KEY)');
    const all = await client.execute({ sql: "INSERT INTO dur VALUES ('all-1')" }, { durability: 'all' });
    const semi = await client.execute({ sql: "INSERT INTO dur VALUES ('semi-1')" }, { durability: 'semi' });
    expect(semi.index).toBeGreaterThan(all.index);
    const leader = await cluster.waitForLeader();
    const down = cluster.nodes.find((n) => n.id !== leader.id && n.id !== 'n4')!;
    await cluster.kill(down.id, 'SIGKILL');
    try {
      await client.execute({ sql: "INSERT INTO dur VALUES ('quorum-2')" }, { durability: 'quorum' });
      await client.execute({ sql: "INSERT INTO dur VALUES ('semi-2')" }, { durability: 'semi' });
      let error: unknown = null;
      const once = new QuorumliteClient({ addresses: [leader.address], retryBudgetMs: 0 });
      try {
        await once.execute({ sql: "INSERT INTO dur VALUES ('all-2')" }, { durability: 'all', timeoutMs: 1_500 });
      } catch (e: unknown) {
        error = e;
      } finally {
        once.close();
      }
      expect(error).toBeInstanceOf(QuorumliteError);
      expect((error as QuorumliteError).message).toMatch(/committed at index \d+ by a quorum, but not yet acknowledged by every data voter/);
      // It was committed all the same: the row is there.
      const r = await client.query("SELECT k FROM dur WHERE k = 'all-2'");
      expect(r.rows).toEqual([['all-2']]);
    } finally {
      await cluster.restart(down.id);
    }
  });

  it('durability leader acknowledges once the leader alone holds the write, before commit; such a write, and only it, may be lost', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE lead(k TEXT PRIMARY KEY)');
    // With every node up it is committed soon after: its effect can be read back by index.
    const early = await client.execute({ sql: "INSERT INTO lead VALUES ('early')" }, { durability: 'leader' });
    expect(early).toMatchObject({ uncommitted: true, results: [] });
    const back = await client.query("SELECT k FROM lead WHERE k = 'early'", [], { consistency: 'session', minIndex: early.index });
    expect(back.rows).toEqual([['early']]);

    const leader = await cluster.waitForLeader();
    const voters = cluster.nodes.filter((n) => n.id !== 'n4' && n.id !== leader.id);
    const once = new QuorumliteClient({ addresses: [leader.address], retryBudgetMs: 0 });
    await once.status(leader.address);
    // Both voters stop (SIGSTOP: their connections stay open, so the leader notices the lost
    // quorum only a sync limit later, where a kill's broken connections make a Zab leader
    // abdicate at once): no follower takes the write, and the leader's own fsync is all it
    // waits for. What reaches them sits unread in their sockets and dies with them below.
    for (const v of voters) cluster.pause(v.id);
    try {
      const lost = await once.execute({ sql: "INSERT INTO lead VALUES ('lost')" }, { durability: 'leader', timeoutMs: 3_000 });
      expect(lost).toMatchObject({ uncommitted: true, results: [] });
      await expect(once.execute({ sql: "INSERT INTO lead VALUES ('never')" }, { durability: 'quorum', timeoutMs: 1_000 })).rejects.toThrow(QuorumliteError);
    } finally {
      once.close();
    }
    // The leader fails before any voter has the write: the others elect a leader without it.
    await cluster.kill(leader.id, 'SIGKILL');
    for (const v of voters) await cluster.kill(v.id, 'SIGKILL');
    for (const v of voters) await cluster.restart(v.id);
    try {
      const next = await cluster.waitForLeader(20_000, [leader.id, 'n4']);
      const after = await client.execute({ sql: "INSERT INTO lead VALUES ('after')" });
      const r = await client.query('SELECT k FROM lead ORDER BY k', [], { address: next.address, consistency: 'linearizable' });
      expect(r.rows).toEqual([['after'], ['early']]);
      await cluster.restart(leader.id);
      await waitAllApplied(cluster, after.index);
      for (const node of cluster.nodes) {
        const rows = await client.query('SELECT k FROM lead ORDER BY k', [], { address: node.address, consistency: 'stale' });
        expect(rows.rows, `${node.id} after the old leader rejoined`).toEqual([['after'], ['early']]);
      }
    } finally {
      if (!cluster.isRunning(leader.id)) await cluster.restart(leader.id);
    }
  });
});
