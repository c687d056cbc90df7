import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { packageDefinitions } from '@quorumlite/proto';
import { Session } from './session';

interface Method {
  path: string;
  requestDeserialize(b: Buffer): unknown;
}
const method = (packageDefinitions().sql as unknown as Record<string, Record<string, Method>>)['quorumlite.v1.SqlService']!['Session']!;

/** A channel whose one stream keeps the frames written to it. */
function recordingChannel(): { channel: grpc.Client; frames: Buffer[] } {
  const frames: Buffer[] = [];
  const stream = { write: (b: Buffer) => frames.push(b), on: () => stream, cancel: () => undefined };
  return { channel: { makeBidiStreamRequest: () => stream } as unknown as grpc.Client, frames };
}

const query = (max_rows: number) => ({ sql: 'SELECT 1', params: [], named: {}, consistency: 'CONSISTENCY_STALE', min_index: 0, max_lag_entries: 0, max_rows, timeout_ms: 1000 });

describe('Session', () => {
  it('refuses a call it cannot encode alone: the others of its frame still go', async () => {
    const { channel, frames } = recordingChannel();
    const session = new Session(channel, method as unknown as grpc.MethodDefinition<unknown, unknown>, '127.0.0.1:1');
    const good = session.call('query', query(5), 1000);
    const bad = session.call('query', query(-1), 1000);
    await expect(bad).rejects.toThrow(/cannot send this call: -1 is not a uint32/);
    expect(frames).toHaveLength(1);
    const sent = method.requestDeserialize(frames[0]!) as { calls: { id: string; query: { max_rows: number } }[] };
    expect(sent.calls.map((c) => [c.id, c.query.max_rows])).toEqual([['1', 5]]);
    session.close();
    await expect(good).rejects.toThrow(/client is closed/);
  });
});
