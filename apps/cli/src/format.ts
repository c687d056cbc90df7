/**
 * How results look in a terminal (aligned tables, NULL, x'hex' blobs, exact integers) and as
 * --json (bigints as decimal strings, blobs as { "blob": "<hex>" }).
 */
import { QuorumliteError, messageTotals, type ExecuteResult, type NodeStatus, type QueryResult, type SqlValue } from '@quorumlite/client';

/** One value as the shell shows it. */
export function formatValue(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatReal(v);
  if (typeof v === 'string') return v;
  return `x'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'`;
}

/** Reals keep a decimal point so 2.0 is not mistaken for the integer 2. */
function formatReal(v: number): string {
  const s = String(v);
  return Number.isFinite(v) && /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** Control characters would break the table's rows; show them escaped. */
function cellText(v: SqlValue): string {
  return formatValue(v).replace(/[\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

function isNumeric(v: SqlValue): boolean {
  return typeof v === 'bigint' || typeof v === 'number';
}

function plural(n: number | bigint, one: string, many: string): string {
  return `${n} ${n === 1 || n === 1n ? one : many}`;
}

/** An aligned table: numbers right-aligned, everything else left-aligned, then a row count line. */
export function formatTable(result: QueryResult): string {
  const header = result.columns.map((c) => c.name);
  const cells = result.rows.map((row) => row.map(cellText));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const pad = (text: string, i: number, right: boolean): string => (right ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0));
  const lines: string[] = [];
  if (header.length > 0) {
    lines.push(header.map((h, i) => pad(h, i, false)).join(' | ').trimEnd());
    lines.push(widths.map((w) => '-'.repeat(w)).join('-+-'));
    result.rows.forEach((row, r) => {
      lines.push(row.map((v, i) => pad(cells[r]?.[i] ?? '', i, isNumeric(v))).join(' | ').trimEnd());
    });
  }
  const notes = [plural(result.rows.length, 'row', 'rows'), `index ${result.index}`];
  if (result.truncated) notes.push('truncated');
  lines.push(`(${notes.join(', ')})`);
  return lines.join('\n');
}

/** "3 rows affected (last insert rowid 7, index 42)", one line per statement. */
export function formatExecute(result: ExecuteResult): string {
  if (result.uncommitted) return `durable on the leader at index ${result.index}, not yet committed (durability leader: no results yet; it is lost if the leader fails first)`;
  return result.results
    .map((r) => {
      const notes = [`last insert rowid ${r.lastInsertRowid}`, `index ${result.index}`];
      if (result.duplicate) notes.push('duplicate of an earlier request');
      const line = `${plural(r.rowsAffected, 'row', 'rows')} affected (${notes.join(', ')})`;
      // A statement that returns rows (RETURNING, or a SELECT through the log) shows them first.
      return r.rows === undefined ? line : `${formatTable({ ...r.rows, index: result.index })}\n${line}`;
    })
    .join('\n');
}

/** One line, never a stack trace: "error (sql_error SQLITE_CONSTRAINT_UNIQUE): UNIQUE constraint failed: t.id". */
export function formatError(e: unknown): string {
  if (e instanceof QuorumliteError) {
    const code = e.sqliteCode ? `${e.code} ${e.sqliteCode}` : e.code;
    const leader = e.code === 'not_leader' && e.leaderAddress ? ` (leader ${e.leaderId ?? '?'} at ${e.leaderAddress})` : '';
    return `error (${code}): ${oneLine(e.message)}${leader}`;
  }
  if (e instanceof TypeError || e instanceof RangeError) return `error (invalid): ${oneLine(e.message)}`;
  return `error: ${oneLine(e instanceof Error ? e.message : String(e))}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** A member's match index as this node knows it: only the leader tracks how far each member has replicated. */
function knownMatchIndex(s: NodeStatus, member: NodeStatus['members'][number]): bigint | null {
  return s.role === 'leader' || member.id === s.nodeId ? member.matchIndex : null;
}

/**
 * The status as `status --json` prints it: a match index this node does not track is null (the
 * table's `-`), not the 0 the wire carries for "unknown".
 */
export function statusJson(s: NodeStatus): string {
  return toJson({ ...s, members: s.members.map((m) => ({ ...m, matchIndex: knownMatchIndex(s, m) })) });
}

/** 1536n → '1.5 KiB'. */
export function formatBytes(bytes: bigint): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Since the node started: messages out and in, storage syncs, elections, time without a leader. */
function formatCounters(s: NodeStatus): string {
  const c = s.counters;
  const sent = messageTotals(c.sent);
  const received = messageTotals(c.received);
  return [
    `sent ${sent.count} msgs (${formatBytes(BigInt(sent.bytes))})`,
    `received ${received.count} (${formatBytes(BigInt(received.bytes))})`,
    `${c.storageSyncs} syncs`,
    `${c.elections} elections`,
    `${c.leaderChanges} leader changes`,
    `${Math.round(c.leaderlessMs)} ms without a leader`,
    // Worth a look only when it happened: the disk may be short of room.
    ...(c.logSpareFailures > 0 ? [`${c.logSpareFailures} log segments not prepared ahead (is the disk short of room?)`] : []),
  ].join(', ');
}

export function formatStatus(s: NodeStatus): string {
  const leader = s.leaderId ? `${s.leaderId} at ${s.leaderAddress || '?'}` : '(none known)';
  const lines = [
    `node      ${s.nodeId} (${s.role})`,
    `leader    ${leader}`,
    // A node that does not name its fencing number predates the field and runs Raft.
    `${(s.fencingName || 'term').padEnd(10)}${s.term}`,
    `log       commit ${s.commitIndex}  applied ${s.appliedIndex}  last ${s.lastIndex}  snapshot ${s.snapshotIndex}`,
    `disk      ${s.logRecords} records, ${formatBytes(s.logBytes)} in the log${s.role === 'witness' || s.dataVotersHold > 0n ? `  (data voters hold ${s.dataVotersHold})` : ''}`,
    `protocol  ${s.protocol || '?'}  version ${s.version || '?'}`,
    `counted   ${formatCounters(s)}`,
  ];
  if (s.members.length > 0) {
    const table = formatTable({
      columns: ['id', 'address', 'role', 'match', 'reachable'].map((name) => ({ name, declType: '' })),
      rows: s.members.map((m) => [
        m.id + (m.id === s.leaderId ? ' *' : ''),
        m.address,
        m.role,
        knownMatchIndex(s, m) ?? '-',
        m.reachable ? 'yes' : 'no',
      ]),
      index: 0n,
      truncated: false,
    });
    lines.push('', table.slice(0, table.lastIndexOf('\n')));
  }
  return lines.join('\n');
}

/** JSON-safe copy: bigint → decimal string, bytes → { blob: hex }, errors → their fields. */
export function toJsonable(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { blob: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (v instanceof QuorumliteError) {
    return toJsonable({ code: v.code, message: v.message, grpcCode: v.grpcCode, sqliteCode: v.sqliteCode, leaderId: v.leaderId, leaderAddress: v.leaderAddress, index: v.index });
  }
  if (Array.isArray(v)) return v.map(toJsonable);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, toJsonable(x)]));
  }
  return v;
}

export function toJson(v: unknown): string {
  return JSON.stringify(toJsonable(v));
}
