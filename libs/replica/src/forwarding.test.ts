/** Forwarding: a write from a node that does not lead goes to the leader it knows, once it knows one. */
import { describe, expect, it } from 'vitest';
import { nodeId } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
import { Forwarding } from './forwarding';
import { systemClock, type WriteRequest, type WriteResult } from './ports';

const MEMBERS = new Map(['n1', 'n2', 'n3'].map((id) => [id, { id, address: `host:${id}`, role: 'voter' as const }]));
const WRITE: WriteRequest = { statements: [], requestId: null, durability: 'quorum', timeoutMs: 1_000, forwarded: false };
const RESULT: WriteResult = { results: [], index: 1, duplicate: false };

/** `unreachable`: the forwarder's answer for a leader it cannot reach (apps/node/src/forwarder.ts). */
function setup(electionMsMax = 50, unreachable: ReadonlySet<string> = new Set()) {
  const sent: { to: string; request: WriteRequest }[] = [];
  const here: WriteRequest[] = [];
  const forwarding = new Forwarding({
    nodeId: 'n1',
    members: MEMBERS,
    forwarder: {
      forward: (leader, request) => {
        sent.push({ to: leader.id, request });
        if (unreachable.has(leader.id)) {
          return Promise.reject(new ReplicaError('unavailable', `leader ${leader.id} at ${leader.address} is unreachable`, { leaderId: leader.id, leaderAddress: leader.address }));
        }
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
    // A leader that names no address (the release before) is named by the one it was reached at.
    await expect(forwarding.forward(WRITE, Date.now() + 1_000)).resolves.toEqual({ ...RESULT, leaderAddress: 'host:n2' });
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

  it('a leader it cannot reach: waits until its core names another, and sends the write there, once', async () => {
    const { forwarding, sent } = setup(1_000, new Set(['n2']));
    forwarding.setLeader(nodeId('n2'));
    const pending = forwarding.forward({ ...WRITE, requestId: 'r1' }, Date.now() + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent.map((s) => s.to)).toEqual(['n2']);
    // The same leader named again (its heartbeat) is no change; none, then another, is.
    forwarding.setLeader(nodeId('n2'));
    forwarding.setLeader(null);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent.map((s) => s.to)).toEqual(['n2']);
    forwarding.setLeader(nodeId('n3'));
    await expect(pending).resolves.toEqual({ ...RESULT, leaderAddress: 'host:n3' });
    expect(sent.map((s) => `${s.to}:${s.request.requestId}`)).toEqual(['n2:r1', 'n3:r1']);
  });

  it('a leader it cannot reach that stays the leader: the failure stands after three elections', async () => {
    const { forwarding, sent } = setup(10, new Set(['n2']));
    forwarding.setLeader(nodeId('n2'));
    await expect(forwarding.forward(WRITE, Date.now() + 1_000)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/leader n2 .* unreachable/) });
    expect(sent).toHaveLength(1);
  });

  it('refuses a write that was already forwarded, and gives up after three elections without a leader', async () => {
    const { forwarding } = setup(10);
    await expect(forwarding.forward({ ...WRITE, forwarded: true }, Date.now() + 1_000)).rejects.toMatchObject({ code: 'not_leader' });
    await expect(forwarding.forward(WRITE, Date.now() + 1_000)).rejects.toMatchObject({ code: 'no_leader' });
  });
});
