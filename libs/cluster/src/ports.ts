import * as net from 'node:net';

/**
 * Ports below Linux's ephemeral range (32768+), so an outgoing connection cannot take one
 * between the moment it is found free and the moment a node binds it (ports from bind(0)
 * come from that range and collide under load). A random start keeps parallel test files
 * apart; each candidate is checked by binding it.
 */
const PORT_RANGE_START = 20_000;
const PORT_RANGE_END = 32_000;
const PORT_PROBES_MAX = 2_000;

let nextCandidate = PORT_RANGE_START + Math.floor(Math.random() * (PORT_RANGE_END - PORT_RANGE_START));

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`freePorts: count must be a non-negative integer, got ${count}`);
  const ports: number[] = [];
  for (let probes = 0; ports.length < count; probes++) {
    if (probes >= PORT_PROBES_MAX) throw new Error(`freePorts: found only ${ports.length} of ${count} free ports on ${host}`);
    const port = nextCandidate;
    nextCandidate = nextCandidate + 1 >= PORT_RANGE_END ? PORT_RANGE_START : nextCandidate + 1;
    if (await canBind(port, host)) ports.push(port);
  }
  return ports;
}
