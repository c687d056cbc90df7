/** Linearizable reads with ReadIndex (thesis §6.4). */
import { describe, expect, it } from 'vitest';
import { nodeId, term } from '../contract';
import { RaftCore } from './core';
import { Net, bytes, options, voters } from './testkit';

const three = voters('n1', 'n2', 'n3');

describe('raft ReadIndex', () => {
  it('the leader answers once a quorum confirmed its leadership, at the commit index it recorded', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    net.core('n1').readIndex('r1');
    net.processAll();
    expect(net.readStates.get('n1')).toEqual([]);
    const hb = net.queue.filter((m) => m.type === 'heartbeat');
    expect(hb).toHaveLength(2);
    expect(hb.every((m) => m.type === 'heartbeat' && m.readSeq === 1)).toBe(true);
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([{ requestId: 'r1', index: 2 }]);
  });

  it('needs a quorum: with both followers cut off the read stays pending', () => {
    const net = new Net(three);
    net.elect('n1');
    net.isolate('n2');
    net.isolate('n3');
    net.core('n1').readIndex('r1');
    for (let i = 0; i < 5; i++) {
      net.tick('n1');
      net.stabilize();
    }
    expect(net.readStates.get('n1')).toEqual([]);
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([{ requestId: 'r1', index: 1 }]);
  });

  it('one voter acknowledging besides the leader is enough in a cluster of three', () => {
    const net = new Net(three);
    net.elect('n1');
    net.isolate('n3');
    net.core('n1').readIndex('r1');
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([{ requestId: 'r1', index: 1 }]);
  });

  it('a single-voter leader answers at once (after its first commit)', () => {
    const core = new RaftCore(options('n1', voters('n1')), { hardState: null, snapshot: null, entries: [] });
    for (let i = 0; i < 30 && core.status().role !== 'leader'; i++) core.tick();
    core.readIndex('early');
    let rd = core.ready();
    expect(rd.readStates).toEqual([]); // the noop of this term is not committed yet
    core.advance();
    rd = core.ready();
    expect(rd.readStates).toEqual([{ requestId: 'early', index: 1 }]);
    core.advance();
    core.readIndex('now');
    rd = core.ready();
    expect(rd.readStates).toEqual([{ requestId: 'now', index: 1 }]);
    expect(rd.messages).toEqual([]);
    core.advance();
  });

  it('a new leader waits until an entry of its own term committed before serving reads', () => {
    const net = new Net(three);
    net.elect('n1');
    // n1 won but its noop has not been acknowledged by anyone yet.
    net.isolate('n2');
    net.isolate('n3');
    net.campaign('n2');
    net.heal();
    const n2 = net.core('n2');
    net.processAll();
    const requests = net.queue.filter((m) => m.from === 'n2');
    net.queue = [];
    for (const m of requests) net.core(m.to).step(m);
    net.processAll();
    for (const m of net.queue.filter((m) => m.to === 'n2')) n2.step(m);
    net.queue = net.queue.filter((m) => m.to !== 'n2');
    expect(n2.status().role).toBe('leader');
    n2.readIndex('r1');
    net.process('n2');
    // No heartbeat round for the read yet: it waits for the term-2 noop to commit.
    expect(net.queue.some((m) => m.type === 'heartbeat' && m.from === 'n2' && m.readSeq > 0)).toBe(false);
    net.stabilize();
    expect(net.readStates.get('n2')).toEqual([{ requestId: 'r1', index: 2 }]);
  });

  it('a follower asks the leader and emits the read state the leader confirmed', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n1').propose(bytes('a'));
    net.stabilize();
    net.core('n2').readIndex('f1');
    net.stabilize();
    expect(net.sent.some((m) => m.type === 'readIndex' && m.from === 'n2' && m.to === 'n1' && m.requestId === 'f1')).toBe(true);
    expect(net.readStates.get('n2')).toEqual([{ requestId: 'f1', index: 2 }]);
    expect(net.readStates.get('n1')).toEqual([]);
  });

  it('a node that knows no leader fails the read with not_leader', () => {
    const net = new Net(three);
    net.core('n2').readIndex('f1');
    net.process('n2');
    expect(net.readFailures.get('n2')).toEqual([{ requestId: 'f1', reason: 'not_leader', leader: null }]);
  });

  it('a leader that steps down fails every pending read as dropped (local and forwarded)', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n2').readIndex('f1');
    net.processAll();
    net.deliverOnce(); // the readIndex reaches n1, which broadcasts its heartbeat round
    net.queue = [];
    net.core('n1').readIndex('l1');
    net.core('n1').step({ type: 'appendResponse', from: nodeId('n3'), to: nodeId('n1'), term: term(2), index: 0 as never, reject: false, hintIndex: 0 as never, hintTerm: term(0), lost: false });
    net.process('n1');
    expect(net.readFailures.get('n1')).toEqual([{ requestId: 'l1', reason: 'dropped', leader: null }]);
    // The follower learns of it through n1's rejection (which also carries the new term).
    net.filter = (m) => m.to === 'n2' && m.type === 'readIndexResponse';
    net.stabilize();
    expect(net.readFailures.get('n2')).toEqual([{ requestId: 'f1', reason: 'dropped', leader: null }]);
    expect(net.readStates.get('n2')).toEqual([]);
  });

  it('a follower fails forwarded reads as dropped when the term changes before the answer', () => {
    const net = new Net(three);
    net.elect('n1');
    net.core('n2').readIndex('f1');
    net.processAll();
    net.queue = [];
    net.core('n2').step({ type: 'heartbeat', from: nodeId('n3'), to: nodeId('n2'), term: term(3), commit: 0 as never, readSeq: 0, dataHold: 0 as never });
    net.process('n2');
    expect(net.readFailures.get('n2')).toEqual([{ requestId: 'f1', reason: 'dropped', leader: null }]);
  });
});
