/**
 * The history checkers (../checker) applied to a run: the harness's records are translated to
 * each checker's op shape (string keys, the checker's own names for reads) and each result
 * becomes a Verdict. A checker that hits one of its search limits says 'unknown', which is
 * reported but does not fail the run.
 */
import {
  checkAppendHistory,
  checkBankHistory,
  checkRegisterHistory,
  type AppendOp,
  type BankOp,
  type RegisterOp,
} from '../checker';
import type { OpRecord, WorkloadName } from './history';
import type { ChaosCheck, ChaosRun, Verdict } from './types';
import { BANK_ACCOUNTS, BANK_INITIAL_BALANCE } from './workloads';

/** Anomalies quoted in a verdict; the checker's own count is always given. */
const REASONS_MAX = 10;

/**
 * An unknown operation never completes, for a checker: the client gave up at completeMs, but
 * the command may still be applied later (a follower can forward a parked write after the
 * client stopped waiting), so completeMs must not order it before anything.
 */
function base(op: OpRecord): Omit<RegisterOp, 'input' | 'output'> {
  const completeMs = op.outcome === 'unknown' || !Number.isFinite(op.completeMs) ? null : op.completeMs;
  return { id: op.id, process: op.process, invokeMs: op.invokeMs, completeMs, outcome: op.outcome };
}

function ofWorkload(run: ChaosRun, w: WorkloadName): OpRecord[] {
  return run.history.filter((op) => op.workload === w);
}

export function toRegisterOps(ops: readonly OpRecord[]): RegisterOp[] {
  return ops.flatMap((op): RegisterOp[] => {
    const b = base(op);
    const ok = op.outcome === 'ok';
    switch (op.input.f) {
      case 'read':
        return [{ ...b, input: { f: 'read', key: String(op.input.key) }, output: ok && op.output?.f === 'read' ? op.output : null }];
      case 'write':
        return [{ ...b, input: { f: 'write', key: String(op.input.key), value: op.input.value }, output: ok ? { f: 'write' } : null }];
      case 'cas':
        return [{ ...b, input: { f: 'cas', key: String(op.input.key), from: op.input.from, to: op.input.to }, output: ok && op.output?.f === 'cas' ? op.output : null }];
      default:
        return [];
    }
  });
}

export function toBankOps(ops: readonly OpRecord[]): BankOp[] {
  return ops.flatMap((op): BankOp[] => {
    const b = base(op);
    const ok = op.outcome === 'ok';
    if (op.input.f === 'transfer') {
      return [{ ...b, input: { f: 'transfer', from: String(op.input.from), to: String(op.input.to), amount: op.input.amount }, output: ok ? { f: 'transfer' } : null }];
    }
    if (op.input.f === 'balances') {
      return [{ ...b, input: { f: 'read' }, output: ok && op.output?.f === 'balances' ? { f: 'read', balances: op.output.balances } : null }];
    }
    return [];
  });
}

export function toAppendOps(ops: readonly OpRecord[]): AppendOp[] {
  return ops.flatMap((op): AppendOp[] => {
    const b = base(op);
    const ok = op.outcome === 'ok';
    if (op.input.f === 'append') return [{ ...b, input: { f: 'append', key: String(op.input.key), value: op.input.value }, output: ok ? { f: 'append' } : null }];
    if (op.input.f === 'list') {
      return [{ ...b, input: { f: 'read', key: String(op.input.key) }, output: ok && op.output?.f === 'list' ? { f: 'read', values: op.output.values } : null }];
    }
    return [];
  });
}

function anomalyLines(anomalies: readonly { kind: string }[], count: number): string[] {
  const lines = anomalies.slice(0, REASONS_MAX).map((a) => JSON.stringify(a, (k, v: unknown) => (k === 'ops' ? undefined : v)));
  if (count > lines.length) lines.push(`(${count - lines.length} more)`);
  return lines;
}

export const registerCheck: ChaosCheck = (run) => {
  const ops = ofWorkload(run, 'register');
  if (ops.length === 0) return [];
  const r = checkRegisterHistory(toRegisterOps(ops));
  if (r.valid === true) return { name: 'register-linearizable', valid: true, reasons: [] };
  if (r.valid === 'unknown') return { name: 'register-linearizable', valid: 'unknown', reasons: [`key ${r.key}: ${r.reason}`] };
  return { name: 'register-linearizable', valid: false, reasons: [`key ${r.key}: ${r.explanation}`] };
};

export const bankCheck: ChaosCheck = (run) => {
  const ops = ofWorkload(run, 'bank');
  if (ops.length === 0) return [];
  const accounts = Array.from({ length: BANK_ACCOUNTS }, (_, i) => String(i));
  const r = checkBankHistory(toBankOps(ops), {
    accounts,
    total: BANK_ACCOUNTS * BANK_INITIAL_BALANCE,
    initialBalances: Object.fromEntries(accounts.map((a) => [a, BANK_INITIAL_BALANCE])),
    finalReadRequired: true,
  });
  if (r.valid === true) return { name: 'bank', valid: true, reasons: [] };
  if (r.valid === 'unknown') return { name: 'bank', valid: 'unknown', reasons: [r.reason] };
  return { name: 'bank', valid: false, reasons: anomalyLines(r.anomalies, r.anomalyCount) };
};

export const appendCheck: ChaosCheck = (run) => {
  const ops = ofWorkload(run, 'append');
  if (ops.length === 0) return [];
  const r = checkAppendHistory(toAppendOps(ops), { finalReadRequired: true });
  if (r.valid) return { name: 'append', valid: true, reasons: [] };
  return { name: 'append', valid: false, reasons: anomalyLines(r.anomalies, r.anomalyCount) };
};

/** Every history checker, in the order their verdicts are listed. */
export const HISTORY_CHECKS: readonly ChaosCheck[] = [registerCheck, bankCheck, appendCheck];

export type { Verdict };
