/**
 * Bank workload: transfers between accounts and reads of every balance. Checked cheaply and
 * soundly, read by read:
 * 1. a read shows exactly the configured accounts;
 * 2. its balances sum to the configured total (no transfer applied in part);
 * 3. no balance is negative, unless the workload allows overdraft;
 * 4. with initial balances given: the read equals initial + every ok transfer that completed
 *    before the read began (reads are linearizable) + SOME subset of the transfers that may
 *    have taken effect by the time it returned (ok ones concurrent with it, unknown ones
 *    invoked before it returned). A read taken after healing, once every ok transfer has
 *    completed, is therefore the "final read": it must contain every ok transfer.
 *    The subset question is answered exactly by ./flows (bounded; over the bound the
 *    verdict is 'unknown'). With many unknown transfers almost any small difference is
 *    explainable, so the rule is sharpest when few outcomes are unknown.
 * Not checked: whether reads are mutually consistent (a single order of transfers explaining
 * all of them), nor whether the chosen subset could run in some order without overdraft.
 */
import { CheckerLimits, resolveLimits } from './limits';
import { CheckerError, describeOp, HistoryOp, malformed, validateOps } from './history';
import { subsetMatchesFlows } from './flows';

export type BankInput = { f: 'transfer'; from: string; to: string; amount: number } | { f: 'read' };
export type BankOutput = { f: 'transfer' } | { f: 'read'; balances: Record<string, number> };
/** A transfer the database refused (insufficient funds) had no effect: record it as 'fail'. */
export type BankOp = HistoryOp<BankInput, BankOutput>;

export interface BankOptions {
  accounts: readonly string[];
  /** The sum every read must show. */
  total: number;
  /** Needed for rule 4; without it only rules 1–3 run. Must sum to total. */
  initialBalances?: Readonly<Record<string, number>>;
  /** Default false: a negative balance is an anomaly. */
  negativeAllowed?: boolean;
  /** Default false: when true, a history with no ok read after every ok transfer completed is an anomaly. */
  finalReadRequired?: boolean;
  limits?: Partial<CheckerLimits>;
}

export type BankAnomaly =
  | { kind: 'wrong-accounts'; op: BankOp; missing: string[]; extra: string[] }
  | { kind: 'wrong-total'; op: BankOp; expected: number; actual: number }
  | { kind: 'negative-balance'; op: BankOp; account: string; balance: number }
  | { kind: 'unexplained-balances'; op: BankOp; explanation: string }
  | { kind: 'no-final-read'; explanation: string };

export type BankResult =
  | { valid: true; readsChecked: number; finalReads: number }
  | { valid: false; anomalyCount: number; anomalies: BankAnomaly[] }
  | { valid: 'unknown'; reason: string };

type Transfer = { op: BankOp; from: number; to: number; amount: number };
type ReadOp = BankOp & { output: { f: 'read'; balances: Record<string, number> } };

export function checkBankHistory(ops: readonly BankOp[], options: BankOptions): BankResult {
  const limits = resolveLimits(options.limits);
  validateOptions(options);
  validateOps(ops, 'bank');
  const index = new Map(options.accounts.map((a, i) => [a, i]));
  const transfers = ops.flatMap((op) => toTransfer(op, index));
  const reads = ops.filter((op): op is ReadOp => op.outcome === 'ok' && op.output?.f === 'read');
  const anomalies: BankAnomaly[] = [];
  let undecided: string | null = null;
  for (const read of reads) {
    const shapeOk = checkReadShape(read, options, anomalies);
    if (!shapeOk || options.initialBalances === undefined) continue;
    const verdict = explainRead(read, transfers, options.accounts, options.initialBalances, limits);
    if (verdict.kind === 'unexplained') anomalies.push({ kind: 'unexplained-balances', op: read, explanation: verdict.explanation });
    if (verdict.kind === 'limit') undecided ??= `read #${read.id}: ${verdict.reason}`;
  }
  const finalReads = countFinalReads(reads, transfers);
  if (options.finalReadRequired && finalReads === 0) {
    anomalies.push({ kind: 'no-final-read', explanation: 'no ok read began after every ok transfer completed' });
  }
  if (anomalies.length > 0) return { valid: false, anomalyCount: anomalies.length, anomalies: anomalies.slice(0, limits.anomaliesMax) };
  if (undecided !== null) return { valid: 'unknown', reason: undecided };
  return { valid: true, readsChecked: reads.length, finalReads };
}

function validateOptions(options: BankOptions): void {
  const bad = (message: string): never => {
    throw new CheckerError('invalid_options', message);
  };
  if (options.accounts.length === 0) bad('bank: accounts must not be empty');
  if (new Set(options.accounts).size !== options.accounts.length) bad('bank: accounts must be distinct');
  if (!Number.isSafeInteger(options.total)) bad('bank: total must be a safe integer');
  const initial = options.initialBalances;
  if (initial === undefined) return;
  const keys = Object.keys(initial).sort();
  if (keys.join('\u0000') !== [...options.accounts].sort().join('\u0000')) bad('bank: initialBalances must name exactly the accounts');
  const sum = options.accounts.reduce((s, a) => s + (initial[a] ?? 0), 0);
  if (sum !== options.total) bad(`bank: initialBalances sum to ${sum}, not the total ${options.total}`);
}

function toTransfer(op: BankOp, index: Map<string, number>): Transfer[] {
  const { input } = op;
  if (op.outcome === 'ok' && op.output?.f !== input.f) malformed(`bank op ${op.id}: output kind does not match input '${input.f}'`);
  if (input.f !== 'transfer') return [];
  const from = index.get(input.from);
  const to = index.get(input.to);
  if (from === undefined || to === undefined) malformed(`bank op ${op.id}: transfer names an unknown account`);
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) malformed(`bank op ${op.id}: amount must be a positive integer`);
  if (from === to) malformed(`bank op ${op.id}: transfer from an account to itself`);
  return op.outcome === 'fail' ? [] : [{ op, from, to, amount: input.amount }];
}

/** Rules 1–3; returns false when the read is too malformed for rule 4. */
function checkReadShape(read: ReadOp, options: BankOptions, anomalies: BankAnomaly[]): boolean {
  const { balances } = read.output;
  const seen = Object.keys(balances);
  const missing = options.accounts.filter((a) => !(a in balances));
  const extra = seen.filter((a) => !options.accounts.includes(a));
  if (missing.length > 0 || extra.length > 0) anomalies.push({ kind: 'wrong-accounts', op: read, missing, extra });
  let sum = 0;
  for (const account of seen) {
    const balance = balances[account] ?? 0;
    if (!Number.isSafeInteger(balance)) malformed(`bank op ${read.id}: balance of ${account} is not an integer`);
    sum += balance;
    if (balance < 0 && !options.negativeAllowed) anomalies.push({ kind: 'negative-balance', op: read, account, balance });
  }
  if (sum !== options.total) anomalies.push({ kind: 'wrong-total', op: read, expected: options.total, actual: sum });
  return missing.length === 0 && extra.length === 0 && sum === options.total;
}

type Explained = { kind: 'explained' } | { kind: 'unexplained'; explanation: string } | { kind: 'limit'; reason: string };

function explainRead(
  read: ReadOp,
  transfers: readonly Transfer[],
  accounts: readonly string[],
  initial: Readonly<Record<string, number>>,
  limits: CheckerLimits,
): Explained {
  const target = accounts.map((a) => (read.output.balances[a] ?? 0) - (initial[a] ?? 0));
  const readCompleteMs = read.completeMs ?? Infinity;
  const optional: Transfer[] = [];
  let required = 0;
  for (const t of transfers) {
    if (t.op.outcome === 'ok' && (t.op.completeMs ?? Infinity) < read.invokeMs) {
      target[t.from] = (target[t.from] ?? 0) + t.amount;
      target[t.to] = (target[t.to] ?? 0) - t.amount;
      required++;
    } else if (t.op.invokeMs <= readCompleteMs) {
      optional.push(t);
    }
  }
  if (optional.length > limits.subsetTransfersMax) {
    return { kind: 'limit', reason: `${optional.length} transfers may or may not be in it, over subsetTransfersMax (${limits.subsetTransfersMax})` };
  }
  const found = subsetMatchesFlows(target, optional, limits.subsetSearchStepsMax);
  if (found === 'limit') return { kind: 'limit', reason: `subsetSearchStepsMax (${limits.subsetSearchStepsMax}) exceeded` };
  if (found === 'found') return { kind: 'explained' };
  const diff = accounts.map((a, i) => `${a}:${signed(target[i] ?? 0)}`).join(', ');
  return {
    kind: 'unexplained',
    explanation:
      `${describeOp(read, `read ${JSON.stringify(read.output.balances)}`)} differs from initial + the ${required} ok transfers ` +
      `completed before it by {${diff}}, and no subset of the ${optional.length} transfers that may have taken effect ` +
      `(concurrent or unknown outcome) accounts for that`,
  };
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function countFinalReads(reads: readonly ReadOp[], transfers: readonly Transfer[]): number {
  const lastOkMs = transfers.reduce((m, t) => (t.op.outcome === 'ok' ? Math.max(m, t.op.completeMs ?? Infinity) : m), -Infinity);
  return reads.filter((r) => r.invokeMs > lastOkMs).length;
}
