/** Binds a node's HTTP servers (metrics, dashboard) to a validated host:port. */
import type * as http from 'node:http';

/** Listens on `listen` (host:port, an IPv6 host in brackets); resolves once it listens, rejects if the bind fails. */
export async function listenHttp(server: http.Server, listen: string): Promise<http.Server> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Closes `server` and every connection it holds (an event stream never ends by itself). */
export function closeHttp(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
