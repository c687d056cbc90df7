/** The state-machine port: a witness serves nothing and takes positions; a data node checks snapshot files. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logIndex, term, type Entry } from '@quorumlite/consensus';
import { ReplicaError } from './errors';
import { SqlData, Witness } from './state-machine';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-sm-'));
  dirs.push(d);
  return d;
}

const noop = (index: number): Entry => ({ index: logIndex(index), term: term(1), kind: 'noop', data: new Uint8Array() });

describe('Witness', () => {
  it('refuses writes as unavailable (it leads only for a while) and reads as refused, naming the leader', () => {
    const w = new Witness('n3', 0);
    const hint = { leaderId: 'n1', leaderAddress: 'a:1' };
    const refusal = (request: 'write' | 'read'): ReplicaError => {
      try {
        w.assertServes(request, hint);
      } catch (e: unknown) {
        if (e instanceof ReplicaError) return e;
      }
      throw new Error(`a witness served a ${request}`);
    };
    expect(refusal('write')).toMatchObject({ code: 'unavailable', message: 'node n3 is a witness that leads only until a data voter holds its records; retry shortly', details: hint });
    expect(refusal('read')).toMatchObject({ code: 'refused', message: 'node n3 is a witness: it keeps no database; read from a voter or an observer (the leader is n1)', details: hint });
    expect(() => w.assertServes('read', { leaderId: 'n3', leaderAddress: null })).toThrow(/observer$/);
  });

  it('starts at its log snapshot, applies nothing but the position, and keeps no durable applied index', () => {
    const w = new Witness('n3', 7);
    expect(w.appliedIndex()).toBe(7);
    expect(w.applyBatch([noop(8), noop(9)])).toBeNull();
    expect(w.appliedIndex()).toBe(9);
    expect(w.durableAppliedIndex()).toBeNull();
    expect(w.digest()).toBeNull();
    expect(w.checkSnapshotFile()).toEqual({ ok: true });
  });
});

describe('SqlData', () => {
  it('serves both kinds of request, applies, and refuses a snapshot file at another index or unreadable', async () => {
    const dir = tempDir();
    const data = SqlData.open(path.join(dir, 'db.sqlite'));
    try {
      data.assertServes();
      expect(data.applyBatch([noop(1)])).toHaveLength(1);
      expect(data.appliedIndex()).toBe(1);
      expect(data.durableAppliedIndex()).toBe(1);
      const file = path.join(dir, 'snap');
      expect(await data.snapshotTo(file)).toEqual({ index: 1 });
      expect(data.checkSnapshotFile(file, 1)).toEqual({ ok: true });
      expect(data.checkSnapshotFile(file, 2)).toEqual({ ok: false, why: 'the snapshot for index 2 holds a database at applied index 1' });
      fs.writeFileSync(path.join(dir, 'junk'), 'not a database');
      const junk = data.checkSnapshotFile(path.join(dir, 'junk'), 1);
      expect(junk.ok === false && 'cause' in junk).toBe(true);
    } finally {
      data.close();
    }
  });
});
