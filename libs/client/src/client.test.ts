/**
 * The client's routing and retry policy against small scripted SqlService servers on
 * loopback: each test decides what every call is answered with, and checks what the client sent.
 */
import * as grpc from '@grpc/grpc-js';
import { sqlServiceCtor } from '@quorumlite/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumliteClient } from './client';
import { QuorumliteError } from './errors';

type Answer = { error: { code: grpc.status; details: string; meta?: Record<string, string> } } | { ok: object } | { hang: true };
type Script = (method: string, request: Record<string, unknown>, n: number) => Answer;

interface Scripted {
  address: string;
  calls: { method: string; request: Record<string, unknown>; peer: string }[];
  stop(): Promise<void>;
}

const servers: Scripted[] = [];
const clients: QuorumliteClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function errorOf(e: { code: grpc.status; details: string; meta?: Record<string, string> }): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(e.meta ?? {})) metadata.set(k, v);
  return { code: e.code, details: e.details, metadata };
}

async function scripted(script: Script): Promise<Scripted> {
  const server = new grpc.Server();
  const calls: Scripted['calls'] = [];
  const handler =
    (method: string) =>
    (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>): void => {
      calls.push({ method, request: call.request, peer: call.getPeer() });
      const answer = script(method, call.request, calls.filter((c) => c.method === method).length);
      if ('hang' in answer) return;
      if ('error' in answer) callback(errorOf(answer.error));
      else callback(null, answer.ok);
    };
  server.addService(sqlServiceCtor().service, { Execute: handler('Execute'), Query: handler('Query'), Status: handler('Status') });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const s: Scripted = {
    address: `127.0.0.1:${port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
  servers.push(s);
  return s;
}

function client(addresses: string[], extra: Partial<ConstructorParameters<typeof QuorumliteClient>[0]> = {}): QuorumliteClient {
  const c = new QuorumliteClient({ addresses, timeoutMs: 2_000, retryBudgetMs: 3_000, ...extra });
  clients.push(c);
  return c;
}

const noLeaderStatus = { ok: { node_id: 'n1', role: 'follower' } };
const executed = { ok: { results: [{ rows_affected: '1', last_insert_rowid: '9007199254740993' }], index: '42', duplicate: false } };
const notLeader = (addr: string): Answer => ({
  error: { code: grpc.status.FAILED_PRECONDITION, details: 'not the leader', meta: { 'ql-code': 'not_leader', 'ql-leader': 'n2', 'ql-leader-addr': addr } },
});

/** An address nothing listens on: a server's port after it stopped. */
async function deadAddress(): Promise<string> {
  const s = await scripted(() => noLeaderStatus);
  await s.stop();
  servers.splice(servers.indexOf(s), 1);
  return s.address;
}

/** Three scripted nodes that answer reads; the second names itself leader in Status. */
async function threeNodesLedBySecond(): Promise<Scripted[]> {
  let leaderAddress = '';
  const answer: Script = (method) =>
    method === 'Status' ? { ok: { node_id: 'n2', role: 'leader', leader_address: leaderAddress } } : { ok: { columns: [], rows: [], index: '1' } };
  const nodes = [await scripted(answer), await scripted(answer), await scripted(answer)];
  leaderAddress = nodes[1]!.address;
  return nodes;
}

describe('QuorumliteClient.execute', () => {
  it('follows a not_leader hint to the leader with the same request id', async () => {
    const leader = await scripted(() => executed);
    const follower = await scripted((m) => (m === 'Status' ? noLeaderStatus : notLeader(leader.address)));
    const retries: string[] = [];
    const c = client([follower.address], { onRetry: (e) => retries.push(e.code) });

    const res = await c.execute({ sql: 'INSERT INTO t VALUES (?)', params: [1] });

    expect(res).toEqual({ results: [{ rowsAffected: 1, lastInsertRowid: 9007199254740993n }], index: 42n, duplicate: false, uncommitted: false });
    expect(retries).toEqual(['not_leader']);
    expect(c.leaderAddress()).toBe(leader.address);
    const first = follower.calls.find((x) => x.method === 'Execute')!.request;
    const second = leader.calls.find((x) => x.method === 'Execute')!.request;
    expect(first.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(second.request_id).toBe(first.request_id);
    expect(second.durability).toBe('DURABILITY_QUORUM');
  });

  it('sends writes straight to the leader a Status named', async () => {
    const leader = await scripted(() => executed);
    const follower = await scripted((m) => (m === 'Status' ? { ok: { node_id: 'n1', leader_id: 'n2', leader_address: leader.address } } : notLeader(leader.address)));
    const c = client([follower.address]);
    await c.execute('DELETE FROM t', { requestId: 'req-1', durability: 'all' });
    expect(follower.calls.map((x) => x.method)).toEqual(['Status']);
    expect(leader.calls[0]!.request).toMatchObject({ request_id: 'req-1', durability: 'DURABILITY_ALL' });
  });

  it('sends the next write straight to the leader a write’s answer named, without asking Status', async () => {
    const leader = await scripted(() => executed);
    // A follower that forwards the first write, and answers no Status with a leader (as during an election).
    const follower = await scripted((m) => (m === 'Status' ? noLeaderStatus : { ok: { ...executed.ok, leader_address: leader.address } }));
    const c = client([follower.address]);
    await c.execute('INSERT INTO t VALUES (1)');
    expect(c.leaderAddress()).toBe(leader.address);
    await c.execute('INSERT INTO t VALUES (2)');
    expect(follower.calls.map((x) => x.method)).toEqual(['Status', 'Execute']);
    expect(leader.calls.map((x) => x.method)).toEqual(['Execute']);
  });

  it('keeps a write pinned to its address there: no leader probe, no following a hint', async () => {
    const leader = await scripted(() => executed);
    const follower = await scripted((m, _r, n) => (m === 'Execute' && n > 1 ? executed : notLeader(leader.address)));
    const c = client([leader.address, follower.address]);
    const res = await c.execute('INSERT INTO t VALUES (1)', { address: follower.address });
    expect(res.index).toBe(42n);
    expect(follower.calls.map((x) => x.method)).toEqual(['Execute', 'Execute']);
    expect(leader.calls).toEqual([]);
  });

  it('moves past an unreachable address to the next one', async () => {
    const dead = await deadAddress();
    const live = await scripted((m) => (m === 'Status' ? noLeaderStatus : executed));
    const retries: string[] = [];
    const c = client([dead, live.address], { onRetry: (e) => retries.push(e.code) });
    const res = await c.execute('INSERT INTO t VALUES (1)');
    expect(res.index).toBe(42n);
    expect(retries).toEqual(['unavailable']);
  });

  it('retries a deadline with the same request id and reports the duplicate', async () => {
    const s = await scripted((m, _r, n) => {
      if (m === 'Status') return noLeaderStatus;
      return n === 1 ? { hang: true } : { ok: { results: [{ rows_affected: '1', last_insert_rowid: '1' }], index: '7', duplicate: true } };
    });
    const c = client([s.address], { timeoutMs: 100 });
    const res = await c.execute('INSERT INTO t VALUES (1)');
    expect(res.duplicate).toBe(true);
    const ids = s.calls.filter((x) => x.method === 'Execute').map((x) => x.request.request_id);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(s.calls.find((x) => x.method === 'Execute')!.request.timeout_ms).toBe(100);
  });

  it('never retries an SQL error and decodes it', async () => {
    const s = await scripted((m) =>
      m === 'Status'
        ? noLeaderStatus
        : {
            error: {
              code: grpc.status.FAILED_PRECONDITION,
              details: 'UNIQUE constraint failed: t.id',
              meta: { 'ql-code': 'sql_error', 'ql-sqlite-code': 'SQLITE_CONSTRAINT_UNIQUE', 'ql-index': '12' },
            },
          },
    );
    const c = client([s.address]);
    const err = await c.execute('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect(err).toMatchObject({ code: 'sql_error', sqliteCode: 'SQLITE_CONSTRAINT_UNIQUE', index: 12n, message: 'UNIQUE constraint failed: t.id' });
    expect(s.calls.filter((x) => x.method === 'Execute')).toHaveLength(1);
  });

  it('gives up with the last error once the retry budget is spent', async () => {
    const s = await scripted(() => ({ error: { code: grpc.status.UNAVAILABLE, details: 'no leader', meta: { 'ql-code': 'no_leader' } } }));
    let retries = 0;
    const c = client([s.address], { retryBudgetMs: 150, onRetry: () => retries++ });
    const err = await c.execute('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'no_leader' });
    expect(retries).toBeGreaterThan(0);
    expect(s.calls.filter((x) => x.method === 'Execute')).toHaveLength(retries + 1);
  });

  it('rejects unbindable parameters before sending anything', async () => {
    const s = await scripted(() => executed);
    const c = client([s.address]);
    await expect(c.execute({ sql: 'INSERT INTO t VALUES (?, ?)', params: [1, {} as unknown as string] })).rejects.toThrow(/parameter 2/);
    await expect(c.execute('INSERT INTO t VALUES (1)', { durability: 'bogus' as 'all' })).rejects.toThrow(/durability must be 'quorum', 'all', 'semi' or 'leader', got "bogus"/);
    await expect(c.execute('INSERT INTO t VALUES (1)', { requestId: 7 as unknown as string })).rejects.toThrow(/requestId must be a string/);
    expect(s.calls).toHaveLength(0);
  });
});

describe('QuorumliteClient.query', () => {
  it('sends converted parameters and decodes rows exactly', async () => {
    const s = await scripted(() => ({
      ok: {
        columns: [{ name: 'id', decl_type: 'INTEGER' }, { name: 'v', decl_type: '' }],
        rows: [
          { values: [{ integer: '9223372036854775807' }, { real: 1.5 }] },
          { values: [{ null: true }, { blob: Buffer.from([0, 255]) }] },
          { values: [{ integer: '-1' }, { text: 'x' }] },
        ],
        index: '5',
        truncated: true,
      },
    }));
    const c = client([s.address]);
    const res = await c.query('SELECT * FROM t WHERE a = :a AND b = @b', { ':a': 3, b: 2.5 }, { consistency: 'session', minIndex: 4n, maxRows: 3 });
    expect(res.columns).toEqual([{ name: 'id', declType: 'INTEGER' }, { name: 'v', declType: '' }]);
    expect(res.rows).toEqual([[9223372036854775807n, 1.5], [null, new Uint8Array([0, 255])], [-1n, 'x']]);
    expect(res.index).toBe(5n);
    expect(res.truncated).toBe(true);
    const req = s.calls[0]!.request;
    expect(req).toMatchObject({ consistency: 'CONSISTENCY_SESSION', min_index: '4', max_rows: 3 });
    expect(req.named).toEqual({ a: { integer: '3', kind: 'integer' }, b: { real: 2.5, kind: 'real' } });
  });

  it('refuses a log position outside uint64 and an unknown consistency before sending anything', async () => {
    const s = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    const c = client([s.address]);
    // A negative number in a uint64 field would reach the node as 0: no bound at all.
    await expect(c.query('SELECT 1', [], { consistency: 'session', minIndex: -1n })).rejects.toThrow(/minIndex must be a bigint from 0 to 2\^64 - 1, got -1/);
    await expect(c.query('SELECT 1', [], { consistency: 'stale', maxLagEntries: 2n ** 64n })).rejects.toThrow(/maxLagEntries/);
    await expect(c.query('SELECT 1', [], { consistency: 'Stale' as 'stale' })).rejects.toThrow(/consistency must be 'linearizable', 'session' or 'stale', got "Stale"/);
    await expect(c.query('SELECT 1', [], { consistency: 'toString' as 'stale' })).rejects.toThrow(/consistency must be/);
    await expect(c.query('SELECT 1', [], { maxRows: -1 })).rejects.toThrow(/maxRows must be an integer from 0 to 2\^32 - 1, got -1/);
    await expect(c.query('SELECT 1', [], { maxRows: 1.5 })).rejects.toThrow(/maxRows/);
    expect(s.calls).toHaveLength(0);
    await c.query('SELECT 1', [], { consistency: 'stale', maxLagEntries: 2n ** 64n - 1n });
    expect(s.calls[0]!.request).toMatchObject({ max_lag_entries: '18446744073709551615' });
  });

  it('multiplexes concurrent calls over one connection per address', async () => {
    const s = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    const c = client([s.address]);
    await Promise.all(Array.from({ length: 40 }, (_, i) => c.query('SELECT ?', [i])));
    expect(s.calls).toHaveLength(40);
    expect(new Set(s.calls.map((x) => x.peer)).size).toBe(1);
  });

  it('sends stale and session reads to one node per client, spread over clients, and linearizable reads to the leader', async () => {
    const nodes = await threeNodesLedBySecond();
    const readsAt = (): number[] => nodes.map((n) => n.calls.filter((x) => x.method === 'Query').length);
    const used = new Set<number>();
    // 30 clients: all picking the same node has a chance of 3^-29.
    for (let k = 0; k < 30; k++) {
      const before = readsAt();
      const c = client(nodes.map((n) => n.address), { pipelining: false });
      for (let i = 0; i < 4; i++) await c.query('SELECT 1', undefined, { consistency: i % 2 === 0 ? 'stale' : 'session', minIndex: 1n });
      const delta = readsAt().map((n, i) => n - before[i]!);
      expect(delta.filter((d) => d > 0), 'one client reads from one node').toHaveLength(1);
      used.add(delta.findIndex((d) => d > 0));
    }
    expect(used.size).toBeGreaterThan(1);
    const c = client(nodes.map((n) => n.address));
    await c.status(nodes[0]!.address); // learns the leader
    for (let i = 0; i < 4; i++) await c.query('SELECT 1');
    expect(nodes.map((n) => n.calls.filter((x) => x.method === 'Query' && x.request.consistency === 'CONSISTENCY_LINEARIZABLE').length)).toEqual([0, 4, 0]);
  });

  it("with linearizableReads 'any', sends linearizable reads to the client's read node, not the leader", async () => {
    const nodes = await threeNodesLedBySecond();
    const linearizableAt = (): number[] => nodes.map((n) => n.calls.filter((x) => x.method === 'Query' && x.request.consistency === 'CONSISTENCY_LINEARIZABLE').length);
    const used = new Set<number>();
    for (let k = 0; k < 30; k++) {
      const before = linearizableAt();
      const c = client(nodes.map((n) => n.address), { linearizableReads: 'any' });
      await c.status(nodes[0]!.address); // knows the leader, and still reads at its read node
      const readNode = (c as unknown as { readNode: string }).readNode;
      for (let i = 0; i < 4; i++) await c.query('SELECT 1');
      const delta = linearizableAt().map((n, i) => n - before[i]!);
      expect(delta.filter((d) => d > 0), 'one client reads from one node').toHaveLength(1);
      expect(nodes[delta.findIndex((d) => d > 0)]!.address).toBe(readNode);
      used.add(delta.findIndex((d) => d > 0));
    }
    expect(used.size).toBeGreaterThan(1);
    expect(() => client([nodes[0]!.address], { linearizableReads: 'followers' as 'any' })).toThrow(/linearizableReads must be 'leader' or 'any', got "followers"/);
  });

  it('moves a read a witness refused (ql-no-data) to the next node; any other refusal, or a pinned address, is final', async () => {
    const refusal = (meta: Record<string, string>): Answer => ({ error: { code: grpc.status.INVALID_ARGUMENT, details: 'node n3 is a witness: it keeps no database', meta: { 'ql-code': 'refused', ...meta } } });
    const witness = await scripted(() => refusal({ 'ql-no-data': '1' }));
    const data = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    for (const linearizableReads of ['leader', 'any'] as const) {
      const c = client([witness.address, data.address], { linearizableReads });
      (c as unknown as { readNode: string }).readNode = witness.address;
      await c.query('SELECT 1', [], { consistency: 'stale' });
      await c.query('SELECT 1'); // linearizable: to the leader (unknown: the first address) or the read node
      expect((c as unknown as { readNode: string }).readNode).toBe(data.address);
    }
    expect(data.calls.filter((x) => x.method === 'Query')).toHaveLength(4);
    const before = witness.calls.length;
    const pinned = client([witness.address, data.address]);
    await expect(pinned.query('SELECT 1', [], { consistency: 'stale', address: witness.address })).rejects.toMatchObject({ code: 'refused', noData: true });
    expect(witness.calls.length - before, 'a pinned read is not sent to the witness again').toBe(1);
    // Only witnesses left: each is asked once, at once, and the refusal is the answer.
    const witness2 = await scripted(() => refusal({ 'ql-no-data': '1' }));
    const alone = client([witness.address, witness2.address], { retryBudgetMs: 15_000 });
    const [w1, w2] = [witness.calls.length, witness2.calls.length];
    await expect(alone.query('SELECT 1', [], { consistency: 'stale' })).rejects.toMatchObject({ code: 'refused', noData: true });
    expect([witness.calls.length - w1, witness2.calls.length - w2].sort(), 'each witness asked once, the budget not waited out').toEqual([1, 1]);
    const w0 = witness.calls.length;
    await expect(client([witness.address], { retryBudgetMs: 15_000 }).query('SELECT 1', [], { consistency: 'stale' })).rejects.toMatchObject({ noData: true });
    expect(witness.calls.length - w0).toBe(1);
    // Clients that picked the witness spread over the data nodes again.
    const data2 = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    const movedTo = new Set<string>();
    for (let k = 0; k < 30; k++) {
      const spread = client([witness.address, data.address, data2.address]);
      (spread as unknown as { readNode: string }).readNode = witness.address;
      await spread.query('SELECT 1', [], { consistency: 'stale' });
      movedTo.add((spread as unknown as { readNode: string }).readNode);
    }
    expect([...movedTo].sort()).toEqual([data.address, data2.address].sort());
    // A refusal that is about the statement would be the same anywhere: not retried.
    const plain = await scripted(() => refusal({}));
    const c = client([plain.address, data.address]);
    (c as unknown as { readNode: string }).readNode = plain.address;
    await expect(c.query('SELECT 1', [], { consistency: 'stale' })).rejects.toMatchObject({ code: 'refused' });
    expect(plain.calls).toHaveLength(1);
  });

  it('moves a stale read to the next node when one is down', async () => {
    const dead = await deadAddress();
    const live = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    const c = client([dead, live.address]);
    for (let i = 0; i < 3; i++) await c.query('SELECT 1', undefined, { consistency: 'stale' });
    expect(live.calls).toHaveLength(3);
    // Once moved, the reads stay on the live node: no more detours through the dead one.
    const fresh = client([live.address, dead], { pipelining: false });
    (fresh as unknown as { readNode: string }).readNode = dead;
    const started = live.calls.length;
    for (let i = 0; i < 3; i++) await fresh.query('SELECT 1', undefined, { consistency: 'stale' });
    expect(live.calls.length - started).toBe(3);
    expect((fresh as unknown as { readNode: string }).readNode).toBe(live.address);
  });

  it('passes channel options to its gRPC channels', async () => {
    const s = await scripted(() => ({ ok: { columns: [], rows: [], index: '1' } }));
    const c = client([s.address], { pipelining: false, retryBudgetMs: 0, channelOptions: { 'grpc.max_send_message_length': 64 } });
    // Without the option the same call would reach the server.
    await expect(c.query(`SELECT '${'x'.repeat(200)}'`)).rejects.toThrow(/larger than max|message length|64/i);
    expect(s.calls).toHaveLength(0);
  });

  it('keeps a pinned query on its address', async () => {
    const dead = await deadAddress();
    const other = await scripted(() => ({ ok: { index: '1' } }));
    const c = client([other.address], { retryBudgetMs: 100 });
    await expect(c.query('SELECT 1', undefined, { address: dead })).rejects.toMatchObject({ code: 'unavailable' });
    expect(other.calls).toHaveLength(0);
  });
});

describe('QuorumliteClient.status', () => {
  it('decodes 64-bit fields and learns the leader', async () => {
    const s = await scripted(() => ({
      ok: {
        node_id: 'n1',
        role: 'leader',
        leader_id: 'n1',
        leader_address: '127.0.0.1:7001',
        term: '3',
        commit_index: '18446744073709551615',
        applied_index: '10',
        members: [{ id: 'n2', address: '127.0.0.1:7002', role: 'voter', match_index: '9', reachable: true }],
        protocol: 'raft',
        version: '0.1.0',
      },
    }));
    const c = client([s.address]);
    const st = await c.status();
    expect(st).toMatchObject({ nodeId: 'n1', role: 'leader', term: 3n, commitIndex: 18446744073709551615n, appliedIndex: 10n, lastIndex: 0n, protocol: 'raft' });
    expect(st.members).toEqual([{ id: 'n2', address: '127.0.0.1:7002', role: 'voter', matchIndex: 9n, reachable: true }]);
    expect(c.leaderAddress()).toBe('127.0.0.1:7001');
  });

  it('asks a named node once', async () => {
    const dead = await deadAddress();
    let retries = 0;
    const c = client([dead], { onRetry: () => retries++ });
    await expect(c.status(dead)).rejects.toMatchObject({ code: 'unavailable', address: dead });
    expect(retries).toBe(0);
  });
});
