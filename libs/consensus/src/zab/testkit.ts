/** The test network for Zab cores (common/testkit.ts), and histories written as epochs. */
import type { CoreOptions, Member } from '../contract';
import { TestNet, historyOf, options, type Disk } from '../common/testkit';
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

/** A lone core on `disk`; drain() takes every Ready (persisting nothing: the test reads messages only). */
export function lone(id: string, disk: Disk, members: readonly Member[]): { core: ZabCore; drain: () => ZabMessage[] } {
  const core = new ZabCore(options(id, members), { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries] });
  return { core, drain: () => drainCore(core) };
}

/** Takes every Ready of `core` (persisting nothing) and returns the messages they sent. */
export function drainCore(core: ZabCore): ZabMessage[] {
  const out: ZabMessage[] = [];
  for (let i = 0; i < 20 && core.hasReady(); i++) {
    const rd = core.ready();
    out.push(...rd.earlyMessages, ...rd.messages);
    core.advance();
  }
  return out;
}
