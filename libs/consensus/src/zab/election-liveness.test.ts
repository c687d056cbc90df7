/** Fast Leader Election converges when a link is down: a LOOKING node never sends a learner into a new round. */
import { describe, expect, it } from 'vitest';
import { ZabNet, voters } from './testkit';

const n2n3Down = (m: { from: string; to: string }): boolean => !((m.from === 'n2' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n2'));

describe('zab: election with the n2–n3 link down, n1 bridging', () => {
  it('converges when messages arrive at once (latency far below the finalize window)', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    net.filter = n2n3Down;
    let leader: string | null = null;
    for (let i = 0; i < 200 && leader === null; i++) {
      net.tickAll();
      leader = net.leaderOf();
    }
    expect(leader).not.toBeNull();
    expect(net.sent.length).toBeLessThan(2_000);
  });

  it('converges when every message takes a tick', () => {
    const net = new ZabNet(voters('n1', 'n2', 'n3'));
    net.filter = n2n3Down;
    let leader: string | null = null;
    for (let t = 0; t < 400 && leader === null; t++) {
      for (const id of ['n1', 'n2', 'n3']) net.core(id).tick();
      net.processAll();
      net.deliverOnce();
      leader = net.leaderOf();
    }
    expect(leader).not.toBeNull();
  });
});
