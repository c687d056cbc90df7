/**
 * The members this node works with, and where each one is reached. A protocol that changes
 * membership at runtime names its configuration in its status (Raft: the latest in its log,
 * committed or not); a static one leaves the list the node booted with. Addresses come from
 * the configuration records themselves, the database's applied list (a snapshot carries it),
 * and the boot list — a member named without any is kept with an empty address and logged.
 *
 * A configuration that does not name this node is one it learns while it catches up through
 * older slots or records (a new member relearning the history before it was added), or one
 * that removed it. Either way the transport keeps the peers it had besides the ones that
 * configuration names: a new member dropping the leader that is catching it up — a member only
 * of a later configuration — would refuse its stream and stall for good.
 */
import type { Member, MemberSpec } from '@quorumlite/consensus';
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
  /** Members of the configuration before the current one while it is uncommitted, and no members now (refresh's `before`). */
  readonly leavingById = new Map<string, ReplicaMember>();
  private readonly addresses = new Map<string, string>();
  private readonly unreachableLogged = new Set<string>();
  private signature = '';
  /** The transport's peers as last set. */
  private peers: readonly { id: string; address: string }[] = [];

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
   * The core's configuration (undefined: a static protocol, nothing changes), and the members
   * of the one before it while it is uncommitted (`before`): the core still sends them records
   * (a new leader may take the change back), so the transport keeps dialling them, though they
   * are no members. Returns whether the members or their roles changed.
   */
  refresh(configuration: readonly Member[] | undefined, before: readonly Member[] = []): boolean {
    if (configuration === undefined) return false;
    for (const m of configuration) if (m.address !== undefined && m.address !== '') this.addresses.set(m.id, m.address);
    const next = configuration.map((m) => ({ id: m.id, role: m.role, address: this.addresses.get(m.id) ?? '' }));
    const leaving = before.filter((m) => !configuration.some((c) => c.id === m.id)).map((m) => ({ id: m.id, role: m.role, address: this.addresses.get(m.id) ?? '' }));
    const signature = [...next, ...leaving.map((m) => ({ ...m, role: 'leaving' }))].map((m) => `${m.id}=${m.address}:${m.role}`).join(',');
    if (signature === this.signature) return false;
    this.replace(next, leaving, !configuration.some((m) => m.id === this.host.nodeId));
    this.host.logger.info('members changed', { members: signature });
    return true;
  }

  private replace(next: readonly ReplicaMember[], leaving: readonly ReplicaMember[] = [], keepPeers = false): void {
    this.signature = [...next, ...leaving.map((m) => ({ ...m, role: 'leaving' }))].map((m) => `${m.id}=${m.address}:${m.role}`).join(',');
    this.byId.clear();
    for (const m of next) this.byId.set(m.id, m);
    this.leavingById.clear();
    for (const m of leaving) this.leavingById.set(m.id, m);
    for (const m of next) {
      if (m.address !== '' || m.id === this.host.nodeId || this.unreachableLogged.has(m.id)) continue;
      this.unreachableLogged.add(m.id);
      this.host.logger.warn('a member has no known address: this node cannot send to it until a member list names one', { member: m.id });
    }
    const peers = new Map<string, string>(keepPeers ? this.peers.map((p) => [p.id, p.address]) : []);
    for (const m of [...next, ...leaving]) if (m.id !== this.host.nodeId && m.address !== '') peers.set(m.id, m.address);
    this.peers = [...peers].map(([id, address]) => ({ id, address }));
    this.host.setPeers(this.peers);
  }
}

