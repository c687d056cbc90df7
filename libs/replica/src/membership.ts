/**
 * The members this node works with, and where each one is reached. A protocol that changes
 * membership at runtime names its configuration in its status (Raft: the latest in its log,
 * committed or not); a static one leaves the list the node booted with. Addresses come from
 * the configuration records themselves, the database's applied list (a snapshot carries it),
 * and the boot list — a member named without any is kept with an empty address and logged.
 */
import { decodeConfig, type Entry, type Member, type MemberSpec } from '@quorumlite/consensus';
import type { ReplicaLogger } from './ports';

export interface ReplicaMember {
  readonly id: string;
  readonly address: string;
  readonly role: Member['role'];
}

export interface MembershipHost {
  readonly nodeId: string;
  readonly logger: ReplicaLogger;
  /** The transport's peers: every member but this node. */
  setPeers(peers: readonly { id: string; address: string }[]): void;
}

export class Membership {
  /** The members in use by id; shared by reference (forwarding, transfers), changed in place. */
  readonly byId = new Map<string, ReplicaMember>();
  private readonly addresses = new Map<string, string>();
  private readonly unreachableLogged = new Set<string>();
  private signature = '';

  constructor(
    boot: readonly ReplicaMember[],
    private readonly host: MembershipHost,
  ) {
    for (const m of boot) this.addresses.set(m.id, m.address);
    this.replace(boot);
  }

  list(): ReplicaMember[] {
    return [...this.byId.values()];
  }

  /** Addresses a member list carries (the database's applied list, a config record's). */
  learn(members: readonly MemberSpec[]): void {
    for (const m of members) if (m.address !== '') this.addresses.set(m.id, m.address);
  }

  /**
   * The core's configuration (undefined: a static protocol, nothing changes). Returns whether
   * the members or their roles changed; the transport then dials the new list.
   */
  refresh(configuration: readonly Member[] | undefined): boolean {
    if (configuration === undefined) return false;
    for (const m of configuration) if (m.address !== undefined && m.address !== '') this.addresses.set(m.id, m.address);
    const next = configuration.map((m) => ({ id: m.id, role: m.role, address: this.addresses.get(m.id) ?? '' }));
    const signature = next.map((m) => `${m.id}=${m.address}:${m.role}`).join(',');
    if (signature === this.signature) return false;
    this.replace(next);
    this.host.logger.info('members changed', { members: signature });
    return true;
  }

  private replace(next: readonly ReplicaMember[]): void {
    this.signature = next.map((m) => `${m.id}=${m.address}:${m.role}`).join(',');
    this.byId.clear();
    for (const m of next) this.byId.set(m.id, m);
    for (const m of next) {
      if (m.address !== '' || m.id === this.host.nodeId || this.unreachableLogged.has(m.id)) continue;
      this.unreachableLogged.add(m.id);
      this.host.logger.warn('a member has no known address: this node cannot send to it until a member list names one', { member: m.id });
    }
    this.host.setPeers(next.filter((m) => m.id !== this.host.nodeId && m.address !== '').map((m) => ({ id: m.id, address: m.address })));
  }
}

/**
 * The member lists of the config records applied since the log's snapshot, by index: a
 * snapshot (or a witness's forgetting) at index i carries the list in force at i, which a node
 * booted from it then starts with. Below every record: the snapshot's list, or the boot list.
 */
export class AppliedConfigs {
  private runs: { index: number; members: readonly Member[] }[] = [];

  constructor(private base: readonly Member[]) {}

  noteApplied(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.kind !== 'config') continue;
      try {
        this.runs.push({ index: e.index, members: decodeConfig(e.data) });
      } catch {
        // Applied as a failed outcome on every replica: the list in force stays.
      }
    }
  }

  /** The list in force at `index`. */
  at(index: number): readonly Member[] {
    let members = this.base;
    for (const run of this.runs) {
      if (run.index > index) break;
      members = run.members;
    }
    return members;
  }

  /** A snapshot at `index` was taken: the list there becomes the base. */
  forgetThrough(index: number): void {
    this.base = this.at(index);
    this.runs = this.runs.filter((r) => r.index > index);
  }

  /** The log restarts from a snapshot (installed, or a core built again): its list is the base. */
  reset(members: readonly Member[]): void {
    this.base = members;
    this.runs = [];
  }
}
