import { describe, expect, it } from 'vitest';
import type { FileHandle } from 'node:fs/promises';
import { writeChunksFully } from './files';

/** A file whose every write stops after at most `writeBytesMax` bytes, as a short write may. */
function shortWritingFile(writeBytesMax: number): { handle: FileHandle; bytes: () => Buffer } {
  const file = Buffer.alloc(64);
  const handle = {
    writev: async (chunks: Uint8Array[], position: number) => {
      const all = Buffer.concat(chunks).subarray(0, writeBytesMax);
      all.copy(file, position);
      return { bytesWritten: all.length, buffers: chunks };
    },
  };
  return { handle: handle as unknown as FileHandle, bytes: () => file };
}

describe('writeChunksFully', () => {
  it('continues a short gathered write where it stopped, inside a chunk or between chunks', async () => {
    for (const writeBytesMax of [1, 2, 3, 5, 64]) {
      const { handle, bytes } = shortWritingFile(writeBytesMax);
      await writeChunksFully(handle, [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defgh'), Buffer.from('i')], 4);
      expect(bytes().subarray(0, 13).toString('latin1'), `writes of at most ${writeBytesMax} bytes`).toBe('\0\0\0\0abcdefghi');
    }
  });
});
