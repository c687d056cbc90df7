import { PROTOCOL_NAMES, PROTOCOLS } from '@quorumlite/consensus';
import { ballotOf } from '@quorumlite/consensus/multipaxos';
import { describe, expect, it } from 'vitest';
import { BenchArgsError } from './args';
import { parsePartitionArgs } from './partition';
import {
  candidaciesInLog,
  fenceJumpsOver1,
  firstWriteAfterMs,
  logsRoleChanges,
  longestGapMs,
  measureTrial,
  planScenario,
  candidacyTally,
  renderCandidacyTally,
  renderPartitionTable,
  simultaneousCandidates,
  leaderlessRounds,
  spreadOf,
  summarizeScenario,
  PARTITION_SCENARIOS,
  type FaultStep,
  type PartitionTrial,
  type TrialRecord,
  type WriteOp,
} from './partition-metrics';

function op(startMs: number, endMs: number, ok = true, node = 'n1'): WriteOp {
  return { node, startMs, endMs, ok };
}

describe('bench partition arguments', () => {
  it('parses its flags with defaults and names a bad one', () => {
    expect(parsePartitionArgs([])).toMatchObject({ protocols: [...PROTOCOL_NAMES], scenarios: [...PARTITION_SCENARIOS], trials: 3, writers: 6, holdMs: 2000, settleMs: 1000, nodeArgs: [] });
    expect(parsePartitionArgs(['--trials', '5', '--hold-ms', '800', '--scenarios', 'shift, leader-blackhole', '--protocols', 'zab', '--node-args=--tick-ms 10'])).toMatchObject({
      trials: 5,
      holdMs: 800,
      scenarios: ['shift', 'leader-blackhole'],
      protocols: ['zab'],
      nodeArgs: ['--tick-ms', '10'],
    });
    expect(() => parsePartitionArgs(['--writers', '0'])).toThrow(/--writers: '0' is not a positive integer/);
    expect(() => parsePartitionArgs(['--scenarios', 'shift,split-brain'])).toThrow(`--scenarios: unknown scenario 'split-brain' (known: ${PARTITION_SCENARIOS.join(', ')})`);
    expect(() => parsePartitionArgs(['--scenarios', ','])).toThrow(/give at least one scenario/);
    expect(() => parsePartitionArgs(['--protocols', 'vr'])).toThrow(/unknown protocol 'vr'/);
    expect(() => parsePartitionArgs(['--bogus'])).toThrow(BenchArgsError);
    expect(() => parsePartitionArgs(['extra'])).toThrow(/unexpected argument 'extra'/);
  });
});

describe('bench partition scenarios', () => {
  it('isolates the leader both ways, then heals it', () => {
    const [cut, heal] = planScenario('leader-blackhole', 'n1', ['n2', 'n3'], 1000);
    expect(cut).toMatchObject({ atMs: 0, mode: 'blackhole', cutOff: ['n1'], healed: [], faults: true });
    expect(cut!.cuts).toEqual([
      ['n1', 'n2'],
      ['n2', 'n1'],
      ['n1', 'n3'],
      ['n3', 'n1'],
    ]);
    expect(heal).toEqual({ atMs: 1000, cuts: [], mode: 'refuse', cutOff: [], healed: ['n1'], faults: false });
  });

  it('shifts the isolation from one follower to the other at the instant the first heals', () => {
    const steps = planScenario('shift', 'n1', ['n2', 'n3'], 500);
    expect(steps.map((s) => [s.atMs, s.cutOff, s.healed, s.faults])).toEqual([
      [0, ['n2'], [], true],
      [500, ['n3'], ['n2'], true],
      [1000, [], ['n3'], false],
    ]);
    expect(steps[1]!.cuts).toEqual([
      ['n3', 'n1'],
      ['n1', 'n3'],
      ['n3', 'n2'],
      ['n2', 'n3'],
    ]);
  });

  it('cuts the leader one way: it can only receive, or only send', () => {
    expect(planScenario('leader-receive-only', 'n2', ['n1', 'n3'], 100)[0]!.cuts).toEqual([
      ['n2', 'n1'],
      ['n2', 'n3'],
    ]);
    expect(planScenario('leader-send-only', 'n2', ['n1', 'n3'], 100)[0]!.cuts).toEqual([
      ['n1', 'n2'],
      ['n3', 'n2'],
    ]);
  });

  it('ends every scenario with every link healed', () => {
    for (const s of PARTITION_SCENARIOS) expect(planScenario(s, 'n1', ['n2', 'n3'], 100).at(-1)!.cuts).toEqual([]);
  });
});

describe('bench partition figures', () => {
  it('measures the wait for the first write started after a fault, ignoring writes started before it', () => {
    const ops = [op(90, 400), op(95, 99), op(100, 100, false), op(120, 300), op(150, 250, false)];
    expect(firstWriteAfterMs(ops, 100)).toBe(200);
    expect(firstWriteAfterMs(ops, 130)).toBeNull();
  });

  it('finds the longest stretch without a successful write, the window edges included', () => {
    const ops = [op(0, 110), op(0, 130), op(0, 500, false), op(0, 400), op(0, 950)];
    expect(longestGapMs(ops, 100, 1000)).toBe(550);
    expect(longestGapMs(ops, 100, 2000)).toBe(1050);
    expect(longestGapMs([], 0, 300)).toBe(300);
  });

  it('counts candidacies of connected nodes close together as one simultaneous-candidate election', () => {
    const steps: FaultStep[] = planScenario('leader-refuse', 'n1', ['n2', 'n3'], 1000);
    const c = (atMs: number, node: string, fence: bigint | null = 6n) => ({ atMs, node, fence });
    const found = simultaneousCandidates(
      [c(10, 'n1'), /* cut off: left out */ c(12, 'n2'), c(30, 'n3'), c(1500, 'n2'), c(1502, 'n3', null), c(1505, 'n1'), c(2000, 'n2'), c(2005, 'n2')],
      steps,
      5n,
    );
    expect(found).toEqual({ candidacies: 7, simultaneous: 1 });
  });

  it('counts only candidacies at a round above the one before the fault: asking first or looking competes with no one', () => {
    const steps: FaultStep[] = planScenario('leader-blackhole', 'n1', ['n2', 'n3'], 1000);
    // Two pre-candidates (old term 5) together, then one real candidate of term 6.
    const raft = [{ atMs: 1400, node: 'n2', fence: 5n }, { atMs: 1402, node: 'n3', fence: 5n }, { atMs: 1410, node: 'n2', fence: 6n }];
    expect(simultaneousCandidates(raft, steps, 5n)).toEqual({ candidacies: 1, simultaneous: 0 });
    // Two real candidates of term 6 within the window: a split vote.
    expect(simultaneousCandidates([...raft, { atMs: 1412, node: 'n3', fence: 6n }], steps, 5n)).toEqual({ candidacies: 2, simultaneous: 1 });
    // Multi-Paxos ballots by round: two ballots of round 3 (ranks 1 and 2) against round 2 before.
    const ballots = [{ atMs: 1400, node: 'n2', fence: 3n * 1024n + 1n }, { atMs: 1405, node: 'n3', fence: 3n * 1024n + 2n }];
    expect(simultaneousCandidates(ballots, steps, 2n * 1024n, (b) => b / 1024n)).toEqual({ candidacies: 2, simultaneous: 1 });
    expect(simultaneousCandidates(ballots, steps, 3n * 1024n, (b) => b / 1024n)).toEqual({ candidacies: 0, simultaneous: 0 });
  });

  it('counts raises of the highest fencing number by more than one', () => {
    const samples = [5n, 5n, 6n, 9n, 7n, 9n, 12n].map((fence, i) => ({ atMs: i, node: 'n1', role: 'follower', fence }));
    expect(fenceJumpsOver1(samples, 5n)).toBe(2);
    // Multi-Paxos: by ballot rounds, not raw ballots (round × 1024 + rank).
    const ballots = [1026n, 3075n, 4098n].map((fence, i) => ({ atMs: i, node: 'n1', role: 'follower', fence }));
    expect(fenceJumpsOver1(ballots, 1026n, (b) => b / 1024n)).toBe(1);
  });

  it('counts election rounds in which no node was seen leading: a split vote or a duel, not a clean election', () => {
    const at = (fence: bigint, role = 'follower', node = 'n2') => ({ atMs: 0, node, role, fence });
    // Clean: term 5 → 6, a leader at 6.
    expect(leaderlessRounds([at(5n, 'leader', 'n1'), at(6n, 'candidate'), at(6n, 'leader')], 5n)).toBe(0);
    // Split vote: both candidates at 6, nobody leads at 6, n3 wins at 7.
    expect(leaderlessRounds([at(6n, 'candidate'), at(6n, 'candidate', 'n3'), at(7n, 'candidate', 'n3'), at(7n, 'leader', 'n3')], 5n)).toBe(1);
    // No election at all, and a cut-off node whose fence stayed put.
    expect(leaderlessRounds([at(5n, 'leader', 'n1'), at(5n, 'candidate', 'n3')], 5n)).toBe(0);
    // Multi-Paxos ballots: round × 1024 + rank. Round 3 → 4 by n2 (rank 2) is clean; a duel
    // at round 4 (ranks 1 and 3) settled at round 5 wastes one round.
    const round = (b: bigint) => b / 1024n;
    expect(leaderlessRounds([at(4n * 1024n + 2n, 'leader')], 3n * 1024n + 1n, round)).toBe(0);
    expect(leaderlessRounds([at(4n * 1024n + 1n, 'candidate'), at(4n * 1024n + 3n, 'candidate', 'n3'), at(5n * 1024n + 3n, 'leader', 'n3')], 3n * 1024n + 2n, round)).toBe(1);
  });

  it("takes each protocol's election round from the registry: a ballot's round, a term or epoch as it is", () => {
    expect(PROTOCOLS.multipaxos.fenceRound?.(ballotOf(4, 2))).toBe(4);
    expect(PROTOCOLS.raft.fenceRound).toBeUndefined();
    expect(PROTOCOLS.zab.fenceRound).toBeUndefined();
  });

  it('reads candidacies from the JSON log lines and moves them onto the local clock', () => {
    const log = [
      '{"t":"2026-01-01T00:00:01.000Z","level":"info","node":"n2","msg":"node started"}',
      '{"t":"2026-01-01T00:00:02.500Z","level":"info","node":"n2","msg":"role changed","role":"candidate","leader":null,"term":3}',
      '{"t":"2026-01-01T00:00:02.600Z","level":"info","node":"n2","msg":"role changed","role":"leader","leader":"n2","term":4}',
      'warn transport: not json',
      '{"t":"2026-01-01T00:00:03.000Z","level":"info","node":"n2","msg":"role cha',
    ].join('\n');
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    expect(candidaciesInLog(log, 'n2', (wallMs) => wallMs - base)).toEqual([{ atMs: 2500, node: 'n2', fence: 3n }]);
    // The fencing number under the protocol's own name; none under that name: unknown.
    const zab = log.replace('"term":3', '"epoch":7');
    expect(candidaciesInLog(zab, 'n2', (wallMs) => wallMs - base, 'epoch')).toEqual([{ atMs: 2500, node: 'n2', fence: 7n }]);
    expect(candidaciesInLog(zab, 'n2', (wallMs) => wallMs - base)).toEqual([{ atMs: 2500, node: 'n2', fence: null }]);
    expect(logsRoleChanges(log)).toBe(true);
    expect(logsRoleChanges('{"level":"warn","msg":"peer n1: stream broke"}')).toBe(false);
  });

  it('measures a shift trial: the worse wait of its two faults, each heal, and an election the heal should have avoided', () => {
    const steps = planScenario('shift', 'n1', ['n2', 'n3'], 1000).map((s) => ({ ...s, atMs: s.atMs + 100 }));
    const record: TrialRecord = {
      scenario: 'shift',
      faultAt: '2026-01-01T00:00:00.100Z',
      leader: 'n1',
      fenceBefore: 4n,
      steps,
      endMs: 3000,
      ops: [op(90, 120), op(100, 130), op(1100, 1500), op(1200, 1300, false), op(2100, 2150), op(2200, 2250, true, 'n3')],
      probes: [
        { node: 'n2', healedAtMs: 1100, firstWriteOkMs: 1350, firstReadOkMs: 1300 },
        { node: 'n3', healedAtMs: 2100, firstWriteOkMs: 2200, firstReadOkMs: 2150 },
      ],
      samples: [
        { atMs: 50, node: 'n1', role: 'leader', fence: 4n },
        { atMs: 1400, node: 'n1', role: 'follower', fence: 5n },
        { atMs: 1450, node: 'n2', role: 'leader', fence: 5n },
      ],
      candidacies: [{ atMs: 1390, node: 'n2', fence: 5n }],
    };
    expect(measureTrial(record)).toEqual({
      scenario: 'shift',
      faultAt: '2026-01-01T00:00:00.100Z',
      leader: 'n1',
      cutOff: ['n2', 'n3'],
      unavailabilityMs: 400,
      maxGapMs: 1370,
      healWriteMs: 250,
      healReadMs: 200,
      heals: [
        { node: 'n2', writeMs: 250, readMs: 200 },
        { node: 'n3', writeMs: 100, readMs: 50 },
      ],
      fenceBefore: '4',
      fenceAfter: '5',
      election: true,
      needlessElection: true,
      candidacies: 1,
      simultaneousCandidates: 0,
      fenceJumpsOver1: 0,
      leaderlessRounds: 0,
      okWrites: 4,
      failedWrites: 1,
    } satisfies PartitionTrial);
  });

  it('leaves the candidacy figures empty when the logs do not show it, and a never-served heal as null', () => {
    const trial = measureTrial({
      scenario: 'leader-refuse',
      faultAt: '2026-01-01T00:00:00.000Z',
      leader: 'n1',
      fenceBefore: 2n,
      steps: planScenario('leader-refuse', 'n1', ['n2', 'n3'], 500),
      endMs: 900,
      ops: [op(-10, 700)],
      probes: [{ node: 'n1', healedAtMs: 500, firstWriteOkMs: null, firstReadOkMs: 800 }],
      samples: [{ atMs: 600, node: 'n2', role: 'leader', fence: 3n }],
      candidacies: null,
    });
    expect(trial).toMatchObject({ unavailabilityMs: null, healWriteMs: null, healReadMs: 300, election: true, needlessElection: false, candidacies: null, simultaneousCandidates: null });
  });

  it('summarizes each scenario with nearest-rank median, p90 and max, counting what never happened', () => {
    expect(spreadOf([300, null, 100, 200])).toEqual({ median: 200, p90: 300, max: 300, missing: 1 });
    expect(spreadOf([])).toEqual({ median: NaN, p90: NaN, max: NaN, missing: 0 });
    const trial = (scenario: PartitionTrial['scenario'], unavailabilityMs: number, healWriteMs: number | null, election: boolean, simultaneous: number | null, leaderless = 0): PartitionTrial => ({
      scenario,
      faultAt: '2026-01-01T00:00:00.000Z',
      leader: 'n1',
      cutOff: ['n2'],
      unavailabilityMs,
      maxGapMs: unavailabilityMs,
      healWriteMs,
      healReadMs: healWriteMs,
      heals: [{ node: 'n2', writeMs: healWriteMs, readMs: healWriteMs }],
      fenceBefore: '1',
      fenceAfter: election ? '2' : '1',
      election,
      needlessElection: election && scenario === 'shift',
      candidacies: simultaneous,
      simultaneousCandidates: simultaneous,
      fenceJumpsOver1: 0,
      leaderlessRounds: leaderless,
      okWrites: 10,
      failedWrites: 0,
    });
    const trials = [trial('shift', 400, 250, false, 0), trial('shift', 2500, 900, true, 1, 1), trial('shift', 300, 200, false, 0), trial('follower-heal', 10, null, false, null)];
    const shift = summarizeScenario('shift', trials);
    expect(shift).toMatchObject({ trials: 3, unavailabilityMs: { median: 400, p90: 2500, max: 2500, missing: 0 }, healWriteMs: { median: 250, max: 900 }, elections: 1, needlessElections: 1, leaderlessRounds: 1, simultaneousCandidates: 1 });
    const follower = summarizeScenario('follower-heal', trials);
    expect(follower).toMatchObject({ trials: 1, healWriteMs: { missing: 1 }, simultaneousCandidates: null });
    const table = renderPartitionTable([
      { protocol: 'raft', summary: shift },
      { protocol: 'raft', summary: follower },
      { protocol: 'zab', summary: summarizeScenario('leader-send-only', []) },
    ]).split('\n');
    expect(table[0]).toMatch(/^protocol {2}scenario {6,}trials {2}unavail ms med\/p90\/max/);
    expect(table[1]).toMatch(/^raft {6}shift +3 +400\/2500\/2500 ✓ +400\/2500\/2500 +250\/900\/900 ✓ +250\/900\/900 +1 +1 ✗ +1 ✗ +1 ✗$/);
    expect(table[2]).toMatch(/follower-heal +1 +10\/10\/10 ✓ .* -\/-\/- \(1 never\) ✗ .* 0 ✓ +0 ✓ +n\/a \(fence jumps>1: 0\)$/);
    expect(table[3]).toMatch(/^zab +leader-send-only +0 +-\/-\/- ✗ +-\/-\/- +- +- +0 +- +0 ✓ +n\/a/);
    // The run-level check: runs with a simultaneous-candidate election, among the runs whose logs show candidacy.
    const tallies = [candidacyTally('raft', trials), candidacyTally('zab', [])];
    expect(tallies[0]).toEqual({ protocol: 'raft', observedTrials: 3, electionTrials: 1, simultaneousTrials: 1, trials: 4, contestedTrials: 1 });
    expect(renderCandidacyTally(tallies).split('\n')).toEqual([
      'raft: contested elections (a round that elected no one) in 1 of 4 runs ✗; candidates of a new round together within 10 ms in 1 of 3 runs (1 with an election)',
      "zab: contested elections (a round that elected no one) in 0 of 0 runs ✓; candidates together n/a (no trial's logs showed candidacy)",
    ]);
  });
});
