/** Forwarding: a write from a node that does not lead goes to the leader it knows, once it knows one. */
import { describe, expect, it } from 'vitest';
import { nodeId } from '@quorumlite/consensus';
import { Forwarding } from './forwarding';
import { systemClock, type WriteRequest, type WriteResult } from './ports';

const MEMBERS = new Map(['n1', 'n2', 'n3'].map((id) => [id, { id, address: `host:${id}`, role: 'voter' as const }]));
const WRITE: WriteRequest = { statements: [], requestId: null, durability: 'quorum', timeoutMs: 1_000, forwarded: false };
const RESULT: WriteResult = { results: [], index: 1, duplicate: false };

function setup(electionMsMax = 50) {
  const sent: { to: string; request: WriteRequest }[] = [];
  const here: WriteRequest[] = [];
  const forwarding = new Forwarding({
    nodeId: 'n1',
    members: MEMBERS,
    forwarder: {
      forward: (leader, request) => {
        sent.push({ to: leader.id, request });
        return Promise.resolve(RESULT);
      },
    },
    now: () => Date.now(),
    after: systemClock.after,
    electionMsMax: () => electionMsMax,
    stopped: () => false,
    executeHere: (request) => {
      here.push(request);
      return Promise.resolve(RESULT);
    },
  });
  return { forwarding, sent, here };
}

describe('Forwarding', () => {
  it('sends the write on to the known leader, marked forwarded', async () => {
    const { forwarding, sent } = setup();
    forwarding.setLeader(nodeId('n2'));
    await expect(forwarding.forward(WRITE, Date.now() + 1_000)).resolves.toBe(RESULT);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 'n2', request: { forwarded: true } });
    expect(forwarding.hint()).toEqual({ leaderId: 'n2', leaderAddress: 'host:n2' });
  });

  it('waits for a leader to appear, and runs the write here when this node became it', async () => {
    const { forwarding, here, sent } = setup(1_000);
    const pending = forwarding.forward(WRITE, Date.now() + 1_000);
    forwarding.setLeader(nodeId('n1'));
    await expect(pending).resolves.toBe(RESULT);
    expect(here).toHaveLength(1);
    expect(sent).toHaveLength(0);
  });

  it('refuses a write that was already forwarded, and gives up after three elections without a leader', async () => {
    const { forwarding } = setup(10);
    await expect(forwarding.forward({ ...WRITE, forwarded: true }, Date.now() + 1_000)).rejects.toMatchObject({ code: 'not_leader' });
    await expect(forwarding.forward(WRITE, Date.now() + 1_000)).rejects.toMatchObject({ code: 'no_leader' });
  });
});
