/**
 * The simulated network's topology: which directed links are cut. Delay, loss, duplication
 * and reordering are decided per message by the simulator; this only answers "can a byte
 * go from a to b right now" and describes the current partition for the trace.
 */
import type { NodeId } from '../contract';

export type PartitionKind =
  /** Random split into two non-empty sides. */
  | 'split'
  /** One node cut off from everyone. */
  | 'isolate'
  /** A split where one node still talks to both sides. */
  | 'bridge'
  /** One node's outgoing links cut, its incoming ones intact. */
  | 'one_way'
  /** One node's incoming links cut, its outgoing ones intact: it sends and hears nothing (a leader so cut is "send-only"). */
  | 'deaf';

export class SimNetwork {
  private readonly blocked = new Set<string>();
  private description = 'healed';

  constructor(private readonly nodes: readonly NodeId[]) {}

  linkUp(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  isPartitioned(): boolean {
    return this.blocked.size > 0;
  }

  describe(): string {
    return this.description;
  }

  heal(): void {
    this.blocked.clear();
    this.description = 'healed';
  }

  /** Apply a partition; `random` picks sides and nodes. Replaces any current partition. */
  partition(kind: PartitionKind, random: () => number): void {
    this.heal();
    const shuffled = shuffle(this.nodes, random);
    switch (kind) {
      case 'split': {
        const cut = 1 + Math.floor(random() * (shuffled.length - 1));
        this.cutBetween(shuffled.slice(0, cut), shuffled.slice(cut));
        return;
      }
      case 'isolate':
        this.cutBetween(shuffled.slice(0, 1), shuffled.slice(1));
        return;
      case 'bridge': {
        const [bridge, ...rest] = shuffled;
        const cut = 1 + Math.floor(random() * (rest.length - 1));
        this.cutBetween(rest.slice(0, cut), rest.slice(cut));
        this.description += ` bridge ${bridge}`;
        return;
      }
      case 'one_way': {
        const [mute, ...rest] = shuffled;
        for (const other of rest) this.blocked.add(`${mute}>${other}`);
        this.description = `one-way ${mute} -/-> others`;
        return;
      }
      case 'deaf': {
        const [deaf, ...rest] = shuffled;
        for (const other of rest) this.blocked.add(`${other}>${deaf}`);
        this.description = `one-way others -/-> ${deaf}`;
        return;
      }
    }
  }

  private cutBetween(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}>${y}`);
        this.blocked.add(`${y}>${x}`);
      }
    }
    this.description = `{${a.join(',')}} | {${b.join(',')}}`;
  }
}

/** Fisher-Yates with the injected PRNG, so partitions are reproducible. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}
