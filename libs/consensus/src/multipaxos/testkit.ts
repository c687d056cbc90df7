/** The test network for Multi-Paxos cores (common/testkit.ts). */
import type { CoreOptions, Entry, Member } from '../contract';
import { TestNet, type Disk } from '../common/testkit';
import { PaxosCore } from './core';
import type { PaxosMessage } from './messages';

export { bytes, text, voters, observer, emptyDisk, type Disk } from '../common/testkit';

export function diskOf(promised: number, entries: readonly Entry[]): Disk {
  return { hardState: { promised }, snapshot: null, entries: [...entries] };
}

export class PaxosNet extends TestNet<PaxosMessage> {
  constructor(members: readonly Member[], over: Partial<CoreOptions> = {}, disks: Readonly<Record<string, Disk>> = {}) {
    super((options, persisted) => new PaxosCore(options, persisted), members, over, disks);
  }
}
