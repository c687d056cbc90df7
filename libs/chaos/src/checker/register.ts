/**
 * Register workload: per-key read / write / compare-and-set over integer values, checked for
 * linearizability. Keys are independent objects, so the history is split by key first
 * (linearizability is compositional) and each key gets its own bounded WGL search.
 */
import { assertNever } from '@quorumlite/consensus';
import { CheckerLimits, resolveLimits } from './limits';
import { describeOp, HistoryOp, malformed, validateOps } from './history';
import { ILLEGAL, Illegal, SequentialModel, WglOp, wglCheck, WglResult } from './wgl';

/** A register holds an integer or null (its initial value: the key was never written). */
export type RegisterValue = number | null;

export type RegisterInput =
  | { f: 'read'; key: string }
  | { f: 'write'; key: string; value: number }
  /** Sets `to` iff the register holds `from`; from null means "only if never written". */
  | { f: 'cas'; key: string; from: RegisterValue; to: number };

/**
 * Outputs of 'ok' ops. A CAS that compared and did not match is outcome 'ok' with
 * matched:false: a definite observation that the register held something other than `from`
 * (modelled as a read). Outcome 'fail' means the request itself failed and had no effect.
 */
export type RegisterOutput = { f: 'read'; value: RegisterValue } | { f: 'write' } | { f: 'cas'; matched: boolean };

export type RegisterOp = HistoryOp<RegisterInput, RegisterOutput>;

export type LinearizabilityResult =
  | { valid: true; keysChecked: number }
  | {
      valid: false;
      key: string;
      explanation: string;
      /**
       * A smaller history of that key that is itself not linearizable and implies the
       * original is not: only read-like ops (reads, non-matching CAS) are ever removed, and
       * removing an observation can only make a history easier to linearize.
       */
      ops: RegisterOp[];
    }
  | { valid: 'unknown'; key: string; reason: string };

const registerModel: SequentialModel<RegisterValue, RegisterInput, RegisterOutput> = {
  init: null,
  step: stepRegister,
  hash: (s) => (s === null ? 0x6a09e667 : Math.imul(s | 0, 0x9e3779b1) ^ Math.floor(s / 0x1_0000_0000)),
  equal: (a, b) => a === b,
};

function stepRegister(state: RegisterValue, input: RegisterInput, output: RegisterOutput | null): RegisterValue | Illegal {
  switch (input.f) {
    case 'read':
      if (output === null) return state;
      return output.f === 'read' && output.value === state ? state : ILLEGAL;
    case 'write':
      return input.value;
    case 'cas': {
      const matches = state === input.from;
      if (output === null) return matches ? input.to : state;
      if (output.f !== 'cas') return ILLEGAL;
      if (output.matched !== matches) return ILLEGAL;
      return matches ? input.to : state;
    }
    default:
      return assertNever(input, 'register input');
  }
}

function validateRegisterOp(op: RegisterOp): void {
  const at = `register op ${op.id}`;
  const { input, output } = op;
  if (typeof input.key !== 'string') malformed(`${at}: key must be a string`);
  const isValue = (v: unknown): boolean => v === null || Number.isSafeInteger(v);
  if (input.f === 'write' && !Number.isSafeInteger(input.value)) malformed(`${at}: written value must be a safe integer`);
  if (input.f === 'cas' && (!isValue(input.from) || !Number.isSafeInteger(input.to))) malformed(`${at}: cas from/to must be integers`);
  if (op.outcome !== 'ok' || output === null) return;
  if (output.f !== input.f) malformed(`${at}: output kind '${output.f}' does not match input '${input.f}'`);
  if (output.f === 'read' && !isValue(output.value)) malformed(`${at}: read value must be an integer or null`);
}

/** Checks a register history for linearizability, key by key (keys in sorted order). */
export function checkRegisterHistory(ops: readonly RegisterOp[], limits?: Partial<CheckerLimits>): LinearizabilityResult {
  const resolved = resolveLimits(limits);
  validateOps(ops, 'register');
  ops.forEach(validateRegisterOp);
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    const list = byKey.get(op.input.key) ?? [];
    list.push(op);
    byKey.set(op.input.key, list);
  }
  let undecided: { key: string; reason: string } | null = null;
  for (const key of [...byKey.keys()].sort()) {
    const keyOps = prune(byKey.get(key) ?? []);
    const result = searchKey(keyOps, resolved.searchStepsMaxPerKey, resolved.cacheBytesMaxPerKey);
    switch (result.kind) {
      case 'linearizable':
        break;
      case 'limit':
        undecided ??= { key, reason: `${result.reason} (${keyOps.length} ops after pruning)` };
        break;
      case 'not-linearizable':
        return {
          valid: false,
          key,
          explanation: explain(key, keyOps, result.deadEnd),
          ops: shrink(keyOps, resolved),
        };
      default:
        return assertNever(result, 'wgl result');
    }
  }
  return undecided ? { valid: 'unknown', ...undecided } : { valid: true, keysChecked: byKey.size };
}

function searchKey(ops: readonly RegisterOp[], searchStepsMax: number, cacheBytesMax: number): WglResult<RegisterValue> {
  const wops: WglOp<RegisterInput, RegisterOutput>[] = ops.map((op) => ({
    input: op.input,
    output: op.outcome === 'ok' ? op.output : null,
    callMs: op.invokeMs,
    returnMs: op.completeMs ?? Infinity,
  }));
  return wglCheck(registerModel, wops, { searchStepsMax, cacheBytesMax });
}

/** The value an op leaves in the register when it changes it, else undefined. */
function writtenValue(input: RegisterInput): number | undefined {
  switch (input.f) {
    case 'read':
      return undefined;
    case 'write':
      return input.value;
    case 'cas':
      return input.to;
    default:
      return assertNever(input, 'register input');
  }
}

/**
 * Drops what cannot matter, so unknown-outcome ops do not blow up the search:
 * - failed ops (no effect) and unknown reads (no effect, nothing observed);
 * - an unknown write/CAS whose value v nobody observed (no ok read returned v, no ok CAS
 *   matched from v) when no ok non-matching CAS could be ordered after it. In any
 *   linearization that includes it, removing it changes the state only where it held v, and
 *   no remaining op there can tell v from the previous value, so a linearization still exists.
 */
function prune(ops: readonly RegisterOp[]): RegisterOp[] {
  const observed = new Set<number | null>();
  let lastNonMatchCompleteMs = -Infinity;
  for (const op of ops) {
    if (op.outcome !== 'ok' || op.output === null) continue;
    if (op.output.f === 'read') observed.add(op.output.value);
    if (op.input.f === 'cas' && op.output.f === 'cas') {
      if (op.output.matched) observed.add(op.input.from);
      else lastNonMatchCompleteMs = Math.max(lastNonMatchCompleteMs, op.completeMs ?? Infinity);
    }
  }
  return ops.filter((op) => {
    if (op.outcome === 'fail') return false;
    if (op.outcome === 'ok') return true;
    const v = writtenValue(op.input);
    if (v === undefined) return false;
    return observed.has(v) || lastNonMatchCompleteMs >= op.invokeMs;
  });
}

function describeRegisterOp(op: RegisterOp): string {
  const { input, output } = op;
  const shown = op.outcome === 'ok' ? output : null;
  switch (input.f) {
    case 'read':
      return `read ${input.key} → ${shown?.f === 'read' ? String(shown.value) : '?'}`;
    case 'write':
      return `write ${input.key} := ${input.value}`;
    case 'cas':
      return `cas ${input.key} ${String(input.from)}→${input.to}${shown?.f === 'cas' ? (shown.matched ? ' (matched)' : ' (no match)') : ''}`;
    default:
      return assertNever(input, 'register input');
  }
}

const EXPLAIN_PREFIX_OPS_MAX = 8;

function explain(key: string, ops: readonly RegisterOp[], deadEnd: { linearized: number[]; state: RegisterValue; blocked: number }): string {
  const name = (i: number): string => {
    const op = ops[i];
    return op ? describeOp(op, describeRegisterOp(op)) : `op index ${i}`;
  };
  const prefix = deadEnd.linearized.slice(-EXPLAIN_PREFIX_OPS_MAX).map(name);
  const skipped = deadEnd.linearized.length - prefix.length;
  return [
    `key ${key}: no linearization of its ${ops.length} ops exists.`,
    `The longest consistent order linearizes ${deadEnd.linearized.length} of them` +
      (skipped > 0 ? ` (last ${prefix.length} shown)` : '') +
      `, leaving the register at ${String(deadEnd.state)}:`,
    ...prefix.map((s) => `  ${s}`),
    `then ${name(deadEnd.blocked)} must take effect before it returns, but neither it nor any other pending op can be applied next.`,
  ].join('\n');
}

function isReadLike(op: RegisterOp): boolean {
  return op.outcome === 'ok' && (op.input.f === 'read' || (op.output?.f === 'cas' && !op.output.matched));
}

/**
 * Delta-debugging over read-like ops only (see LinearizabilityResult): try removing chunks of
 * halving size; keep a removal when the rest is still definitely not linearizable.
 */
function shrink(ops: readonly RegisterOp[], limits: CheckerLimits): RegisterOp[] {
  if (ops.length > limits.shrinkOpsMax) return [...ops];
  let kept = [...ops];
  let checks = 0;
  const stillFails = (candidate: RegisterOp[]): boolean => {
    checks++;
    return searchKey(candidate, limits.searchStepsMaxShrink, limits.cacheBytesMaxPerKey).kind === 'not-linearizable';
  };
  let chunk = Math.max(1, Math.ceil(kept.filter(isReadLike).length / 2));
  for (;;) {
    const readIds = kept.filter(isReadLike).map((op) => op.id);
    for (let start = 0; start < readIds.length && checks < limits.shrinkChecksMax; start += chunk) {
      const drop = new Set(readIds.slice(start, start + chunk));
      const candidate = kept.filter((op) => !drop.has(op.id));
      if (stillFails(candidate)) kept = candidate;
    }
    if (chunk === 1 || checks >= limits.shrinkChecksMax) return kept;
    chunk = Math.ceil(chunk / 2);
  }
}
