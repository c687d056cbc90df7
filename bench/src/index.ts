/**
 * The benchmark harness behind `quorumlite bench` and the hidden `quorumlite bench-worker`.
 */
export { runBench, writeReport, machineMeta, type BenchReport, type RunBenchOptions } from './runner';
export { runBenchWorker } from './worker';
export { Histogram, bucketIndexOf, bucketUpperBound, HISTOGRAM_VALUE_MAX, type HistogramJson } from './histogram';
export {
  parseBenchArgs,
  parseDurationMs,
  parseList,
  parsePositiveInt,
  parsePositiveIntList,
  parseProtocols,
  parseNodeArgs,
  splitConcurrency,
  BenchArgsError,
  BENCH_USAGE,
  DEFAULT_SETTINGS,
  QUICK_SETTINGS,
  type BenchSettings,
  type Baseline,
} from './args';
export { mergeWorkerResults, latencySummaryMs, type RunRow, type RowKind, type CpuSummary, type LatencySummaryMs } from './merge';
export { runClosedLoop, errorCodeOf, type WorkerResult, type LoopPlan, type Operation } from './loop';
export { startEchoServer, createEchoClient, echoOnce, type EchoServer } from './echo';
export { summarize, renderSummary, renderMarkdown, renderComparisonText, renderComparisonMarkdown, compareProtocols, groupByProtocol, rowFailed, type Summary, type ProtocolSummary, type ComparisonRow, type ComparisonCell, type ProtocolGroup } from './report';
export { Child, defaultWorkerCommand, type WorkerCommand } from './launcher';
export { SCENARIO_NAMES, statementsPerOp, type ScenarioName } from './scenarios';
export {
  runFailoverBench,
  parseFailoverArgs,
  percentile as failoverPercentile,
  summarizeStalls,
  renderFailoverSummary,
  FAILOVER_USAGE,
  type FailoverSettings,
  type FailoverTrial,
  type FailoverStallSummary,
  type FailoverProtocolResult,
} from './failover';
export { runPartitionBench, parsePartitionArgs, PARTITION_USAGE, type PartitionSettings, type PartitionProtocolResult } from './partition';
export {
  PARTITION_SCENARIOS,
  planScenario,
  measureTrial,
  summarizeScenario,
  renderPartitionTable,
  type PartitionScenario,
  type PartitionTrial,
  type ScenarioSummary,
  type FaultStep,
} from './partition-metrics';
export { runWitnessDiskBench, parseWitnessDiskArgs, renderWitnessDisk, directoryBytes, WITNESS_DISK_USAGE, type WitnessDiskSettings, type WitnessDiskResult, type NodeDisk } from './witness-disk';
export { runCompare, writeCompareResults, Progress } from './compare';
export { parseCompareArgs, planCells, estimateMs, COMPARE_USAGE, COMPARE_SCENARIOS, type CompareSettings, type CellPlan } from './compare-args';
export { renderCompareMarkdown, renderCompareHtml, buildFigures, cellFailed, type CompareResults, type CellResult } from './compare-report';
