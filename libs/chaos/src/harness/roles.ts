/**
 * What a run's topology means for the harness: which nodes clients may read from (a witness
 * keeps no database and refuses reads; writes may go anywhere, a witness forwards them),
 * which nodes are compared after the heal, and how many log records a witness may still hold
 * once every data voter has everything.
 */
import { CONFIG_DEFAULTS, parseTopology, votersOnly, type Topology } from '@quorumlite/cluster';

export interface RoledNode {
  readonly id: string;
  readonly address: string;
  readonly role: string;
}

/** --nodes N is N data voters; --topology names a shipped shape; both must agree on the size. */
export function resolveTopology(nodes: number | undefined, topology: string | undefined): Topology {
  if (topology === undefined) return votersOnly(nodes ?? 3);
  const t = parseTopology(topology);
  const size = t.voters + t.witnesses + t.observers;
  if (nodes !== undefined && nodes !== size) throw new RangeError(`topology ${t.name} has ${size} nodes, but ${nodes} were asked for`);
  return t;
}

/** A node that keeps the database: a data voter or an observer. */
export function keepsData(node: Pick<RoledNode, 'role'>): boolean {
  return node.role !== 'witness';
}

/** Where a client sends what: reads only to data nodes, writes to every node. */
export function clientAddresses(nodes: readonly RoledNode[]): { reads: string[]; writes: string[] } {
  return { reads: nodes.filter(keepsData).map((n) => n.address), writes: nodes.map((n) => n.address) };
}

/** The node flag that sets how many records a witness gathers before it forgets them. */
const EVERY_ENTRIES_FLAG = '--snapshot-every-entries';

/** The nodes' --snapshot-every-entries (as `--flag N` or `--flag=N`), else the node default. */
export function snapshotEveryEntriesOf(nodeArgs: readonly string[]): number {
  let found: number = CONFIG_DEFAULTS.snapshotEveryEntries;
  for (let i = 0; i < nodeArgs.length; i++) {
    const arg = nodeArgs[i]!;
    const text = arg === EVERY_ENTRIES_FLAG ? nodeArgs[i + 1] : arg.startsWith(`${EVERY_ENTRIES_FLAG}=`) ? arg.slice(EVERY_ENTRIES_FLAG.length + 1) : undefined;
    const n = Number(text);
    if (text !== undefined && Number.isInteger(n) && n > 0) found = n;
  }
  return found;
}

/**
 * Records a witness may hold past its forget point once it has heard that every data voter
 * holds everything and applied one more record: fewer than its threshold, which each node
 * stretches by at most a quarter — twice the threshold leaves room for that, and a witness
 * that forgets nothing still exceeds it as soon as the run wrote more than that.
 */
export function witnessRecordsMax(nodeArgs: readonly string[]): number {
  return 2 * snapshotEveryEntriesOf(nodeArgs);
}

/** What a witness's Status said after the heal. */
export interface WitnessReport {
  nodeId: string;
  /** Records past its forget point: lastIndex - snapshotIndex. */
  retainedRecords: number;
  recordsMax: number;
  /** Records and bytes in its log files (whole segments go, so these lag the forget point). */
  logRecords: number;
  logBytes: number;
  lastIndex: number;
  snapshotIndex: number;
  dataVotersHold: number;
  /** Why no Status could be read, if none could. */
  error: string | null;
}

/** Each witness answered, and holds no more than its bound past its forget point. */
export function witnessReasons(reports: readonly WitnessReport[]): string[] {
  return reports.flatMap((r) => {
    if (r.error !== null) return [`witness ${r.nodeId}: no Status after the heal: ${r.error}`];
    if (r.retainedRecords <= r.recordsMax) return [];
    return [
      `witness ${r.nodeId} holds ${r.retainedRecords} records past its forget point (at most ${r.recordsMax} expected): last ${r.lastIndex}, forgot through ${r.snapshotIndex}, data voters hold ${r.dataVotersHold}; log files ${r.logRecords} records, ${r.logBytes} bytes`,
    ];
  });
}
