/** The test network for Multi-Paxos cores (common/testkit.ts). */
import type { CoreOptions, Entry, Member } from '../contract';
import { TestNet, options, type Disk } from '../common/testkit';
import type { PaxosSettings } from './config';
import { PaxosCore, RESEND_ELECTION_TIMEOUTS } from './core';
import type { PaxosMessage } from './messages';

export { bytes, text, voters, observer, emptyDisk, type Disk } from '../common/testkit';

export function diskOf(promised: number, entries: readonly Entry[]): Disk {
  return { hardState: { promised }, snapshot: null, entries: [...entries] };
}

export class PaxosNet extends TestNet<PaxosMessage> {
  /** Ticks after which a leader takes Accepts lost that a heartbeat answer says are missing. */
  readonly resendTicks: number;

  /** `settings`: the cluster's own (α), as every core of it is built with. */
  constructor(members: readonly Member[], over: Partial<CoreOptions> = {}, disks: Readonly<Record<string, Disk>> = {}, settings: Partial<PaxosSettings> = {}) {
    super((o, persisted) => new PaxosCore(o, persisted, settings), members, over, disks);
    this.resendTicks = RESEND_ELECTION_TIMEOUTS * options('n1', members, over).electionTimeoutTicks;
  }
}
