/**
 * Asking before the ballot rises (prePrepare / prePromise): a node that stops hearing its
 * leader asks every acceptor whether it would promise its next ballot, and raises its ballot
 * (phase 1) only when a quorum would — so a node cut off from the others never raises its
 * promise, and the leader it comes back to is not deposed by it. Paxos Made Live's master
 * lease, checked before the ballot rises instead of after.
 */
import { describe, expect, it } from 'vitest';
import { nodeId } from '../contract';
import { seededRandom } from '../prng';
import { PaxosNet, voters } from './testkit';

const N3 = ['n1', 'n2', 'n3'];
const ELECTION_TICKS = 10;
const others = (leader: string): string[] => N3.filter((id) => id !== leader);
const promisedOnDisk = (net: PaxosNet, id: string): number => Number(net.hard(id)?.['promised'] ?? 0);

describe('multipaxos: a node asks before its ballot rises', () => {
  it('the first-ranked survivor of a broken leader link asks at once for about half the draws, else at its next tick', () => {
    let atOnce = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS, random: seededRandom(seed) });
      const leader = net.settle();
      const [first] = others(leader) as [string, string];
      net.isolate(leader);
      const before = net.sent.length;
      net.core(first).reportUnreachable(nodeId(leader));
      net.process(first);
      const asked = (): boolean => net.sent.slice(before).some((m) => m.from === first && m.type === 'prePrepare');
      if (asked()) atOnce++;
      else {
        net.tick(first);
        expect(asked()).toBe(true);
      }
    }
    expect(atOnce).toBeGreaterThan(5);
    expect(atOnce).toBeLessThan(35);
  });

  it('a node cut off from the others asks again and again, but raises no promise and sends no Prepare', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const [, cut] = others(leader) as [string, string];
    const before = promisedOnDisk(net, cut);
    const sentBefore = net.sent.length;
    net.isolate(cut);
    for (let i = 0; i < 10 * ELECTION_TICKS; i++) {
      net.tick(cut);
      net.stabilize();
    }
    const asked = net.sent.slice(sentBefore).filter((m) => m.from === nodeId(cut));
    expect(asked.filter((m) => m.type === 'prePrepare').length).toBeGreaterThanOrEqual(2 * 4);
    expect(asked.filter((m) => m.type === 'prepare')).toEqual([]);
    expect(promisedOnDisk(net, cut)).toBe(before);
    expect(net.core(cut).status().promisedFence).toBe(before);
  });

  it('healed, it follows the leader it left, whose ballot does not change', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const ballot = net.core(leader).status().term;
    const [, cut] = others(leader) as [string, string];
    net.isolate(cut);
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) {
      net.tickAll();
      net.stabilize();
    }
    net.propose(leader, 'while-cut');
    net.stabilize();
    net.heal();
    for (let i = 0; i < net.resendTicks + 2 * ELECTION_TICKS; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(ballot);
    expect(net.core(cut).status().leader).toBe(nodeId(leader));
    expect(net.appliedData(cut)).toEqual(net.appliedData(leader));
    expect(net.sent.some((m) => m.type === 'prepare' && m.from === nodeId(cut))).toBe(false);
  });

  it('when the isolation moves from one follower to the other, the leader keeps its ballot', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const ballot = net.core(leader).status().term;
    const [a, b] = others(leader) as [string, string];
    net.isolate(a);
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) {
      net.tickAll();
      net.stabilize();
    }
    net.heal();
    net.isolate(b);
    for (let i = 0; i < 5 * ELECTION_TICKS; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leaderOf()).toBe(leader);
    expect(net.core(leader).status().term).toBe(ballot);
    net.propose(leader, 'after-shift');
    net.stabilize();
    net.tickAll(2);
    net.stabilize();
    expect(net.appliedData(a)).toContain('after-shift');
  });

  it('an acceptor that hears a live leader refuses, and answering changes nothing of its own', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    const [acceptor, asker] = others(leader) as [string, string];
    const promised = net.core(acceptor).status().promisedFence;
    const hard = net.hard(acceptor);
    net.core(acceptor).step({ type: 'prePrepare', from: nodeId(asker), to: nodeId(acceptor), ballot: (promised + 4096) as never, fromSlot: 1 as never });
    net.process(acceptor);
    expect(net.sent[net.sent.length - 1]).toMatchObject({ type: 'prePromise', from: nodeId(acceptor), reject: true, ballot: promised });
    expect(net.core(acceptor).status().promisedFence).toBe(promised);
    expect(net.hard(acceptor)).toEqual(hard);
    expect(net.core(acceptor).status().leader).toBe(nodeId(leader));
  });

  it('with a quorum that would promise, it prepares the ballot it asked about', () => {
    const net = new PaxosNet(voters(...N3), { electionTimeoutTicks: ELECTION_TICKS });
    const leader = net.settle();
    net.crash(leader);
    const [asker, other] = others(leader) as [string, string];
    // Both lost the leader's stream: neither holds its lease.
    for (const id of [asker, other]) {
      net.core(id).reportUnreachable(nodeId(leader));
      net.process(id);
    }
    for (let i = 0; i < 3 * ELECTION_TICKS && net.core(asker).status().role !== 'candidate'; i++) net.tick(asker);
    const ask = net.sent.filter((m) => m.type === 'prePrepare' && m.from === nodeId(asker)).at(-1)!;
    expect(net.core(asker).status().promisedFence).toBeLessThan(ask.ballot);
    net.deliverOnce(); // the question reaches the other, which would promise
    expect(net.sent.at(-1)).toMatchObject({ type: 'prePromise', from: nodeId(other), reject: false, ballot: ask.ballot });
    net.deliverOnce(); // the answer: a quorum with the asker
    expect(net.sent.filter((m) => m.type === 'prepare' && m.from === nodeId(asker)).map((m) => `${m.to}@${m.ballot}`).sort()).toEqual(others(asker).map((id) => `${id}@${ask.ballot}`).sort());
    net.stabilize();
    expect(net.leaderOf()).toBe(asker);
  });
});
