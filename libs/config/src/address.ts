/** host:port, where host is a name, an IPv4 address or a bracketed IPv6 address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

/** Returns the parsed address, or a phrase saying what is wrong with it. */
export function parseHostPort(address: string): HostPort | string {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return `'${address}' is not host:port`;
  const host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return `'${address}' has no numeric port`;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return `'${address}' has port ${port}; ports are 1..65535`;
  if (!HOST_NAME.test(host) && !IPV6.test(host)) return `'${address}' has an invalid host '${host}'`;
  return { host, port };
}

/** A bind-all address: fine to listen on, meaningless to tell peers. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '[::]' || host === '[::0]';
}
