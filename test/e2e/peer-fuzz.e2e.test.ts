/**
 * Bad peer traffic against a live cluster of every protocol, for a bounded time, while a
 * writer commits: random and truncated message bytes (any the protocol's codec would accept
 * are left out — a well-formed message with a forged fencing number is a Byzantine peer,
 * which no crash-fault protocol survives, and is what mTLS between members is for), unknown
 * message types, frames of another cluster, protocol or receiver, from a non-member or
 * changing sender mid-stream, and frames with too many messages. No node may crash, each
 * refusal is logged with what was wrong, commits go on, and the replicas stay identical.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES, PROTOCOLS, type ProtocolName } from '@quorumlite/consensus';
import { TRANSPORT_LIMITS } from '@quorumlite/transport';
import { peerClient, peerMethods, type WireFrame } from '../../libs/transport/src/wire';
import { clusterPerTest, rowsPerNode, waitAllApplied } from './helpers';

const FUZZ_MS = 3_000;

/** Bytes the protocol's codec refuses: a random buffer, or a prefix of random bytes after a plausible version and type. */
function badMessage(protocol: ProtocolName, rnd: () => number): Uint8Array {
  for (let tries = 0; tries < 1_000; tries++) {
    const length = Math.floor(rnd() * 300);
    const bytes = crypto.randomBytes(length);
    // Half start like a real message (version byte 1 or 2, a small type byte), so decoding goes deeper.
    if (length >= 2 && rnd() < 0.5) {
      bytes[0] = 1 + Math.floor(rnd() * 2);
      bytes[1] = Math.floor(rnd() * 16);
    }
    try {
      PROTOCOLS[protocol].decodeMessage(bytes);
    } catch {
      return bytes;
    }
  }
  throw new Error(`the ${protocol} codec accepted 1,000 random buffers in a row: it checks nothing`);
}

/** Opens a peer stream to `address`, writes `frames`, and resolves with how the receiver ended it. */
function stream(address: string, frames: WireFrame[]): Promise<grpc.ServiceError | null> {
  const method = peerMethods().stream;
  const client = peerClient(address, {});
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (err) => {
      client.close();
      resolve(err);
    });
    call.on('error', () => undefined);
    for (const f of frames) call.write(f);
    call.end();
  });
}

describe.each(PROTOCOL_NAMES)('bad peer traffic against a 3-node %s cluster', (protocol) => {
  const start = clusterPerTest();

  it('crashes no node, logs each refusal, keeps committing and keeps the replicas identical', async () => {
    const { cluster, client } = await start(`fuzz-${protocol}`, { protocol });
    await cluster.waitForLeader();
    await client.execute('CREATE TABLE f (id INTEGER PRIMARY KEY, v TEXT)');
    let committedDuringFuzz = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await client.execute({ sql: 'INSERT INTO f (v) VALUES (?)', params: ['x'] }).then(
          () => committedDuringFuzz++,
          () => undefined,
        );
      }
    })();

    let seed = 0x2545f491;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const ids = cluster.nodes.map((n) => n.id);
    const header = (to: string, from: string): WireFrame => ({ from, to, cluster: 'quorumlite', protocol });
    const refusals: Array<[string, RegExp]> = [];
    const deadline = Date.now() + FUZZ_MS;
    let streams = 0;
    while (Date.now() < deadline) {
      const target = cluster.nodes[streams % cluster.nodes.length]!;
      const from = ids.find((id) => id !== target.id)!;
      const garbage = (): Uint8Array[] => Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => badMessage(protocol, rnd));
      const kind = streams % 7;
      streams++;
      switch (kind) {
        case 0:
        case 1:
        case 2:
          // Well-addressed, from a member, messages the codec refuses: dropped one by one.
          await stream(target.address, [{ ...header(target.id, from), messages: garbage() }, { messages: garbage() }]);
          break;
        case 3:
          refusals.push([target.id, /stream is for cluster 'elsewhere'/]);
          await stream(target.address, [{ ...header(target.id, from), cluster: 'elsewhere', messages: garbage() }]);
          break;
        case 4: {
          const other = PROTOCOL_NAMES.find((p) => p !== protocol)!;
          refusals.push([target.id, new RegExp(`stream speaks protocol '${other}'`)]);
          await stream(target.address, [{ ...header(target.id, from), protocol: other, messages: garbage() }]);
          break;
        }
        case 5:
          refusals.push([target.id, /sender 'intruder' is not a peer of this node/], [target.id, /sender changed from/]);
          await stream(target.address, [{ ...header(target.id, 'intruder'), messages: garbage() }]);
          await stream(target.address, [header(target.id, from), { from: 'intruder', messages: garbage() }]);
          break;
        case 6:
          refusals.push([target.id, /more than \d+/]);
          await stream(target.address, [{ ...header(target.id, from), messages: Array.from({ length: TRANSPORT_LIMITS.messagesQueuedMax + 1 }, () => new Uint8Array([0])) }]);
          break;
      }
    }
    writing = false;
    await writer;

    for (const n of cluster.nodes) expect(cluster.isRunning(n.id), `${n.id} is running`).toBe(true);
    expect(committedDuringFuzz).toBeGreaterThan(10);
    const leader = await cluster.waitForLeader();
    await waitAllApplied(cluster, (await client.status(leader.address)).commitIndex);
    const rows = await rowsPerNode(cluster, client, 'SELECT id, v FROM f ORDER BY id');
    const [first, ...rest] = [...rows.values()];
    for (const r of rest) expect(r).toEqual(first);
    // Each refusal is in the log of the node that refused it, saying what was wrong.
    for (const [id, why] of refusals) expect(fs.readFileSync(cluster.logFile(id), 'utf8'), `${id}: ${why}`).toMatch(why);
    for (const n of cluster.nodes) expect(fs.readFileSync(cluster.logFile(n.id), 'utf8'), n.id).toMatch(/dropped a malformed peer message/);
  });
});
