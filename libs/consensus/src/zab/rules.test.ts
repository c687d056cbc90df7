/**
 * One test per rule of Zab (the DSN 2011 paper and ZooKeeper's implementation), named after
 * the rule, plus the cases ZooKeeper's bug record taught.
 */
import { describe, expect, it } from 'vitest';
import type { ZabMessage } from './messages';
import { nodeId } from '../contract';
import { INIT_LIMIT_ELECTIONS } from './core';
import { ZabNet, bytes, diskOf, observer, voters } from './testkit';

const establishedEpoch = (net: ZabNet, id: string): number => net.core(id).status().term;

describe('zab: discovery', () => {
  it('a learner refuses LEADERINFO below its acceptedEpoch and looks again', () => {
    // n3 promised epoch 9 to a leader that never established it; n1 and n2 are at epoch 1.
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(1, 1, []), n2: diskOf(1, 1, []), n3: diskOf(9, 1, []) });
    const leader = net.settle();
    // Whoever leads chose an epoch above every acceptedEpoch it heard, n3's 9 included.
    expect(establishedEpoch(net, leader)).toBe(10);
    expect(net.hard('n3')).toEqual({ acceptedEpoch: 10, currentEpoch: 10 });
  });

  it('ACKEPOCH leaves only after acceptedEpoch is durable (it is never an early message)', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const seen: string[] = [];
    net.filter = (m: ZabMessage): boolean => {
      if (m.type === 'ackEpoch') seen.push(`${m.from}:${JSON.stringify(net.hard(m.from))}`);
      return true;
    };
    net.settle();
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s).toMatch(/"acceptedEpoch":1/);
  });

  it('a node that restarts between persisting acceptedEpoch and currentEpoch rejoins with its older currentEpoch', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(3, 2, [1, 2]), n2: diskOf(2, 2, [1, 2]), n3: diskOf(2, 2, [1, 2]) });
    const leader = net.settle();
    expect(establishedEpoch(net, leader)).toBe(4);
    for (const id of ['n1', 'n2', 'n3']) expect(net.hard(id)).toEqual({ acceptedEpoch: 4, currentEpoch: 4 });
  });

  it('a leader abdicates when an ACKEPOCH shows a newer history than its own', () => {
    // n1 holds two records of epoch 1 that n2 and n3 lack. While n1 is away, n3 wins the vote.
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(1, 1, [1, 1, 1]), n2: diskOf(1, 1, [1]), n3: diskOf(1, 1, [1]) });
    net.isolate('n1');
    // n2 follows n3 but cannot reach it, so n3's discovery waits for another learner.
    net.filter = (m) => !(m.from === 'n2' && m.to === 'n3' && m.type !== 'notification');
    // (Within a sync limit: after it, n2 would stop waiting for n3 and look again.)
    for (let i = 0; i < 6; i++) net.tickAll();
    expect(net.core('n3').status().role).toBe('candidate');
    net.heal();
    const abdicated = (): boolean => net.sent.some((m) => m.type === 'staleEpoch' && m.from === 'n3');
    for (let i = 0; i < 30 && !abdicated(); i++) net.tickAll();
    expect(abdicated()).toBe(true);
    net.filter = () => true;
    const leader = net.settle();
    expect(leader).toBe('n1');
    net.tickAll(2);
    for (const id of ['n1', 'n2', 'n3']) expect(net.epochsOnDisk(id).slice(0, 3)).toEqual([1, 1, 1]);
  });
});

describe('zab: synchronization', () => {
  it('a follower whose last zxid is higher but from an older epoch is cut back (TRUNC) to the leader history', () => {
    // n3 logged records 3 and 4 in epoch 1 that nobody else has; n1 and n2 moved on to epoch 2.
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(2, 2, [1, 1, 2]), n2: diskOf(2, 2, [1, 1, 2]), n3: diskOf(1, 1, [1, 1, 1, 1]) });
    const leader = net.settle();
    expect(leader).not.toBe('n3');
    net.tickAll(2);
    expect(net.epochsOnDisk('n3')).toEqual(net.epochsOnDisk(leader));
    expect(net.appliedData('n3')).not.toContain('4@1');
    expect(net.sent.some((m) => m.type === 'sync' && m.to === 'n3' && m.mode === 'trunc' && m.index === 2)).toBe(true);
  });

  it('a follower behind the leader gets a DIFF of the proposals it lacks', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(1, 1, [1, 1, 1]), n2: diskOf(1, 1, [1, 1, 1]), n3: diskOf(1, 1, [1]) });
    const leader = net.settle();
    net.tickAll(2);
    expect(net.sent.some((m) => m.type === 'sync' && m.to === 'n3' && m.mode === 'diff' && m.index === 1)).toBe(true);
    expect(net.epochsOnDisk('n3')).toEqual(net.epochsOnDisk(leader));
  });

  it('the initial history is committed only once a quorum acknowledged NEWLEADER', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), {}, { n1: diskOf(1, 1, [1, 1]), n2: diskOf(1, 1, [1, 1]), n3: diskOf(1, 1, [1, 1]) });
    net.filter = (m) => !(m.type === 'ack' && m.newLeader);
    for (let i = 0; i < 30; i++) net.tickAll();
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual([]);
    net.filter = () => true;
    net.settle();
    net.tickAll(2);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(['1@1', '2@1']);
  });
});

describe('zab: broadcast', () => {
  it('a follower acknowledges a proposal only once it is durable', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const acksBeforeDurable: string[] = [];
    net.filter = (m) => {
      if (m.type === 'ack' && m.index > 0 && !net.disk(m.from).entries.some((e) => e.index === m.index)) acksBeforeDurable.push(`${m.from}@${m.index}`);
      return true;
    };
    for (let i = 0; i < 20; i++) net.propose(leader, `p${i}`);
    net.stabilize();
    expect(acksBeforeDurable).toEqual([]);
  });

  it('a proposal acknowledged by a quorum survives a leader that died before every follower heard COMMIT', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const [a, b] = ['n1', 'n2', 'n3'].filter((id) => id !== leader) as [string, string];
    net.propose(leader, 'x');
    // Deliver the proposal and the acknowledgements; the leader then commits, and only `a` hears it.
    net.filter = (m) => !(m.type === 'commit' && m.to === b) && !(m.type === 'proposal' && m.to === b && m.entries.length === 0);
    net.stabilize();
    expect(net.appliedData(a)).toContain('x');
    net.crash(leader);
    net.filter = () => true;
    const next = net.settle();
    expect(next).not.toBe(leader);
    net.tickAll(2);
    expect(net.appliedData(a).filter((d) => d === 'x')).toHaveLength(1);
    expect(net.appliedData(b).filter((d) => d === 'x')).toHaveLength(1);
  });

  it('duplicated and reordered PROPOSAL and COMMIT are applied once, in zxid order', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), { entriesPerMessageMax: 1 });
    const leader = net.settle();
    for (let i = 0; i < 10; i++) net.propose(leader, `p${i}`);
    net.processAll();
    for (let round = 0; round < 50 && net.queue.length > 0; round++) {
      // Every message twice, in reverse order.
      net.queue = [...net.queue, ...net.queue].reverse();
      net.deliverOnce();
    }
    net.tickAll(5);
    const want = Array.from({ length: 10 }, (_, i) => `p${i}`);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(want);
  });

  it('observers apply committed proposals and never count toward the quorum', () => {
    const net = new ZabNet([...voters('n1', 'n2'), observer('o1')]);
    const leader = net.settle();
    const other = leader === 'n1' ? 'n2' : 'n1';
    net.propose(leader, 'a');
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData('o1')).toEqual(['a']);
    net.crash(other);
    net.propose(leader, 'b');
    net.stabilize();
    net.tickAll(3);
    // One of two voters is not a quorum, observer or not.
    expect(net.appliedData(leader)).toEqual(['a']);
    expect(net.appliedData('o1')).toEqual(['a']);
  });
});

describe('zab: fencing', () => {
  it('a stale leader of an old epoch is refused, learns the new epoch and follows without a new election', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const old = net.settle();
    const oldEpoch = establishedEpoch(net, old);
    net.isolate(old);
    let next: string | null = null;
    for (let i = 0; i < 100 && (next === null || next === old); i++) {
      net.tickAll();
      const l = net.leaderOf();
      next = l === old ? null : l;
    }
    expect(next).not.toBeNull();
    const newEpoch = establishedEpoch(net, next!);
    expect(newEpoch).toBeGreaterThan(oldEpoch);
    net.heal();
    // The old leader may still think it leads for a moment: its traffic is refused.
    net.settle();
    expect(net.leaderOf()).toBe(next);
    expect(establishedEpoch(net, next!)).toBe(newEpoch);
    expect(net.core(old).status().leader).toBe(next);
    expect(net.sent.some((m) => m.type === 'staleEpoch' && m.to === old) || net.core(old).status().role === 'follower').toBe(true);
  });

  it('a proposal of an older epoch is never accepted', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const before = net.disk(follower).entries.length;
    net.core(follower).step({
      type: 'proposal', from: leader as never, to: follower as never, epoch: 0 as never, syncId: 1,
      entries: [{ index: (before + 1) as never, term: 0 as never, kind: 'command', data: bytes('old') }], commit: 0 as never,
    });
    net.process(follower);
    expect(net.disk(follower).entries.length).toBe(before);
  });
});

describe('zab: fast leader election', () => {
  it('converges when notifications of different rounds cross', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3', 'n4', 'n5'));
    // Push n1 and n2 several rounds ahead while the others start over.
    for (const id of ['n1', 'n2']) net.tick(id, 3);
    net.queue = net.queue.reverse();
    const leader = net.settle();
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) expect(net.core(id).status().leader).toBe(leader);
  });

  it('a restarted node joins the established leader without a new election', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const epoch = establishedEpoch(net, leader);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    net.crash(follower);
    net.restart(follower);
    net.settle();
    expect(net.leaderOf()).toBe(leader);
    expect(establishedEpoch(net, leader)).toBe(epoch);
  });
});

describe('zab: read barrier', () => {
  it('a read on the leader or a follower is answered at a point covering every acknowledged write', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const index = net.propose(leader, 'w');
    net.stabilize();
    net.core(leader).readIndex('r-leader');
    net.core(follower).readIndex('r-follower');
    net.stabilize();
    net.tickAll(2);
    const l = net.readStates.get(leader)!.find((r) => r.requestId === 'r-leader');
    const f = net.readStates.get(follower)!.find((r) => r.requestId === 'r-follower');
    expect(l?.index).toBeGreaterThanOrEqual(index);
    expect(f?.index).toBeGreaterThanOrEqual(index);
  });

  it('an isolated leader cannot confirm a read', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    const leader = net.settle();
    net.isolate(leader);
    net.core(leader).readIndex('r');
    net.tickAll(3);
    expect(net.readStates.get(leader)!.some((r) => r.requestId === 'r')).toBe(false);
  });
});

describe('zab: PINGs travel apart from proposals', () => {
  const followerInfos = (net: ZabNet, id: string): number => net.sent.filter((m) => m.type === 'followerInfo' && m.from === id).length;
  const ELECTION_TICKS = 10; // the test network's election timeout: a sync limit

  it('a PING that overtook proposals still arriving does not resynchronize the follower', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), { entriesPerMessageMax: 1 });
    const leader = net.settle();
    const slow = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    net.tickAll(2);
    const onTheWire: ZabMessage[] = [];
    net.filter = (m) => {
      if (m.type !== 'proposal' || m.to !== slow || m.entries.length === 0) return true;
      onTheWire.push(m);
      return false;
    };
    for (let i = 0; i < 3; i++) net.propose(leader, `p${i}`);
    net.stabilize();
    const infos = followerInfos(net, slow);
    // Past half a sync limit with nothing arriving, then one proposal arrives: the stream is alive.
    net.tickAll(ELECTION_TICKS - 2);
    net.core(slow).step(onTheWire.shift()!);
    net.tickAll(ELECTION_TICKS - 2);
    expect(followerInfos(net, slow)).toBe(infos);
    net.filter = () => true;
    for (const m of onTheWire) net.core(slow).step(m);
    net.stabilize();
    net.tickAll(2);
    expect(net.appliedData(slow)).toEqual(['p0', 'p1', 'p2']);
    expect(followerInfos(net, slow)).toBe(infos);
  });

  it('a proposal lost in silence resynchronizes the follower after an init limit (not before)', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), { entriesPerMessageMax: 1 });
    const leader = net.settle();
    const deaf = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    net.tickAll(2);
    let dropped = false;
    net.filter = (m) => {
      if (dropped || m.type !== 'proposal' || m.to !== deaf || m.entries.length === 0) return true;
      dropped = true;
      return false;
    };
    for (let i = 0; i < 3; i++) net.propose(leader, `p${i}`);
    net.stabilize();
    const infos = followerInfos(net, deaf);
    net.tickAll(ELECTION_TICKS + 3);
    // A record still on the wire may take longer than a sync limit: not yet.
    expect(followerInfos(net, deaf)).toBe(infos);
    net.tickAll((INIT_LIMIT_ELECTIONS - 1) * ELECTION_TICKS);
    expect(followerInfos(net, deaf)).toBeGreaterThan(infos);
    net.tickAll(3);
    expect(net.appliedData(deaf)).toEqual(['p0', 'p1', 'p2']);
  });
});

describe('zab: liveness', () => {
  const ELECTION_TICKS = 20; // T here: a follower's sync limit is drawn in [T, 1.5 T)
  /** A settled 3-voter network whose followers n1 and n2 draw their sync limits from `draws` (what random() returns to each). */
  const settledWith = (draws: { n1: number; n2: number }): { net: ZabNet; epochBefore: number; mark: number } => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'), { electionTimeoutTicks: ELECTION_TICKS });
    net.start('n1', undefined, { random: () => draws.n1 });
    net.start('n2', undefined, { random: () => draws.n2 });
    expect(net.settle()).toBe('n3');
    net.tickAll(2);
    return { net, epochBefore: establishedEpoch(net, 'n3'), mark: net.sent.length };
  };
  const lookedAgain = (net: ZabNet, mark: number, id: string): boolean => net.sent.slice(mark).some((m) => m.type === 'notification' && m.from === id && m.state === 'looking');

  it('a follower takes its leader for lost after a sync limit drawn in [T, 1.5 T) when it follows: a leader held past T but within every draw keeps its epoch', () => {
    // Limits of 24 and 25 ticks; the leader is held for T + 1 = 21 ticks of the followers (its
    // event loop neither ticks nor sends), and its first PING after comes within 2 more: 23 at
    // most. A fixed limit of T sent both followers LOOKING at the hold's twentieth tick.
    const { net, epochBefore, mark } = settledWith({ n1: 0.4, n2: 0.5 });
    for (let t = 0; t < ELECTION_TICKS + 1; t++) {
      for (const f of ['n1', 'n2']) net.tick(f);
      // Followers in broadcast send nothing of their own: nothing waits for the held leader.
      expect(net.queue.filter((m) => m.to === 'n3')).toEqual([]);
      net.stabilize();
    }
    net.tickAll(2 * ELECTION_TICKS);
    expect(lookedAgain(net, mark, 'n1') || lookedAgain(net, mark, 'n2')).toBe(false);
    for (const id of ['n1', 'n2', 'n3']) expect(net.core(id).status().leader).toBe('n3');
    expect(establishedEpoch(net, 'n3')).toBe(epochBefore);
  });

  it('a follower silent for T that hears another voter LOOKING looks too: a silent leader is replaced when the first limit runs out, not the last', () => {
    // n1 gives up after T; n2 would wait 1.5 T − 1 on its own.
    const { net, epochBefore, mark } = settledWith({ n1: 0, n2: 0.99 });
    net.isolate('n3');
    let ticks = 0;
    while (!(net.leaderOf() !== null && net.leaderOf() !== 'n3' && net.core('n1').status().leader === net.core('n2').status().leader) && ticks < 4 * ELECTION_TICKS) {
      net.tickAll();
      ticks++;
    }
    expect(lookedAgain(net, mark, 'n2')).toBe(true);
    expect(establishedEpoch(net, net.leaderOf()!)).toBeGreaterThan(epochBefore);
    // T to notice, FLE's finalize window and a few round trips: well inside n2's own 29.
    expect(ticks).toBeLessThan(29);
  });

  it('the draw stops short of 1.5 T: a follower that drew the top of the range looks at 1.5 T − 1 silent ticks, not later', () => {
    // 0.99 of [20, 30): 29 ticks.
    const { net, mark } = settledWith({ n1: 0.99, n2: 0.99 });
    for (let t = 0; t < 28; t++) net.tick('n1');
    expect(lookedAgain(net, mark, 'n1')).toBe(false);
    net.tick('n1');
    expect(lookedAgain(net, mark, 'n1')).toBe(true);
  });

  it('only a new round counts: a LOOKING notification of the round the leader was elected in (a node booting, one delayed on the wire) leaves a silent follower following', () => {
    const { net } = settledWith({ n1: 0.9, n2: 0.9 });
    // n2 hears nothing from n3 for T + 1 ticks (under its own limit of 29).
    for (let t = 0; t < ELECTION_TICKS + 1; t++) net.tick('n2');
    const round = (net.sent.filter((m) => m.type === 'notification' && m.from === 'n2').at(-1) as Extract<ZabMessage, { type: 'notification' }>).round;
    const looking = (r: number): ZabMessage => ({ type: 'notification', from: nodeId('n1'), to: nodeId('n2'), round: r, state: 'looking', vote: { leader: nodeId('n1'), epoch: 1, zxidEpoch: 0, zxidIndex: 0 } }) as ZabMessage;
    net.core('n2').step(looking(round));
    expect(net.core('n2').status().role).toBe('follower');
    expect(net.core('n2').status().leader).toBe('n3');
    net.core('n2').step(looking(round + 1));
    expect(net.core('n2').status().role).toBe('candidate');
  });
});
