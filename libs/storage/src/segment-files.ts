import * as path from 'node:path';

/** Segment files are named by the index of their first record, zero-padded so names sort. */
export const SEGMENT_NAME_DIGITS = 20;
export const SEGMENT_SUFFIX = '.seg';
const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentName(firstIndex: number): string {
  return `${String(firstIndex).padStart(SEGMENT_NAME_DIGITS, '0')}${SEGMENT_SUFFIX}`;
}

export interface SegmentFile {
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
}

/** The segment files among a directory's names, in index order; other names are ignored. */
export function segmentFiles(dir: string, names: readonly string[]): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match?.[1] === undefined) continue;
    const firstIndex = Number(match[1]);
    if (!Number.isSafeInteger(firstIndex)) continue;
    out.push({ firstIndex, name, path: path.join(dir, name) });
  }
  return out.sort((a, b) => a.firstIndex - b.firstIndex);
}
