/**
 * The live dashboard's HTTP server (--dashboard-listen): GET / is the page, GET /events its
 * server-sent event stream, GET /state the latest payload as JSON. It polls every member's
 * gRPC Status (this node's too, by the same path, so every member is read alike), feeds the
 * readings to the DashboardModel and sends the payload to every open stream.
 */
import * as http from 'node:http';
import type { NodeStatus } from '@quorumlite/client';
import { closeHttp, listenHttp } from '../http-listen';
import { DashboardModel, type DashboardMemberSpec, type MemberReading } from './model';
import { dashboardHtml } from './page';

/**
 * How often every member is read: a member killed is shown down and the new leader shown
 * within about an election after one poll, well inside the two seconds an operator expects.
 */
export const DASHBOARD_POLL_MS = 250;
/** A member that takes longer than this to answer Status is shown down for that poll. */
export const DASHBOARD_STATUS_TIMEOUT_MS = 1_000;
/** Open event streams per node: each costs a payload per poll. */
export const DASHBOARD_STREAMS_MAX = 64;
/** A Status error shown in the page is cut to this length. */
const ERROR_CHARS_MAX = 200;

export interface DashboardPorts {
  /** One Status call to `address`, failing when it does not answer (QuorumliteClient.status). */
  readStatus(address: string): Promise<NodeStatus>;
  now(): number;
  every(ms: number, fn: () => void): () => void;
  warn(msg: string, fields: Record<string, unknown>): void;
}

export class DashboardServer {
  private readonly streams = new Set<http.ServerResponse>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private last: string | null = null;
  private polling = false;
  private cancel: (() => void) | null = null;

  constructor(
    private readonly model: DashboardModel,
    private readonly members: readonly DashboardMemberSpec[],
    private readonly ports: DashboardPorts,
  ) {}

  async start(listen: string, pollMs: number = DASHBOARD_POLL_MS): Promise<void> {
    await listenHttp(this.server, listen);
    await this.poll();
    this.cancel = this.ports.every(pollMs, () => {
      this.poll().catch((e: unknown) => this.ports.warn('dashboard poll failed', { error: e instanceof Error ? e.message : String(e) }));
    });
  }

  /** The port it listens on (the one the OS chose when started on port 0). */
  port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('the dashboard server is not listening');
    return a.port;
  }

  async close(): Promise<void> {
    this.cancel?.();
    this.cancel = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    await closeHttp(this.server);
  }

  /** Reads every member once and sends the new payload; a poll still running is not doubled. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const readings = new Map<string, MemberReading>(
        await Promise.all(
          this.members.map(async (m): Promise<[string, MemberReading]> => {
            try {
              return [m.id, { kind: 'up', status: await this.ports.readStatus(m.address) }];
            } catch (e: unknown) {
              return [m.id, { kind: 'down', error: (e instanceof Error ? e.message : String(e)).slice(0, ERROR_CHARS_MAX) }];
            }
          }),
        ),
      );
      const now = this.ports.now();
      this.model.observe(now, readings);
      this.last = JSON.stringify(this.model.payload(now));
      for (const s of this.streams) s.write(`data: ${this.last}\n\n`);
    } finally {
      this.polling = false;
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const route = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('the dashboard answers GET only\n');
      return;
    }
    switch (route) {
      case '/':
      case '/index.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(dashboardHtml());
        return;
      case '/state':
        res.writeHead(this.last === null ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(this.last ?? '{}');
        return;
      case '/events':
        this.openStream(req, res);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the dashboard is at GET /\n');
    }
  }

  private openStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.streams.size >= DASHBOARD_STREAMS_MAX) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`at most ${DASHBOARD_STREAMS_MAX} dashboard streams are open on this node\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A page that loses this node reconnects after a second: a restarted node is seen at once.
    res.write('retry: 1000\n\n');
    if (this.last !== null) res.write(`data: ${this.last}\n\n`);
    this.streams.add(res);
    req.on('close', () => this.streams.delete(res));
  }
}
