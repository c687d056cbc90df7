/**
 * Turns run rows into the figures that matter: per protocol, the ratios against the echo and
 * SQLite ceilings of the same run, and every protocol side by side per scenario × concurrency.
 * Pure: rows in, text out.
 */
import type { RunRow } from './merge';

/** Writes at C=64 should reach this share of the bare echo rate measured in the same run. */
export const INSERT_ECHO_RATIO_TARGET = 0.75;
/**
 * Writes at C=64 should reach this share of the streaming echo: the same client, Session
 * stream and framing against a server that only answers (issue 18's honest ceiling).
 */
export const INSERT_STREAM_ECHO_RATIO_TARGET = 0.85;
export const INSERT_P99_MS_TARGET = 60;
export const BATCH_STATEMENTS_PER_SEC_TARGET = 100_000;
export const BATCH_P99_MS_TARGET = 100;
/** Every node's resident memory, at its peak over any run of a fresh cluster (issue 18). */
export const NODE_RSS_MB_TARGET = 200;
/** A run with more failed (or abandoned) operations than this share fails the benchmark. */
export const ERROR_RATE_MAX = 0.01;
export const REFERENCE_CONCURRENCY = 64;

/** The figures that matter for one protocol's cluster, against the baselines of the same run. */
export interface ProtocolSummary {
  protocol: string;
  insertOpsPerSec: number | null;
  insertEchoRatio: number | null;
  /** insert ÷ the streaming echo at the reference concurrency. */
  insertStreamEchoRatio: number | null;
  insertP99Ms: number | null;
  batch100StatementsPerSec: number | null;
  batch100BestStatementsPerSec: number | null;
  /** p99 of batch100 at the reference concurrency. */
  batch100P99Ms: number | null;
  /** The largest peak resident MiB of any of this protocol's nodes over all its runs. */
  peakNodeRssMb: number | null;
}

/** One protocol's figures in one scenario × concurrency cell of the side-by-side table. */
export interface ComparisonCell {
  protocol: string;
  /** null when this protocol has no run for the cell (its cluster failed to start). */
  opsPerSec: number | null;
  p99Ms: number | null;
  /** opsPerSec ÷ the best opsPerSec of the cell among runs that did not fail; 1 for the best. */
  ratioToBest: number | null;
  /** The run exceeded the error budget: shown, but never the best. */
  failed: boolean;
}

export interface ComparisonRow {
  scenario: string;
  concurrency: number;
  cells: ComparisonCell[];
}

export interface Summary {
  /** The concurrency the ratios are taken at: 64 when measured, else the highest measured. */
  referenceConcurrency: number | null;
  echoOpsPerSec: number | null;
  streamEchoOpsPerSec: number | null;
  sqliteCommitsPerSec: number | null;
  sqliteRowsPerSecBatched: number | null;
  /** The SQLite read ceiling at each table size it ran at (ceiling.ts), smallest first. */
  sqliteReads: SqliteReadCeiling[];
  /** One entry per protocol, in the order they ran. */
  protocols: ProtocolSummary[];
  /** Every scenario × concurrency with each protocol's figures side by side. */
  comparison: ComparisonRow[];
  /** Rows that exceeded ERROR_RATE_MAX or completed nothing, by protocol, name and concurrency. */
  failedRows: string[];
}

export interface SqliteReadCeiling {
  tableRows: number;
  readsPerSec: number;
}

/** The read ceiling's rows (`sqlite-reads-<table rows>`) that did not fail, smallest table first. */
export function sqliteReadCeilings(baselines: readonly RunRow[]): SqliteReadCeiling[] {
  return baselines
    .flatMap((r) => {
      const m = /^sqlite-reads-(\d+)$/.exec(r.name);
      return m === null || rowFailed(r) ? [] : [{ tableRows: Number(m[1]), readsPerSec: r.statementsPerSec }];
    })
    .sort((a, b) => a.tableRows - b.tableRows);
}

export interface ProtocolGroup {
  protocol: string;
  rows: RunRow[];
}

export function rowLabel(row: Pick<RunRow, 'name' | 'concurrency' | 'protocol'>): string {
  return `${row.protocol === null ? '' : `${row.protocol} `}${row.name}@C=${row.concurrency}`;
}

export function rowFailed(row: RunRow): boolean {
  const bad = row.errors + row.abandoned;
  return row.ops === 0 || bad / (row.ops + bad) > ERROR_RATE_MAX;
}

/** Protocols in the order their first row appears. */
export function protocolsOf(rows: readonly RunRow[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.protocol === null ? [] : [r.protocol])))];
}

/**
 * Baseline rows apart, then one group per protocol in `protocols` order (a protocol without
 * rows still gets its empty group, so a cluster that failed to start is visible).
 */
export function groupByProtocol(rows: readonly RunRow[], protocols: readonly string[] = protocolsOf(rows)): { baselines: RunRow[]; protocols: ProtocolGroup[] } {
  const order = [...new Set([...protocols, ...protocolsOf(rows)])];
  return {
    baselines: rows.filter((r) => r.protocol === null),
    protocols: order.map((protocol) => ({ protocol, rows: rows.filter((r) => r.protocol === protocol) })),
  };
}

export function summarize(rows: readonly RunRow[], protocols: readonly string[] = protocolsOf(rows)): Summary {
  const reference = referenceConcurrency(rows);
  const groups = groupByProtocol(rows, protocols);
  const echo = groups.baselines.find((r) => r.name === 'echo' && r.concurrency === reference);
  const streamEcho = groups.baselines.find((r) => r.name === 'stream-echo' && r.concurrency === reference);
  return {
    referenceConcurrency: reference,
    echoOpsPerSec: echo?.opsPerSec ?? null,
    streamEchoOpsPerSec: streamEcho?.opsPerSec ?? null,
    sqliteCommitsPerSec: groups.baselines.find((r) => r.name === 'sqlite-1')?.opsPerSec ?? null,
    sqliteRowsPerSecBatched: groups.baselines.find((r) => r.name === 'sqlite-100')?.statementsPerSec ?? null,
    sqliteReads: sqliteReadCeilings(groups.baselines),
    protocols: groups.protocols.map((g) => summarizeProtocol(g, reference, echo, streamEcho)),
    comparison: compareProtocols(groups.protocols),
    failedRows: rows.filter(rowFailed).map(rowLabel),
  };
}

const ratio = (row: RunRow | undefined, ceiling: RunRow | undefined): number | null => (row && ceiling && ceiling.opsPerSec > 0 ? row.opsPerSec / ceiling.opsPerSec : null);

function summarizeProtocol(group: ProtocolGroup, reference: number | null, echo: RunRow | undefined, streamEcho: RunRow | undefined): ProtocolSummary {
  const find = (name: string): RunRow | undefined => group.rows.find((r) => r.name === name && r.concurrency === reference);
  const insert = find('insert');
  const batch = find('batch100');
  const batchRows = group.rows.filter((r) => r.name === 'batch100');
  return {
    protocol: group.protocol,
    insertOpsPerSec: insert?.opsPerSec ?? null,
    insertEchoRatio: ratio(insert, echo),
    insertStreamEchoRatio: ratio(insert, streamEcho),
    insertP99Ms: insert && insert.ops > 0 ? insert.latencyMs.p99 : null,
    batch100StatementsPerSec: batch?.statementsPerSec ?? null,
    batch100BestStatementsPerSec: batchRows.length > 0 ? Math.max(...batchRows.map((r) => r.statementsPerSec)) : null,
    batch100P99Ms: batch && batch.ops > 0 ? batch.latencyMs.p99 : null,
    peakNodeRssMb: peakRssOf(group.rows),
  };
}

/** The largest peak resident MiB of any server over the rows; null when none was read. */
function peakRssOf(rows: readonly RunRow[]): number | null {
  const peaks = rows.flatMap((r) => Object.values(r.cpu.serverPeakRssMb ?? {}).filter((mb): mb is number => mb !== null));
  return peaks.length > 0 ? Math.max(...peaks) : null;
}

/** One row per scenario × concurrency any protocol ran: scenarios in run order, concurrency ascending. */
export function compareProtocols(groups: readonly ProtocolGroup[]): ComparisonRow[] {
  const all = groups.flatMap((g) => g.rows);
  const scenarios = [...new Set(all.map((r) => r.name))];
  const keys = [...new Map(all.map((r) => [`${r.name}@${r.concurrency}`, { scenario: r.name, concurrency: r.concurrency }])).values()];
  keys.sort((a, b) => scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) || a.concurrency - b.concurrency);
  return keys.map(({ scenario, concurrency }) => {
    const found = groups.map((g) => ({ protocol: g.protocol, row: g.rows.find((r) => r.name === scenario && r.concurrency === concurrency) }));
    const counted = found.flatMap(({ row }) => (row && !rowFailed(row) ? [row.opsPerSec] : []));
    const best = counted.length > 0 ? Math.max(...counted) : null;
    const cells = found.map(({ protocol, row }): ComparisonCell => ({
      protocol,
      opsPerSec: row?.opsPerSec ?? null,
      p99Ms: row && row.ops > 0 ? row.latencyMs.p99 : null,
      ratioToBest: row && best !== null && best > 0 ? row.opsPerSec / best : null,
      failed: row !== undefined && rowFailed(row),
    }));
    return { scenario, concurrency, cells };
  });
}

function referenceConcurrency(rows: readonly RunRow[]): number | null {
  const levels = rows.filter((r) => r.kind !== 'sqlite').map((r) => r.concurrency);
  if (levels.length === 0) return null;
  return levels.includes(REFERENCE_CONCURRENCY) ? REFERENCE_CONCURRENCY : Math.max(...levels);
}

export interface ReportMeta {
  startedAt: string;
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
}

const fmt = (n: number | null, digits = 0): string =>
  n === null || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const mark = (ok: boolean | null): string => (ok === null ? '' : ok ? ' ✓' : ' ✗');

function ceilingsLine(summary: Summary): string {
  const c = summary.referenceConcurrency ?? REFERENCE_CONCURRENCY;
  const reads = summary.sqliteReads;
  const readsPart =
    reads.length === 0
      ? ''
      : `, point reads ${reads.map((r) => `${fmt(r.readsPerSec)}/s at ${fmt(r.tableRows)} rows`).join(', ')}` +
        (reads.length > 1 && reads[0]!.readsPerSec > 0 ? ` (${fmt((100 * reads[reads.length - 1]!.readsPerSec) / reads[0]!.readsPerSec)} % of the smaller table's)` : '');
  return `ceilings: echo ${fmt(summary.echoOpsPerSec)} ops/s (unary), stream-echo ${fmt(summary.streamEchoOpsPerSec)} ops/s (Session client) at C=${c}; better-sqlite3 ${fmt(summary.sqliteCommitsPerSec)} commits/s (fsync per commit), ${fmt(summary.sqliteRowsPerSecBatched)} rows/s at 100 rows per commit${readsPart}`;
}

/** The targets, for one protocol: insert ÷ stream echo, insert ÷ echo, insert p99, batch100 statements/s and p99, node memory. */
function protocolLine(p: ProtocolSummary, summary: Summary): string {
  const c = summary.referenceConcurrency ?? REFERENCE_CONCURRENCY;
  const ratioOk = p.insertEchoRatio === null ? null : p.insertEchoRatio >= INSERT_ECHO_RATIO_TARGET;
  const streamOk = p.insertStreamEchoRatio === null ? null : p.insertStreamEchoRatio >= INSERT_STREAM_ECHO_RATIO_TARGET;
  const p99Ok = p.insertP99Ms === null ? null : p.insertP99Ms < INSERT_P99_MS_TARGET;
  const batchOk = p.batch100BestStatementsPerSec === null ? null : p.batch100BestStatementsPerSec >= BATCH_STATEMENTS_PER_SEC_TARGET;
  const batchP99Ok = p.batch100P99Ms === null ? null : p.batch100P99Ms < BATCH_P99_MS_TARGET;
  const rssOk = p.peakNodeRssMb === null ? null : p.peakNodeRssMb < NODE_RSS_MB_TARGET;
  return [
    `${p.protocol}: insert ÷ stream-echo at C=${c} ${fmt(p.insertOpsPerSec)} / ${fmt(summary.streamEchoOpsPerSec)} = ${fmt(p.insertStreamEchoRatio, 2)} (target ≥ ${INSERT_STREAM_ECHO_RATIO_TARGET})${mark(streamOk)}`,
    `insert ÷ echo ${fmt(p.insertOpsPerSec)} / ${fmt(summary.echoOpsPerSec)} = ${fmt(p.insertEchoRatio, 2)} (target ≥ ${INSERT_ECHO_RATIO_TARGET})${mark(ratioOk)}`,
    `insert p99 ${fmt(p.insertP99Ms, 1)} ms (target < ${INSERT_P99_MS_TARGET} ms)${mark(p99Ok)}`,
    `batch100 ${fmt(p.batch100StatementsPerSec)} statements/s at C=${c}, best ${fmt(p.batch100BestStatementsPerSec)} (target ≥ ${fmt(BATCH_STATEMENTS_PER_SEC_TARGET)})${mark(batchOk)}`,
    `batch100 p99 ${fmt(p.batch100P99Ms, 1)} ms (target < ${BATCH_P99_MS_TARGET} ms)${mark(batchP99Ok)}`,
    `peak node RSS ${fmt(p.peakNodeRssMb)} MB (target < ${NODE_RSS_MB_TARGET} MB)${mark(rssOk)}`,
  ].join('; ');
}

function cellText(cell: ComparisonCell): string {
  if (cell.opsPerSec === null) return '—';
  return `${fmt(cell.opsPerSec)} ${fmt(cell.p99Ms, 1)}ms ×${fmt(cell.ratioToBest, 2)}${cell.failed ? ' ✗' : ''}`;
}

/** The side-by-side table as aligned plain text: one column per protocol. */
export function renderComparisonText(summary: Summary): string {
  if (summary.comparison.length === 0) return '';
  const header = ['scenario', 'C', ...summary.protocols.map((p) => p.protocol)];
  const body = summary.comparison.map((row) => [row.scenario, String(row.concurrency), ...row.cells.map(cellText)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((text, i) => (i < 2 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join('  ').trimEnd();
  return ['side by side (ops/s, p99, ÷ best ops/s of the row):', line(header), ...body.map(line)].join('\n');
}

export function renderSummary(summary: Summary): string {
  const lines = [ceilingsLine(summary), ...summary.protocols.map((p) => protocolLine(p, summary))];
  const table = renderComparisonText(summary);
  if (table !== '') lines.push(table);
  if (summary.failedRows.length > 0) lines.push(`FAILED (> ${ERROR_RATE_MAX * 100}% errors or no ops): ${summary.failedRows.join(', ')}`);
  return lines.join('\n');
}

/** Markdown: one ops/s, p99 and ratio-to-best column per protocol. */
export function renderComparisonMarkdown(summary: Summary): string[] {
  const names = summary.protocols.map((p) => p.protocol);
  const header = `| scenario | C | ${names.map((n) => `${n} ops/s | ${n} p99 ms | ${n} ÷ best`).join(' | ')} |`;
  const rule = `|---|---:|${names.map(() => '---:|---:|---:|').join('')}`;
  const body = summary.comparison.map((row) => {
    const cells = row.cells.map((cell) => `${fmt(cell.opsPerSec)}${cell.failed ? ' ✗' : ''} | ${fmt(cell.p99Ms, 2)} | ${fmt(cell.ratioToBest, 2)}`);
    return `| ${row.scenario} | ${row.concurrency} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...body];
}

function ratiosMarkdown(summary: Summary): string[] {
  const c = summary.referenceConcurrency ?? REFERENCE_CONCURRENCY;
  return [
    `| protocol | insert ops/s at C=${c} | insert ÷ stream-echo (≥ ${INSERT_STREAM_ECHO_RATIO_TARGET}) | insert ÷ echo (≥ ${INSERT_ECHO_RATIO_TARGET}) | insert p99 ms (< ${INSERT_P99_MS_TARGET}) | batch100 stmts/s at C=${c} | best batch100 stmts/s (≥ ${fmt(BATCH_STATEMENTS_PER_SEC_TARGET)}) | batch100 p99 ms (< ${BATCH_P99_MS_TARGET}) | peak node RSS MB (< ${NODE_RSS_MB_TARGET}) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.protocols.map((p) => `| ${p.protocol} | ${fmt(p.insertOpsPerSec)} | ${fmt(p.insertStreamEchoRatio, 2)} | ${fmt(p.insertEchoRatio, 2)} | ${fmt(p.insertP99Ms, 1)} | ${fmt(p.batch100StatementsPerSec)} | ${fmt(p.batch100BestStatementsPerSec)} | ${fmt(p.batch100P99Ms, 1)} | ${fmt(p.peakNodeRssMb)} |`),
  ];
}

function runsMarkdown(rows: readonly RunRow[]): string[] {
  const header = '| run | C | loaders | ops/s | stmts/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | loader cores | server cores | server peak RSS MB |';
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|';
  if (rows.length === 0) return ['No runs.'];
  const body = rows.map((r) => {
    const errors = r.errors === 0 && r.abandoned === 0 ? '0' : `${r.errors} (${Object.entries(r.errorsByCode).map(([k, n]) => `${k} ${n}`).join(', ')}${r.abandoned ? `, abandoned ${r.abandoned}` : ''})`;
    const servers = Object.entries(r.cpu.serverCores).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ');
    const rss = Object.entries(r.cpu.serverPeakRssMb ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || '—';
    return `| ${r.name} | ${r.concurrency} | ${r.loaders} | ${fmt(r.opsPerSec)} | ${fmt(r.statementsPerSec)} | ${fmt(r.latencyMs.p50, 2)} | ${fmt(r.latencyMs.p99, 2)} | ${fmt(r.latencyMs.p999, 2)} | ${fmt(r.latencyMs.max, 2)} | ${errors} | ${fmt(r.cpu.loaderCores, 2)} | ${servers} | ${rss} |`;
  });
  return [header, rule, ...body];
}

export function renderMarkdown(meta: ReportMeta, settingsLine: string, rows: readonly RunRow[], summary: Summary): string {
  const groups = groupByProtocol(rows, summary.protocols.map((p) => p.protocol));
  const lines = [
    `# quorumlite bench ${meta.startedAt}`,
    '',
    `Machine: ${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}, ${meta.platform}. ${settingsLine}`,
    '',
    '## Summary',
    '',
    `- ${ceilingsLine(summary)}`,
    ...summary.protocols.map((p) => `- ${protocolLine(p, summary)}`),
    ...(summary.failedRows.length > 0 ? [`- FAILED (> ${ERROR_RATE_MAX * 100}% errors or no ops): ${summary.failedRows.join(', ')}`] : []),
    '',
  ];
  if (summary.protocols.length > 0) {
    lines.push('## Protocols side by side', '', 'ops/s and p99 of each protocol, and its ops/s ÷ the best of the row (✗: the run failed and is not counted as best).', '');
    lines.push(...renderComparisonMarkdown(summary), '', '## Ratios per protocol', '', ...ratiosMarkdown(summary), '');
  }
  lines.push('## Runs', '', '### baselines', '', ...runsMarkdown(groups.baselines), '');
  for (const g of groups.protocols) lines.push(`### ${g.protocol}`, '', ...runsMarkdown(g.rows), '');
  return lines.join('\n');
}
