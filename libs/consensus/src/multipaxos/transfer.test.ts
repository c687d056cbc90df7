/**
 * Leadership transfer, one test per rule: the leader stops proposing (`transferring`), waits
 * until every slot it proposed is chosen and held by the target, and sends it takeOver; the
 * target runs phase 1 at once with a higher ballot, naming the leader's, which the acceptors
 * that follow that leader promise despite its lease; the old leader steps down. Abandoned after
 * an election timeout. Only a data voter may take over.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Member } from '../contract';
import type { PaxosMessage } from './messages';
import { PaxosNet, observer, voters } from './testkit';

const N3 = ['n1', 'n2', 'n3'];
const ELECTION_TICKS = 10;
const others = (leader: string): string[] => N3.filter((id) => id !== leader);
const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });

function proposeAll(net: PaxosNet, leader: string, values: readonly string[]): void {
  for (const v of values) net.propose(leader, v);
  net.stabilize();
}

/** A settled 3-voter cluster whose leader chose `values`, learned everywhere. */
function cluster(values: readonly string[]): { net: PaxosNet; leader: string; ballot: number } {
  const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
  const leader = net.settle();
  proposeAll(net, leader, values);
  net.tickAll(2);
  return { net, leader, ballot: net.core(leader).status().term };
}

const sentSince = (net: PaxosNet, from: number, type: PaxosMessage['type']): PaxosMessage[] => net.sent.slice(from).filter((m) => m.type === type);

describe('multipaxos: leadership transfer', () => {
  it('to an up-to-date acceptor: it prepares once, at a higher ballot, without asking first, and leads with nothing proposed again', () => {
    const values = ['a', 'b', 'c'];
    const { net, leader, ballot } = cluster(values);
    const [target] = others(leader) as [string];
    const ballotsOnDisk = new Map(N3.map((id) => [id, net.termsOnDisk(id)]));
    const mark = net.sent.length;
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    expect(sentSince(net, mark, 'takeOver')).toEqual([{ type: 'takeOver', from: nodeId(leader), to: nodeId(target), ballot, chosen: logIndex(values.length) }]);
    net.stabilize();
    expect(net.leaderOf()).toBe(target);
    const newBallot = net.core(target).status().term;
    expect(newBallot).toBeGreaterThan(ballot);
    // One phase 1, by the target, naming the old leader's ballot; no one asked first.
    const prepares = sentSince(net, mark, 'prepare');
    expect(prepares.map((m) => `${m.from}@${m.ballot}/${m.type === 'prepare' ? m.designatedAt : ''}`)).toEqual(others(target).map(() => `${target}@${newBallot}/${ballot}`));
    expect(sentSince(net, mark, 'prePrepare')).toEqual([]);
    // Every slot was chosen and held by the target: nothing is written again.
    for (const id of N3) expect(net.termsOnDisk(id)).toEqual(ballotsOnDisk.get(id));
    // And no second election: the old leader follows, the ballot stays.
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.leaderOf()).toBe(target);
    expect(net.core(target).status().term).toBe(newBallot);
    expect(net.core(leader).status()).toMatchObject({ role: 'follower', leader: nodeId(target) });
    expect(sentSince(net, mark, 'prepare')).toHaveLength(prepares.length);
    expect(sentSince(net, mark, 'prePrepare')).toEqual([]);
    // Nothing chosen is lost, and the new leader chooses after it.
    proposeAll(net, target, ['d']);
    net.tickAll(2);
    for (const id of N3) expect(net.appliedData(id)).toEqual([...values, 'd']);
  });

  it('to a lagging acceptor: the leader catches it up first, and sends takeOver only once it holds every slot, all chosen', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const [target] = others(leader) as [string];
    net.isolate(target);
    const values = Array.from({ length: 100 }, (_, i) => `v${i}`); // more than one Accept's worth
    proposeAll(net, leader, values);
    net.tickAll(ELECTION_TICKS); // the leader hears nothing from it for a whole timeout
    net.heal();
    expect(net.disk(target).entries).toEqual([]);
    const held: number[] = [];
    net.filter = (m) => {
      if (m.type === 'takeOver') held.push(net.disk(m.to).entries.filter((e) => e.kind === 'command').length);
      return true;
    };
    net.core(leader).transferLeadership(nodeId(target));
    expect(net.core(leader).propose(new Uint8Array([1]))).toEqual({ ok: false, reason: 'transferring' });
    net.process(leader);
    for (let i = 0; i < ELECTION_TICKS && net.leaderOf() !== target; i++) net.tickAll();
    expect(net.leaderOf()).toBe(target);
    expect(held).toEqual([values.length]);
    for (const id of N3) expect(net.appliedData(id)).toEqual(values);
  });

  it.each([
    ['a witness', 'w3'],
    ['an observer', 'o4'],
    ['itself', 'LEADER'],
    ['a node that is no member', 'n9'],
  ])('to %s: ignored — the leader goes on taking proposals and sends no takeOver', (_what, to) => {
    const net = new PaxosNet([...voters('n1', 'n2'), witness('w3'), observer('o4')], { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const ballot = net.core(leader).status().term;
    const mark = net.sent.length;
    net.core(leader).transferLeadership(nodeId(to === 'LEADER' ? leader : to));
    expect(net.core(leader).propose(new Uint8Array([1])).ok).toBe(true);
    net.tickAll(2 * ELECTION_TICKS);
    expect(sentSince(net, mark, 'takeOver')).toEqual([]);
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(ballot);
  });

  it('proposals during a transfer are refused with `transferring`, a read is still served', () => {
    const { net, leader } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target); // so the transfer stays in flight
    net.core(leader).transferLeadership(nodeId(target));
    expect(net.core(leader).propose(new Uint8Array([1]))).toEqual({ ok: false, reason: 'transferring' });
    net.core(leader).readIndex('r1');
    net.stabilize();
    net.tickAll(1);
    expect(net.readStates.get(leader)?.map((r) => r.requestId)).toEqual(['r1']);
  });

  it('not done within an election timeout, the transfer is abandoned and the leader takes proposals again', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target);
    net.core(leader).transferLeadership(nodeId(target));
    net.tickAll(ELECTION_TICKS - 1);
    expect(net.core(leader).propose(new Uint8Array([1]))).toEqual({ ok: false, reason: 'transferring' });
    net.tickAll(1);
    net.propose(leader, 'after');
    net.tickAll(2);
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(ballot);
    expect(net.appliedData(others(leader)[1]!)).toEqual(['a', 'after']);
  });

  it('a lost takeOver is sent again on the target’s next heartbeat answer, and the transfer completes', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    let dropped = 0;
    net.filter = (m) => !(m.type === 'takeOver' && dropped++ === 0);
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    for (let i = 0; i < ELECTION_TICKS && net.leaderOf() !== target; i++) net.tickAll();
    expect(dropped).toBeGreaterThan(1);
    expect(net.leaderOf()).toBe(target);
    expect(net.core(target).status().term).toBeGreaterThan(ballot);
  });

  it('with every takeOver lost, the cluster still ends with a leader: the old one, taking proposals again', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.filter = (m) => m.type !== 'takeOver';
    net.core(leader).transferLeadership(nodeId(target));
    net.tickAll(ELECTION_TICKS);
    net.propose(leader, 'b');
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(ballot);
    for (const id of N3) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });

  it('with the Prepare to the old leader lost, the target wins with the third acceptor, and the old leader, refused, waits instead of campaigning', () => {
    const { net, leader } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.filter = (m) => !(m.type === 'prepare' && m.to === nodeId(leader));
    const mark = net.sent.length;
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.stabilize();
    expect(net.core(target).status().role).toBe('leader');
    net.filter = () => true;
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.leaderOf()).toBe(target);
    expect(net.core(leader).status().leader).toBe(nodeId(target));
    expect(net.sent.slice(mark).filter((m) => (m.type === 'prepare' || m.type === 'prePrepare') && m.from !== nodeId(target))).toEqual([]);
  });

  it('the old leader refused by the target before the target has a quorum waits a whole timeout: asking sooner would duel with it', () => {
    const { net, leader } = cluster(['a']);
    const [target, third] = others(leader) as [string, string];
    const delayed: PaxosMessage[] = [];
    net.filter = (m) => {
      if (m.type === 'prepare' && m.to === nodeId(leader)) return false;
      if (m.type === 'promise' && m.from === nodeId(third)) {
        delayed.push(m);
        return false;
      }
      return true;
    };
    const mark = net.sent.length;
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.stabilize();
    expect(net.core(target).status().role).toBe('candidate');
    // Its heartbeats are refused with the target's ballot: it steps down…
    net.tickAll(2);
    expect(net.core(leader).status().role).toBe('follower');
    // … and, for the rest of a timeout, asks no one to promise it.
    net.tickAll(ELECTION_TICKS - 3);
    expect(net.sent.slice(mark).filter((m) => m.type === 'prePrepare' || (m.type === 'prepare' && m.from !== nodeId(target)))).toEqual([]);
    net.filter = () => true;
    net.queue.push(...delayed);
    net.stabilize();
    expect(net.leaderOf()).toBe(target);
  });
});

describe('multipaxos: an acceptor and a designated proposer', () => {
  it('an acceptor that hears a live leader promises a Prepare designated by that leader’s ballot, and no other', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [acceptor, proposer] = others(leader) as [string, string];
    const higher = term(ballot + 1024);
    const prepare = (designatedAt: number): PaxosMessage => ({ type: 'prepare', from: nodeId(proposer), to: nodeId(acceptor), ballot: higher, fromSlot: logIndex(2), designatedAt: term(designatedAt) });
    for (const designatedAt of [0, ballot - 1024]) {
      net.core(acceptor).step(prepare(designatedAt));
      net.process(acceptor);
      expect(net.sent.at(-1)).toMatchObject({ type: 'promise', reject: true, ballot });
    }
    net.core(acceptor).step(prepare(ballot));
    net.process(acceptor);
    expect(net.sent.at(-1)).toMatchObject({ type: 'promise', reject: false, ballot: higher });
    expect(net.hard(acceptor)?.['promised']).toBe(higher);
  });

  it('the leader itself promises it only while it hands over to that proposer, after takeOver left', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    const prepare: PaxosMessage = { type: 'prepare', from: nodeId(target), to: nodeId(leader), ballot: term(ballot + 1024), fromSlot: logIndex(2), designatedAt: term(ballot) };
    net.core(leader).step(prepare);
    net.process(leader);
    expect(net.sent.at(-1)).toMatchObject({ type: 'promise', reject: true, ballot });
    expect(net.core(leader).status().role).toBe('leader');
  });

  it('takeOver is ignored unless it comes from the leader followed, at the ballot promised, to a data voter', () => {
    const net = new PaxosNet([...voters('n1', 'n2'), witness('w3')], { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const ballot = net.core(leader).status().term;
    const follower = leader === 'n1' ? 'n2' : 'n1';
    const mark = net.sent.length;
    const takeOver = (to: string, b: number): PaxosMessage => ({ type: 'takeOver', from: nodeId(leader), to: nodeId(to), ballot: term(b), chosen: logIndex(0) });
    net.core('w3').step(takeOver('w3', ballot));
    net.core(follower).step(takeOver(follower, ballot - 1024 > 0 ? ballot - 1024 : 1));
    net.processAll();
    expect(net.core('w3').status().role).toBe('witness');
    expect(net.core(follower).status().role).toBe('follower');
    expect(sentSince(net, mark, 'prepare')).toEqual([]);
  });
});

describe('multipaxos: transfer rules the review asked to pin', () => {
  it('5 voters, the three other acceptors’ Accepted lost: no takeOver leaves while a slot the target holds is unchosen, and the target chooses nothing', () => {
    const n5 = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const net = new PaxosNet(voters(...n5), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const [target, ...rest] = n5.filter((id) => id !== leader) as [string, ...string[]];
    // Their acceptances are lost, whichever message carries them.
    net.filter = (m) => !((m.type === 'accepted' || m.type === 'heartbeatResponse') && rest.includes(m.from));
    const mark = net.sent.length;
    net.propose(leader, 'a');
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.stabilize();
    net.tickAll(ELECTION_TICKS - 1);
    expect(net.disk(target).entries.some((e) => e.kind === 'command')).toBe(true);
    expect(sentSince(net, mark, 'takeOver')).toEqual([]);
    expect(net.core(target).status().commitIndex).toBe(0);
    expect(net.core(leader).status().role).toBe('leader');
  });

  it('a rejoining data voter that follows the leader ignores takeOver at the leader’s ballot: it prepares nothing', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target);
    net.start(target, net.disk(target), { rejoining: true });
    net.tickAll(2);
    expect(net.core(target).status()).toMatchObject({ role: 'observer', leader: nodeId(leader) });
    expect(net.hard(target)?.['promised']).toBe(ballot);
    const mark = net.sent.length;
    net.core(target).step({ type: 'takeOver', from: nodeId(leader), to: nodeId(target), ballot: term(ballot), chosen: logIndex(1) });
    net.processAll();
    expect(sentSince(net, mark, 'prepare')).toEqual([]);
    expect(net.core(target).status().role).toBe('observer');
  });

  it('a restarted follower, which follows no one yet, ignores takeOver at the ballot it promised', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target);
    net.restart(target);
    expect(net.core(target).status().leader).toBe(null);
    expect(net.hard(target)?.['promised']).toBe(ballot);
    const mark = net.sent.length;
    net.core(target).step({ type: 'takeOver', from: nodeId(leader), to: nodeId(target), ballot: term(ballot), chosen: logIndex(1) });
    net.process(target);
    expect(sentSince(net, mark, 'prepare')).toEqual([]);
    expect(net.core(target).status().role).toBe('follower');
  });

  it('a leader handing over to T refuses a designated Prepare from another node C', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target, other] = others(leader) as [string, string];
    net.filter = (m) => m.type !== 'prepare'; // T's own phase 1 goes nowhere
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    expect(sentSince(net, 0, 'takeOver')).toHaveLength(1);
    const mark = net.sent.length;
    net.core(leader).step({ type: 'prepare', from: nodeId(other), to: nodeId(leader), ballot: term(ballot + 1024), fromSlot: logIndex(2), designatedAt: term(ballot) });
    net.process(leader);
    expect(net.sent.slice(mark)).toMatchObject([{ type: 'promise', reject: true, ballot }]);
    expect(net.core(leader).status().role).toBe('leader');
  });

  it('a leader handing over to T that has sent no takeOver yet refuses T’s designated Prepare', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target); // no answer from it: takeOver waits for its prefix
    net.propose(leader, 'b');
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.stabilize();
    expect(sentSince(net, 0, 'takeOver')).toEqual([]);
    const mark = net.sent.length;
    net.core(leader).step({ type: 'prepare', from: nodeId(target), to: nodeId(leader), ballot: term(ballot + 1024), fromSlot: logIndex(3), designatedAt: term(ballot) });
    net.process(leader);
    expect(net.sent.slice(mark)).toMatchObject([{ type: 'promise', reject: true, ballot }]);
    expect(net.core(leader).status().role).toBe('leader');
  });

  it('a takeOver that left late gives the target a whole timeout from then: the leader does not abandon at the transfer’s own deadline', () => {
    const { net, leader } = cluster(['a']);
    const [target, third] = others(leader) as [string, string];
    net.isolate(target);
    net.propose(leader, 'b');
    net.stabilize();
    net.tickAll(ELECTION_TICKS); // the leader hears nothing from it for a whole timeout
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.tickAll(ELECTION_TICKS - 6);
    // Once takeOver has left, nothing from the target arrives until we let it: its phase 1
    // to the third acceptor is held.
    const held: PaxosMessage[] = [];
    let handedOver = false;
    net.filter = (m) => {
      if (m.type === 'takeOver') handedOver = true;
      if (!handedOver || m.from !== nodeId(target)) return true;
      if (m.type === 'prepare' && m.to === nodeId(third)) held.push(m);
      return false;
    };
    net.heal();
    const mark = net.sent.length;
    let waited = 0;
    for (; waited < 5 && sentSince(net, mark, 'takeOver').length === 0; waited++) net.tickAll();
    expect(sentSince(net, mark, 'takeOver')).toHaveLength(1);
    net.tickAll(7 - waited); // past the transfer's own deadline, well within a timeout of takeOver
    expect(net.core(leader).propose(new Uint8Array([1]))).toEqual({ ok: false, reason: 'transferring' });
    net.filter = () => true;
    net.queue.push(...held);
    net.stabilize();
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.leaderOf()).toBe(target);
    expect(sentSince(net, mark, 'prePrepare')).toEqual([]);
  });

  it('once takeOver has left, a transfer to another node is ignored', () => {
    const { net, leader } = cluster(['a']);
    const [target, other] = others(leader) as [string, string];
    net.filter = (m) => m.type !== 'takeOver'; // lost: the leader cannot know the target did not act
    net.core(leader).transferLeadership(nodeId(target));
    net.process(leader);
    net.core(leader).transferLeadership(nodeId(other));
    net.process(leader);
    net.tickAll(ELECTION_TICKS - 1); // many heartbeat answers from both: any resend goes to the target
    const takeOvers = sentSince(net, 0, 'takeOver');
    expect(takeOvers.length).toBeGreaterThan(1);
    expect(takeOvers.filter((m) => m.to !== nodeId(target))).toEqual([]);
  });

  it('asking again to transfer to the same target does not move the deadline', () => {
    const { net, leader, ballot } = cluster(['a']);
    const [target] = others(leader) as [string];
    net.crash(target);
    net.propose(leader, 'b'); // which it lacks: no takeOver leaves
    net.stabilize();
    net.core(leader).transferLeadership(nodeId(target));
    net.tickAll(ELECTION_TICKS - 1);
    net.core(leader).transferLeadership(nodeId(target));
    net.tickAll(1);
    expect(net.core(leader).propose(new Uint8Array([1])).ok).toBe(true);
    expect(net.core(leader).status().term).toBe(ballot);
  });
});
