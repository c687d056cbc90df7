/**
 * The invariant checkers must be able to fail: each test feeds a hand-made bad history and
 * expects the matching InvariantViolation, next to a good history that passes.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Entry, type EntryKind } from '@quorumlite/consensus';
import { appliedKey, InvariantViolation, SafetyChecker, type AppliedLog, type InvariantName } from '@quorumlite/consensus/sim';

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');

function entry(index: number, t: number, text: string, kind: EntryKind = 'command'): Entry {
  return { index: logIndex(index), term: term(t), kind, data: Uint8Array.from(text, (c) => c.charCodeAt(0)) };
}

function hexOf(e: Entry): string {
  return [...e.data].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function expectViolation(invariant: InvariantName, fn: () => void): void {
  try {
    fn();
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(InvariantViolation);
    expect((e as InvariantViolation).invariant).toBe(invariant);
    return;
  }
  throw new Error(`expected a ${invariant} violation`);
}

/** Applies `entries` at `node` in order, registering their payloads as proposed first. */
function applyAll(c: SafetyChecker, node: typeof n1, entries: readonly Entry[]): void {
  for (const e of entries) {
    c.observeProposal(hexOf(e));
    c.observeApply(node, e.index, appliedKey(e), hexOf(e));
  }
}

describe('election safety', () => {
  it('accepts one leader per term and a re-announcement by the same node', () => {
    const c = new SafetyChecker();
    c.observeLeader(n1, term(1));
    c.observeLeader(n1, term(1));
    c.observeLeader(n2, term(2));
  });

  it('rejects two leaders in one term', () => {
    const c = new SafetyChecker();
    c.observeLeader(n1, term(3));
    expectViolation('election_safety', () => c.observeLeader(n2, term(3)));
  });
});

describe('log matching', () => {
  it('accepts the same records written by two nodes', () => {
    const c = new SafetyChecker();
    c.observeLogWrite(n1, 0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    c.observeLogWrite(n2, 0, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    c.observeLogWrite(n3, 1, [entry(2, 1, 'b'), entry(3, 2, 'c')]);
  });

  it('rejects different data under the same index and term', () => {
    const c = new SafetyChecker();
    c.observeLogWrite(n1, 0, [entry(1, 1, 'a')]);
    expectViolation('log_matching', () => c.observeLogWrite(n2, 0, [entry(1, 1, 'x')]));
  });

  it('rejects a matching record that follows a different history', () => {
    const c = new SafetyChecker();
    c.observeLogWrite(n1, 0, [entry(1, 1, 'a'), entry(2, 2, 'b')]);
    expectViolation('log_matching', () => c.observeLogWrite(n2, 0, [entry(1, 3, 'z'), entry(2, 2, 'b')]));
  });

  it("holds a 'record' protocol (slots chosen one by one) to each record, not to its predecessors", () => {
    const c = new SafetyChecker('record');
    c.observeLogWrite(n1, 0, [entry(1, 1, 'a'), entry(2, 2, 'b')]);
    c.observeLogWrite(n2, 0, [entry(1, 3, 'z'), entry(2, 2, 'b')]);
    expectViolation('log_matching', () => c.observeLogWrite(n3, 0, [entry(1, 1, 'x')]));
  });
});

describe('state-machine safety, apply order and integrity', () => {
  it('rejects two nodes applying different data at one index', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a')]);
    const other = entry(1, 1, 'b');
    c.observeProposal(hexOf(other));
    expectViolation('state_machine_safety', () => c.observeApply(n2, 1, appliedKey(other), hexOf(other)));
  });

  it('accepts one command applied at one index under two fencing numbers (a re-proposed value)', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a')]);
    const again = entry(1, 4, 'a');
    c.observeApply(n2, 1, appliedKey(again), hexOf(again));
    const noop = entry(2, 1, '', 'noop');
    c.observeApply(n1, 2, appliedKey(noop), null);
    const otherNoop = entry(2, 5, '', 'noop');
    c.observeApply(n2, 2, appliedKey(otherNoop), null);
  });

  it('rejects a gap in one node\'s applies', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a')]);
    const e3 = entry(3, 1, 'c');
    c.observeProposal(hexOf(e3));
    expectViolation('apply_order', () => c.observeApply(n1, 3, appliedKey(e3), hexOf(e3)));
  });

  it('rejects re-applying an index without a reset', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a')]);
    expectViolation('apply_order', () => applyAll(c, n1, [entry(1, 1, 'a')]));
  });

  it('accepts re-applying after a restart reset the state machine', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    c.observeStateReset(n1, ['']);
    applyAll(c, n1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
  });

  it('rejects a snapshot whose content disagrees with what was applied', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    const bad: AppliedLog = ['', appliedKey(entry(1, 1, 'a')), appliedKey(entry(2, 1, 'z'))];
    expectViolation('state_machine_safety', () => c.observeStateReset(n2, bad));
  });

  it('rejects a command nobody proposed and a command applied at two indexes', () => {
    const c = new SafetyChecker();
    const ghost = entry(1, 1, 'ghost');
    expectViolation('integrity', () => c.observeApply(n1, 1, appliedKey(ghost), hexOf(ghost)));
    const c2 = new SafetyChecker();
    applyAll(c2, n1, [entry(1, 1, 'a')]);
    const again = entry(2, 1, 'a');
    expectViolation('integrity', () => c2.observeApply(n1, 2, appliedKey(again), hexOf(again)));
  });
});

describe('leader completeness', () => {
  it('accepts a leader holding every committed record, in its log or snapshot', () => {
    const c = new SafetyChecker();
    const log = [entry(1, 1, 'a'), entry(2, 1, 'b')];
    applyAll(c, n1, log);
    c.checkLeaderCompleteness(n2, term(2), (i) => (i <= log.length ? appliedKey(log[i - 1]!) : undefined));
  });

  it('holds a leader only to records committed under a lower fencing number than its own', () => {
    const c = new SafetyChecker('record');
    c.observeLeader(n1, term(5));
    const log = [entry(1, 5, 'a')];
    applyAll(c, n1, log);
    // Elected at ballot 3 by promises delayed from before ballot 5 chose slot 1: bound to nothing there.
    c.checkLeaderCompleteness(n2, term(3), () => undefined);
    expectViolation('leader_completeness', () => c.checkLeaderCompleteness(n2, term(6), () => undefined));
  });

  it('rejects a leader missing a committed record', () => {
    const c = new SafetyChecker();
    const log = [entry(1, 1, 'a'), entry(2, 1, 'b')];
    applyAll(c, n1, log);
    expectViolation('leader_completeness', () => c.checkLeaderCompleteness(n2, term(2), (i) => (i === 1 ? appliedKey(log[0]!) : undefined)));
  });
});

describe('promise durability', () => {
  it('a node promises each fencing number to one recipient and never a lower one after it', () => {
    const c = new SafetyChecker('record');
    c.observePromise(n1, 5, n2);
    c.observePromise(n1, 5, n2); // the same promise again (a duplicated request)
    c.observePromise(n1, 7, n3);
    expectViolation('promise_durability', () => c.observePromise(n1, 6, n2));
    expectViolation('promise_durability', () => c.observePromise(n1, 7, n2));
  });
});

describe('durability of acknowledged writes', () => {
  it('rejects an acknowledged write replaced after a crash', () => {
    const c = new SafetyChecker();
    const e = entry(1, 1, 'a');
    applyAll(c, n1, [e]);
    c.observeAcknowledged(1, appliedKey(e));
    c.observeStateReset(n1, ['']);
    const other = entry(1, 2, 'b');
    c.observeProposal(hexOf(other));
    expectViolation('acknowledged_durability', () => c.observeApply(n1, 1, appliedKey(other), hexOf(other)));
  });

  it('rejects a final state missing an acknowledged write', () => {
    const c = new SafetyChecker();
    const e = entry(1, 1, 'a');
    applyAll(c, n1, [e]);
    c.observeAcknowledged(1, appliedKey(e));
    expectViolation('acknowledged_durability', () => c.checkConverged(new Map([[n1, ['']]])));
  });

  it('rejects an acknowledgement for something that is not committed there', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a')]);
    expectViolation('acknowledged_durability', () => c.observeAcknowledged(1, appliedKey(entry(1, 1, 'b'))));
  });
});

describe('read safety', () => {
  it('accepts a read point at or after what was committed when asked', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    c.observeReadRequest('r1');
    c.observeReadState(n1, 'r1', 2);
  });

  it('rejects a stale read point and an answer to an unknown request', () => {
    const c = new SafetyChecker();
    applyAll(c, n1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
    c.observeReadRequest('r1');
    expectViolation('read_safety', () => c.observeReadState(n2, 'r1', 1));
    expectViolation('read_safety', () => c.observeReadState(n2, 'nope', 5));
  });
});

describe('convergence', () => {
  it('rejects nodes that end with different applied sequences', () => {
    const c = new SafetyChecker();
    const a = appliedKey(entry(1, 1, 'a'));
    expectViolation('convergence', () => c.checkConverged(new Map([[n1, ['', a]], [n2, ['']]])));
    c.checkConverged(new Map([[n1, ['', a]], [n2, ['', a]]]));
  });
});
