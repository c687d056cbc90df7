import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '../contract';
import { WireReader, WireWriter } from './wire';

const entriesOf = (sizes: readonly number[]): Entry[] => sizes.map((n, i) => ({ index: logIndex(i + 1), term: term(1), kind: 'command', data: new Uint8Array(n).fill(i + 1) }));

function encoded(entries: readonly Entry[]): Uint8Array {
  const w = new WireWriter('test');
  w.entries(1, entries);
  return w.finish();
}

describe('records read from a message', () => {
  it('are copied out of a buffer shared with much else, so they do not keep it alive', () => {
    const bytes = encoded(entriesOf([10, 200]));
    const slab = new Uint8Array(8192);
    slab.set(bytes, 100);
    const read = new WireReader(slab.subarray(100, 100 + bytes.length), 'test').entries(1);
    expect(read.map((e) => [e.data.byteLength, e.data.buffer.byteLength, e.data[0]])).toEqual([
      [10, 10, 1],
      [200, 200, 2],
    ]);
  });

  it('stay views of a message that owns its buffer: a large record is not copied again', () => {
    const bytes = encoded(entriesOf([64 * 1024, 3]));
    const own = new Uint8Array(bytes);
    const read = new WireReader(own, 'test').entries(1);
    expect(read.every((e) => e.data.buffer === own.buffer)).toBe(true);
    expect(read.map((e) => [e.data.byteLength, e.data[0]])).toEqual([
      [64 * 1024, 1],
      [3, 2],
    ]);
  });
});
