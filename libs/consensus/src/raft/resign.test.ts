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
  // The bytes a node of the release before writes and reads (version 2, unchanged): a heartbeat
  // with commit 7, readSeq 5, dataHold 6 at term 3 from n1 to n2.
  const V2_HEARTBEAT = [2, 3, 2, 0x6e, 0x31, 2, 0x6e, 0x32, 3, 7, 5, 6];
  const hb = { type: 'heartbeat', from: nodeId('n1'), to: nodeId('n2'), term: term(3), commit: 7, readSeq: 5, dataHold: 6 } as unknown as RaftMessage;

  it('writes and reads every message but resign as the release before does (version 2), and resign alone as version 3', () => {
    expect(Array.from(encodeMessage(hb))).toEqual(V2_HEARTBEAT);
    expect(decodeMessage(Uint8Array.from(V2_HEARTBEAT))).toEqual(hb);
    const resign = Array.from(encodeMessage({ type: 'resign', from: nodeId('n1'), to: nodeId('n2'), term: term(3) }));
    expect(resign).toEqual([3, 13, 2, 0x6e, 0x31, 2, 0x6e, 0x32, 3]);
    // A heartbeat claiming version 3, or a resign claiming version 2, is refused.
    expect(() => decodeMessage(Uint8Array.from([3, ...V2_HEARTBEAT.slice(1)]))).toThrow(/heartbeat is not a message of version 3/);
    expect(() => decodeMessage(Uint8Array.from([2, ...resign.slice(1)]))).toThrow(/resign is not a message of version 2/);
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
