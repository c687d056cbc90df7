import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry, EntryKind } from '@quorumlite/consensus';
import { logIndex, term } from '@quorumlite/consensus';

/** A fresh directory under the OS temp dir; remove it with removeTempDir. */
export async function makeTempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'quorumlite-storage-'));
}

export async function removeTempDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export function entry(index: number, t = 1, payload = `cmd-${index}`, kind: EntryKind = 'command'): Entry {
  return { index: logIndex(index), term: term(t), kind, data: new Uint8Array(Buffer.from(payload)) };
}

export function entries(from: number, to: number, t = 1, payloadBytes = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i += 1) {
    out.push(payloadBytes > 0 ? entry(i, t, String(i).padEnd(payloadBytes, '.')) : entry(i, t));
  }
  return out;
}

/** Comparable view of entries (Uint8Array vs Buffer subarrays compare by content). */
export function plain(list: readonly Entry[]): Array<{ index: number; term: number; kind: EntryKind; data: string }> {
  return list.map((e) => ({ index: e.index, term: e.term, kind: e.kind, data: Buffer.from(e.data).toString() }));
}

export async function segmentNames(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

/** Damages one byte in place (XOR with `mask`), as a disk error would. */
export function flipByte(buf: Buffer, at: number, mask = 0x01): void {
  buf.writeUInt8((buf.readUInt8(at) ^ mask) & 0xff, at);
}
