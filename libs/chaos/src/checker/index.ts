/**
 * History checkers for the fault-injection suite. Pure, deterministic and bounded: no I/O,
 * clock or randomness; every search has a named limit (CHECKER_LIMITS) and answers
 * 'unknown' with a reason when it runs out, never hangs.
 *
 * - checkRegisterHistory: per-key linearizability of read / write / cas (WGL search).
 * - checkBankHistory: totals, overdraft, and every read explained by the transfers.
 * - checkAppendHistory: list-append prefix order, real-time visibility, monotonic reads.
 * - compareReplicaDumps: convergence of replicas' rows after healing.
 */
export * from './history';
export * from './limits';
export { ILLEGAL, wglCheck } from './wgl';
export type { Illegal, SequentialModel, WglOp, WglLimits, WglResult, DeadEnd } from './wgl';
export * from './register';
export * from './bank';
export * from './flows';
export * from './append';
export * from './dumps';
