/**
 * One TcpProxy per directed peer link, and partitions expressed as a grudge: for each node, the
 * nodes it cannot reach. Partitions here are symmetric (a link is cut both ways), which is what
 * the nemesis asks for; `cutLink` allows one-way cuts for tests that want them.
 *
 * Every live mesh is healed and closed when the process exits, so an exception, a failed
 * assertion or Ctrl-C never leaves a listening proxy or a cut link behind.
 */
import { TcpProxy, type CutMode } from './proxy';

/** node id → the node ids it cannot reach. */
export type Grudge = Map<string, Set<string>>;

const live = new Set<ProxyMesh>();
let hooked = false;

function closeAllNow(): void {
  for (const mesh of live) mesh.closeNow();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', closeAllNow);
}

function linkKey(from: string, to: string): string {
  return `${from}->${to}`;
}

export class ProxyMesh {
  private readonly proxies = new Map<string, TcpProxy>();
  private grudge: Grudge = new Map();

  private constructor(
    readonly ids: readonly string[],
    private readonly mode: CutMode,
  ) {}

  /** A proxy for every ordered pair of distinct ids, each listening on a free loopback port. */
  static async start(ids: readonly string[], options: { host?: string; mode?: CutMode } = {}): Promise<ProxyMesh> {
    const mesh = new ProxyMesh(ids, options.mode ?? 'refuse');
    live.add(mesh);
    hookExit();
    try {
      for (const from of ids) {
        for (const to of ids) {
          if (from === to) continue;
          mesh.proxies.set(linkKey(from, to), await TcpProxy.start({ host: options.host ?? '127.0.0.1' }));
        }
      }
    } catch (e: unknown) {
      await mesh.close();
      throw e;
    }
    return mesh;
  }

  /** For LocalClusterOptions.peerAddress: points the link's proxy at `to` and returns its address. */
  readonly peerAddress = (from: string, to: string, realAddress: string): string => {
    const proxy = this.proxy(from, to);
    proxy.setTarget(realAddress);
    return proxy.address;
  };

  proxy(from: string, to: string): TcpProxy {
    const p = this.proxies.get(linkKey(from, to));
    if (!p) throw new Error(`no proxy for link ${from} -> ${to} (nodes: ${this.ids.join(', ')})`);
    return p;
  }

  /** Cuts exactly the links the grudge names (as `mode` says), heals every other link. */
  apply(grudge: Grudge, mode: CutMode = this.mode): void {
    this.grudge = grudge;
    for (const from of this.ids) {
      for (const to of this.ids) {
        if (from === to) continue;
        const p = this.proxy(from, to);
        if (grudge.get(from)?.has(to)) p.cut(mode);
        else p.heal();
      }
    }
  }

  cutLink(from: string, to: string): void {
    this.proxy(from, to).cut(this.mode);
  }

  healAll(): void {
    this.grudge = new Map();
    for (const p of this.proxies.values()) p.heal();
  }

  setDelay(delayMs: number): void {
    for (const p of this.proxies.values()) p.setDelay(delayMs);
  }

  currentGrudge(): Grudge {
    return this.grudge;
  }

  cutLinks(): string[] {
    return [...this.proxies.entries()].filter(([, p]) => p.isCut()).map(([k]) => k);
  }

  closeNow(): void {
    for (const p of this.proxies.values()) p.closeNow();
    live.delete(this);
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    live.delete(this);
  }
}

function addSymmetric(grudge: Grudge, a: string, b: string): void {
  if (!grudge.has(a)) grudge.set(a, new Set());
  if (!grudge.has(b)) grudge.set(b, new Set());
  grudge.get(a)!.add(b);
  grudge.get(b)!.add(a);
}

/** Every node of `sides[i]` loses every node of every other side. */
export function splitGrudge(sides: readonly (readonly string[])[]): Grudge {
  const grudge: Grudge = new Map();
  for (const [i, side] of sides.entries()) {
    for (const other of sides.slice(i + 1)) {
      for (const a of side) for (const b of other) addSymmetric(grudge, a, b);
    }
  }
  return grudge;
}

/** `bridge` reaches everyone; `left` and `right` do not reach each other. */
export function bridgeGrudge(left: readonly string[], bridge: string, right: readonly string[]): Grudge {
  if (left.includes(bridge) || right.includes(bridge)) throw new Error(`bridge node ${bridge} must not be on either side`);
  return splitGrudge([left, right]);
}

/** A readable form for timelines: "n1 | n2 n3". */
export function describeGrudge(grudge: Grudge): string[] {
  const links: string[] = [];
  for (const [a, bs] of grudge) for (const b of bs) if (a < b) links.push(`${a}<->${b}`);
  return links.sort();
}
