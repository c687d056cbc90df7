import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeId, type BaseMessage, type ConsensusCore, type Entry, type LogIndex, type Member, type NodeId, type SnapshotMeta, type Term } from '@quorumlite/consensus';
import { SnapshotStore, type DurableLog } from '@quorumlite/storage';
import { unmonitoredSteps } from './loop-monitor';
import type { IndexWaiters } from './index-waiters';
import type { ReplicaLogger } from './ports';
import { Snapshots, type SnapshotsHost } from './snapshots';
import type { StateMachine } from './state-machine';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const MEMBERS: Member[] = [
  { id: nodeId('n1'), role: 'voter' },
  { id: nodeId('n2'), role: 'voter' },
  { id: nodeId('n3'), role: 'voter' },
] as Member[];
const meta = (index: number): SnapshotMeta => ({ index: index as LogIndex, term: 2 as Term, members: MEMBERS });
const entries = (from: number, to: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ index: (from + i) as LogIndex, term: 2 as Term, kind: 'noop', data: new Uint8Array(0) }) as Entry);
const quiet: ReplicaLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/**
 * A data node's Snapshots beside a real store, with the core, the log and the transport
 * recorded: what the driver would do with them is what these tests read.
 */
async function withStoredFile(logCut: number, storedAt: number, copyAt = 0, thresholds: Partial<SnapshotsHost['settings']> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-snapshots-'));
  dirs.push(dataDir);
  const store = await SnapshotStore.open(path.join(dataDir, 'snapshots'));
  const staged = store.stagingPath('local');
  fs.writeFileSync(staged, 'a copy of the database');
  await store.commit(staged, meta(storedAt));
  const seen = { kicks: 0, coreCompactions: [] as number[], coreRetains: [] as number[], logCompactions: [] as number[], logKeepFrom: [] as number[], sent: [] as string[], failed: [] as NodeId[] };
  const core = {
    compact: (m: SnapshotMeta, retain: number) => {
      seen.coreCompactions.push(m.index);
      seen.coreRetains.push(retain);
    },
    membersAt: () => MEMBERS,
    status: () => ({ progress: {} }),
  } as unknown as ConsensusCore;
  const log = {
    compact: async (m: SnapshotMeta, keepFrom: number) => {
      seen.logCompactions.push(m.index);
      seen.logKeepFrom.push(keepFrom);
    },
  } as unknown as DurableLog;
  const host: SnapshotsHost = {
    settings: { dataDir, members: MEMBERS, snapshotRetainEntries: 5, snapshotEveryEntries: 1_000_000, snapshotLogBytesMax: 1 << 40, ...thresholds },
    logger: quiet,
    steps: unmonitoredSteps,
    applied: { value: () => snapshots.handedOut() } as unknown as IndexWaiters,
    core: () => core,
    log: () => log,
    stopped: () => false,
    kick: () => void seen.kicks++,
    fail: (e: unknown) => {
      throw e;
    },
    supersededThrough: () => {},
    random: () => 0.5,
    now: () => 0,
    completed: () => {},
    transfer: {
      encode: () => new Uint8Array(4),
      counted: () => {},
      sendFile: async (_to, _message, file) => void seen.sent.push(file),
      failed: (to) => void seen.failed.push(to),
    },
  };
  // A copy of the database (copyForPeers): a file at `copyAt`. A snapshot's sync covers what was applied.
  const machine = {
    kind: 'data',
    makeDurable: async () => ({ index: snapshots.handedOut() }),
    snapshotTo: async (file: string) => {
      fs.writeFileSync(file, 'a newer copy');
      return { index: copyAt };
    },
  } as unknown as StateMachine;
  const snapshots: Snapshots = new Snapshots(host, store, machine, meta(logCut));
  const ask = (at: number): void => snapshots.send({ type: 'snap', from: nodeId('n1'), to: nodeId('n2'), snapshot: meta(at) } as BaseMessage, meta(at));
  return { snapshots, store, seen, ask };
}

describe('Snapshots: a stored file newer than the snapshot the core asks to send', () => {
  it('becomes the snapshot (a compaction dropped by a stop): the core and the log are cut there, and the next ask sends it', async () => {
    const { snapshots, store, seen, ask } = await withStoredFile(30, 50);
    snapshots.noteApplied(entries(31, 60)); // the core handed out past the file again
    ask(30);
    expect(seen.failed).toEqual([nodeId('n2')]); // the core hears the send failed, and asks again later
    expect(seen.sent).toEqual([]);
    expect(snapshots.hasPendingCompaction()).toBe(true);
    expect(seen.kicks).toBe(1);
    await snapshots.compactPending();
    expect(seen.coreCompactions).toEqual([50]);
    expect(seen.logCompactions).toEqual([50]);
    expect(snapshots.index()).toBe(50);
    ask(50);
    await snapshots.settled();
    expect(seen.sent).toEqual([store.latest()!.path]);
    expect(seen.failed).toEqual([nodeId('n2')]);
  });

  it('waits until the core has handed out the file\'s index again (after a restart), and makes no copy meanwhile', async () => {
    const { snapshots, seen, ask } = await withStoredFile(30, 50);
    snapshots.noteApplied(entries(31, 40));
    ask(30);
    expect(snapshots.hasPendingCompaction()).toBe(false);
    expect(seen.kicks).toBe(0);
    await snapshots.settled(); // no copy started: the file will do once the core catches up
    expect(seen.logCompactions).toEqual([]);
    snapshots.noteApplied(entries(41, 50));
    ask(30);
    expect(snapshots.hasPendingCompaction()).toBe(true);
    await snapshots.compactPending();
    expect(snapshots.index()).toBe(50);
    expect(seen.coreCompactions).toEqual([50]);
  });

  it('is not taken when it is older than the snapshot asked for: a copy is made instead', async () => {
    const { snapshots, store, seen, ask } = await withStoredFile(60, 50, 70);
    snapshots.noteApplied(entries(61, 70));
    ask(60);
    await snapshots.settled();
    expect(store.latest()!.meta.index).toBe(70);
    expect(snapshots.hasPendingCompaction()).toBe(true);
    await snapshots.compactPending();
    expect(seen.coreCompactions).toEqual([70]);
  });

  it('leaves a compaction already pending alone: the next ask finds the file the snapshot', async () => {
    const { snapshots, seen, ask } = await withStoredFile(30, 50);
    snapshots.noteApplied(entries(31, 60));
    ask(30);
    ask(30); // asked again before the loop ran the compaction
    expect(seen.kicks).toBe(1);
    await snapshots.compactPending();
    expect(snapshots.hasPendingCompaction()).toBe(false);
    expect(seen.logCompactions).toEqual([50]);
  });
});

describe('Snapshots: the records a cut keeps behind it', () => {
  const sized = (from: number, to: number, bytes: number): Entry[] =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ index: (from + i) as LogIndex, term: 2 as Term, kind: 'command', data: new Uint8Array(bytes) }) as Entry);

  it('are counted when the snapshot begins, from the records before it, not after the schedule restarts', async () => {
    // A sixteenth of 16,000 bytes: 1,000 bytes behind a cut. Snapshots every 20 records or
    // 1,000 bytes, stretched by this host's draw of 0.5 to 22.5 records or 889 bytes.
    const { snapshots, seen } = await withStoredFile(0, 0, 0, { snapshotRetainEntries: 50, snapshotEveryEntries: 20, snapshotLogBytesMax: 16_000 });
    snapshots.noteApplied(sized(1, 24, 10)); // 240 bytes in 24 records: due by count
    snapshots.maybeSnapshot();
    await snapshots.settled();
    await snapshots.compactPending();
    expect(seen.coreCompactions).toEqual([24]);
    expect(seen.coreRetains).toEqual([50]); // 1,000 bytes hold 100 such records: the configured 50
    snapshots.noteApplied(sized(25, 28, 300)); // 1,200 bytes in 4 records: due by bytes
    snapshots.maybeSnapshot();
    await snapshots.settled();
    await snapshots.compactPending();
    // 1,440 bytes in the 28 records of this interval and the one before: 1,000 × 28 / 1,440 =
    // 19. Read after the restart (the 4 large records alone) it would have been the minimum, 8.
    expect(seen.coreCompactions).toEqual([24, 28]);
    expect(seen.coreRetains).toEqual([50, 19]);
    expect(seen.logKeepFrom).toEqual([1, 28 - 19 + 1]);
  });
});
