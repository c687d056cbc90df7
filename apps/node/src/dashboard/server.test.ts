import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeStatusFixture } from '../../../../libs/client/src/testing';
import { DashboardModel, type DashboardPayload } from './model';
import { DashboardServer } from './server';

const MEMBERS = [
  { id: 'n1', address: 'a1', role: 'voter' },
  { id: 'n2', address: 'a2', role: 'voter' },
];

/** A server over fake members: `alive` says who answers Status; polls run only when the test calls poll(). */
async function started(alive: Set<string>): Promise<{ server: DashboardServer; base: string }> {
  const server = new DashboardServer(new DashboardModel({ nodeId: 'n1', protocol: 'zab', fencingName: 'epoch' }, MEMBERS), MEMBERS, {
    readStatus: async (address) => {
      const id = address.replace('a', 'n');
      if (!alive.has(id)) throw new Error(`${address}: connection refused`);
      return nodeStatusFixture(id, { role: id === 'n2' ? 'leader' : 'follower', term: 4n, fencingName: 'epoch', protocol: 'zab', commitIndex: 9n, appliedIndex: 9n, lastIndex: 9n });
    },
    now: () => 1_000,
    every: () => () => undefined,
    warn: () => undefined,
  });
  await server.start('127.0.0.1:0');
  return { server, base: `http://127.0.0.1:${server.port()}` };
}

/** The first `count` data events of GET /events, parsed. */
function events(base: string, count: number, afterOpen: () => Promise<void>): Promise<DashboardPayload[]> {
  return new Promise((resolve, reject) => {
    const got: DashboardPayload[] = [];
    const req = http.get(`${base}/events`, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith('data: ')) got.push(JSON.parse(frame.slice(6)) as DashboardPayload);
          if (got.length === count) {
            req.destroy();
            resolve(got);
          }
        }
      });
      void afterOpen().catch(reject);
    });
    req.on('error', (e) => (got.length === count ? undefined : reject(e)));
  });
}

describe('DashboardServer', () => {
  let server: DashboardServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves one self-contained page that loads nothing but its own event stream', async () => {
    const s = await started(new Set(['n1', 'n2']));
    server = s.server;
    const res = await fetch(`${s.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<svg id="throughput"');
    expect(html).toContain("new EventSource('events')");
    // No script, style sheet, image or font from elsewhere (the SVG namespace is a name, not a fetch).
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\/|\bsrc=|<link\b|@import|url\(|fetch\(/);
  });

  it('sends the latest payload to a stream that opens, then one per poll, in which a member that stops answering is down', async () => {
    const alive = new Set(['n1', 'n2']);
    const s = await started(alive);
    server = s.server;
    const [first, second] = await events(s.base, 2, async () => {
      alive.delete('n2');
      await s.server.poll();
    });
    expect(first!.members.map((m) => [m.id, m.up, m.role, m.fence])).toEqual([['n1', true, 'follower', '4'], ['n2', true, 'leader', '4']]);
    expect(first!.leader).toEqual({ id: 'n2', fence: '4' });
    expect(second!.members[1]).toMatchObject({ id: 'n2', up: false, error: 'a2: connection refused' });
    expect(second!.leader).toBeNull();
    expect(second!.events.map((e) => e.kind)).toEqual(['leaderless', 'down', 'leader']);
    const state = (await (await fetch(`${s.base}/state`)).json()) as DashboardPayload;
    expect(state).toEqual(second);
  });

  it('answers 404 off its routes and 405 to anything but GET', async () => {
    const s = await started(new Set(['n1']));
    server = s.server;
    expect((await fetch(`${s.base}/metrics`)).status).toBe(404);
    expect((await fetch(`${s.base}/`, { method: 'POST' })).status).toBe(405);
  });
});
