/**
 * PeerLink against a scripted channel: which channel each stream of the link opens on. The
 * real channel's own reconnect backoff is what the rule below works around, so the channel
 * here is a stand-in that records every stream and lets the test end or accept it.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { nodeId } from '@quorumlite/consensus';
import { describe, expect, it } from 'vitest';
import { PeerLink, type LinkContext } from './peer-link';
import { waitFor } from './test-kit';
import { resolveLimits, TRANSPORT_LIMITS } from './types';

const broken = { code: 14, details: 'read ECONNRESET', metadata: { get: () => [] } } as unknown as grpc.ServiceError;

interface Stream {
  fresh: boolean;
  call: EventEmitter & { write: () => boolean; end: () => void; cancel: () => void };
  end: (err: grpc.ServiceError | null) => void;
}

function scriptedLink(): { link: PeerLink; streams: Stream[] } {
  const streams: Stream[] = [];
  const ctx: LinkContext = {
    self: nodeId('n1'),
    cluster: 'c',
    protocol: 'raft',
    limits: resolveLimits({ reconnectBackoffMsMin: 1, reconnectBackoffMsMax: 1 }),
    counters: { sentMessages: 0, sentFrames: 0, dropped: 0, received: 0 },
    log: () => undefined,
    identity: () => null,
    onIdentityRefused: () => undefined,
    onState: () => undefined,
    client: (fresh) =>
      ({
        makeClientStreamRequest: (_path: string, _ser: unknown, _de: unknown, _md: unknown, _opts: unknown, callback: (err: grpc.ServiceError | null) => void) => {
          const cancel = (): void => callback({ ...broken, code: 1, details: 'cancelled' });
          const call = Object.assign(new EventEmitter(), { write: () => true, end: cancel, cancel });
          streams.push({ fresh, call, end: callback });
          return call;
        },
      }) as unknown as grpc.Client,
  };
  return { link: new PeerLink(nodeId('n2'), ctx), streams };
}

describe('PeerLink channels', () => {
  it('opens every stream after a break on a fresh channel, until one connects', async () => {
    const { link, streams } = scriptedLink();
    const sendUntil = async (count: number): Promise<void> =>
      waitFor(`stream ${count}`, () => {
        link.send(new Uint8Array([1]));
        return streams.length >= count;
      });
    await sendUntil(1);
    streams[0]!.call.emit('metadata'); // accepted: the peer is reachable
    streams[0]!.end(broken);
    await sendUntil(2);
    streams[1]!.end(broken); // the peer is still cut off
    await sendUntil(3);
    streams[2]!.call.emit('metadata');
    link.send(new Uint8Array([2]));
    await new Promise((r) => setTimeout(r, 10));
    streams[2]!.end(broken);
    await sendUntil(4);
    expect(streams.map((s) => s.fresh)).toEqual([false, true, true, true]);
    expect(streams).toHaveLength(4); // a connected stream is reused, not reopened
    await link.close();
  });
});

describe('PeerLink backoff', () => {
  it('caps the default backoff below the 300 ms in which a healed node must serve again', () => {
    // The cap is how long a link may still wait once its peer is back: a partition of any
    // length doubles the backoff up to it, and with the old 500 ms healed followers served
    // 0.4-1 s after the heal (bench partition, follower-heal).
    expect(TRANSPORT_LIMITS.reconnectBackoffMsMax).toBeLessThanOrEqual(200);
    expect(TRANSPORT_LIMITS.reconnectBackoffMsMin).toBeLessThanOrEqual(TRANSPORT_LIMITS.reconnectBackoffMsMax);
  });
});
