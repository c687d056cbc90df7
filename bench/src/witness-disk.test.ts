import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_NAMES } from '@quorumlite/consensus';
import { BenchArgsError } from './args';
import { directoryBytes, parseWitnessDiskArgs, renderWitnessDisk } from './witness-disk';

describe('bench witness-disk arguments', () => {
  it('defaults: every protocol, 2v1w, 100,000 writes, 64 in flight', () => {
    expect(parseWitnessDiskArgs([])).toMatchObject({ protocols: [...PROTOCOL_NAMES], topology: { name: '2v1w' }, writes: 100_000, concurrency: 64, pollMs: 500, nodeArgs: [] });
  });

  it('reads every flag; --protocol is one protocol', () => {
    const s = parseWitnessDiskArgs(['--protocol', 'zab', '--topology', '3v2w', '--writes', '500', '--concurrency', '8', '--poll-ms', '100', '--node-args=--snapshot-every-entries 50', '--out', '/tmp/x']);
    expect(s).toMatchObject({ protocols: ['zab'], topology: { name: '3v2w', witnesses: 2 }, writes: 500, concurrency: 8, pollMs: 100, nodeArgs: ['--snapshot-every-entries', '50'], outDir: '/tmp/x' });
  });

  it('refuses an unknown topology, --protocol with --protocols, and stray arguments', () => {
    expect(() => parseWitnessDiskArgs(['--topology', '9v'])).toThrow(/--topology: unknown topology '9v'/);
    expect(() => parseWitnessDiskArgs(['--protocol', 'raft', '--protocols', 'zab'])).toThrow(BenchArgsError);
    expect(() => parseWitnessDiskArgs(['raft'])).toThrow(/unexpected argument 'raft'/);
    expect(() => parseWitnessDiskArgs(['--writes', '0'])).toThrow(BenchArgsError);
  });
});

describe('bench witness-disk figures', () => {
  it('counts the bytes of every file below a directory, and 0 for one that is gone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-test-'));
    try {
      fs.mkdirSync(path.join(dir, 'log'));
      fs.writeFileSync(path.join(dir, 'a'), Buffer.alloc(10));
      fs.writeFileSync(path.join(dir, 'log', 'b'), Buffer.alloc(32));
      expect(directoryBytes(dir)).toBe(42);
      expect(directoryBytes(path.join(dir, 'missing'))).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders a row per node, with the witness log figures on the witness only', () => {
    const text = renderWitnessDisk([
      {
        protocol: 'raft',
        topology: '2v1w',
        writesOk: 10,
        writesFailed: 0,
        loadMs: 1_000,
        failure: null,
        nodes: [
          { id: 'n1', role: 'voter', bytesEnd: 2_000_000, bytesPeak: 2_500_000, logRecordsEnd: null, logRecordsPeak: null, logBytesEnd: null, retainedEnd: null, retainedPeak: null },
          { id: 'n3', role: 'witness', bytesEnd: 1_000_000, bytesPeak: 1_500_000, logRecordsEnd: 30, logRecordsPeak: 40, logBytesEnd: 900_000, retainedEnd: 3, retainedPeak: 12 },
        ],
      },
    ]);
    expect(text).toMatch(/^raft +n1 +voter +2\.00 MB +2\.50 MB *$/m);
    expect(text).toMatch(/^raft +n3 +witness +1\.00 MB +1\.50 MB +30\/40, 0\.90 MB; 3\/12$/m);
    expect(text).toContain('10 writes ok, 0 failed, in 1.0 s');
  });
});
