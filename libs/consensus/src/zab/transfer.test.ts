/**
 * Leadership transfer in Zab, one test per rule: only a connected, synchronized data voter is a
 * target; proposals stop ('transferring') until it acknowledged every record, then the leader
 * stops leading with HANDOVER, and every voter's first vote goes to the target, so one round of
 * FLE elects it in the next epoch; a transfer not done within an election timeout is
 * abandoned; a lost HANDOVER leaves an ordinary election, which still ends with a leader.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Member } from '../contract';
import { bytes, observer, voters, ZabNet } from './testkit';
import type { HandOverMessage, NotificationMessage, Vote, ZabMessage } from './messages';

const V3 = voters('n1', 'n2', 'n3');
/** Election timeout of the test kit's options. */
const ELECTION_TIMEOUT_TICKS = 10;

/** n3 leads (the highest id at the same history): a transfer to n1 goes against FLE's tie-break. */
function settledOnN3(members: readonly Member[] = V3): ZabNet {
  const net = new ZabNet(members);
  expect(net.settle()).toBe('n3');
  return net;
}

/** n3 leads and transfers to n1, which answers PINGs but receives no proposal: it stays synchronized, and behind. */
function transferWaitingOnN1(): ZabNet {
  const net = settledOnN3();
  net.filter = (m) => !(m.to === 'n1' && m.type === 'proposal');
  proposeAll(net, 'n3', ['a']);
  net.core('n3').transferLeadership(nodeId('n1'));
  net.process('n3');
  return net;
}

function proposeAll(net: ZabNet, leader: string, values: readonly string[]): void {
  for (const v of values) net.propose(leader, v);
  net.stabilize();
}

function refusal(net: ZabNet, id: string): string | null {
  const r = net.core(id).propose(bytes('x'));
  return r.ok ? null : r.reason;
}

const epochOf = (net: ZabNet, id: string): number => net.core(id).status().term;
const notificationsOf = (msgs: readonly ZabMessage[], id: string): NotificationMessage[] =>
  msgs.filter((m): m is NotificationMessage => m.type === 'notification' && m.from === id);

/** The vote a looking node announced last (its notifications to every voter carry the same). */
function lastVoteOf(net: ZabNet, id: string): Vote {
  const n = notificationsOf(net.queue, id).at(-1);
  if (n === undefined) throw new Error(`${id} announced no vote`);
  return n.vote;
}

/** Deliver `m` to its addressee alone and take that node's Ready; the rest of the network waits. */
function stepOnly(net: ZabNet, m: ZabMessage): void {
  net.core(m.to).step(m);
  net.process(m.to);
}

/** A HANDOVER as `from` would send it in `epoch`, naming `vote` (the history n3 holds unless said). */
function handOverTo(net: ZabNet, from: string, to: string, epoch: number, vote: Omit<Partial<Vote>, 'leader'> & { leader: string }): HandOverMessage {
  const s = net.core('n3').status();
  return {
    type: 'handOver', from: nodeId(from), to: nodeId(to), epoch: term(epoch),
    vote: { epoch: term(epoch), zxidEpoch: term(s.term), zxidIndex: logIndex(s.lastIndex), ...vote, leader: nodeId(vote.leader) },
  };
}

const handOvers = (sent: readonly ZabMessage[]): ZabMessage[] => sent.filter((m) => m.type === 'handOver');

describe('zab leadership transfer', () => {
  it('to an up-to-date follower: elected in the next epoch by one round of FLE, with no tick waited on', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a', 'b']);
    const epoch = epochOf(net, 'n3');
    const from = net.sent.length;
    net.core('n3').transferLeadership(nodeId('n1'));
    net.stabilize();
    expect(net.leaderOf()).toBe('n1');
    expect(epochOf(net, 'n1')).toBe(epoch + 1);
    const since = net.sent.slice(from);
    // HANDOVER to each follower, naming n1 at the history all three hold.
    expect(handOvers(since).map((m) => [m.to, m.type === 'handOver' ? m.vote.leader : null, m.type === 'handOver' ? m.vote.zxidIndex : null])).toEqual([
      ['n1', 'n1', 2],
      ['n2', 'n1', 2],
    ]);
    // Every vote announced on the way was for n1: no node was elected, or voted for, in between.
    const votes = since.filter((m) => m.type === 'notification').map((m) => (m.type === 'notification' ? m.vote.leader : null));
    expect(new Set(votes)).toEqual(new Set(['n1']));
    net.tickAll(2);
    for (const id of ['n2', 'n3']) expect(net.core(id).status()).toMatchObject({ role: 'follower', leader: 'n1' });
    proposeAll(net, 'n1', ['c']);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(['a', 'b', 'c']);
  });

  it('the designation lasts one election: the next failover is decided by FLE order alone', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    net.core('n3').transferLeadership(nodeId('n1'));
    net.stabilize();
    expect(net.leaderOf()).toBe('n1');
    net.crash('n1');
    net.tickAll(3 * ELECTION_TIMEOUT_TICKS);
    // n2 and n3 hold the same history: the higher id wins, as in any election.
    expect(net.leaderOf()).toBe('n3');
  });

  it('to a lagging follower: proposals are refused while it catches up, then it takes over holding every record', () => {
    // A small window: the follower needs several rounds of acknowledgements to catch up.
    const net = new ZabNet(V3, { inflightMessagesMax: 2, entriesPerMessageMax: 4 });
    expect(net.settle()).toBe('n3');
    const values = Array.from({ length: 40 }, (_, i) => `v${i}`);
    for (const v of values) net.propose('n3', v);
    net.process('n3');
    net.core('n3').transferLeadership(nodeId('n1'));
    net.process('n3');
    expect(refusal(net, 'n3')).toBe('transferring');
    expect(handOvers(net.queue)).toEqual([]);
    const from = net.sent.length;
    net.stabilize();
    const told = handOvers(net.sent.slice(from));
    expect(told.length).toBeGreaterThan(0);
    expect(told.every((m) => m.type === 'handOver' && m.vote.zxidIndex === 40)).toBe(true);
    expect(net.leaderOf()).toBe('n1');
    proposeAll(net, 'n1', ['last']);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual([...values, 'last']);
  });

  it('is ignored for a witness, an observer, itself, a stranger, a follower not synchronized, and on a follower', () => {
    const members: Member[] = [...V3, { id: nodeId('w4'), role: 'witness' }, observer('o5')];
    const net = new ZabNet(members);
    const leader = net.settle();
    expect(leader).toBe('n3');
    net.crash('n2');
    net.tickAll(ELECTION_TIMEOUT_TICKS);
    const from = net.sent.length;
    for (const to of ['w4', 'o5', 'n3', 'n9', 'n2']) net.core('n3').transferLeadership(nodeId(to));
    net.core('n1').transferLeadership(nodeId('n1'));
    net.stabilize();
    expect(refusal(net, 'n3')).toBeNull();
    net.tickAll(2 * ELECTION_TIMEOUT_TICKS);
    expect(net.leaderOf()).toBe('n3');
    expect(handOvers(net.sent.slice(from))).toEqual([]);
  });

  it('abandoned after an election timeout when the target never catches up: proposals resume, the leader stays', () => {
    const net = transferWaitingOnN1();
    for (let t = 1; t < ELECTION_TIMEOUT_TICKS; t++) {
      net.tickAll();
      expect(refusal(net, 'n3')).toBe('transferring');
    }
    net.tickAll();
    expect(refusal(net, 'n3')).toBeNull();
    expect(net.leaderOf()).toBe('n3');
    expect(handOvers(net.sent)).toEqual([]);
  });

  it('a transfer asked again for the same target keeps its deadline; one for another target replaces it', () => {
    const net = settledOnN3();
    net.filter = (m) => !(m.to === 'n1' && m.type === 'proposal');
    proposeAll(net, 'n3', ['a']);
    net.core('n3').transferLeadership(nodeId('n1'));
    net.tickAll(ELECTION_TIMEOUT_TICKS - 1);
    net.core('n3').transferLeadership(nodeId('n1'));
    net.tickAll();
    expect(refusal(net, 'n3')).toBeNull();
    // n2 holds every record: the transfer to it completes at once.
    net.core('n3').transferLeadership(nodeId('n1'));
    net.core('n3').transferLeadership(nodeId('n2'));
    net.stabilize();
    expect(net.leaderOf()).toBe('n2');
  });

  it('a HANDOVER that is lost leaves an ordinary election, which still ends with a leader holding every record', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a', 'b']);
    const epoch = epochOf(net, 'n3');
    net.filter = (m) => m.type !== 'handOver';
    net.core('n3').transferLeadership(nodeId('n1'));
    net.stabilize();
    net.filter = () => true;
    const leader = net.settle();
    expect(epochOf(net, leader)).toBe(epoch + 1);
    proposeAll(net, leader, ['c']);
    for (const id of ['n1', 'n2', 'n3']) expect(net.appliedData(id)).toEqual(['a', 'b', 'c']);
  });

  it('a HANDOVER overtaken by the old leader\'s LOOKING notification is ignored: that follower votes as in any election', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    net.core('n3').transferLeadership(nodeId('n1'));
    net.process('n3');
    // A network that reorders: n2 hears n3 look (voting n1) before n3's HANDOVER.
    const late = net.queue.filter((m) => m.type === 'handOver' && m.to === 'n2');
    net.queue = [...net.queue.filter((m) => !late.includes(m)), ...late];
    net.deliverOnce();
    expect(net.core('n2').status().role).toBe('candidate');
    net.stabilize();
    // n2 looked with its own vote, which beats n1's at the same history: an ordinary election.
    expect(net.settle()).toBe('n2');
    expect(epochOf(net, 'n2')).toBe(epoch + 1);
  });

  it('a HANDOVER lost to the target alone: the others still vote for it, and it is elected', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    net.filter = (m) => !(m.type === 'handOver' && m.to === 'n1');
    net.core('n3').transferLeadership(nodeId('n1'));
    net.stabilize();
    net.filter = () => true;
    expect(net.settle()).toBe('n1');
  });

  // The follower's checks on a HANDOVER (handleHandOver): it comes from the leader it follows,
  // in the epoch it follows it in, and names a data voter at that epoch; else it is not acted on.

  it('a HANDOVER of an older epoch replayed to a follower of the new leader leaves it following; the sender hears STALEEPOCH', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    net.core('n3').transferLeadership(nodeId('n1'));
    net.stabilize();
    expect(net.leaderOf()).toBe('n1');
    const old = handOvers(net.sent).find((m) => m.to === 'n2');
    expect(old).toMatchObject({ from: 'n3', epoch });
    if (old === undefined) return;
    stepOnly(net, old);
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', leader: 'n1', term: epoch + 1 });
    expect(net.queue.filter((m) => m.type === 'staleEpoch')).toMatchObject([{ from: 'n2', to: 'n3' }]);
    net.stabilize();
    net.tickAll(2 * ELECTION_TIMEOUT_TICKS);
    expect(net.leaderOf()).toBe('n1');
    expect(epochOf(net, 'n1')).toBe(epoch + 1);
  });

  it('a HANDOVER from a fellow follower at the current epoch is ignored', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    stepOnly(net, handOverTo(net, 'n1', 'n2', epoch, { leader: 'n1' }));
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', leader: 'n3' });
    expect(net.queue).toEqual([]);
  });

  it.each([
    ['of a later epoch', (epoch: number) => ({ leader: 'n1', epoch: term(epoch + 5) })],
    ['for a witness', () => ({ leader: 'w4' })],
    ['for an observer', () => ({ leader: 'o5' })],
  ] as const)('a HANDOVER whose vote is %s sends the follower looking with its own vote', (_name, vote) => {
    const members: Member[] = [...V3, { id: nodeId('w4'), role: 'witness' }, observer('o5')];
    const net = new ZabNet(members);
    expect(net.settle()).toBe('n3');
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    stepOnly(net, handOverTo(net, 'n3', 'n2', epoch, vote(epoch)));
    expect(net.core('n2').status().role).toBe('candidate');
    expect(lastVoteOf(net, 'n2')).toMatchObject({ leader: 'n2', epoch });
  });

  it('abandoned at the next tick when the target drops out of synchronization: proposals resume', () => {
    const net = transferWaitingOnN1();
    expect(refusal(net, 'n3')).toBe('transferring');
    net.core('n3').reportUnreachable(nodeId('n1'));
    net.core('n3').tick();
    expect(refusal(net, 'n3')).toBeNull();
    expect(net.leaderOf()).toBe('n3');
  });

  it('a follower still synchronizing with its leader looks at once on its HANDOVER, not after initLimit', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    // n2 reconnects to n3 and is left waiting for its SYNC.
    net.filter = (m) => !(m.to === 'n2' && m.type === 'sync');
    const from = net.sent.length;
    net.core('n2').reportUnreachable(nodeId('n3'));
    net.stabilize();
    // It answered LEADERINFO (ACKEPOCH) and follows, with no leader yet: it is synchronizing.
    expect(net.sent.slice(from).filter((m) => m.type === 'ackEpoch' && m.from === 'n2')).toHaveLength(1);
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', leader: null });
    net.queue = [];
    stepOnly(net, handOverTo(net, 'n3', 'n2', epoch, { leader: 'n1' }));
    expect(net.core('n2').status().role).toBe('candidate');
    expect(lastVoteOf(net, 'n2').leader).toBe('n1');
  });

  it('a follower told HANDOVER that joins a newer round keeps the designation for that round only', () => {
    const net = settledOnN3();
    proposeAll(net, 'n3', ['a']);
    const epoch = epochOf(net, 'n3');
    stepOnly(net, handOverTo(net, 'n3', 'n2', epoch, { leader: 'n1' }));
    const handed = lastVoteOf(net, 'n2');
    expect(handed.leader).toBe('n1');
    const round = notificationsOf(net.queue, 'n2').at(-1)?.round ?? 0;
    // A voter looking in later rounds with the weakest vote there is: n2 starts each from the
    // better of that and its own — the designated vote in the first, its own history after.
    const weakest: Vote = { leader: nodeId('n1'), epoch: term(0), zxidEpoch: term(0), zxidIndex: logIndex(0) };
    const looking = (r: number): NotificationMessage => ({ type: 'notification', from: nodeId('n1'), to: nodeId('n2'), round: r, state: 'looking', vote: weakest });
    net.queue = [];
    stepOnly(net, looking(round + 1));
    expect(lastVoteOf(net, 'n2')).toEqual(handed);
    net.queue = [];
    stepOnly(net, looking(round + 2));
    expect(lastVoteOf(net, 'n2')).toMatchObject({ leader: 'n2', epoch });
  });
});
