/**
 * A Raft leader that steps down for want of a quorum (CheckQuorum, once per election timeout)
 * names one successor (TimeoutNow) and resigns to its other peers: what old and new releases read
 * of it, that its messages cannot disturb a later term, who the successor is, and that a short
 * stall of the followers deposes no one.
 */
import { describe, expect, it } from 'vitest';
import { nodeId, term, type Member } from '../contract';
import { decodeMessage, encodeMessage } from './codec';
import type { RaftMessage } from './messages';
import { bytes, Net, observer, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');
const witness = (name: string): Member => ({ id: nodeId(name), role: 'witness' });

describe('raft codec across the release that added resign', () => {
  it('a node of this release reads a version-2 heartbeat, and writes unchanged messages as version 2', () => {
    const hb: RaftMessage = { type: 'heartbeat', from: nodeId('n1'), to: nodeId('n2'), term: term(3), commit: 0 as never, readSeq: 0, dataHold: 0 as never } as RaftMessage;
    const v = encodeMessage(hb);
    const asV2 = Uint8Array.from(v);
    asV2[0] = 2;
    expect(() => decodeMessage(asV2)).not.toThrow();
    expect(v[0]).toBe(2);
  });
});

describe('a resigned leader\'s messages replayed later', () => {
  it('a duplicated TimeoutNow or resign of the old term changes nothing at the next leader or its followers', () => {
    const net = new Net(three, { checkQuorum: true, preVote: true });
    net.elect('n1');
    net.filter = (m) => m.to !== 'n1'; // n1 sends only
    for (let i = 0; i < 30 && net.core('n1').status().role === 'leader'; i++) {
      net.tick('n1');
      net.stabilize();
    }
    const old = net.sent.filter((m) => m.from === 'n1' && (m.type === 'timeoutNow' || m.type === 'resign'));
    expect(old.map((m) => m.type).sort()).toEqual(['resign', 'timeoutNow']);
    for (let i = 0; i < 30 && net.leaderOf() === null; i++) {
      net.tick('n2');
      net.tick('n3');
      net.stabilize();
    }
    const leader = net.leaderOf();
    expect(leader).not.toBeNull();
    const before = ['n2', 'n3'].map((id) => net.core(id).status());
    // Replay both (the network duplicates them) at every node of the new term.
    for (const m of old) for (const to of ['n2', 'n3']) net.core(to).step({ ...m, to: nodeId(to) });
    expect(['n2', 'n3'].map((id) => net.core(id).status())).toEqual(before);
    expect(net.core('n2').hasReady() || net.core('n3').hasReady()).toBe(false);
  });

  it('the successor is never a witness nor an observer, even when the witness holds more', () => {
    const members = [...voters('n1', 'n2'), witness('w3'), observer('o4')];
    const net = new Net(members, { checkQuorum: true, preVote: true });
    net.elect('n1');
    net.isolate('n2');
    net.core('n1').propose(bytes('x'));
    net.stabilize(); // w3 holds x, n2 does not
    net.heal();
    net.filter = (m) => m.to !== 'n1';
    for (let i = 0; i < 30 && net.core('n1').status().role === 'leader'; i++) {
      net.tick('n1');
      net.stabilize();
    }
    const out = net.sent.filter((m) => m.from === 'n1' && (m.type === 'timeoutNow' || m.type === 'resign')).map((m) => [m.type, m.to]);
    expect(out).toEqual([['timeoutNow', 'n2'], ['resign', 'w3'], ['resign', 'o4']]);
  });
});

describe('CheckQuorum under a follower stall', () => {
  it('a leader whose followers are silent for a little over one election timeout, straddling two rounds, keeps leading', () => {
    const net = new Net(three, { checkQuorum: true, preVote: true });
    net.elect('n1');
    for (let i = 0; i < 15; i++) {
      net.tick('n1');
      net.stabilize();
    }
    net.filter = (m) => m.to !== 'n1';
    for (let i = 0; i < 12; i++) {
      net.tick('n1');
      net.stabilize();
    }
    net.filter = () => true;
    for (let i = 0; i < 10; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', term: 1 });
  });
});
