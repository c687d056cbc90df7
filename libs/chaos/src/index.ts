/** Fault injection against real node processes: proxies, nemesis, workloads, runChaos. */
export { TcpProxy, ProxyError, parseAddress, type CutMode, type ProxyOptions } from './harness/proxy';
export { ProxyMesh, splitGrudge, bridgeGrudge, describeGrudge, type Grudge } from './harness/network';
export {
  Nemesis,
  planSchedule,
  FAULTS_BY_NEMESIS,
  SCHEDULE_HOLD_MS_DEFAULT,
  SCHEDULE_QUIET_MS_DEFAULT,
  type FaultKind,
  type NemesisName,
  type PlannedFault,
  type ScheduleOptions,
  type TimelineEntry,
} from './harness/nemesis';
export {
  HistoryRecorder,
  countByOutcome,
  writeOutcome,
  toJsonLine,
  type OpRecord,
  type OpInput,
  type OpOutput,
  type Outcome,
  type WorkloadName,
} from './harness/history';
export { WORKLOADS, runOp, BANK_ACCOUNTS, BANK_INITIAL_BALANCE, REGISTER_KEYS, APPEND_KEYS, type WorkloadSpec } from './harness/workloads';
export {
  runChaos,
  resolveOptions,
  replayCommand,
  replicasIdentical,
  witnessLogBounded,
  type ChaosOptions,
  type ChaosOptionsResolved,
  type ChaosResult,
  type ChaosRun,
  type ChaosCheck,
  type ReplicaDump,
  type Verdict,
} from './harness/run';
export { clientAddresses, keepsData, resolveTopology, snapshotEveryEntriesOf, witnessReasons, witnessRecordsMax, type RoledNode, type WitnessReport } from './harness/roles';
export { writeArtifacts } from './harness/artifacts';
export { faultAvailability, availabilityLine, HEAL_WINDOW_MS_MIN, type FaultAvailability } from './harness/availability';
export { HISTORY_CHECKS, registerCheck, bankCheck, appendCheck, toRegisterOps, toBankOps, toAppendOps } from './harness/checks';
export { chaosMain, parseChaosArgs, parseDurationMs, summaryLines, CHAOS_USAGE, UsageError, type ParsedChaosArgs } from './main';
