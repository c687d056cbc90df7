import { describe, expect, it } from 'vitest';
import type { Entry } from '@quorumlite/consensus';
import { ENTRY_GATHER_BYTES_MIN, encodedEntryBytes, encodeEntryChunks, encodeEntryInto, findRecordAfter, scanSegment } from './record';
import { entries, entry, plain, flipByte } from './test-support';

function encodeAll(list: readonly Entry[]): { buf: Buffer; offsets: number[] } {
  const buf = Buffer.alloc(list.reduce((n, e) => n + encodedEntryBytes(e), 0));
  const offsets: number[] = [];
  let at = 0;
  for (const e of list) {
    offsets.push(at);
    at = encodeEntryInto(e, buf, at);
  }
  return { buf, offsets };
}

describe('record codec', () => {
  it('gathers a large entry from its own bytes: the chunks are the records encodeEntryInto writes, byte for byte', () => {
    const large = (index: number, fill: number): Entry => ({ ...entry(index, 3), data: new Uint8Array(ENTRY_GATHER_BYTES_MIN + index).fill(fill) });
    const list = [entry(1, 1), large(2, 0xaa), large(3, 0xbb), entry(4, 3), entry(5, 3), large(6, 0xcc)];
    const bytes = list.reduce((n, e) => n + encodedEntryBytes(e), 0);
    const chunks = encodeEntryChunks(list, bytes);
    expect(Buffer.concat(chunks)).toEqual(encodeAll(list).buf);
    // The large entries travel as they are, not as copies.
    for (const e of [list[1]!, list[2]!, list[5]!]) expect(chunks).toContain(e.data);
    expect(chunks).toHaveLength(6);
  });

  it('round-trips entries of every kind, empty data and large indices and terms', () => {
    const list = [entry(2 ** 40, 2 ** 33 + 5), { ...entry(2 ** 40 + 1, 7, ''), kind: 'noop' as const }, { ...entry(2 ** 40 + 2, 7, 'members'), kind: 'config' as const }];
    const { buf, offsets } = encodeAll(list);
    const scan = scanSegment(buf, 2 ** 40, 0);
    expect(scan.problem).toBeNull();
    expect(scan.offsets).toEqual(offsets);
    expect(plain(scan.entries)).toEqual(plain(list));
  });

  it('emits only entries above emitAfter but keeps every offset', () => {
    const { buf } = encodeAll(entries(1, 5));
    const scan = scanSegment(buf, 1, 3);
    expect(scan.offsets).toHaveLength(5);
    expect(scan.entries.map((e) => e.index)).toEqual([4, 5]);
  });

  it('reports a checksum mismatch as possibly torn, with the record index', () => {
    const { buf, offsets } = encodeAll(entries(1, 3));
    const third = offsets[2] as number;
    flipByte(buf, third + 20, 0xff);
    const scan = scanSegment(buf, 1, 0);
    expect(scan.goodBytes).toBe(third);
    expect(scan.problem).toEqual({ mayBeTorn: true, reason: 'checksum mismatch (record for index 3)' });
  });

  it('reports an intact record with the wrong index as damage, never torn', () => {
    const { buf } = encodeAll([entry(1), entry(3)]);
    const scan = scanSegment(buf, 1, 0);
    expect(scan.problem?.mayBeTorn).toBe(false);
    expect(scan.problem?.reason).toContain('index 3 where index 2 belongs');
  });

  it('finds an intact record after a damaged one, and none in trailing zeros', () => {
    const { buf, offsets } = encodeAll(entries(1, 4));
    const second = offsets[1] as number;
    buf[second + 3] = 0x7f; // impossible length
    expect(findRecordAfter(buf, second, 2)).toBe(offsets[2]);
    const zeros = Buffer.concat([encodeAll(entries(1, 1)).buf, Buffer.alloc(100)]);
    expect(findRecordAfter(zeros, zeros.length - 100, 2)).toBeNull();
  });
});
