/**
 * Wire shapes (as proto-loader produces them with PROTO_LOADER_OPTIONS: int64 as decimal
 * strings, enums as names, defaults filled) and their conversion to the client's types.
 */
import { wireValueOrProblem, WireValueProblem, type SqlValue, type WireValue } from '@quorumlite/proto';
import type { ExecuteResult, MessageTally, NodeCounters, NodeStatus, QueryResult } from './types';

type Int64 = string | number;

export interface WireExecuteResponse {
  results?: { rows_affected?: Int64; last_insert_rowid?: Int64; columns?: WireQueryResponse['columns']; rows?: WireQueryResponse['rows']; truncated?: boolean }[];
  index?: Int64;
  duplicate?: boolean;
  uncommitted?: boolean;
  leader_address?: string;
}

export interface WireQueryResponse {
  columns?: { name?: string; decl_type?: string }[];
  rows?: { values?: WireValue[] }[];
  index?: Int64;
  truncated?: boolean;
}

export interface WireStatusResponse {
  node_id?: string;
  role?: string;
  leader_id?: string;
  leader_address?: string;
  term?: Int64;
  fencing_name?: string;
  commit_index?: Int64;
  applied_index?: Int64;
  last_index?: Int64;
  snapshot_index?: Int64;
  log_records?: Int64;
  log_bytes?: Int64;
  data_voters_hold?: Int64;
  store?: string;
  members?: { id?: string; address?: string; role?: string; match_index?: Int64; reachable?: boolean }[];
  protocol?: string;
  version?: string;
  counters?: WireNodeCounters | null;
}

interface WireTally {
  type?: string;
  count?: Int64;
  bytes?: Int64;
}

interface WireNodeCounters {
  sent?: WireTally[];
  received?: WireTally[];
  storage_syncs?: Int64;
  elections?: Int64;
  leader_changes?: Int64;
  leaderless_ms?: number;
  writes_answered?: Int64;
  write_ms?: number;
  reads_answered?: Int64;
  read_ms?: number;
  steps?: { step?: string; count?: Int64; total_ms?: number }[];
  log_spare_failures?: Int64;
}

/** A count as a number: counters stay far below 2^53. */
function count(v: Int64 | undefined): number {
  return Number(big(v));
}

function decodeTallies(tallies: WireTally[] | undefined): MessageTally[] {
  return (tallies ?? []).map((t) => ({ type: t.type ?? '', count: count(t.count), bytes: count(t.bytes) }));
}

export function decodeCounters(c: WireNodeCounters | null | undefined): NodeCounters {
  return {
    sent: decodeTallies(c?.sent),
    received: decodeTallies(c?.received),
    storageSyncs: count(c?.storage_syncs),
    elections: count(c?.elections),
    leaderChanges: count(c?.leader_changes),
    leaderlessMs: c?.leaderless_ms ?? 0,
    writesAnswered: count(c?.writes_answered),
    writeMs: c?.write_ms ?? 0,
    readsAnswered: count(c?.reads_answered),
    readMs: c?.read_ms ?? 0,
    steps: (c?.steps ?? []).map((t) => ({ step: t.step ?? '', count: count(t.count), totalMs: t.total_ms ?? 0 })),
    logSpareFailures: count(c?.log_spare_failures),
  };
}

export function big(v: Int64 | undefined): bigint {
  if (v === undefined || v === '') return 0n;
  return BigInt(v);
}

export function decodeExecute(res: WireExecuteResponse): ExecuteResult {
  return {
    results: (res.results ?? []).map((r) => {
      const head = { rowsAffected: Number(r.rows_affected ?? 0), lastInsertRowid: big(r.last_insert_rowid) };
      // Statements that return rows (SELECT, … RETURNING) always name their columns.
      if (r.columns === undefined || r.columns.length === 0) return head;
      const { columns, rows, truncated } = decodeQuery(r);
      return { ...head, rows: { columns, rows, truncated } };
    }),
    index: big(res.index),
    duplicate: res.duplicate ?? false,
    uncommitted: res.uncommitted ?? false,
  };
}

/** A row's values; the place of a bad one is named only when there is one. */
function decodeRow(row: { values?: WireValue[] }, r: number): SqlValue[] {
  const wire = row.values ?? [];
  const values = new Array<SqlValue>(wire.length); // sized once: push from empty allocates room for 16
  for (let c = 0; c < wire.length; c++) {
    const v = wireValueOrProblem(wire[c]);
    if (v instanceof WireValueProblem) throw new TypeError(`row ${r + 1} column ${c + 1}: ${v.why}`);
    values[c] = v;
  }
  return values;
}

export function decodeQuery(res: WireQueryResponse): QueryResult {
  return {
    columns: (res.columns ?? []).map((c) => ({ name: c.name ?? '', declType: c.decl_type ?? '' })),
    rows: (res.rows ?? []).map(decodeRow),
    index: big(res.index),
    truncated: res.truncated ?? false,
  };
}

export function decodeStatus(res: WireStatusResponse): NodeStatus {
  return {
    nodeId: res.node_id ?? '',
    role: res.role ?? '',
    leaderId: res.leader_id ?? '',
    leaderAddress: res.leader_address ?? '',
    term: big(res.term),
    fencingName: res.fencing_name ?? '',
    commitIndex: big(res.commit_index),
    appliedIndex: big(res.applied_index),
    lastIndex: big(res.last_index),
    snapshotIndex: big(res.snapshot_index),
    logRecords: big(res.log_records),
    logBytes: big(res.log_bytes),
    dataVotersHold: big(res.data_voters_hold),
    store: res.store ?? '',
    members: (res.members ?? []).map((m) => ({
      id: m.id ?? '',
      address: m.address ?? '',
      role: m.role ?? '',
      matchIndex: big(m.match_index),
      reachable: m.reachable ?? false,
    })),
    protocol: res.protocol ?? '',
    version: res.version ?? '',
    counters: decodeCounters(res.counters),
  };
}
