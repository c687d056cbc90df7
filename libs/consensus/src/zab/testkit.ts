/** The test network for Zab cores (common/testkit.ts), and histories written as epochs. */
import type { CoreOptions, Member } from '../contract';
import { TestNet, historyOf, type Disk } from '../common/testkit';
import { ZabCore } from './core';
import type { ZabMessage } from './messages';

export { bytes, text, voters, observer, emptyDisk, historyOf, type Disk } from '../common/testkit';

export function diskOf(acceptedEpoch: number, currentEpoch: number, epochs: readonly number[]): Disk {
  return { hardState: { acceptedEpoch, currentEpoch }, snapshot: null, entries: historyOf(epochs) };
}

export class ZabNet extends TestNet<ZabMessage> {
  constructor(members: readonly Member[], over: Partial<CoreOptions> = {}, disks: Readonly<Record<string, Disk>> = {}) {
    super((options, persisted) => new ZabCore(options, persisted), members, over, disks);
  }

  epochsOnDisk(id: string): number[] {
    return this.termsOnDisk(id);
  }
}
