import { describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '../contract';
import { WireReader, WireWriter } from './wire';

const entriesOf = (sizes: readonly number[]): Entry[] => sizes.map((n, i) => ({ index: logIndex(i + 1), term: term(1), kind: 'command', data: new Uint8Array(n).fill(i + 1) }));

function encoded(entries: readonly Entry[]): Uint8Array {
  const w = new WireWriter('test');
  w.entries(1, entries);
  return new Uint8Array(w.finish());
}

/** `bytes` placed at `at` in a buffer of `size` bytes, as a frame or Node's pool holds a message. */
function inBuffer(bytes: Uint8Array, size: number, at = 100): Uint8Array {
  const buffer = new Uint8Array(size);
  buffer.set(bytes, at);
  return buffer.subarray(at, at + bytes.length);
}

const read = (bytes: Uint8Array): Entry[] => new WireReader(bytes, 'test').entries(1);
const shape = (entries: readonly Entry[]): [number, number, number][] => entries.map((e) => [e.data.byteLength, e.data.buffer.byteLength, e.data[0]!]);

describe('records read from a message', () => {
  it('are copied out of a buffer shared with much else (a pool slab), so they do not keep it alive', () => {
    expect(shape(read(inBuffer(encoded(entriesOf([10, 200])), 8192)))).toEqual([
      [10, 10, 1],
      [200, 200, 2],
    ]);
  });

  it('are copied out when small beside the rest of their own message (one record of a frame of many)', () => {
    const bytes = encoded(entriesOf([100, 8_000]));
    const entries = read(bytes);
    expect(entries[0]!.data.buffer).not.toBe(bytes.buffer);
    expect(entries[0]!.data.buffer.byteLength).toBe(100);
    // More than half of the buffer: a view, not copied again.
    expect(entries[1]!.data.buffer).toBe(bytes.buffer);
  });

  it('stay views when they fill most of a buffer they share: a large record is not copied again', () => {
    const entries = read(inBuffer(encoded(entriesOf([64 * 1024, 3])), 64 * 1024 + 300));
    expect(entries[0]!.data.byteLength).toBe(64 * 1024);
    expect(entries[0]!.data.buffer.byteLength).toBe(64 * 1024 + 300);
    expect(entries[0]!.data[0]).toBe(1);
  });

  it('stay views while the rest of the buffer is at most 4 KiB, and are copied past that', () => {
    const bytes = encoded(entriesOf([10]));
    const within = read(inBuffer(bytes, 4096 + 10, 0));
    expect(within[0]!.data.buffer.byteLength).toBe(4096 + 10);
    const past = read(inBuffer(bytes, 4096 + 11, 0));
    expect(past[0]!.data.buffer.byteLength).toBe(10);
  });
});
