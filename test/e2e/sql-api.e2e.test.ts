/**
 * The client API end to end on a real 3-node cluster of every registered protocol: statements,
 * parameters, types, atomicity, forwarding, consistency levels, refusals and limits,
 * deduplication, and byte-identical replicas after non-deterministic SQL.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { QuorumliteClient, QuorumliteError, diffCounters, messageTotals, sumCounters } from '@quorumlite/client';
import { PROTOCOL_NAMES, PROTOCOLS } from '@quorumlite/consensus';
import { clusterForFile, qlCode, rawCall, rowsPerNode, waitAllApplied } from './helpers';

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<QuorumliteError> {
  try {
    await p;
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(QuorumliteError);
    const err = e as QuorumliteError;
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    return err;
  }
  throw new Error(`expected a ${code} error`);
}

describe.each(PROTOCOL_NAMES)('SqlService on a 3-node %s cluster', (protocol) => {
  const c = clusterForFile(`sql-${protocol}`, { protocol });

  it('runs statements with positional and named parameters and returns typed rows', async () => {
    const { client } = c();
    await client.execute('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER, price REAL, data BLOB)');
    const big = 9_223_372_036_854_775_807n;
    const r = await client.execute([
      { sql: 'INSERT INTO items(name, qty, price, data) VALUES (?, ?, ?, ?)', params: ['apple', 3, 1.25, new Uint8Array([0, 1, 254, 255])] },
      { sql: 'INSERT INTO items(name, qty, price) VALUES (:name, :qty, :price)', params: { name: 'big', qty: big, price: null } },
    ]);
    expect(r.results).toHaveLength(2);
    expect(r.results[0]!.rowsAffected).toBe(1);
    expect(r.results[1]!.lastInsertRowid).toBe(2n);
    expect(r.index).toBeGreaterThan(0n);

    const q = await client.query('SELECT id, name, qty, price, data, qty * 2 AS doubled FROM items ORDER BY id');
    expect(q.columns.map((col) => [col.name, col.declType])).toEqual([
      ['id', 'INTEGER'],
      ['name', 'TEXT'],
      ['qty', 'INTEGER'],
      ['price', 'REAL'],
      ['data', 'BLOB'],
      ['doubled', ''],
    ]);
    expect(q.rows[0]).toEqual([1n, 'apple', 3n, 1.25, new Uint8Array([0, 1, 254, 255]), 6n]);
    expect(q.rows[1]![2]).toBe(big);
    expect(q.rows[1]![3]).toBeNull();
  });

  it('runs a request atomically: a failing statement rolls back the whole request', async () => {
    const { client } = c();
    await client.execute('CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))');
    await client.execute([{ sql: 'INSERT INTO acct VALUES (1, 100), (2, 0)' }]);
    const err = await expectError(
      client.execute([
        { sql: 'UPDATE acct SET balance = balance + 50 WHERE id = 2' },
        { sql: 'UPDATE acct SET balance = balance - 500 WHERE id = 1' },
      ]),
      'sql_error',
      /CHECK constraint failed/,
    );
    expect(err.sqliteCode).toMatch(/SQLITE_CONSTRAINT/);
    const q = await client.query('SELECT balance FROM acct ORDER BY id');
    expect(q.rows).toEqual([[100n], [0n]]);
  });

  it('forwards a write sent to a follower and answers as the leader would', async () => {
    const { cluster, client } = c();
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    await client.execute('CREATE TABLE fwd(k TEXT PRIMARY KEY, v TEXT)');
    const { error, response } = await rawCall(follower.address, 'Execute', {
      statements: [{ sql: 'INSERT INTO fwd VALUES (?, ?)', params: [{ text: 'a' }, { text: 'via follower' }] }],
      request_id: 'fwd-1',
    });
    expect(error).toBeNull();
    const res = response as { results: { rows_affected: string }[]; index: string };
    expect(res.results[0]!.rows_affected).toBe('1');
    const q = await client.query('SELECT v FROM fwd WHERE k = ?', ['a'], { address: follower.address });
    expect(q.rows).toEqual([['via follower']]);
    // the same error a leader gives, through the follower
    const bad = await rawCall(follower.address, 'Execute', { statements: [{ sql: "INSERT INTO fwd VALUES ('a', 'dup')" }] });
    expect(qlCode(bad.error)).toBe('sql_error');
    expect(bad.error?.details).toMatch(/UNIQUE constraint failed/);
  });

  it('serves linearizable reads on followers and reads-your-writes with session consistency', async () => {
    const { cluster, client } = c();
    // Clients that send linearizable reads to their read node, one per node: each sees every
    // write acknowledged before its read began, wherever it reads.
    const spread = cluster.nodes.map((node) => new QuorumliteClient({ addresses: [node.address], linearizableReads: 'any' }));
    try {
      await client.execute('CREATE TABLE lin(n INTEGER)');
      for (let i = 0; i < 5; i++) {
        const w = await client.execute({ sql: 'INSERT INTO lin VALUES (?)', params: [i] });
        for (const node of cluster.nodes) {
          const lin = await client.query('SELECT count(*) FROM lin', [], { address: node.address });
          expect(lin.rows[0]![0]).toBe(BigInt(i + 1));
          const ses = await client.query('SELECT count(*) FROM lin', [], { address: node.address, consistency: 'session', minIndex: w.index });
          expect(ses.rows[0]![0]).toBe(BigInt(i + 1));
        }
        for (const reader of spread) expect((await reader.query('SELECT count(*) FROM lin')).rows[0]![0]).toBe(BigInt(i + 1));
      }
    } finally {
      for (const reader of spread) reader.close();
    }
  });

  it('refuses statements that cannot be replicated, before they enter the log', async () => {
    const { client } = c();
    const before = (await client.status()).commitIndex;
    await expectError(client.execute("ATTACH DATABASE '/tmp/x.db' AS x"), 'refused', /ATTACH/);
    await expectError(client.execute('PRAGMA journal_mode = DELETE'), 'refused', /PRAGMA/);
    await expectError(client.execute("VACUUM INTO '/tmp/copy.db'"), 'refused', /VACUUM/);
    await expectError(client.execute("SELECT load_extension('/tmp/evil.so')"), 'refused', /load_extension/);
    await expectError(client.execute('BEGIN'), 'refused', /transaction/i);
    await expectError(client.execute('INSERT INTO nowhere VALUES (1'), 'sql_error', /syntax error|incomplete input/);
    const after = (await client.status()).commitIndex;
    expect(after).toBe(before);
  });

  it('names the problem with bad parameters, oversized requests and bad reads', async () => {
    const { client, cluster } = c();
    await expectError(client.execute({ sql: 'INSERT INTO items(name) VALUES (?)', params: [] }), 'invalid', /param/i);
    await expectError(client.execute({ sql: 'INSERT INTO items(name) VALUES (:nm)', params: { other: 'x' } }), 'invalid', /param|nm|other/i);
    const huge = 'x'.repeat(2 * 1024 * 1024);
    await expectError(client.execute({ sql: `INSERT INTO items(name) VALUES ('${huge}')` }), 'too_large', /statementBytesMax|limit/);
    await expectError(client.query('DELETE FROM items'), 'refused', /read-only|write|reader/i);
    await expectError(client.query('SELEC 1'), 'sql_error', /syntax/);
    const raw = await rawCall(cluster.nodes[0]!.address, 'Execute', { statements: [] });
    expect(qlCode(raw.error)).toBe('invalid');
    const rawName = await rawCall(cluster.nodes[0]!.address, 'Execute', {
      statements: [{ sql: 'SELECT :a', named: { 'bad name': { text: 'x' } } }],
    });
    expect(qlCode(rawName.error)).toBe('invalid');
    expect(rawName.error?.details).toMatch(/bad name/);
  });

  it('applies a retried request id once and returns the original result', async () => {
    const { client } = c();
    await client.execute('CREATE TABLE once(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)');
    const first = await client.execute({ sql: "INSERT INTO once(v) VALUES ('x')" }, { requestId: 'req-once-1' });
    const again = await client.execute({ sql: "INSERT INTO once(v) VALUES ('x')" }, { requestId: 'req-once-1' });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.results[0]!.lastInsertRowid).toBe(first.results[0]!.lastInsertRowid);
    expect(again.index).toBe(first.index);
    const q = await client.query('SELECT count(*) FROM once');
    expect(q.rows[0]![0]).toBe(1n);
  });

  it('returns the rows of RETURNING and SELECT from Execute, through a follower too', async () => {
    const { cluster, client } = c();
    await client.execute('CREATE TABLE ret(id INTEGER PRIMARY KEY, v TEXT)');
    const w = await client.execute([{ sql: "INSERT INTO ret(v) VALUES ('a'), ('b') RETURNING id, v" }, { sql: 'SELECT count(*) AS n FROM ret' }]);
    expect(w.results[0]).toEqual({
      rowsAffected: 2,
      lastInsertRowid: 2n,
      rows: { columns: [{ name: 'id', declType: 'INTEGER' }, { name: 'v', declType: 'TEXT' }], rows: [[1n, 'a'], [2n, 'b']], truncated: false },
    });
    expect(w.results[1]!.rows?.rows).toEqual([[2n]]);
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    const viaFollower = await rawCall(follower.address, 'Execute', { statements: [{ sql: "UPDATE ret SET v = v || '!' WHERE id = 2 RETURNING v" }] });
    expect(viaFollower.error).toBeNull();
    const res = viaFollower.response as { results: { rows_affected: string; columns: { name: string }[]; rows: { values: { text?: string }[] }[] }[] };
    expect(res.results[0]!.rows_affected).toBe('1');
    expect(res.results[0]!.columns.map((col) => col.name)).toEqual(['v']);
    expect(res.results[0]!.rows[0]!.values[0]!.text).toBe('b!');
  });

  it('refuses two statements in one Statement, a Value with no field set and a request id reused for another request', async () => {
    const { client, cluster } = c();
    const address = cluster.nodes[0]!.address;
    const two = await rawCall(address, 'Execute', { statements: [{ sql: 'SELECT 1' }, { sql: 'SELECT 1; SELECT 2' }] });
    expect(qlCode(two.error)).toBe('invalid');
    expect(two.error?.details).toMatch(/statement 1 holds 2 SQL statements/);
    expect(two.error?.metadata.get('ql-statement')).toEqual(['1']);
    const unset = await rawCall(address, 'Execute', { statements: [{ sql: 'SELECT ?', params: [{}] }] });
    expect(qlCode(unset.error)).toBe('invalid');
    expect(unset.error?.details).toMatch(/statements\[0\]\.params\[0\]: no value is set/);
    await client.execute('CREATE TABLE reuse(v TEXT)');
    await client.execute({ sql: "INSERT INTO reuse VALUES ('first')" }, { requestId: 'req-reuse-1' });
    await expectError(client.execute({ sql: "INSERT INTO reuse VALUES ('second')" }, { requestId: 'req-reuse-1' }), 'invalid', /request id "req-reuse-1" was already used/);
    expect((await client.query('SELECT v FROM reuse')).rows).toEqual([['first']]);
  });

  it('keeps every replica identical after non-deterministic SQL', async () => {
    const { cluster, client } = c();
    await client.execute(
      "CREATE TABLE nd(id INTEGER PRIMARY KEY, r INTEGER, b BLOB, t TEXT, d TEXT DEFAULT CURRENT_TIMESTAMP, j REAL, e INTEGER, s TEXT, u TEXT)",
    );
    let last = 0n;
    for (let i = 0; i < 10; i++) {
      const w = await client.execute([
        {
          sql: "INSERT INTO nd(r, b, t, j, e, s, u) VALUES (random(), randomblob(16), datetime('now'), julianday('now'), unixepoch(), strftime('%Y-%m-%d %H:%M:%f', 'now'), CURRENT_TIMESTAMP || ' ' || CURRENT_DATE || ' ' || CURRENT_TIME)",
        },
        { sql: 'UPDATE nd SET r = r + abs(random() % 7) WHERE id = last_insert_rowid()' },
      ]);
      last = w.index;
    }
    await waitAllApplied(cluster, last);
    const rows = await rowsPerNode(cluster, client, 'SELECT * FROM nd ORDER BY id');
    const [first, ...rest] = [...rows.values()];
    expect(first).toHaveLength(10);
    for (const other of rest) expect(other).toEqual(first);
    const distinct = new Set(first!.map((r) => String(r[1])));
    expect(distinct.size).toBeGreaterThan(1);
    const schemas = await rowsPerNode(cluster, client, "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE '\\_quorumlite%' ESCAPE '\\' ORDER BY name");
    const [s0, ...sRest] = [...schemas.values()];
    for (const s of sRest) expect(s).toEqual(s0);
  });

  it('answers unary calls and pipelined Session calls alike, results and errors', async () => {
    const { cluster, client } = c();
    const unary = new QuorumliteClient({ addresses: cluster.addresses(), pipelining: false });
    try {
      await client.execute('CREATE TABLE both_paths(k TEXT PRIMARY KEY)');
      const viaSession = await Promise.all(Array.from({ length: 50 }, (_, i) => client.execute({ sql: 'INSERT INTO both_paths VALUES (?)', params: [`s${i}`] })));
      const viaUnary = await unary.execute({ sql: 'INSERT INTO both_paths VALUES (?)', params: ['u0'] });
      expect(new Set(viaSession.map((r) => r.index)).size).toBe(50);
      expect(viaUnary.index).toBeGreaterThan(0n);
      const a = await expectError(client.execute("INSERT INTO both_paths VALUES ('u0')"), 'sql_error', /UNIQUE/);
      const b = await expectError(unary.execute("INSERT INTO both_paths VALUES ('u0')"), 'sql_error', /UNIQUE/);
      expect(a.sqliteCode).toBe(b.sqliteCode);
      expect((await unary.query('SELECT count(*) FROM both_paths')).rows).toEqual((await client.query('SELECT count(*) FROM both_paths')).rows);
    } finally {
      unary.close();
    }
  });

  it('serves gRPC server reflection, so generic tools can discover the API', async () => {
    const { cluster } = c();
    const protoPath = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const def = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } } };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(cluster.nodes[0]!.address, grpc.credentials.createInsecure());
    try {
      const names = await new Promise<string[]>((resolve, reject) => {
        const call = (client as unknown as { ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, { list_services_response?: { service: { name: string }[] } }> }).ServerReflectionInfo();
        call.on('data', (r) => {
          resolve((r.list_services_response?.service ?? []).map((x: { name: string }) => x.name));
          call.end();
        });
        call.on('error', reject);
        call.write({ list_services: '' });
      });
      expect(names).toContain('quorumlite.v1.SqlService');
    } finally {
      client.close();
    }
  });

  it('reports status with role, leader, the protocol and its fencing number, indexes and members', async () => {
    const { cluster, client } = c();
    const leader = await cluster.waitForLeader();
    for (const node of cluster.nodes) {
      const s = await client.status(node.address);
      expect(s.nodeId).toBe(node.id);
      expect(s.protocol).toBe(protocol);
      expect(s.fencingName).toBe(PROTOCOLS[protocol].fencingName);
      expect(s.leaderId).toBe(leader.id);
      expect(s.role).toBe(node.id === leader.id ? 'leader' : 'follower');
      expect(s.term).toBeGreaterThan(0n);
      expect(s.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
      expect(s.appliedIndex).toBeLessThanOrEqual(s.commitIndex);
    }
  });

  it('counts what each node did: messages by type, storage syncs, the leader\'s answered writes, every node\'s answered reads and the driver steps', async () => {
    const { cluster, client } = c();
    const leader = await cluster.waitForLeader();
    const before = await Promise.all(cluster.nodes.map((n) => client.status(n.address)));
    await client.execute('CREATE TABLE IF NOT EXISTS counted (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 5; i++) await client.execute({ sql: 'INSERT INTO counted (v) VALUES (?)', params: ['x'.repeat(100)] });
    for (const n of cluster.nodes) for (let i = 0; i < 3; i++) await client.query('SELECT count(*) FROM counted', [], { consistency: 'stale', address: n.address });
    const after = await Promise.all(cluster.nodes.map((n) => client.status(n.address)));
    const all = sumCounters(after.map((a, i) => diffCounters(before[i]!.counters, a.counters)));
    expect(messageTotals(all.sent).count).toBeGreaterThan(0);
    expect(messageTotals(all.received).count).toBeGreaterThan(0);
    // What one node received, another sent: the same protocol message types on both sides.
    const sentTypes = new Set(after.flatMap((a) => a.counters.sent.map((t) => t.type)));
    for (const t of all.received) expect(sentTypes).toContain(t.type);
    // Each committed write was made durable on at least a quorum: 2 of 3 nodes.
    expect(all.storageSyncs).toBeGreaterThanOrEqual(2 * 6);
    const lead = diffCounters(before[cluster.nodes.findIndex((n) => n.id === leader.id)]!.counters, after.find((a) => a.nodeId === leader.id)!.counters);
    expect(lead.writesAnswered).toBeGreaterThanOrEqual(6);
    expect(lead.writeMs).toBeGreaterThan(0);
    expect(lead.steps.map((t) => t.step)).toEqual(expect.arrayContaining(['apply', 'fsync', 'persist', 'send']));
    expect(after.every((a) => a.counters.leaderChanges >= 1)).toBe(true);
    // Every node counts the reads it answered, whatever its role.
    for (const [i, a] of after.entries()) expect(diffCounters(before[i]!.counters, a.counters).readsAnswered, a.nodeId).toBeGreaterThanOrEqual(3);
  });
});
