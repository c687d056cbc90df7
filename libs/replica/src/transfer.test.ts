import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, type CoreStatus, type NodeId, type Role } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
import { Transfers, type TransferHost } from './transfer';

/** A host whose clock and timers the test drives. */
function fakeHost(over: Partial<{ role: Role; leader: string | null; members: [string, 'voter' | 'witness' | 'observer'][]; match: Record<string, number> }> = {}) {
  const state = { role: over.role ?? ('leader' as Role), leader: (over.leader === undefined ? 'n1' : over.leader) as string | null, nowMs: 0 };
  const requested: string[] = [];
  const timers: { atMs: number; fn: () => void; cancelled: boolean }[] = [];
  const members = new Map((over.members ?? [['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter']]).map(([id, role]) => [id, { id, role }]));
  const progress: CoreStatus['progress'] = Object.fromEntries(Object.entries(over.match ?? {}).map(([id, m]) => [id, { match: logIndex(m), next: logIndex(m + 1), state: 'replicate' }]));
  const host: TransferHost = {
    nodeId: 'n1',
    members,
    role: () => state.role,
    leaderId: () => (state.leader === null ? null : nodeId(state.leader)),
    hint: () => ({ leaderId: state.leader, leaderAddress: state.leader ? `addr-${state.leader}` : null }),
    progress: () => progress,
    request: (to: NodeId) => requested.push(to),
    now: () => state.nowMs,
    after: (ms, fn) => {
      const t = { atMs: state.nowMs + ms, fn, cancelled: false };
      timers.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
    stopped: () => false,
  };
  const advance = (ms: number): void => {
    state.nowMs += ms;
    for (const t of timers.splice(0)) {
      if (t.cancelled) continue;
      if (t.atMs <= state.nowMs) t.fn();
      else timers.push(t);
    }
  };
  return { host, state, requested, advance };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function refusal(p: Promise<unknown>): Promise<ReplicaError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ReplicaError);
  return e as ReplicaError;
}

describe('leadership transfer (driver side)', () => {
  it('asks the core to hand over to the named voter and resolves once it leads', async () => {
    const f = fakeHost();
    const t = new Transfers(f.host);
    const done = t.transfer('n3', 1_000);
    await flush();
    expect(f.requested).toEqual(['n3']);
    f.advance(40);
    f.state.role = 'follower';
    f.state.leader = 'n3';
    t.changed();
    await expect(done).resolves.toEqual({ from: 'n1', to: 'n3', elapsedMs: 40 });
  });

  it('without a target picks the most caught-up other data voter, never a witness or observer', async () => {
    const f = fakeHost({ members: [['n1', 'voter'], ['n2', 'voter'], ['n3', 'voter'], ['w', 'witness'], ['o', 'observer']], match: { n2: 5, n3: 9, w: 20, o: 30 } });
    const t = new Transfers(f.host);
    void t.transfer(null, 1_000).catch(() => undefined);
    await flush();
    expect(f.requested).toEqual(['n3']);
  });

  it('waits through a step-down until a new leader is known', async () => {
    const f = fakeHost();
    const t = new Transfers(f.host);
    const done = t.transfer('n2', 1_000);
    let settled = false;
    void done.then(() => (settled = true));
    f.state.role = 'follower';
    f.state.leader = null;
    t.changed();
    await flush();
    expect(settled).toBe(false);
    f.state.leader = 'n2';
    t.changed();
    await expect(done).resolves.toMatchObject({ to: 'n2' });
  });

  it('reports the leader that actually won when another voter did', async () => {
    const f = fakeHost();
    const t = new Transfers(f.host);
    const done = t.transfer('n2', 1_000);
    f.state.role = 'follower';
    f.state.leader = 'n3';
    t.changed();
    await expect(done).resolves.toMatchObject({ from: 'n1', to: 'n3' });
  });

  it('times out, naming the target, when this node still leads', async () => {
    const f = fakeHost();
    const t = new Transfers(f.host);
    const done = refusal(t.transfer('n2', 300));
    await flush();
    f.advance(300);
    const e = await done;
    expect(e.code).toBe('timeout');
    expect(e.message).toContain('n2');
    expect(e.message).toContain('n1 still leads');
  });

  it('refuses on a node that does not lead, with the leader to ask', async () => {
    const f = fakeHost({ role: 'follower', leader: 'n2' });
    const e = await refusal(new Transfers(f.host).transfer('n3', 1_000));
    expect(e.code).toBe('not_leader');
    expect(e.details.leaderAddress).toBe('addr-n2');
    expect(f.requested).toEqual([]);
  });

  it('refuses an unknown member, a witness and an observer by name', async () => {
    const f = fakeHost({ members: [['n1', 'voter'], ['n2', 'voter'], ['w', 'witness'], ['o', 'observer']] });
    const t = new Transfers(f.host);
    expect((await refusal(t.transfer('zz', 1_000))).message).toMatch(/no member 'zz'; members are n1, n2, w, o/);
    expect((await refusal(t.transfer('w', 1_000))).message).toMatch(/w is a witness/);
    expect((await refusal(t.transfer('o', 1_000))).message).toMatch(/o is an observer/);
    expect(f.requested).toEqual([]);
  });

  it('is a no-op to the leader itself, and refuses when no other data voter exists', async () => {
    const f = fakeHost({ members: [['n1', 'voter'], ['w', 'witness']] });
    const t = new Transfers(f.host);
    await expect(t.transfer('n1', 1_000)).resolves.toEqual({ from: 'n1', to: 'n1', elapsedMs: 0 });
    expect(t.hasCandidate()).toBe(false);
    expect((await refusal(t.transfer(null, 1_000))).message).toMatch(/no other data voter/);
    expect(f.requested).toEqual([]);
  });
});
