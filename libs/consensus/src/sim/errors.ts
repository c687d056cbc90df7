/**
 * Failures the simulator reports. An InvariantViolation is raised by the pure checkers
 * (which know nothing of seeds); the simulator wraps it, with the seed and event number
 * that replays it, into a SimulationError.
 */
import { CodedError } from '@quorumlite/errors';

export type InvariantName =
  | 'election_safety'
  | 'log_matching'
  | 'leader_completeness'
  | 'state_machine_safety'
  | 'apply_order'
  | 'acknowledged_durability'
  | 'read_safety'
  | 'integrity'
  | 'convergence'
  | 'witness_retention'
  | 'promise_durability'
  | 'committed_at_boot';

export class InvariantViolation extends CodedError<'invariant'> {
  constructor(
    readonly invariant: InvariantName,
    message: string,
  ) {
    super('invariant', `${invariant.replace(/_/g, ' ')}: ${message}`);
    this.name = 'InvariantViolation';
  }
}

export type SimulationErrorCode =
  /** A safety invariant broke. */
  | 'invariant'
  /** After healing every fault the cluster did not converge or commit a new proposal. */
  | 'liveness'
  /** The core broke the Ready contract (e.g. a gap in Ready.entries) or threw. */
  | 'core_contract';

export class SimulationError extends CodedError<SimulationErrorCode> {
  constructor(
    code: SimulationErrorCode,
    readonly seed: number,
    readonly event: number,
    message: string,
    /** The last trace lines before the failure (empty unless the run was verbose). */
    readonly traceTail: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(code, `[seed=${seed} event=${event}] ${message}`, options);
    this.name = 'SimulationError';
  }
}

/** Raised inside the simulated driver when a Ready breaks the contract; wrapped with the seed. */
export class CoreContractError extends CodedError<'core_contract'> {
  constructor(message: string) {
    super('core_contract', message);
    this.name = 'CoreContractError';
  }
}
