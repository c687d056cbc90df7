/**
 * A node whose files were damaged refuses to start with a sentence that names the file,
 * rather than serving (or replicating) anything from a log it cannot trust.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, stopCluster } from './helpers';

type Ctx = Awaited<ReturnType<typeof startCluster>>;
let ctx: Ctx | undefined;

afterEach(async () => {
  await stopCluster(ctx);
  ctx = undefined;
}, 30_000);

async function restartFails(c: Ctx, id: string): Promise<string> {
  let failed = false;
  try {
    await c.cluster.restart(id);
  } catch {
    failed = true;
  }
  expect(failed, `node ${id} started on a damaged data dir`).toBe(true);
  return c.cluster.logTail(id, 20);
}

describe('damaged files', () => {
  it('a checksum mismatch in the middle of the log stops the node with the file and offset', async () => {
    ctx = await startCluster('corrupt', { startTimeoutMs: 30_000 });
    const { cluster, client } = ctx;
    await client.execute('CREATE TABLE c(n INTEGER)');
    for (let i = 0; i < 20; i++) await client.execute({ sql: 'INSERT INTO c VALUES (?)', params: [i] });
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((n) => n.id !== leader.id)!;
    await cluster.kill(victim.id, 'SIGKILL');
    const logDir = path.join(victim.dataDir, 'log');
    const segment = fs.readdirSync(logDir).filter((f) => f.endsWith('.seg')).sort()[0]!;
    const file = path.join(logDir, segment);
    const bytes = fs.readFileSync(file);
    const at = Math.floor(bytes.length / 3);
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const tail = await restartFails(ctx, victim.id);
    expect(tail).toMatch(new RegExp(`${segment}.*corrupt at offset \\d+`));
    // The rest of the cluster keeps serving.
    await client.execute({ sql: 'INSERT INTO c VALUES (?)', params: [99] });
  }, 120_000);

  it('a damaged hard state file stops the node naming the file', async () => {
    ctx = await startCluster('corrupt-state', { startTimeoutMs: 30_000 });
    const { cluster, client } = ctx;
    await client.execute('CREATE TABLE d(n INTEGER)');
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((n) => n.id !== leader.id)!;
    await cluster.kill(victim.id, 'SIGKILL');
    const state = path.join(victim.dataDir, 'log', 'state');
    const bytes = fs.readFileSync(state);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff;
    fs.writeFileSync(state, bytes);
    const tail = await restartFails(ctx, victim.id);
    expect(tail).toMatch(/state/);
    expect(tail).toMatch(/corrupt|checksum/i);
  }, 120_000);
});
