/** The deterministic cluster simulator: drives any ProtocolModule under faults and checks safety. */
export { simulate, type SimResult, type SimStats } from './simulator';
export {
  DEFAULT_FAULTS,
  DEFAULT_WORKLOAD,
  NO_FAULTS,
  type CompactionPoint,
  type CoreTuning,
  type FaultOptions,
  type SimOptions,
  type WorkloadOptions,
} from './options';
export { SafetyChecker, type AppliedLog } from './checker';
export { InvariantViolation, SimulationError, CoreContractError, type InvariantName, type SimulationErrorCode } from './errors';
export { SimDisk, type StoredSnapshot } from './disk';
export { SimNetwork, type PartitionKind } from './network';
export { appliedKey, TraceDigest } from './encoding';
