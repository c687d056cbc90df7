/**
 * What each scenario sends. Pure data and key/value builders, shared by the loader, the
 * SQLite ceiling and the report.
 */

export const SCENARIO_NAMES = ['insert', 'select', 'select-any', 'select-stale', 'mixed90', 'mixed50', 'batch100', 'hot-update'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const TABLE_DDL = 'CREATE TABLE IF NOT EXISTS kv(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)';
export const INSERT_SQL = 'INSERT INTO kv(k, v) VALUES (?, ?)';
export const SELECT_SQL = 'SELECT v FROM kv WHERE k = ?';
export const UPDATE_SQL = 'UPDATE kv SET v = ? WHERE k = ?';
/** hot-update rewrites only this many preloaded rows, so concurrent writes contend for them. */
export const HOT_ROWS = 8;
export const BATCH_ROWS = 100;
/** Text payload so a row (id + key + value + overhead) is about 100 bytes. */
export const VALUE_TEXT = 'x'.repeat(72);
/**
 * Point reads per operation of the SQLite read ceiling (ceiling.ts), in one read transaction:
 * about what a node's event-loop turn shares in one (SqlStateMachine.beginReads), and enough
 * that the closed loop's own cost per operation does not hide a read's.
 */
export const READ_CEILING_READS_PER_OP = 64;
/** Size of the echo request: about what one single-row Execute puts on the wire. */
export const ECHO_PAYLOAD_BYTES = 128;

export function statementsPerOp(scenario: ScenarioName): number {
  switch (scenario) {
    case 'insert':
    case 'select':
    case 'select-any':
    case 'select-stale':
    case 'mixed90':
    case 'mixed50':
    case 'hot-update':
      return 1;
    case 'batch100':
      return BATCH_ROWS;
    default:
      return assertNever(scenario);
  }
}

/** Scenarios that read or update the preloaded rows. */
export function needsPreload(scenario: ScenarioName): boolean {
  return scenario.startsWith('select') || scenario.startsWith('mixed') || scenario === 'hot-update';
}

/**
 * Whether operation `seq` of a mixed scenario writes: one in ten for mixed90, one in two for
 * mixed50, spread evenly over the sequence so every window holds the same mix.
 */
export function mixedWrites(scenario: 'mixed90' | 'mixed50', seq: number): boolean {
  return scenario === 'mixed90' ? seq % 10 === 9 : seq % 2 === 1;
}

export function preloadKey(i: number): string {
  return `pre-${i.toString().padStart(8, '0')}`;
}

/**
 * The preloaded key that read `seq` of `loader` reads: spread over the table in a stride, the
 * same sequence on every run, each loader from its own offset.
 */
export function readKeyOf(seq: number, loader: number, preloadRows: number): string {
  return preloadKey((seq * 7919 + loader * 104729) % preloadRows);
}

/** Unique across runs, loaders and clients: run id, loader index, per-loader sequence. */
export function insertKey(runId: string, loader: number, seq: number): string {
  return `${runId}-${loader}-${seq}`;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
