/**
 * TcpProxy and ProxyMesh on loopback: bytes flow both ways, a cut stops them (refused or
 * blackholed), a heal restores them, and grudges cut exactly the links they name.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyMesh, TcpProxy, bridgeGrudge, describeGrudge, splitGrudge } from '@quorumlite/chaos';

const WAIT_MS = 3_000;

/** An echo server; closes with the test. */
async function echoServer(): Promise<{ address: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function connect(address: string): Promise<net.Socket> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: host!, port: Number(port) }, () => resolve(s));
    s.once('error', reject);
  });
}

/** A fresh connection's echo of `text`, or null when the connection is refused, reset or silent. */
async function echoVia(address: string, text: string, ms = WAIT_MS): Promise<string | null> {
  let s: net.Socket;
  try {
    s = await connect(address);
  } catch {
    return null;
  }
  s.on('error', () => undefined);
  try {
    return await roundTrip(s, text, ms);
  } finally {
    s.destroy();
  }
}

/** Writes `text` and resolves with what comes back within `ms`, or null when nothing does. */
function roundTrip(socket: net.Socket, text: string, ms = WAIT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    let got = '';
    const timer = setTimeout(() => finish(got === '' ? null : got), ms);
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) finish(got);
    };
    const onEnd = (): void => finish(got === '' ? null : got);
    function finish(v: string | null): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      resolve(v);
    }
    socket.on('data', onData);
    socket.once('close', onEnd);
    socket.write(text);
  });
}

function closed(socket: net.Socket, ms = WAIT_MS): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ proxy: TcpProxy }> {
  const echo = await echoServer();
  cleanups.push(echo.close);
  const proxy = await TcpProxy.start({ target: echo.address });
  cleanups.push(() => proxy.close());
  return { proxy };
}

describe('TcpProxy', () => {
  it('carries bytes both ways', async () => {
    const { proxy } = await setup();
    const s = await connect(proxy.address);
    cleanups.push(() => void s.destroy());
    expect(await roundTrip(s, 'hello')).toBe('hello');
    expect(await roundTrip(s, 'x'.repeat(200_000))).toHaveLength(200_000);
    expect(proxy.stats.accepted).toBe(1);
  });

  it('refuse: a cut destroys open connections and refuses new ones; a heal restores new connections', async () => {
    const { proxy } = await setup();
    const s = await connect(proxy.address);
    cleanups.push(() => void s.destroy());
    expect(await roundTrip(s, 'before')).toBe('before');
    proxy.cut('refuse');
    expect(await closed(s)).toBe(true);
    expect(await echoVia(proxy.address, 'during', 500)).toBeNull();
    expect(proxy.stats.refused).toBeGreaterThanOrEqual(1);
    proxy.heal();
    expect(await echoVia(proxy.address, 'after')).toBe('after');
  });

  it('blackhole: a cut keeps connections open but silent; a heal delivers what was held', async () => {
    const { proxy } = await setup();
    const s = await connect(proxy.address);
    cleanups.push(() => void s.destroy());
    expect(await roundTrip(s, 'one')).toBe('one');
    proxy.cut('blackhole');
    const pending = roundTrip(s, 'held', WAIT_MS);
    const fresh = await connect(proxy.address);
    cleanups.push(() => void fresh.destroy());
    const freshPending = roundTrip(fresh, 'new', WAIT_MS);
    await new Promise((r) => setTimeout(r, 400));
    expect(s.destroyed).toBe(false);
    expect(proxy.isCut()).toBe(true);
    proxy.heal();
    expect(await pending).toBe('held');
    expect(await freshPending).toBe('new');
  });

  it('blackhole: nothing arrives while cut', async () => {
    const { proxy } = await setup();
    const s = await connect(proxy.address);
    cleanups.push(() => void s.destroy());
    proxy.cut('blackhole');
    expect(await roundTrip(s, 'lost?', 500)).toBeNull();
    proxy.heal();
  });

  it('delays each chunk without reordering', async () => {
    const { proxy } = await setup();
    proxy.setDelay(50);
    const s = await connect(proxy.address);
    cleanups.push(() => void s.destroy());
    const parts = ['a', 'b', 'c', 'd'];
    const got = roundTrip(s, parts.join(''));
    expect(await got).toBe('abcd');
  });

  it('refuses connections before it has a target', async () => {
    const proxy = await TcpProxy.start();
    cleanups.push(() => proxy.close());
    expect(await echoVia(proxy.address, 'nowhere', 500)).toBeNull();
    expect(proxy.stats.refused).toBe(1);
  });
});

describe('grudges', () => {
  it('split cuts every link across sides, both ways', () => {
    expect(describeGrudge(splitGrudge([['n1'], ['n2', 'n3']]))).toEqual(['n1<->n2', 'n1<->n3']);
  });

  it('bridge keeps the bridge node connected to both sides', () => {
    expect(describeGrudge(bridgeGrudge(['n1'], 'n2', ['n3']))).toEqual(['n1<->n3']);
    expect(() => bridgeGrudge(['n1', 'n2'], 'n2', ['n3'])).toThrow(/bridge node/);
  });
});

describe('ProxyMesh', () => {
  it('cuts exactly the grudge links and heals them all', async () => {
    const echo = await echoServer();
    cleanups.push(echo.close);
    const mesh = await ProxyMesh.start(['a', 'b', 'c']);
    cleanups.push(() => mesh.close());
    const ab = mesh.peerAddress('a', 'b', echo.address);
    const cb = mesh.peerAddress('c', 'b', echo.address);
    expect(ab).not.toBe(cb);
    mesh.apply(splitGrudge([['a'], ['b', 'c']]));
    expect(mesh.cutLinks().sort()).toEqual(['a->b', 'a->c', 'b->a', 'c->a']);
    expect(await echoVia(ab, 'x', 500)).toBeNull();
    expect(await echoVia(cb, 'y')).toBe('y');
    mesh.healAll();
    expect(mesh.cutLinks()).toEqual([]);
    expect(await echoVia(ab, 'z')).toBe('z');
  });
});

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

describe('TcpProxy cleanup', () => {
  it('leaves no socket handle behind after a half-closed connection is cut and the proxy closed', async () => {
    // An upstream that keeps its side open after the client's FIN.
    const held = new Set<net.Socket>();
    const upstream = net.createServer({ allowHalfOpen: true }, (c) => {
      held.add(c);
      c.on('error', () => undefined);
      c.on('data', (d) => c.write(d));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const closeUpstream = (): Promise<void> =>
      new Promise((resolve) => {
        for (const c of held) c.destroy();
        upstream.close(() => resolve());
      });
    cleanups.push(() => (upstream.listening ? closeUpstream() : undefined));
    const baseline = tcpHandles();
    const proxy = await TcpProxy.start({ target: `127.0.0.1:${(upstream.address() as net.AddressInfo).port}` });
    const s = await connect(proxy.address);
    s.on('error', () => undefined);
    expect(await roundTrip(s, 'hi')).toBe('hi');
    s.end(); // the proxy passes the FIN on: its upstream socket's write side is shut down
    await new Promise((r) => setTimeout(r, 100));
    proxy.cut('refuse');
    await proxy.close();
    s.destroy();
    await closeUpstream();
    const deadline = Date.now() + 2_000;
    while (tcpHandles() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(tcpHandles()).toBeLessThanOrEqual(baseline);
  });
});
