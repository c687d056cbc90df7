import { afterEach, describe, expect, it } from 'vitest';
import type { EchoServer } from './echo';
import { streamEchoTarget } from './ql-target';
import { echoResults, startStreamEchoServer } from './stream-echo';

describe('the stream echo answers', () => {
  it('answers every call of a frame, in order, under its own id, as an applied one-row insert', () => {
    let index = 41;
    const results = echoResults([{ id: '7' }, { id: '9' }, {}], () => ++index);
    expect(results.map((r) => r.id)).toEqual(['7', '9', '0']);
    expect(results[1]!.execute).toEqual({ results: [{ rows_affected: 1, last_insert_rowid: 43 }], index: 43, duplicate: false, uncommitted: false });
  });
});

describe('the stream echo ceiling', () => {
  let server: EchoServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it("answers the project's pipelining client's inserts on one Session stream, many in flight at once", async () => {
    server = await startStreamEchoServer();
    const target = streamEchoTarget(`127.0.0.1:${server.port}`, 'r1', 0);
    try {
      await target.warm();
      // 64 calls made in one turn leave in one frame and all come back.
      await Promise.all(Array.from({ length: 64 }, (_, seq) => target.op(seq)));
    } finally {
      target.close();
    }
  });
});
