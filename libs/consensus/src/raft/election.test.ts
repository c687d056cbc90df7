/** Leader election (§5.2, §9.6 PreVote, §6.2 CheckQuorum / leader lease, §3.10 transfer). */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term } from '../contract';
import type { RaftMessage, VoteRequestMessage, VoteResponseMessage } from './messages';
import { Net, observer, options, voters } from './testkit';
import { FAST_ELECTION_STAGGER_TICKS, fastElectionDelayTicks } from '../common';
import { seededRandom } from '../prng';
import { RaftCore } from './core';

const three = voters('n1', 'n2', 'n3');
const five = voters('n1', 'n2', 'n3', 'n4', 'n5');

describe('raft election', () => {
  it('draws the election timeout in [timeout, 2*timeout) and redraws it on every reset', () => {
    const draws: number[] = [];
    const randoms = [0, 0.999, 0.5, 0.25];
    let i = 0;
    const core = new RaftCore(
      options('n1', three, { random: () => randoms[i++ % randoms.length] ?? 0 }),
      { hardState: null, snapshot: null, entries: [] },
    );
    // First draw 0 → 10 ticks: the 10th tick campaigns.
    for (let t = 1; t <= 10; t++) {
      core.tick();
      if (core.status().role === 'candidate') draws.push(t);
    }
    // Becoming candidate drew 0.999 → 19 ticks until the next campaign.
    let t = 0;
    const startTerm = core.status().term;
    while (core.status().term === startTerm && t < 100) {
      core.tick();
      t++;
    }
    expect(draws).toEqual([10]);
    expect(t).toBe(19);
  });

  it('a node restarted from the hard state that holds its vote grants no second vote in that term, and grants again in the next', () => {
    // The simulator's hard-state mutant breaks exactly this; here it is checked without a sweep.
    const core = new RaftCore(options('n1', three), { hardState: { term: 2, vote: nodeId('n2'), commit: 0 }, snapshot: null, entries: [] });
    const ask = (from: string, t: number): VoteRequestMessage => ({ type: 'vote', from: nodeId(from), to: nodeId('n1'), term: term(t), lastIndex: logIndex(0), lastTerm: term(0), transfer: false });
    core.step(ask('n3', 2));
    expect(core.ready().messages).toMatchObject([{ type: 'voteResponse', to: 'n3', reject: true }]);
    core.advance();
    core.step(ask('n2', 2));
    expect(core.ready().messages).toMatchObject([{ type: 'voteResponse', to: 'n2', reject: false }]);
    core.advance();
    core.step(ask('n3', 3));
    const rd = core.ready();
    expect(rd.hardState).toMatchObject({ term: 3, vote: 'n3' });
    expect(rd.messages).toMatchObject([{ type: 'voteResponse', to: 'n3', reject: false }]);
  });

  it('boots after a power cut that kept the records of a new term and lost the hard state raising it, and grants no vote in that term', () => {
    // Storage syncs a Ready's records before its state file: the Ready that took term 5's
    // records (and maybe granted a vote in term 5) left only the records.
    const e = (index: number, t: number) => ({ index: logIndex(index), term: term(t), kind: 'command' as const, data: new Uint8Array([index]) });
    const core = new RaftCore(options('n1', three), { hardState: { term: 1, vote: null, commit: 1 }, snapshot: null, entries: [e(1, 1), e(2, 5)] });
    expect(core.status().term).toBe(5);
    const rd = core.ready();
    expect(rd.hardState).toEqual({ term: 5, vote: 'n1', commit: 1 });
    core.advance();
    const ask = (t: number): VoteRequestMessage => ({ type: 'vote', from: nodeId('n2'), to: nodeId('n1'), term: term(t), lastIndex: logIndex(2), lastTerm: term(5), transfer: false });
    core.step(ask(5));
    expect(core.ready().messages).toMatchObject([{ type: 'voteResponse', reject: true }]);
    core.advance();
    core.step(ask(6));
    expect(core.ready().messages).toMatchObject([{ type: 'voteResponse', reject: false, term: 6 }]);
  });

  it('rejects a random source outside [0, 1)', () => {
    expect(() => new RaftCore(options('n1', three, { random: () => 1 }), { hardState: null, snapshot: null, entries: [] })).toThrow(/\[0, 1\)/);
  });

  it('a candidate that wins a majority of votes becomes leader and appends a noop of its term', () => {
    const net = new Net(three);
    net.elect('n1');
    expect(net.leaderOf()).toBe('n1');
    const s = net.core('n1').status();
    expect(s.term).toBe(1);
    expect(s.lastIndex).toBe(1);
    expect(s.commitIndex).toBe(1);
    const noop = net.disks.get('n2')?.entries[0];
    expect(noop?.kind).toBe('noop');
    expect(noop?.term).toBe(1);
    expect(net.core('n2').status().leader).toBe('n1');
  });

  it('a voter grants at most one vote per term', () => {
    const net = new Net(three);
    net.campaign('n1');
    net.campaign('n2');
    expect(net.core('n1').status().term).toBe(1);
    expect(net.core('n2').status().term).toBe(1);
    net.processAll();
    // n3 hears n1 first and votes for it; n2's request in the same term is refused.
    net.queue.sort((a, b) => (a.from === 'n1' ? -1 : 0) - (b.from === 'n1' ? -1 : 0));
    net.stabilize();
    const n3Answers = net.sent.filter((m) => m.from === 'n3' && m.type === 'voteResponse');
    expect(n3Answers.map((m) => [m.to, m.type === 'voteResponse' && m.reject])).toEqual([
      ['n1', false],
      ['n2', true],
    ]);
    expect(net.leaderOf()).toBe('n1');
  });

  it('a split vote elects nobody, and a later timeout retries in a higher term', () => {
    const net = new Net(voters('n1', 'n2', 'n3', 'n4'));
    // n1 and n2 campaign at once; n3 votes n1, n4 votes n2: 2-2, no majority of 4.
    net.campaign('n1');
    net.campaign('n2');
    net.processAll();
    net.queue = net.queue.filter((m) => !(m.from === 'n1' && m.to === 'n4') && !(m.from === 'n2' && m.to === 'n3'));
    net.stabilize();
    expect(net.leaderOf()).toBeNull();
    expect(net.core('n1').status().role).toBe('candidate');
    net.elect('n1');
    expect(net.leaderOf()).toBe('n1');
    expect(net.core('n1').status().term).toBe(2);
  });

  it('a voter refuses a candidate whose log is less up-to-date (§5.4.1)', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').propose(new Uint8Array([1]));
    net.filter = (m) => m.to !== 'n3';
    net.stabilize();
    // n3 missed the last entry: its campaign cannot win over n1/n2's longer logs.
    net.filter = () => true;
    net.isolate('n1');
    net.campaign('n3');
    net.stabilize();
    const n2Answer = net.sent.find((m): m is VoteResponseMessage => m.type === 'voteResponse' && m.from === 'n2' && m.to === 'n3');
    expect(n2Answer?.reject).toBe(true);
    expect(net.core('n3').status().role).not.toBe('leader');
  });

  it('a node steps down to follower on any message with a higher term', () => {
    const net = new Net(three);
    net.elect('n1');
    const leader = net.core('n1');
    leader.step({ type: 'heartbeatResponse', from: nodeId('n2'), to: nodeId('n1'), term: term(5), readSeq: 0 });
    expect(leader.status()).toMatchObject({ role: 'follower', term: 5, leader: null });
  });

  it('observers replicate the log but never campaign or count toward a quorum; a vote asked of one is answered (§4.1)', () => {
    const net = new Net([...voters('n1', 'n2'), observer('n3')]);
    for (let i = 0; i < 100; i++) net.core('n3').tick();
    net.processAll();
    expect(net.core('n3').status()).toMatchObject({ role: 'observer', term: 0 });
    expect(net.queue).toEqual([]);
    // With n2 down, the observer's ack is not enough to commit.
    net.isolate('n2');
    net.campaign('n1');
    net.stabilize();
    expect(net.core('n1').status().role).toBe('candidate');
    expect(net.sent.some((m) => m.to === 'n3' && m.type === 'vote')).toBe(false);
    net.heal();
    net.elect('n1');
    expect(net.leaderOf()).toBe('n1');
    net.core('n1').propose(new Uint8Array([7]));
    net.stabilize();
    expect(net.core('n3').status().commitIndex).toBe(net.core('n1').status().commitIndex);
    expect(net.appliedData('n3')).toHaveLength(1);
    // A candidate asks only its own voters: an observer asked is one by a configuration record
    // it lacks or has not committed, and answers as a voter would (membership.test.ts).
    const obs = net.core('n3');
    obs.step({ type: 'vote', from: nodeId('n2'), to: nodeId('n3'), term: term(9), lastIndex: net.core('n1').status().lastIndex, lastTerm: term(9), transfer: false });
    const rd = obs.ready();
    obs.advance();
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'voteResponse', reject: false })]);
    expect(obs.status()).toMatchObject({ role: 'observer', term: 9 });
  });

  describe('PreVote (§9.6)', () => {
    it('a partitioned node campaigning with pre-vote does not bump its term', () => {
      const net = new Net(three, { preVote: true });
      net.elect('n1');
      net.isolate('n3');
      for (let i = 0; i < 200; i++) net.tick('n3');
      net.stabilize();
      expect(net.core('n3').status().term).toBe(1);
      expect(net.core('n3').status().role).toBe('candidate'); // pre-candidate
      net.heal();
      // Rejoining does not disrupt the leader.
      for (let i = 0; i < 5; i++) {
        net.tick('n1');
        net.stabilize();
      }
      expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
      expect(net.core('n3').status()).toMatchObject({ role: 'follower', leader: 'n1', term: 1 });
    });

    it('a pre-vote win is followed by a real election in the next term', () => {
      const net = new Net(three, { preVote: true });
      net.elect('n2');
      expect(net.leaderOf()).toBe('n2');
      expect(net.core('n2').status().term).toBe(1);
      const kinds = net.sent.filter((m) => m.from === 'n2').map((m) => m.type);
      expect(kinds.indexOf('preVote')).toBeLessThan(kinds.indexOf('vote'));
      const pre = net.sent.find((m): m is VoteRequestMessage => m.type === 'preVote');
      expect(pre?.term).toBe(1); // the future term, while n2's own term was still 0
    });
  });

  describe('CheckQuorum and the leader lease (§6.2, §4.2.3)', () => {
    it('a leader that has not heard from a quorum within an election timeout steps down', () => {
      const net = new Net(three, { checkQuorum: true });
      net.elect('n1');
      net.isolate('n2');
      net.isolate('n3');
      for (let i = 0; i < 9; i++) net.tick('n1');
      expect(net.core('n1').status().role).toBe('leader');
      for (let i = 0; i < 11; i++) net.tick('n1');
      expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader: null, term: 1 });
    });

    it('a leader hearing from a quorum stays leader', () => {
      const net = new Net(three, { checkQuorum: true });
      net.elect('n1');
      net.isolate('n3');
      for (let i = 0; i < 50; i++) {
        net.tick('n1');
        net.stabilize();
      }
      expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
    });

    it('followers that heard from a leader recently ignore a disruptive vote request', () => {
      // random 0.99: every randomized timeout is 19 ticks, so 10 idle ticks end the lease without a campaign.
      const net = new Net(three, { checkQuorum: true, random: () => 0.99 });
      net.elect('n1');
      const n2 = net.core('n2');
      const disruptive = (): RaftMessage => ({
        type: 'vote', from: nodeId('n3'), to: nodeId('n2'), term: term(5), lastIndex: n2.status().lastIndex, lastTerm: term(1), transfer: false,
      });
      n2.step(disruptive());
      expect(n2.status()).toMatchObject({ term: 1, leader: 'n1' });
      expect(n2.hasReady()).toBe(false);
      // Once an election timeout passed without hearing from the leader, the same request wins n2's vote.
      for (let i = 0; i < 10; i++) n2.tick();
      n2.step(disruptive());
      expect(n2.status().term).toBe(5);
      expect(n2.ready().messages).toEqual([expect.objectContaining({ type: 'voteResponse', to: 'n3', reject: false })]);
    });

    it('a leader stepping down for want of a quorum names one successor, which leads within a few ticks while the other never campaigns', () => {
      const net = new Net(three, { checkQuorum: true, preVote: true, random: () => 0.99 });
      net.elect('n1');
      net.filter = (m) => m.to !== 'n1';
      for (let i = 0; i < 30 && net.core('n1').status().role === 'leader'; i++) {
        net.tick('n1');
        net.stabilize(); // n2 and n3 still hear n1's heartbeats: their lease holds
      }
      expect(net.core('n1').status().role).toBe('follower');
      // Both hold all of n1's log: the first in member order is the successor.
      expect(net.sent.filter((m) => m.type === 'timeoutNow' || m.type === 'resign').map((m) => [m.type, m.to, m.term])).toEqual([['timeoutNow', 'n2', 1], ['resign', 'n3', 1]]);
      // Without them, n2 and n3 would wait 19 ticks (random 0.99) from n1's last heartbeat.
      for (let i = 0; i < 8 && net.leaderOf() === null; i++) {
        net.tick('n2');
        net.tick('n3');
        net.stabilize();
      }
      expect(net.leaderOf()).toBe('n2');
      expect(net.core('n2').status().term).toBe(2);
      expect(net.sent.filter((m) => m.from === 'n3' && (m.type === 'vote' || m.type === 'preVote'))).toEqual([]);
    });

    it('a resign from a node that is not our leader, or of an older term, changes nothing', () => {
      const net = new Net(three, { checkQuorum: true });
      net.elect('n1');
      net.core('n1').propose(new Uint8Array([1]));
      net.stabilize();
      const n2 = net.core('n2');
      n2.step({ type: 'resign', from: nodeId('n3'), to: nodeId('n2'), term: term(1) });
      n2.step({ type: 'resign', from: nodeId('n1'), to: nodeId('n2'), term: term(0) });
      expect(n2.status()).toMatchObject({ role: 'follower', leader: 'n1', term: 1 });
      // Still inside n1's lease: a disruptive pre-vote is ignored.
      n2.step({ type: 'preVote', from: nodeId('n3'), to: nodeId('n2'), term: term(2), lastIndex: n2.status().lastIndex, lastTerm: term(1), transfer: false });
      expect(n2.hasReady()).toBe(false);
    });

    it('a transfer vote request is honoured even inside the lease', () => {
      const net = new Net(three, { checkQuorum: true });
      net.elect('n1');
      const n2 = net.core('n2');
      n2.step({ type: 'vote', from: nodeId('n3'), to: nodeId('n2'), term: term(2), lastIndex: n2.status().lastIndex, lastTerm: term(1), transfer: true });
      expect(n2.status().term).toBe(2);
    });
  });

  describe('leadership transfer (§3.10)', () => {
    it('sends TimeoutNow once the target is caught up, and the target wins the next term', () => {
      const net = new Net(three, { checkQuorum: true, preVote: true });
      net.elect('n1');
      net.filter = (m) => m.to !== 'n3';
      net.core('n1').propose(new Uint8Array([1]));
      net.stabilize();
      net.filter = () => true;
      net.core('n1').transferLeadership(nodeId('n3'));
      expect(net.core('n1').propose(new Uint8Array([2]))).toEqual({ ok: false, reason: 'transferring' });
      net.stabilize();
      for (let i = 0; i < 3; i++) {
        net.tick('n1');
        net.stabilize();
      }
      expect(net.sent.some((m) => m.type === 'timeoutNow' && m.to === 'n3')).toBe(true);
      expect(net.leaderOf()).toBe('n3');
      expect(net.core('n3').status().term).toBe(2);
    });

    it('abandons a transfer that did not finish within an election timeout', () => {
      const net = new Net(three);
      net.elect('n1');
      net.isolate('n3');
      net.core('n1').propose(new Uint8Array([1]));
      net.stabilize();
      net.core('n1').transferLeadership(nodeId('n3'));
      expect(net.core('n1').propose(new Uint8Array([2])).ok).toBe(false);
      net.tick('n1', 10);
      expect(net.core('n1').propose(new Uint8Array([2])).ok).toBe(true);
    });
  });

  it('a follower whose connection to the leader broke drops its lease and campaigns within a few ticks', () => {
    const net = new Net(three, { preVote: true, checkQuorum: true });
    net.elect('n1');
    net.isolate('n1');
    for (const id of ['n2', 'n3']) net.core(id).reportUnreachable(nodeId('n1'));
    expect(net.core('n2').status().leader).toBeNull();
    const newLeader = (): boolean => ['n2', 'n3'].some((id) => net.core(id).status().role === 'leader');
    let ticks = 0;
    while (!newLeader() && ticks < 2 * FAST_ELECTION_STAGGER_TICKS + 5) {
      ticks++;
      net.tick('n2');
      net.tick('n3');
      net.stabilize();
    }
    // Far sooner than the election timeout (options() uses 10 ticks, randomized up to 20).
    expect(newLeader()).toBe(true);
    // n2 (the first survivor in member order) campaigns within its slot, and wins.
    expect(ticks).toBeLessThanOrEqual(FAST_ELECTION_STAGGER_TICKS);
    expect(net.core('n2').status().role).toBe('leader');
  });

  /** n1 leads, then dies: n2, the first-ranked survivor, sees its link break (random draws by `seed`). Whether n2 asked at once. */
  const n2SeesBreak = (seed: number, members = three): { net: Net; before: number; asked: boolean } => {
    const net = new Net(members, { preVote: true, checkQuorum: true, random: seededRandom(seed) });
    net.elect('n1');
    net.isolate('n1');
    const before = net.sent.length;
    net.core('n2').reportUnreachable(nodeId('n1'));
    net.process('n2');
    return { net, before, asked: net.sent.slice(before).some((m) => m.from === 'n2' && m.type === 'preVote') };
  };

  it('the first-ranked survivor campaigns at once for about half the draws, without waiting for a tick', () => {
    let atOnce = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { net, before, asked } = n2SeesBreak(seed);
      if (asked) atOnce++;
      else {
        // Otherwise at its next tick.
        net.tick('n2');
        expect(net.sent.slice(before).some((m) => m.from === 'n2' && m.type === 'preVote')).toBe(true);
      }
    }
    expect(atOnce).toBeGreaterThan(5);
    expect(atOnce).toBeLessThan(35);
  });

  it('a pre-vote dropped for a leader whose link then breaks is answered after all: the first survivor wins without a timeout', () => {
    let checked = 0;
    for (let seed = 1; seed <= 40 && checked < 5; seed++) {
      // n2 sees the break first and asks at once; n3 still hears n1's lease and drops it.
      const { net, before, asked } = n2SeesBreak(seed);
      if (!asked) continue;
      checked++;
      net.stabilize();
      expect(net.sent.slice(before).filter((m) => m.from === 'n3' && m.type === 'preVoteResponse')).toEqual([]);
      // Then n3 sees it: it answers the pre-vote it held, and n2 wins before any tick.
      net.core('n3').reportUnreachable(nodeId('n1'));
      net.process('n3');
      net.stabilize();
      expect(net.core('n2').status().role).toBe('leader');
    }
    expect(checked).toBe(5);
  });

  describe('a pre-vote dropped inside the lease is answered only for the loss of that leader, lately, for a term still ahead', () => {
    /** The pre-vote answers `from` sent `to` since net.sent[before]. */
    const preVoteAnswers = (net: Net, before: number, from: string, to: string): RaftMessage[] =>
      net.sent.slice(before).filter((m) => m.type === 'preVoteResponse' && m.from === from && m.to === to);

    /** n1 leads; n3, cut off from it alone, asks for a pre-vote (term 2), which n2 drops inside n1's lease and holds. */
    const n2HoldsPreVoteOfN3 = (): { net: Net; before: number } => {
      // random 0.99: every timeout is 19 ticks, and n2's stagger after a break is one tick: it never stands in the break's own step.
      const net = new Net(three, { preVote: true, checkQuorum: true, random: () => 0.99 });
      net.elect('n1');
      net.filter = (m) => !(m.from === 'n1' && m.to === 'n3') && !(m.from === 'n3' && m.to === 'n1');
      const before = net.sent.length;
      net.campaign('n3');
      net.stabilize();
      expect(net.sent.slice(before).filter((m) => m.type === 'preVote' && m.to === 'n2')).toMatchObject([{ from: 'n3', term: 2 }]);
      expect(preVoteAnswers(net, before, 'n2', 'n3')).toEqual([]);
      return { net, before };
    };

    it('a pre-vote held for one leader is not answered when the link to another leader breaks, nor when the first is lost while we follow another', () => {
      const net = new Net(five, { preVote: true, checkQuorum: true });
      net.elect('n1');
      const n2 = net.core('n2');
      const before = net.sent.length;
      // Made by hand: n3, whose term ran ahead to 2 in elections it could not win, asks for term 3.
      n2.step({ type: 'preVote', from: nodeId('n3'), to: nodeId('n2'), term: term(3), lastIndex: n2.status().lastIndex, lastTerm: term(1), transfer: false });
      expect(n2.hasReady()).toBe(false); // dropped inside n1's lease, and held for n1
      // n1 hands over to n4 (a transfer's vote passes the lease): n2 follows n4 in term 2, still behind the held term 3.
      net.core('n1').transferLeadership(nodeId('n4'));
      net.stabilize();
      expect(n2.status()).toMatchObject({ role: 'follower', leader: 'n4', term: 2 });
      // The leader it was held for, but no longer ours.
      n2.reportUnreachable(nodeId('n1'));
      net.process('n2');
      expect(preVoteAnswers(net, before, 'n2', 'n3')).toEqual([]);
      // Ours, but not the one it was held for.
      n2.reportUnreachable(nodeId('n4'));
      net.process('n2');
      expect(n2.status().leader).toBeNull();
      expect(preVoteAnswers(net, before, 'n2', 'n3')).toEqual([]);
    });

    it('a held pre-vote whose term is no longer ahead of ours is not answered', () => {
      const { net, before } = n2HoldsPreVoteOfN3();
      const n2 = net.core('n2');
      // Made by hand: n1, re-elected in term 2 without n2 (with n3's vote, say, once their link is back), heartbeats it;
      // the held pre-vote's term 2 is ours now.
      n2.step({ type: 'heartbeat', from: nodeId('n1'), to: nodeId('n2'), term: term(2), commit: n2.status().commitIndex, readSeq: 0, dataHold: logIndex(0) });
      net.process('n2');
      expect(n2.status()).toMatchObject({ role: 'follower', leader: 'n1', term: 2 });
      n2.reportUnreachable(nodeId('n1'));
      net.process('n2');
      // Answered, it would be granted: n2 votes for no one in term 2 and has lost its leader.
      expect(preVoteAnswers(net, before, 'n2', 'n3')).toEqual([]);
    });

    it('a held pre-vote older than an election timeout is not answered (one exactly that old is)', () => {
      for (const [ticks, answered] of [[10, true], [11, false]] as const) {
        const { net, before } = n2HoldsPreVoteOfN3();
        // n1's heartbeats keep n2 following it; n3, not ticked, does not ask again.
        for (let i = 0; i < ticks; i++) {
          net.tick('n1');
          net.tick('n2');
          net.stabilize();
        }
        expect(net.core('n2').status()).toMatchObject({ leader: 'n1', term: 1 });
        net.core('n2').reportUnreachable(nodeId('n1'));
        net.process('n2');
        expect(preVoteAnswers(net, before, 'n2', 'n3')).toEqual(answered ? [expect.objectContaining({ reject: false, term: 2 })] : []);
      }
    });

    it('a pre-vote our leader itself asked for is not answered when its link breaks', () => {
      const net = new Net(three, { preVote: true, checkQuorum: true, random: () => 0.99 });
      net.elect('n1');
      // n1 hears no one and steps down for want of a quorum; its timeoutNow and resign are lost too.
      net.filter = (m) => m.to !== 'n1' && m.type !== 'timeoutNow' && m.type !== 'resign';
      for (let i = 0; i < 30 && net.core('n1').status().role === 'leader'; i++) {
        net.tick('n1');
        net.stabilize();
      }
      expect(net.core('n1').status().role).toBe('follower');
      const before = net.sent.length;
      // It asks in turn; n2, that heard nothing of the step-down, drops it inside n1's lease.
      net.campaign('n1');
      net.stabilize();
      expect(net.sent.slice(before).filter((m) => m.type === 'preVote' && m.to === 'n2')).toMatchObject([{ from: 'n1', term: 2 }]);
      expect(net.core('n2').status().leader).toBe('n1');
      net.core('n2').reportUnreachable(nodeId('n1'));
      net.process('n2');
      expect(preVoteAnswers(net, before, 'n2', 'n1')).toEqual([]);
    });

    it('in five voters, the pre-votes held for a leader whose link breaks are answered one by one, and the first survivor wins on two of them', () => {
      let checked = 0;
      for (let seed = 1; seed <= 40 && checked < 5; seed++) {
        // n2 sees the break first and asks at once; n3, n4 and n5 still hear n1's lease and drop it.
        const { net, before, asked } = n2SeesBreak(seed, five);
        if (!asked) continue;
        checked++;
        net.stabilize();
        const answers = (): string[] => ['n3', 'n4', 'n5'].filter((id) => preVoteAnswers(net, before, id, 'n2').length > 0);
        expect(answers()).toEqual([]);
        // n3 sees the break: its answer makes two of five, no quorum yet.
        net.core('n3').reportUnreachable(nodeId('n1'));
        net.stabilize();
        expect(answers()).toEqual(['n3']);
        expect(net.core('n2').status()).toMatchObject({ role: 'candidate', term: 1 });
        // n4 sees it too: three of five, and the real votes of n3 and n4 elect n2 before any tick,
        // while n5 still honours n1's lease.
        net.core('n4').reportUnreachable(nodeId('n1'));
        net.stabilize();
        expect(answers()).toEqual(['n3', 'n4']);
        expect(net.core('n2').status()).toMatchObject({ role: 'leader', term: 2 });
        expect(net.sent.slice(before).filter((m) => m.from === 'n5' && m.type === 'voteResponse')).toEqual([]);
        expect(net.core('n5').status().leader).toBe('n2');
      }
      expect(checked).toBe(5);
    });

    it('a survivor that answers a held pre-vote does not stand against that candidate in the same step', () => {
      // random 0: every stagger draw is its slot's first tick, so n2, ranked first, would stand at once.
      const net = new Net(five, { preVote: true, checkQuorum: true, random: () => 0 });
      net.elect('n1');
      net.isolate('n1');
      // n3 sees the break first and asks after its slot; n2, n4 and n5 still honour n1's lease and hold it.
      net.core('n3').reportUnreachable(nodeId('n1'));
      net.campaign('n3');
      net.stabilize();
      expect(net.core('n3').status()).toMatchObject({ role: 'candidate', term: 1 });
      const before = net.sent.length;
      net.core('n2').reportUnreachable(nodeId('n1'));
      net.process('n2');
      // It grants n3 and asks nothing for itself: in five voters, n4 and n5 could grant both
      // pre-votes, and two candidates of one term split the vote.
      expect(net.sent.slice(before).map((m) => [m.type, m.to])).toEqual([['preVoteResponse', 'n3']]);
      net.stabilize();
      // n4's held answer makes n3's quorum, and n3 leads before any tick.
      net.core('n4').reportUnreachable(nodeId('n1'));
      net.stabilize();
      expect(net.core('n3').status()).toMatchObject({ role: 'leader', term: 2 });
      expect(net.sent.slice(before).filter((m) => m.from === 'n2' && (m.type === 'preVote' || m.type === 'vote'))).toEqual([]);
    });
  });

  it('followers that lose the leader together campaign in different ticks, in member order', () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'].map(nodeId);
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const delays = ids.slice(1).map((id) => fastElectionDelayTicks(ids, id, ids[0]!, random));
      expect(new Set(delays).size).toBe(delays.length);
      expect([...delays].sort((a, b) => a - b)).toEqual(delays);
      expect(delays[0]).toBeLessThanOrEqual(FAST_ELECTION_STAGGER_TICKS);
    }
  });

  describe('a leader its followers cannot answer (it sends, and hears nothing)', () => {
    /** n1 leads; n2 and n3's links to it are cut (reported unreachable), its links to them are not. */
    const sendOnly = (opts: { preVote: boolean; checkQuorum: boolean }): Net => {
      const net = new Net(three, opts);
      net.elect('n1');
      net.filter = (m) => m.to !== 'n1';
      for (const id of ['n2', 'n3']) net.core(id).reportUnreachable(nodeId('n1'));
      return net;
    };
    const tickAll = (net: Net): void => {
      for (const id of ['n1', 'n2', 'n3']) net.tick(id);
      net.stabilize();
    };
    const survivorLeads = (net: Net): boolean => ['n2', 'n3'].some((id) => net.core(id).status().role === 'leader');

    it('is replaced within the fast-election stagger, its heartbeats restarting no clock and its lease refusing no vote', () => {
      const net = sendOnly({ preVote: true, checkQuorum: true });
      let ticks = 0;
      while (!survivorLeads(net) && ticks < 4 * FAST_ELECTION_STAGGER_TICKS) {
        ticks++;
        tickAll(net);
      }
      // Its heartbeats (every 2 ticks) would otherwise keep both followers from campaigning until
      // its CheckQuorum (10 ticks or more) and their own election timeouts after that.
      expect(survivorLeads(net)).toBe(true);
      expect(ticks).toBeLessThanOrEqual(2 * FAST_ELECTION_STAGGER_TICKS);
      const leader = ['n2', 'n3'].find((id) => net.core(id).status().role === 'leader')!;
      // The new leader's records reach the other survivor, whose links are intact.
      expect(net.core(leader).propose(new Uint8Array([7])).ok).toBe(true);
      net.stabilize();
      const other = leader === 'n2' ? 'n3' : 'n2';
      expect(net.core(other).status().commitIndex).toBe(net.core(leader).status().commitIndex);
    });

    it('a follower alone cut off from it goes on answering it while it asks, and follows it again once the link is back', () => {
      const net = new Net(three, { preVote: true, checkQuorum: true });
      net.elect('n1');
      net.core('n2').reportUnreachable(nodeId('n1'));
      // Its records are not taken meanwhile: no answer could count toward them.
      expect(net.core('n1').propose(new Uint8Array([9])).ok).toBe(true);
      net.stabilize();
      expect(net.core('n3').status().commitIndex).toBe(net.core('n1').status().lastIndex);
      expect(net.core('n2').status().lastIndex).toBeLessThan(net.core('n1').status().lastIndex);
      let sawAsking = false;
      let answeredWhileAsking = false;
      for (let i = 0; i < 4 * FAST_ELECTION_STAGGER_TICKS + 25; i++) {
        const sent = net.sent.length;
        tickAll(net);
        if (net.core('n2').status().role === 'candidate') {
          sawAsking = true;
          // It answers the leader while asking: what it sends is how the transport finds the link back.
          if (net.sent.slice(sent).some((m) => m.from === 'n2' && m.to === 'n1' && m.type === 'heartbeatResponse')) answeredWhileAsking = true;
        }
      }
      // n3 answers n1, so it honours n1's lease: n2's pre-votes change nothing.
      expect(sawAsking).toBe(true);
      expect(answeredWhileAsking).toBe(true);
      expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
      net.core('n2').reportReachable(nodeId('n1'));
      tickAll(net);
      tickAll(net);
      expect(net.core('n2').status()).toMatchObject({ role: 'follower', leader: 'n1', term: 1 });
      expect(net.core('n2').status().commitIndex).toBe(net.core('n1').status().lastIndex);
    });

    it('keeps its lease once the link is reported reachable again', () => {
      const net = sendOnly({ preVote: true, checkQuorum: true });
      net.filter = () => true;
      for (const id of ['n2', 'n3']) net.core(id).reportReachable(nodeId('n1'));
      for (let i = 0; i < 4 * FAST_ELECTION_STAGGER_TICKS + 25; i++) tickAll(net);
      expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
      expect(['n2', 'n3'].map((id) => net.core(id).status().leader)).toEqual(['n1', 'n1']);
    });
  });

  it('a broken link to a live leader does not depose it: the other voters still honour its lease', () => {
    const net = new Net(three, { preVote: true, checkQuorum: true });
    net.elect('n1');
    net.core('n2').reportUnreachable(nodeId('n1'));
    for (let i = 0; i < 2 * FAST_ELECTION_STAGGER_TICKS + 3; i++) {
      net.tick('n1');
      net.tick('n2');
      net.tick('n3');
      net.stabilize();
    }
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.core('n3').status().leader).toBe('n1');
  });
});
