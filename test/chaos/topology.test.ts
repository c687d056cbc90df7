/**
 * Chaos runs on mixed topologies, the pure parts: --topology on the command line and in the
 * replay command, which nodes clients read from and write to, and the witness-log check.
 */
import { describe, expect, it } from 'vitest';
import {
  UsageError,
  clientAddresses,
  parseChaosArgs,
  replayCommand,
  resolveOptions,
  resolveTopology,
  snapshotEveryEntriesOf,
  witnessLogBounded,
  witnessReasons,
  witnessRecordsMax,
  type ChaosRun,
  type WitnessReport,
} from '@quorumlite/chaos';
import { CONFIG_DEFAULTS } from '@quorumlite/config';
import { TOPOLOGIES } from '@quorumlite/cluster';

const seed = (): number => 7;

describe('chaos --topology', () => {
  it('takes every shipped topology and sizes the cluster from it', () => {
    for (const t of TOPOLOGIES) {
      const { options } = parseChaosArgs(['--topology', t.name], seed);
      const resolved = resolveOptions({ ...options, durationMs: 1_000 });
      expect(resolved.topology.name).toBe(t.name);
      expect(resolved.nodes).toBe(t.voters + t.witnesses + t.observers);
    }
  });

  it('--topology=NAME works too, and --nodes N alone is N data voters', () => {
    expect(resolveOptions(parseChaosArgs(['--topology=2v1w'], seed).options).topology).toMatchObject({ voters: 2, witnesses: 1, observers: 0 });
    expect(resolveOptions(parseChaosArgs(['--nodes', '5'], seed).options).topology).toMatchObject({ voters: 5, witnesses: 0, observers: 0 });
    expect(resolveOptions(parseChaosArgs([], seed).options).topology).toMatchObject({ name: '3v', voters: 3 });
  });

  it('refuses an unknown topology, naming the known ones', () => {
    expect(() => parseChaosArgs(['--topology', '2v2w'], seed)).toThrow(UsageError);
    expect(() => parseChaosArgs(['--topology', '2v2w'], seed)).toThrow(/unknown topology '2v2w'.*2v1w/);
  });

  it('refuses --nodes that disagrees with --topology, and takes one that agrees', () => {
    expect(() => parseChaosArgs(['--topology', '2v1w', '--nodes', '5'], seed)).toThrow(/topology 2v1w has 3 nodes, but 5 were asked for/);
    expect(parseChaosArgs(['--topology', '2v1w', '--nodes', '3'], seed).options.topology).toBe('2v1w');
    expect(() => resolveTopology(4, '3v2w')).toThrow(RangeError);
  });

  it('replays a witness run with its topology, and a plain run with --nodes as before', () => {
    const mixed = resolveOptions({ seed: 3, durationMs: 30_000, topology: '2v1w', nodeArgs: ['--snapshot-every-entries', '100'] });
    const cmd = replayCommand(mixed);
    expect(cmd).toContain('--topology 2v1w');
    expect(cmd).not.toContain('--nodes');
    const again = parseChaosArgs(cmd.replace(/^npm run chaos -- /, '').match(/--node-args='[^']*'|\S+/g)!.map((a) => a.replace(/^--node-args='(.*)'$/, '--node-args=$1')), seed).options;
    expect(resolveOptions(again)).toEqual(mixed);
    expect(replayCommand(resolveOptions({ seed: 3, durationMs: 1_000, nodes: 5 }))).toContain('--nodes 5');
  });
});

describe('where clients send what', () => {
  const nodes = [
    { id: 'n1', address: 'h:1', role: 'voter' },
    { id: 'n2', address: 'h:2', role: 'voter' },
    { id: 'n3', address: 'h:3', role: 'witness' },
    { id: 'n4', address: 'h:4', role: 'observer' },
  ];

  it('reads go only to nodes that keep the database; writes go to every node', () => {
    expect(clientAddresses(nodes)).toEqual({ reads: ['h:1', 'h:2', 'h:4'], writes: ['h:1', 'h:2', 'h:3', 'h:4'] });
  });

  it('with data voters alone, reads and writes go to the same nodes', () => {
    const voters = nodes.slice(0, 2);
    expect(clientAddresses(voters).reads).toEqual(clientAddresses(voters).writes);
  });
});

describe('the witness-log check', () => {
  it('takes the witness threshold from the node arguments, else the node default', () => {
    expect(snapshotEveryEntriesOf([])).toBe(CONFIG_DEFAULTS.snapshotEveryEntries);
    expect(snapshotEveryEntriesOf(['--snapshot-every-entries', '100'])).toBe(100);
    expect(snapshotEveryEntriesOf(['--tick-ms=20', '--snapshot-every-entries=250'])).toBe(250);
    expect(witnessRecordsMax(['--snapshot-every-entries', '100'])).toBe(200);
  });

  const report = (over: Partial<WitnessReport>): WitnessReport => ({
    nodeId: 'n3',
    retainedRecords: 10,
    recordsMax: 200,
    logRecords: 900,
    logBytes: 90_000,
    lastIndex: 910,
    snapshotIndex: 900,
    dataVotersHold: 910,
    error: null,
    ...over,
  });

  it('passes a witness within its bound, whatever its log files still hold', () => {
    expect(witnessReasons([report({ retainedRecords: 200, logRecords: 50_000 })])).toEqual([]);
  });

  it('fails a witness that kept more than its bound past its forget point, with its figures', () => {
    const [reason] = witnessReasons([report({ retainedRecords: 201, lastIndex: 1_101, snapshotIndex: 900 })]);
    expect(reason).toMatch(/witness n3 holds 201 records past its forget point \(at most 200 expected\): last 1101, forgot through 900/);
  });

  it('fails a witness that did not answer', () => {
    expect(witnessReasons([report({ error: 'unavailable' })])).toEqual(['witness n3: no Status after the heal: unavailable']);
  });

  it('is a verdict of the run', () => {
    const run = { witnesses: [report({ retainedRecords: 5_000 })] } as ChaosRun;
    expect(witnessLogBounded(run)).toMatchObject({ name: 'witness-log-bounded', valid: false });
    expect(witnessLogBounded({ witnesses: [report({})] } as ChaosRun).valid).toBe(true);
  });
});
