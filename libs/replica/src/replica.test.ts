/**
 * The driver in one process: three replicas over the in-memory transport, real storage in
 * temp dirs, real timers (short ticks). Checks behaviour that needs the driver's loop itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logIndex, nodeId, PROTOCOL_NAMES, PROTOCOLS, raft, term, type Entry, type PersistedState, type ProtocolModule, type SnapshotMeta } from '@quorumlite/consensus';
import { DurableLog, SnapshotStore } from '@quorumlite/storage';
import { SqlStateMachine } from '@quorumlite/sql';
import { MemoryNetwork, type PeerHandlers, type PeerTransport } from '@quorumlite/transport';
import { INCARNATION_FILE } from './incarnation';
import { INSTALL_MARKER_FILE } from './install-marker';
import { processEntropy, systemClock, type ReplicaLogger, type WriteForwarder, type WriteRequest, type WriteResult } from './ports';
import { Replica, type ReplicaSettings } from './replica';

const TICK_MS = 10;
const ELECTION_TICKS = 10;
const IDS = ['n1', 'n2', 'n3'];

interface Harness {
  network: MemoryNetwork;
  transports: Map<string, PeerTransport>;
  replicas: Map<string, Replica>;
  roles: { node: string; role: string; term: number }[];
  errors: { node: string; msg: string; error: string }[];
  /** Every message each node sent, by type (decoded from what went to the transport). */
  sent: Map<string, string[]>;
  /** What each replica handed its transport at start. */
  handlers: Map<string, PeerHandlers>;
  dirs: string[];
  /** Nodes whose status a rejoining node cannot read (as if they did not answer). */
  statusSilent: Set<string>;
  /** How each node was opened, to open it again on its data directory (reopen). */
  opened: Map<string, { settings: ReplicaSettings; deps: Parameters<typeof Replica.open>[1] }>;
}

let harness: Harness | null = null;
/** Every data directory made, also by a start that failed before it returned its harness. */
const madeDirs: string[] = [];

afterEach(async () => {
  if (harness) {
    await Promise.all([...harness.replicas.values()].map((r) => r.stop()));
    for (const d of harness.dirs) fs.rmSync(d, { recursive: true, force: true });
    harness = null;
  }
  for (const d of madeDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const noForwarding: WriteForwarder = {
  forward: () => Promise.reject(new Error('no forwarding in this test')),
};

/** `rejoining`: a node started with --rejoin, reading its peers' status from the other replicas. */
async function startThree(protocol: ProtocolModule = raft as ProtocolModule, overrides: Partial<ReplicaSettings> = {}, rejoining: string | null = null): Promise<Harness> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-replica-staging-'));
  madeDirs.push(staging);
  const network = new MemoryNetwork({ stagingDir: staging });
  const h: Harness = { network, transports: new Map(), replicas: new Map(), roles: [], errors: [], sent: new Map(), handlers: new Map(), dirs: [], statusSilent: new Set(), opened: new Map() };
  for (const id of IDS) await openNode(h, protocol, id, IDS.map((m) => ({ id: m, address: `mem:${m}`, role: 'voter' as const })), overrides, rejoining);
  for (const r of h.replicas.values()) r.start();
  return h;
}

/** Opens node `id` (not started) with `members` as its boot list, on a fresh data directory. */
async function openNode(h: Harness, protocol: ProtocolModule, id: string, members: ReplicaSettings['members'], overrides: Partial<ReplicaSettings> = {}, rejoining: string | null = null): Promise<Replica> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumlite-replica-${id}-`));
  h.dirs.push(dataDir);
  madeDirs.push(dataDir);
  const logger: ReplicaLogger = {
    debug() {},
    info(msg, fields) {
      if (msg === 'role changed') h.roles.push({ node: id, role: String(fields?.role), term: Number(fields?.[protocol.fencingName]) });
    },
    warn() {},
    error(msg, fields) {
      h.errors.push({ node: id, msg, error: String(fields?.['error'] ?? '') });
    },
  };
  const settings: ReplicaSettings = {
    nodeId: id,
    members,
    dataDir,
    tickMs: TICK_MS,
    electionTimeoutTicks: ELECTION_TICKS,
    heartbeatTicks: 1,
    protocolOptions: protocol.name === 'raft' ? { preVote: true, checkQuorum: true } : {},
    snapshotEveryEntries: 1_000_000,
    snapshotRetainEntries: 1_000,
    snapshotLogBytesMax: 1 << 30,
    entriesPerMessageMax: 512,
    bytesPerMessageMax: 1 << 20,
    inflightMessagesMax: 64,
    uncommittedEntriesMax: 10_000,
    proposalBatchMax: 1_024,
    ...overrides,
    rejoin: id === rejoining,
  };
  const transport = h.network.transport(nodeId(id));
  h.transports.set(id, transport);
  const sent: string[] = [];
  h.sent.set(id, sent);
  const startTransport = transport.start.bind(transport);
  transport.start = (handlers) => {
    h.handlers.set(id, handlers);
    startTransport(handlers);
  };
  const send = transport.send.bind(transport);
  transport.send = (to, bytes) => {
    sent.push(protocol.decodeMessage(bytes).type);
    send(to, bytes);
  };
  const deps: Parameters<typeof Replica.open>[1] = {
    protocol,
    transport,
    forwarder: noForwarding,
    clock: systemClock,
    entropy: processEntropy(),
    logger,
    peerStatus: {
      status: (address) => {
        const peer = h.replicas.get(address.slice('mem:'.length));
        if (h.statusSilent.has(address.slice('mem:'.length))) return Promise.reject(new Error(`${address} did not answer`));
        if (!peer) return Promise.reject(new Error(`${address} is not up`));
        const s = peer.status();
        return Promise.resolve({ role: s.role, leaderId: s.leaderId, term: s.term, promised: s.promisedFence, lastIndex: s.lastIndex, store: s.store });
      },
    },
  };
  h.opened.set(id, { settings, deps });
  const replica = await Replica.open(settings, deps);
  h.replicas.set(id, replica);
  return replica;
}

/** Stops `id` and opens it again on its data directory (not started), with `protocol` as its protocol. */
async function reopen(h: Harness, id: string, protocol: ProtocolModule): Promise<Replica> {
  await h.replicas.get(id)!.stop();
  const { settings, deps } = h.opened.get(id)!;
  const replica = await Replica.open(settings, { ...deps, protocol });
  h.replicas.set(id, replica);
  return replica;
}

/** `protocol`, recording what each core it creates was given at boot. */
function recordingBoot(protocol: ProtocolModule, seen: PersistedState[]): ProtocolModule {
  return {
    ...protocol,
    create: (options, persisted) => {
      seen.push(persisted);
      return protocol.create(options, persisted);
    },
  };
}

/**
 * The id of a leader every replica follows. Picked afresh on each probe: the first node to win
 * may be deposed by a higher term or ballot before the others hear of it.
 */
async function settledLeader(h: Harness): Promise<string> {
  try {
    return await waitFor('a settled cluster', () => {
      const id = [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0];
      return id !== undefined && [...h.replicas.values()].every((r) => r.status().leaderId === id) ? id : null;
    });
  } catch (e) {
    const seen = [...h.replicas.entries()].map(([id, r]) => `${id}: ${r.status().role} of ${r.status().term}, following ${r.status().leaderId ?? 'none'}`);
    throw new Error(`${(e as Error).message} (${seen.join('; ')}; role changes ${JSON.stringify(h.roles)})`);
  }
}

async function waitFor<T>(what: string, probe: () => T | null | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

/** Holds every log flush of `replica` until the returned release() is called. */
function stallDisk(replica: Replica): () => void {
  const log = (replica as unknown as { log: { flush: (sync: boolean) => Promise<void> } }).log;
  const original = log.flush.bind(log);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  log.flush = async (sync: boolean) => {
    await gate;
    return original(sync);
  };
  return () => {
    log.flush = original;
    release();
  };
}

describe('Replica driver', () => {
  it('hands its transport the incarnation it wrote before start, and stops when a peer refuses it', async () => {
    harness = await startThree();
    const h = harness;
    const dir = h.dirs[2]!;
    const written = JSON.parse(fs.readFileSync(path.join(dir, INCARNATION_FILE), 'utf8')) as { id: string; rejoined: boolean };
    expect(h.handlers.get('n3')?.identity?.self).toEqual({ id: written.id, rejoined: false });
    h.handlers.get('n3')?.onIdentityRefused?.(nodeId('n1'), "member 'n3' came back with a different data directory: restart it with --rejoin");
    const stopped = await waitFor('n3 to stop', () => h.errors.find((e) => e.node === 'n3' && e.msg === 'replica stopped: cannot continue safely'));
    expect(stopped.error).toContain("peer n1 refused this node: member 'n3' came back with a different data directory");
    await expect(h.replicas.get('n3')!.execute({ statements: [{ sql: 'SELECT 1', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 1_000, forwarded: false })).rejects.toThrow(/could not continue safely/);
  });

  it('does not campaign after a stalled fsync while its leader was heard all along', async () => {
    harness = await startThree();
    const h = harness;
    // Past the first election everywhere: every node follows the same leader.
    const leaderId = await settledLeader(h);
    const [followerId, follower] = [...h.replicas.entries()].find(([id]) => id !== leaderId)!;
    const term = follower.status().term;
    h.sent.get(followerId)!.length = 0;
    h.roles.length = 0;
    await h.replicas.get(leaderId)!.execute({ statements: [{ sql: 'CREATE TABLE t (x)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
    // A write makes the follower's next round persist, and that flush now hangs for three
    // election timeouts while the leader's heartbeats (and ticks) keep arriving.
    const release = stallDisk(follower);
    const write = h.replicas.get(leaderId)!.execute({ statements: [{ sql: 'INSERT INTO t VALUES (1)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
    await new Promise((resolve) => setTimeout(resolve, 3 * ELECTION_TICKS * TICK_MS * 2));
    release();
    await write;
    await new Promise((resolve) => setTimeout(resolve, 2 * ELECTION_TICKS * TICK_MS * 2));
    expect(h.roles.filter((r) => r.node === followerId && r.role === 'candidate')).toEqual([]);
    // Not even a pre-vote: in arrival order, the heartbeats kept its election timer fresh.
    expect(h.sent.get(followerId)!.filter((type) => type === 'preVote' || type === 'vote')).toEqual([]);
    expect(follower.status()).toMatchObject({ role: 'follower', leaderId, term, protocol: 'raft', fencingName: 'term' });
  }, 30_000);

  describe.each(PROTOCOL_NAMES)('%s', (name) => {
    it('a node started with --rejoin follows as an observer, becomes a voter once caught up, and then counts toward commits', async () => {
      harness = await startThree(PROTOCOLS[name] as ProtocolModule, {}, 'n3');
      const h = harness;
      const rejoiner = h.replicas.get('n3')!;
      expect(rejoiner.status().role).toBe('observer');
      const currentLeader = () => waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
      expect(await currentLeader()).not.toBe('n3');
      // Through whichever node leads when it is sent: on a loaded machine a 100 ms election
      // timeout may change the leader between two writes, which is not what this test is about.
      const write = async (sql: string) => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const leader = h.replicas.get(await currentLeader())!;
          try {
            return await leader.execute({ statements: [{ sql, params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
          } catch (e: unknown) {
            if (Date.now() > deadline) throw e;
          }
        }
      };
      await write('CREATE TABLE t (x)');
      await write('INSERT INTO t VALUES (1)');
      // The voter core runs once its hard state is durable; the marker goes right after.
      await waitFor('n3 to vote again, its marker gone', () => (rejoiner.status().role === 'follower' && !fs.existsSync(path.join(h.dirs[2]!, 'REJOINING')) ? true : null), 20_000);
      // With the third node cut off, a commit needs the rejoined node.
      const leaderId = await currentLeader();
      const other = IDS.find((id) => id !== leaderId && id !== 'n3')!;
      h.network.isolate(nodeId(other));
      const r = await write('INSERT INTO t VALUES (2)');
      await waitFor('n3 to apply it', () => (rejoiner.status().appliedIndex >= r.index ? true : null));
      const leader = h.replicas.get(await currentLeader())!;
      expect(rejoiner.digest()).toBe(leader.digest());
      expect(h.errors).toEqual([]);
    }, 40_000);

    it('a node started with --rejoin answers nothing until every other voter answered its status, then holds the highest number promised', async () => {
      harness = await startThree(PROTOCOLS[name] as ProtocolModule, {}, 'n3');
      const h = harness;
      h.statusSilent.add('n2');
      const rejoiner = h.replicas.get('n3')!;
      const leaderId = await waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
      await h.replicas.get(leaderId)!.execute({ statements: [{ sql: 'CREATE TABLE t (x)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
      await new Promise((resolve) => setTimeout(resolve, 3 * ELECTION_TICKS * TICK_MS));
      // Its leader's appends reached it and went unanswered: an answer could count below a promise it lost.
      expect(h.sent.get('n3')).toEqual([]);
      expect(rejoiner.status().appliedIndex).toBe(0);
      const promised = Math.max(...['n1', 'n2'].map((id) => h.replicas.get(id)!.status().promisedFence));
      h.statusSilent.clear();
      await waitFor('n3 to vote again', () => (rejoiner.status().role === 'follower' ? true : null), 20_000);
      expect(rejoiner.status().promisedFence).toBeGreaterThanOrEqual(promised);
      expect(h.errors).toEqual([]);
    }, 40_000);

    it('a leader whose fsync stalls for three election timeouts keeps sending heartbeats and stays leader', async () => {
      harness = await startThree(PROTOCOLS[name] as ProtocolModule);
      const h = harness;
      const leaderId = await settledLeader(h);
      const leader = h.replicas.get(leaderId)!;
      await leader.execute({ statements: [{ sql: 'CREATE TABLE t (x)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
      const term = leader.status().term;
      h.roles.length = 0;
      const sentBefore = h.sent.get(leaderId)!.length;
      const release = stallDisk(leader);
      const write = leader.execute({ statements: [{ sql: 'INSERT INTO t VALUES (1)', params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 10_000, forwarded: false });
      await new Promise((resolve) => setTimeout(resolve, 3 * ELECTION_TICKS * TICK_MS * 2));
      const sentDuringStall = h.sent.get(leaderId)!.length - sentBefore;
      release();
      await write;
      expect(sentDuringStall, 'messages the leader sent while its disk stalled').toBeGreaterThan(6);
      expect(h.roles.filter((r) => r.role === 'candidate' || (r.role === 'leader' && r.node !== leaderId))).toEqual([]);
      for (const r of h.replicas.values()) expect(r.status()).toMatchObject({ leaderId, term });
    }, 30_000);
  });
});

const write = (sql: string) => ({ statements: [{ sql, params: [], named: {} }], requestId: null, durability: 'quorum' as const, timeoutMs: 5_000, forwarded: false });
const staleRead = (sql: string) => ({ sql, params: [], named: {}, consistency: 'stale' as const, minIndex: 0, maxLagEntries: 0, maxRows: 0, timeoutMs: 5_000 });

describe.each(PROTOCOL_NAMES)('%s: a write in flight on a leader that loses its leadership', (name) => {
  it('is answered once the node no longer leads (a retryable error), not at its deadline; its retry with the same request id applies once', async () => {
    const h = (harness = await startThree(PROTOCOLS[name] as ProtocolModule));
    const old = await settledLeader(h);
    const leader = h.replicas.get(old)!;
    await leader.execute(write('CREATE TABLE t (x)'));
    // The leader's words are lost (a black hole: no link reports a fault), so its next write
    // reaches no follower and cannot commit.
    const transport = h.transports.get(old)!;
    const send = transport.send;
    transport.send = () => {};
    let outcome: { error: unknown } | { ok: true } | null = null;
    const insert = { ...write('INSERT INTO t VALUES (1)'), requestId: 'in-flight-1', timeoutMs: 120_000 };
    leader.execute(insert).then(
      () => (outcome = { ok: true }),
      (error: unknown) => (outcome = { error }),
    );
    const others = IDS.filter((id) => id !== old);
    const next = await waitFor('a new leader among the others', () => others.find((id) => h.replicas.get(id)!.status().role === 'leader'), 20_000);
    transport.send = send;
    // Zab's and Multi-Paxos's new leader holds no record at the old one's index until a new
    // write comes: before, the write waited there for its whole deadline (120 s here).
    const answered = await waitFor('the in-flight write to be answered', () => outcome, 10_000);
    expect(answered).toMatchObject({ error: { code: 'unavailable' } });
    expect(String((answered as { error: Error }).error.message)).toMatch(/retry/);
    await h.replicas.get(next)!.execute(insert);
    expect((await h.replicas.get(next)!.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[1n]]);
  }, 60_000);
});

describe('a write the core refuses because this node no longer leads', () => {
  it('goes to the leader instead, once, answering the caller; a write that was itself forwarded is not forwarded again', async () => {
    const h = (harness = await startThree());
    const id = await waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
    const leader = h.replicas.get(id)!;
    await leader.execute(write('CREATE TABLE t (x)'));
    // Leadership moves between the write's queueing and the core's turn: the core refuses it.
    const inside = leader as unknown as {
      core: { propose: (data: Uint8Array) => unknown };
      forwarding: { forward: (request: WriteRequest, deadlineMs: number) => Promise<WriteResult> };
    };
    inside.core.propose = () => ({ ok: false, reason: 'not_leader' });
    const forwarded: WriteRequest[] = [];
    inside.forwarding.forward = (request) => {
      forwarded.push(request);
      return Promise.resolve({ results: [{ rowsAffected: 1, lastInsertRowid: 7n }], index: 42, duplicate: false });
    };
    // The leader keeps only the log record of a write's statements once prepared: what it
    // forwards is read back from there — as prepared (the trailing ';' gone), every value and
    // setting as the caller sent them.
    const sent: WriteRequest = {
      statements: [{ sql: 'INSERT INTO t VALUES (?);', params: [1n], named: {} }, { sql: 'INSERT INTO t VALUES (:v)', params: [], named: { v: 'two' } }],
      requestId: 'req-1',
      durability: 'all',
      timeoutMs: 5_000,
      forwarded: false,
      authorization: 'Bearer secret',
    };
    await expect(leader.execute(sent)).resolves.toMatchObject({ index: 42 });
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.statements).not.toBe(sent.statements);
    expect(forwarded[0]).toEqual({ ...sent, statements: [{ sql: 'INSERT INTO t VALUES (?)', params: [1n], named: {} }, sent.statements[1]] });
    await expect(leader.execute({ ...write('INSERT INTO t VALUES (2)'), forwarded: true })).rejects.toMatchObject({ code: 'not_leader' });
    expect(forwarded).toHaveLength(1);
  });

  it('a write refused before it is proposed (here its SQL) is a rejected promise, never a throw', async () => {
    const h = (harness = await startThree());
    const id = await waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
    const leader = h.replicas.get(id)!;
    let answer: Promise<WriteResult> | undefined;
    expect(() => {
      answer = leader.execute(write('INSERT INTO no_such_table VALUES (1'));
    }).not.toThrow();
    await expect(answer).rejects.toMatchObject({ code: 'sql_error', message: expect.stringMatching(/incomplete input/) });
  });
});

describe.each(PROTOCOL_NAMES)('%s: a snapshot this node cannot use', (name) => {
  it('is refused before the core sees it, with the reason sent back; the node keeps its state, serves reads, and installs the next good one', async () => {
    harness = await startThree(PROTOCOLS[name] as ProtocolModule, { snapshotEveryEntries: 20, snapshotRetainEntries: 0, snapshotLogBytesMax: 2_048 });
    const h = harness;
    const leaderId = await settledLeader(h);
    const leader = h.replicas.get(leaderId)!;
    await leader.execute(write('CREATE TABLE t (x)'));
    await leader.execute(write('INSERT INTO t VALUES (1)'));
    const [followerId, follower] = [...h.replicas.entries()].find(([id]) => id !== leaderId)!;
    await waitFor('the follower has the first rows', () => (follower.status().appliedIndex >= leader.status().appliedIndex ? true : null));
    const appliedBefore = follower.status().appliedIndex;

    // Every snapshot the leader sends now arrives as a file this node cannot use.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bad-snapshots-'));
    h.dirs.push(dir);
    const garbage = path.join(dir, 'garbage');
    fs.writeFileSync(garbage, Buffer.alloc(16_384, 7));
    const emptyDb = SqlStateMachine.open(path.join(dir, 'empty.sqlite'));
    const wrongIndex = path.join(dir, 'wrong-index.sqlite');
    await emptyDb.snapshotAsync(wrongIndex);
    emptyDb.close();
    const leaderTransport = h.transports.get(leaderId)!;
    const sendSnapshot = leaderTransport.sendSnapshot.bind(leaderTransport);
    const refusals: string[] = [];
    let bad: string | null = garbage;
    leaderTransport.sendSnapshot = async (to, message, file) => {
      try {
        await sendSnapshot(to, message, bad ?? file);
      } catch (e: unknown) {
        refusals.push(e instanceof Error ? e.message : String(e));
        throw e;
      }
    };

    h.network.isolate(nodeId(followerId));
    for (let i = 0; i < 60; i++) await leader.execute(write(`INSERT INTO t VALUES (${i + 2})`));
    await waitFor('a leader snapshot past the follower', () => (leader.status().snapshotIndex > appliedBefore ? true : null));
    h.network.heal();
    await waitFor('a refused garbage snapshot', () => (refusals.some((r) => /not a usable quorumlite database/.test(r)) ? true : null));
    bad = wrongIndex;
    await waitFor('a refused wrong-index snapshot', () => (refusals.some((r) => /holds a database at applied index 0/.test(r)) ? true : null));
    // Refused, logged with the reason, and nothing of the follower's state changed.
    expect(h.errors.filter((e) => e.node === followerId).map((e) => e.error).join('\n')).toMatch(/not a usable quorumlite database[\s\S]*holds a database at applied index 0/);
    expect(follower.status().appliedIndex).toBe(appliedBefore);
    expect((await follower.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[1n]]);

    bad = null;
    await waitFor('the follower installed the good snapshot and caught up', () => (follower.status().appliedIndex >= leader.status().appliedIndex ? true : null), 20_000);
    expect((await follower.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[61n]]);
    // Counted (the node's metrics): the leader's snapshots, the copy it made for the follower,
    // and the one file that arrived whole;
    // the refused ones were not sent, and the follower installed only the good one.
    const snapshots = (r: Replica) => Object.fromEntries(r.status().counters.snapshots.map((t) => [t.kind, t.count]));
    expect(snapshots(leader)['taken']).toBeGreaterThanOrEqual(1);
    expect(snapshots(leader)['copied']).toBeGreaterThanOrEqual(1);
    expect(snapshots(leader)['sent']).toBeGreaterThanOrEqual(1);
    expect(snapshots(follower)['installed']).toBe(1);
  }, 60_000);
});

describe('a snapshot', () => {
  for (const name of PROTOCOL_NAMES) {
    it(`${name}: syncs the database where it is and cuts the log, with no copy made; a restart finds the database past the cut`, async () => {
      // Every record kept behind a cut: a follower however far behind never needs a copy.
      harness = await startThree(PROTOCOLS[name] as ProtocolModule, { snapshotEveryEntries: 20, snapshotRetainEntries: 1_000, snapshotLogBytesMax: 1 << 20 });
      const h = harness;
      const leader = h.replicas.get(await settledLeader(h))!;
      await leader.execute(write('CREATE TABLE t (x)'));
      for (let i = 0; i < 80; i++) await leader.execute(write(`INSERT INTO t VALUES (${i})`));
      await waitFor('a snapshot on every node', () => ([...h.replicas.values()].every((r) => r.status().snapshotIndex >= 40) ? true : null));
      for (const [id, r] of h.replicas) {
        const counted = Object.fromEntries(r.status().counters.snapshots.map((t) => [t.kind, t.count]));
        expect(counted['taken'], id).toBeGreaterThanOrEqual(2);
        expect(counted['copied'], id).toBe(0);
        const stored = path.join(h.opened.get(id)!.settings.dataDir, 'snapshots');
        expect(fs.readdirSync(stored).filter((f) => f.endsWith('.snap')), id).toEqual([]);
      }
      const [id, r] = [...h.replicas.entries()].find(([, x]) => x !== leader)!;
      await waitFor('the follower applied every row', () => (r.status().appliedIndex >= leader.status().appliedIndex ? true : null));
      const cut = r.status().snapshotIndex;
      const seen: PersistedState[] = [];
      const again = await reopen(h, id, recordingBoot(PROTOCOLS[name] as ProtocolModule, seen));
      // (A compaction may have run between the read of `cut` and the stop.)
      const bootCut = seen[0]!.snapshot?.index ?? 0;
      expect(bootCut).toBeGreaterThanOrEqual(cut);
      expect(again.status().appliedIndex).toBeGreaterThanOrEqual(bootCut);
      expect((await again.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[80n]]);
    }, 60_000);
  }
});

describe('a copy made for a peer behind the cut', () => {
  for (const name of PROTOCOL_NAMES) {
    it(`${name}: is the one copy it needs: the leader takes no snapshot of its own while the file is on its way`, async () => {
      // The leader keeps records for a follower that lags a little (ten times the 3 retained
      // behind each cut): the one that is not cut off never needs a copy, the one cut off for
      // 60 records is past that bound and does.
      harness = await startThree(PROTOCOLS[name] as ProtocolModule, { snapshotEveryEntries: 20, snapshotRetainEntries: 3, snapshotLogBytesMax: 1 << 30 });
      const h = harness;
      const leaderId = await settledLeader(h);
      const leader = h.replicas.get(leaderId)!;
      await leader.execute(write('CREATE TABLE t (x)'));
      const [followerId, follower] = [...h.replicas.entries()].find(([id]) => id !== leaderId)!;
      h.network.isolate(nodeId(followerId));
      for (let i = 0; i < 60; i++) await leader.execute(write(`INSERT INTO t VALUES (${i})`));
      await waitFor('a leader snapshot past the follower', () => (leader.status().snapshotIndex > follower.status().appliedIndex ? true : null));
      // A slow transfer: writes go on meanwhile, enough for several snapshots.
      const transport = h.transports.get(leaderId)!;
      const sendSnapshot = transport.sendSnapshot.bind(transport);
      transport.sendSnapshot = async (to, message, file) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sendSnapshot(to, message, file);
      };
      h.network.heal();
      for (let i = 60; i < 160; i++) await leader.execute(write(`INSERT INTO t VALUES (${i})`));
      await waitFor('the follower caught up', () => (follower.status().appliedIndex >= leader.status().appliedIndex ? true : null), 20_000);
      expect((await follower.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[160n]]);
      const counted = Object.fromEntries(leader.status().counters.snapshots.map((t) => [t.kind, t.count]));
      expect(counted['copied']).toBe(1);
    }, 60_000);
  }
});

describe('a snapshot install cut short between the database and the log', () => {
  it('leaves a marker, and the next boot does not take the old log below the snapshot as what the database applied', async () => {
    const paxos = PROTOCOLS.multipaxos as ProtocolModule;
    harness = await startThree(paxos, { snapshotEveryEntries: 20, snapshotRetainEntries: 0, snapshotLogBytesMax: 2_048 });
    const h = harness;
    const leaderId = await settledLeader(h);
    const leader = h.replicas.get(leaderId)!;
    await leader.execute(write('CREATE TABLE t (x)'));
    const followerId = IDS.find((id) => id !== leaderId)!;
    const follower = h.replicas.get(followerId)!;
    await waitFor('the follower has the table', () => (follower.status().appliedIndex >= leader.status().appliedIndex ? true : null));
    const followerDir = h.opened.get(followerId)!.settings.dataDir;

    // The follower's power fails after the database took the snapshot, before the log is cut.
    const log = (follower as unknown as { log: { compact: () => Promise<void>; resetToSnapshot: () => Promise<void> } }).log;
    const cut = () => Promise.reject(new Error('power cut before the log was cut after the snapshot'));
    log.compact = cut;
    log.resetToSnapshot = cut;
    h.network.isolate(nodeId(followerId));
    for (let i = 0; i < 60; i++) await leader.execute(write(`INSERT INTO t VALUES (${i})`));
    await waitFor('a leader snapshot past the follower', () => (leader.status().snapshotIndex > follower.status().appliedIndex ? true : null));
    h.network.heal();
    await waitFor('the follower stopped inside the install', () => (h.errors.some((e) => e.node === followerId && /power cut/.test(e.error)) ? true : null), 20_000);
    const marker = JSON.parse(fs.readFileSync(path.join(followerDir, INSTALL_MARKER_FILE), 'utf8')) as { index: number };
    const db = SqlStateMachine.open(path.join(followerDir, 'db.sqlite'));
    const dbApplied = db.appliedIndex();
    db.close();
    expect(dbApplied).toBe(marker.index);

    const seen: PersistedState[] = [];
    await reopen(h, followerId, recordingBoot(paxos, seen));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.snapshot?.index ?? 0).toBeLessThan(marker.index);
    expect(seen[0]!.appliedIndex).toBeUndefined();
    expect(fs.existsSync(path.join(followerDir, INSTALL_MARKER_FILE))).toBe(true);

    // A node whose log vouches for its database is given its applied index; a marker its log's
    // compaction point has passed is removed.
    const other = IDS.find((id) => id !== leaderId && id !== followerId)!;
    const otherDir = h.opened.get(other)!.settings.dataDir;
    await waitFor('the other follower took a snapshot', () => (h.replicas.get(other)!.status().snapshotIndex > 0 ? true : null), 20_000);
    const otherSnapshot = h.replicas.get(other)!.status().snapshotIndex;
    fs.writeFileSync(path.join(otherDir, INSTALL_MARKER_FILE), JSON.stringify({ index: otherSnapshot }));
    const applied = h.replicas.get(other)!.status().appliedIndex;
    await reopen(h, other, recordingBoot(paxos, seen));
    expect(seen[1]!.appliedIndex).toBeGreaterThanOrEqual(applied);
    expect(fs.existsSync(path.join(otherDir, INSTALL_MARKER_FILE))).toBe(false);
  }, 60_000);

  it('refuses a damaged marker with its file named', async () => {
    harness = await startThree(PROTOCOLS.multipaxos as ProtocolModule);
    const h = harness;
    fs.writeFileSync(path.join(h.opened.get('n1')!.settings.dataDir, INSTALL_MARKER_FILE), '{"index": "x"}');
    await expect(reopen(h, 'n1', PROTOCOLS.multipaxos as ProtocolModule)).rejects.toThrow(/INSTALLING_SNAPSHOT is not a valid snapshot-install marker/);
    h.replicas.delete('n1');
  });
});

describe('a boot that restores the database from a stored snapshot past the log', () => {
  it('passes no applied index: the log was never cut after that snapshot', async () => {
    // A node whose install of snapshot 300 was cut short before its log was cut, which then
    // installed a lower one (200), took its own at 250, and lost its database's tail in an OS
    // crash: its log starts after 250 and still holds old, never-chosen values at 251..300,
    // its store holds 300 and 250, its database is at 230 — boot restores 300 from the store.
    const paxos = PROTOCOLS.multipaxos as ProtocolModule;
    harness = await startThree(paxos);
    const h = harness;
    await Promise.all([...h.replicas.values()].map((r) => r.stop()));
    const dir = h.opened.get('n3')!.settings.dataDir;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const ballot = term(1025);
    const members = IDS.map((id) => ({ id: nodeId(id), role: 'voter' as const }));
    const meta = (index: number): SnapshotMeta => ({ index: logIndex(index), term: ballot, members });
    const { log } = await DurableLog.open(path.join(dir, 'log'));
    const entries: Entry[] = [];
    for (let i = 1; i <= 300; i++) entries.push({ index: logIndex(i), term: ballot, kind: 'command', data: new TextEncoder().encode(`stale-${i}`) });
    log.append(entries);
    log.setHardState({ promised: 1025 });
    await log.flush(true);
    await log.compact(meta(250), logIndex(251));
    await log.close();
    const store = await SnapshotStore.open(path.join(dir, 'snapshots'));
    for (const index of [250, 300]) {
      const db = SqlStateMachine.open(path.join(dir, `scratch-${index}.sqlite`));
      db.applyBatch(Array.from({ length: index }, (_, i) => ({ index: i + 1, kind: 'noop' as const, data: new Uint8Array() })));
      const staged = store.stagingPath(`crafted-${index}`);
      await db.snapshotAsync(staged);
      db.close();
      await store.commit(staged, meta(index));
    }
    const db = SqlStateMachine.open(path.join(dir, 'db.sqlite'));
    db.applyBatch(Array.from({ length: 230 }, (_, i) => ({ index: i + 1, kind: 'noop' as const, data: new Uint8Array() })));
    db.close();

    const seen: PersistedState[] = [];
    const replica = await reopen(h, 'n3', recordingBoot(paxos, seen));
    expect(replica.status().appliedIndex).toBe(300);
    expect(seen[0]!.snapshot?.index).toBe(250);
    expect(seen[0]!.appliedIndex).toBeUndefined();
  });
});

/** Every protocol hands leadership over on request (each core by its own means). */
const TRANSFERRING_PROTOCOLS = PROTOCOL_NAMES;

describe.each(TRANSFERRING_PROTOCOLS)('%s: leadership transfer through the driver', (name) => {
  const protocol = PROTOCOLS[name] as ProtocolModule;
  const write = (r: Replica, sql: string) => r.execute({ statements: [{ sql, params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
  const leaderOf = (h: Harness) => waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);

  it('hands leadership to the named voter, which then takes writes; the old leader follows it', async () => {
    const h = (harness = await startThree(protocol));
    const from = await leaderOf(h);
    await write(h.replicas.get(from)!, 'CREATE TABLE t (x)');
    // Every follower follows and holds the write: a Zab follower still synchronizing gets no
    // HANDOVER, votes for itself and, with the same history and a higher id, may win instead.
    const applied = h.replicas.get(from)!.status().appliedIndex;
    await waitFor('a settled cluster', () => ([...h.replicas.values()].every((r) => r.status().leaderId === from && r.status().appliedIndex >= applied) ? true : null));
    const to = IDS.find((id) => id !== from)!;
    const outcome = await h.replicas.get(from)!.transferLeadership(to);
    expect(outcome).toMatchObject({ from, to });
    expect(h.replicas.get(from)!.status().role).not.toBe('leader');
    await waitFor(`${to} to lead`, () => (h.replicas.get(to)!.status().role === 'leader' ? true : null));
    const r = await write(h.replicas.get(to)!, 'INSERT INTO t VALUES (1)');
    expect(r.index).toBeGreaterThan(0);
    // The answer names the leader that ordered the write, so a client sends its next one there.
    expect(r.leaderAddress).toBe(`mem:${to}`);
    await waitFor(`${from} to follow ${to}`, () => (h.replicas.get(from)!.status().leaderId === to ? true : null));
  });

  it('hands over to the most caught-up voter before shutdown, and refuses on a follower with the leader named', async () => {
    const h = (harness = await startThree(protocol));
    const from = await leaderOf(h);
    await write(h.replicas.get(from)!, 'CREATE TABLE t (x)');
    const follower = h.replicas.get(IDS.find((id) => id !== from)!)!;
    // The core names its leader one persist before the node acts on it (its Ready carried out):
    // ask until the refusal names the leader, and check every refusal is `not_leader`.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const refusal: unknown = await follower.transferLeadership(null).then(() => 'transferred', (e: unknown) => e);
      expect(refusal).toMatchObject({ code: 'not_leader' });
      if ((refusal as { details: { leaderId: string | null } }).details.leaderId === from) break;
      expect(Date.now(), 'a refusal that names the leader').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    const outcome = await h.replicas.get(from)!.handOverLeadership();
    expect(outcome?.from).toBe(from);
    expect(outcome?.to).not.toBe(from);
    expect(await h.replicas.get(from)!.handOverLeadership()).toBeNull();
  });
});

describe.each(PROTOCOL_NAMES)('%s: a restarted node', (name) => {
  it('hands its database only the records it did not apply before, and catches up', async () => {
    const protocol = PROTOCOLS[name] as ProtocolModule;
    harness = await startThree(protocol);
    const h = harness;
    const leaderId = await waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
    const leader = h.replicas.get(leaderId)!;
    await leader.execute(write('CREATE TABLE t (n INTEGER PRIMARY KEY)'));
    for (let n = 1; n <= 40; n++) await leader.execute(write(`INSERT INTO t VALUES (${n})`));
    const followerId = IDS.find((id) => id !== leaderId)!;
    const last = leader.status().appliedIndex;
    await waitFor('the follower applied every write', () => (h.replicas.get(followerId)!.status().appliedIndex >= last ? true : null));

    await h.replicas.get(followerId)!.stop();
    const { settings, deps } = h.opened.get(followerId)!;
    const again = await Replica.open(settings, { ...deps, transport: h.network.restart(nodeId(followerId)) });
    h.replicas.set(followerId, again);
    const appliedBefore = again.status().appliedIndex;
    expect(appliedBefore).toBeGreaterThanOrEqual(last);
    const handed: number[] = [];
    const sm = (again as unknown as { stateMachine: { applyBatch: (entries: readonly Entry[]) => unknown } }).stateMachine;
    const applyBatch = sm.applyBatch.bind(sm);
    sm.applyBatch = (entries) => {
      handed.push(...entries.map((e) => e.index));
      return applyBatch(entries);
    };
    again.start();
    await leader.execute(write('INSERT INTO t VALUES (41)'));
    const end = leader.status().appliedIndex;
    await waitFor('the restarted node applied the new write', () => (again.status().appliedIndex >= end ? true : null));
    expect(handed.filter((i) => i <= appliedBefore)).toEqual([]);
    expect(handed).toContain(end);
    expect((await again.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[41n]]);
  }, 30_000);
});

describe('backup and restore through the driver', () => {
  it('copies the database at one applied index while writes go on, and a fresh cluster boots from the copy', async () => {
    harness = await startThree(raft as ProtocolModule, { snapshotEveryEntries: 25, snapshotRetainEntries: 5 });
    const h = harness;
    const leaderId = await waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
    const leader = h.replicas.get(leaderId)!;
    await leader.execute(write('CREATE TABLE t (n INTEGER PRIMARY KEY)'));
    // Sequential writes, each with the log index it was ordered at, while a follower copies.
    const indexOf = new Map<number, number>();
    let writing = true;
    const load = (async () => {
      for (let n = 1; writing; n++) indexOf.set(n, (await leader.execute(write(`INSERT INTO t VALUES (${n})`))).index);
    })();
    await waitFor('some writes', () => (indexOf.size >= 20 ? true : null));
    const follower = [...h.replicas.entries()].find(([id]) => id !== leaderId)![1];
    const copy = await follower.backup();
    await waitFor('writes after the copy', () => (indexOf.size >= 60 ? true : null));
    writing = false;
    await load;

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-backup-'));
    h.dirs.push(dir);
    const file = path.join(dir, 'backup.sqlite');
    fs.copyFileSync(copy.file, file);
    await copy.discard();
    expect(fs.readdirSync(path.dirname(copy.file)).filter((name) => name.startsWith(path.basename(copy.file)))).toEqual([]);
    expect(copy.bytes).toBe(fs.statSync(file).size);
    const inCopy = SqlStateMachine.open(file);
    const expected = [...indexOf].filter(([, index]) => index <= copy.appliedIndex).map(([n]) => [BigInt(n)]);
    expect(inCopy.appliedIndex()).toBe(copy.appliedIndex);
    expect(inCopy.query({ sql: 'SELECT n FROM t ORDER BY n', params: [], named: {}, maxRows: 0, maxBytes: 0 }).rows).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(indexOf.size);
    inCopy.close();
    for (const r of h.replicas.values()) await r.stop();
    h.replicas.clear();

    // A new cluster from the copy: every replica holds exactly its rows, and takes writes.
    const restored = await startThree(raft as ProtocolModule, { fromBackup: file });
    harness = restored;
    restored.dirs.push(...h.dirs);
    const newLeaderId = await waitFor('a leader', () => [...restored.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
    const newLeader = restored.replicas.get(newLeaderId)!;
    await newLeader.execute(write('INSERT INTO t VALUES (1000)'));
    const last = newLeader.status().appliedIndex;
    for (const r of restored.replicas.values()) {
      await waitFor('the write applied everywhere', () => (r.status().appliedIndex >= last ? true : null));
      expect((await r.query(staleRead('SELECT n FROM t ORDER BY n'))).rows).toEqual([...expected, [1000n]]);
    }

    // Booted again with the same setting, a node keeps what it holds: the backup is ignored.
    const again = await reopen(restored, newLeaderId, raft as ProtocolModule);
    expect((await again.query(staleRead('SELECT count(*) FROM t'))).rows).toEqual([[BigInt(expected.length + 1)]]);
  }, 60_000);

  it('refuses to boot from a file that is not a quorumlite database, naming it, and writes no database', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bad-backup-'));
    const bad = path.join(dir, 'bad.sqlite');
    fs.writeFileSync(bad, Buffer.alloc(8_192, 3));
    try {
      await expect(startThree(raft as ProtocolModule, { fromBackup: bad })).rejects.toThrow(/fromBackup: backup .*bad\.sqlite is not a usable quorumlite database/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('raft: members at runtime through the driver', () => {
  const write = (r: Replica, sql: string) => r.execute({ statements: [{ sql, params: [], named: {} }], requestId: null, durability: 'quorum', timeoutMs: 5_000, forwarded: false });
  const leaderOf = (h: Harness) => waitFor('a leader', () => [...h.replicas.entries()].find(([, r]) => r.status().role === 'leader')?.[0]);
  const BOOT = IDS.map((m) => ({ id: m, address: `mem:${m}`, role: 'voter' as const }));

  it('grows 3 → 4 (the new node joins as an observer, catches up, and is promoted), shrinks back, and every node agrees on the members and the rows', async () => {
    const h = (harness = await startThree(raft as ProtocolModule, { snapshotEveryEntries: 20, snapshotRetainEntries: 0, snapshotLogBytesMax: 4_096 }));
    const leaderId = await leaderOf(h);
    const leader = h.replicas.get(leaderId)!;
    await write(leader, 'CREATE TABLE t (x)');
    for (let i = 0; i < 50; i++) await write(leader, `INSERT INTO t VALUES (${i})`);
    // The new node boots knowing the others and itself as an observer; the log tells it the rest.
    const n4 = await openNode(h, raft as ProtocolModule, 'n4', [...BOOT, { id: 'n4', address: 'mem:n4', role: 'observer' }], { snapshotEveryEntries: 20, snapshotRetainEntries: 0, snapshotLogBytesMax: 4_096 });
    n4.start();
    const added = await leader.changeMembers({ kind: 'add', id: 'n4', address: 'mem:n4', role: 'voter' }, 10_000);
    expect(added.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:voter', 'n4:voter']);
    await write(leader, 'INSERT INTO t VALUES (1000)');
    const appliedAll = () => Math.max(...[...h.replicas.values()].map((r) => r.status().appliedIndex));
    await waitFor('every node applied everything', () => ([...h.replicas.values()].every((r) => r.status().appliedIndex >= appliedAll()) ? true : null));
    for (const [id, r] of h.replicas) {
      expect(r.members().members.map((m) => `${m.id}:${m.role}@${m.address}`), id).toEqual(['n1:voter@mem:n1', 'n2:voter@mem:n2', 'n3:voter@mem:n3', 'n4:voter@mem:n4']);
      expect((await r.query({ sql: 'SELECT count(*) FROM t', params: [], named: {}, consistency: 'stale', maxRows: 10, timeoutMs: 1_000 } as never)).rows, id).toEqual([[51n]]);
    }
    // Removing the leader itself: it steps down once that commits, and the other three go on.
    const removed = await leader.changeMembers({ kind: 'remove', id: leaderId }, 10_000);
    expect(removed.members.map((m) => m.id)).not.toContain(leaderId);
    const next = await waitFor('a new leader', () => [...h.replicas.entries()].find(([id, r]) => id !== leaderId && r.status().role === 'leader')?.[0]);
    await write(h.replicas.get(next)!, 'INSERT INTO t VALUES (2000)');
    const remaining = ['n1', 'n2', 'n3', 'n4'].filter((id) => id !== leaderId);
    expect(h.replicas.get(next)!.members().members.map((m) => m.id)).toEqual(remaining);
    // A node booted with the first three only learns n4's address from its own database (the
    // list it applied, which snapshots carry) after a restart, and the removal from its log.
    const booted = remaining.find((id) => id !== 'n4' && id !== next)!;
    const again = await reopen(h, booted, raft as ProtocolModule);
    expect(again.members().members.map((m) => `${m.id}@${m.address}`)).toEqual(remaining.map((id) => `${id}@mem:${id}`));
    again.start();
  }, 60_000);

  it('refuses with a sentence: a member already there elsewhere, two voters at once, a voter made a witness in place, a follower asked; a repeated add is done already', async () => {
    const h = (harness = await startThree(raft as ProtocolModule));
    const leaderId = await leaderOf(h);
    const leader = h.replicas.get(leaderId)!;
    await write(leader, 'CREATE TABLE t (x)');
    await expect(leader.changeMembers({ kind: 'add', id: 'n2', address: 'mem:elsewhere', role: 'voter' }, 5_000)).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/n2 is already a member \(voter at mem:n2\)/) });
    // The same add again (a client retrying a lost answer) finds it done.
    await expect(leader.changeMembers({ kind: 'add', id: 'n2', address: 'mem:n2', role: 'voter' }, 5_000)).resolves.toMatchObject({ index: 0 });
    await expect(leader.changeMembers({ kind: 'remove', id: 'n9' }, 5_000)).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/no member 'n9'/) });
    await expect(leader.changeMembers({ kind: 'set-role', id: IDS.find((id) => id !== leaderId)!, role: 'witness' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/the node itself must change: remove .*, start it again as a witness/) });
    await expect(leader.proposeMembers([{ id: nodeId('n1'), role: 'voter', address: 'mem:n1' }], 5_000)).rejects.toMatchObject({ code: 'refused' });
    const follower = h.replicas.get(IDS.find((id) => id !== leaderId)!)!;
    await waitFor('the follower to know its leader', () => (follower.status().leaderId === leaderId ? true : null));
    await expect(follower.changeMembers({ kind: 'remove', id: leaderId }, 5_000)).rejects.toMatchObject({ code: 'not_leader' });
    // Even a change its own list shows done already: that list may lag the leader's.
    await expect(follower.changeMembers({ kind: 'add', id: 'n2', address: 'mem:n2', role: 'voter' }, 5_000)).rejects.toMatchObject({ code: 'not_leader', message: expect.stringMatching(/ask the leader/) });
  });

  it('asks a node what it keeps before it gives it a role: a witness process joins only as a witness, a data node never becomes one, a node that does not answer is not added', async () => {
    const h = (harness = await startThree(raft as ProtocolModule));
    const leader = h.replicas.get(await leaderOf(h))!;
    await write(leader, 'CREATE TABLE t (x)');
    const n4 = await openNode(h, raft as ProtocolModule, 'n4', [...BOOT, { id: 'n4', address: 'mem:n4', role: 'witness' }]);
    n4.start();
    expect(n4.status().store).toBe('log');
    for (const role of ['voter', 'observer'] as const) {
      await expect(leader.changeMembers({ kind: 'add', id: 'n4', address: 'mem:n4', role }, 5_000)).rejects.toMatchObject({
        code: 'refused',
        message: expect.stringMatching(new RegExp(`^adding n4 as an? ${role}: n4 runs as a witness and keeps no database; an? ${role} keeps the database, so the node itself must change`)),
      });
    }
    expect(leader.members().members.map((m) => m.id)).toEqual(IDS);
    const added = await leader.changeMembers({ kind: 'add', id: 'n4', address: 'mem:n4', role: 'witness' }, 10_000);
    expect(added.members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:voter', 'n4:witness']);
    await expect(leader.changeMembers({ kind: 'set-role', id: 'n4', role: 'observer' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/^n4 is a witness; an observer keeps the database/) });

    const n5 = await openNode(h, raft as ProtocolModule, 'n5', [...leader.members().members.map((m) => ({ id: m.id, address: m.address, role: m.role })), { id: 'n5', address: 'mem:n5', role: 'observer' }]);
    n5.start();
    expect(n5.status().store).toBe('database');
    await expect(leader.changeMembers({ kind: 'add', id: 'n5', address: 'mem:n5', role: 'witness' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/^adding n5 as a witness: n5 keeps a database; a witness keeps no database/) });
    await leader.changeMembers({ kind: 'add', id: 'n5', address: 'mem:n5', role: 'observer' }, 10_000);
    await expect(leader.changeMembers({ kind: 'set-role', id: 'n5', role: 'witness' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/^making n5 a witness: n5 keeps a database/) });
    expect(leader.members().members.map((m) => `${m.id}:${m.role}`)).toEqual(['n1:voter', 'n2:voter', 'n3:voter', 'n4:witness', 'n5:observer']);
    // A list written without asking the node (the core's own call): the node says so, once.
    await waitFor('n5 to catch up', () => (leader.caughtUp('n5') ? true : null));
    await leader.proposeMembers(leader.members().members.map((m) => ({ id: nodeId(m.id), address: m.address, role: m.id === 'n5' ? ('witness' as const) : m.role })), 5_000);
    await waitFor('n5 to say its role does not fit', () => (h.errors.some((e) => e.node === 'n5' && e.msg === 'the members name this node a role its process cannot keep') ? true : null));
    await write(leader, 'INSERT INTO t VALUES (1)');
    expect(h.errors.filter((e) => e.node === 'n5')).toHaveLength(1);

    await expect(leader.changeMembers({ kind: 'add', id: 'n6', address: 'mem:n6', role: 'voter' }, 5_000)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/^adding n6 as a voter needs to know what the node keeps, and n6 at mem:n6 did not answer Status \(mem:n6 is not up\): start it first/) });
  }, 60_000);
});
