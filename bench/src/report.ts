/**
 * Turns run rows into the figures that matter (ratios against the echo and SQLite ceilings in
 * the same run) and a Markdown table. Pure: rows in, text out.
 */
import type { RunRow } from './merge';

/** Writes at C=64 should reach this share of the bare echo rate measured in the same run. */
export const INSERT_ECHO_RATIO_TARGET = 0.75;
export const INSERT_P99_MS_TARGET = 60;
export const BATCH_STATEMENTS_PER_SEC_TARGET = 50_000;
/** A run with more failed (or abandoned) operations than this share fails the benchmark. */
export const ERROR_RATE_MAX = 0.01;
export const REFERENCE_CONCURRENCY = 64;

export interface Summary {
  /** The concurrency the ratios are taken at: 64 when measured, else the highest measured. */
  referenceConcurrency: number | null;
  insertOpsPerSec: number | null;
  echoOpsPerSec: number | null;
  insertEchoRatio: number | null;
  insertP99Ms: number | null;
  batch100StatementsPerSec: number | null;
  batch100BestStatementsPerSec: number | null;
  sqliteCommitsPerSec: number | null;
  sqliteRowsPerSecBatched: number | null;
  /** Rows that exceeded ERROR_RATE_MAX or completed nothing, by name and concurrency. */
  failedRows: string[];
}

export function rowLabel(row: Pick<RunRow, 'name' | 'concurrency'>): string {
  return `${row.name}@C=${row.concurrency}`;
}

export function rowFailed(row: RunRow): boolean {
  const bad = row.errors + row.abandoned;
  return row.ops === 0 || bad / (row.ops + bad) > ERROR_RATE_MAX;
}

export function summarize(rows: readonly RunRow[]): Summary {
  const find = (name: string, c: number | null): RunRow | undefined => rows.find((r) => r.name === name && r.concurrency === c);
  const reference = referenceConcurrency(rows);
  const insert = find('insert', reference);
  const echo = find('echo', reference);
  const batch = find('batch100', reference);
  const batchRows = rows.filter((r) => r.name === 'batch100');
  return {
    referenceConcurrency: reference,
    insertOpsPerSec: insert?.opsPerSec ?? null,
    echoOpsPerSec: echo?.opsPerSec ?? null,
    insertEchoRatio: insert && echo && echo.opsPerSec > 0 ? insert.opsPerSec / echo.opsPerSec : null,
    insertP99Ms: insert && insert.ops > 0 ? insert.latencyMs.p99 : null,
    batch100StatementsPerSec: batch?.statementsPerSec ?? null,
    batch100BestStatementsPerSec: batchRows.length > 0 ? Math.max(...batchRows.map((r) => r.statementsPerSec)) : null,
    sqliteCommitsPerSec: rows.find((r) => r.name === 'sqlite-1')?.opsPerSec ?? null,
    sqliteRowsPerSecBatched: rows.find((r) => r.name === 'sqlite-100')?.statementsPerSec ?? null,
    failedRows: rows.filter(rowFailed).map(rowLabel),
  };
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

export function renderSummary(summary: Summary): string {
  const c = summary.referenceConcurrency ?? REFERENCE_CONCURRENCY;
  const mark = (ok: boolean | null): string => (ok === null ? '' : ok ? ' ✓' : ' ✗');
  const ratioOk = summary.insertEchoRatio === null ? null : summary.insertEchoRatio >= INSERT_ECHO_RATIO_TARGET;
  const p99Ok = summary.insertP99Ms === null ? null : summary.insertP99Ms < INSERT_P99_MS_TARGET;
  const batchOk = summary.batch100BestStatementsPerSec === null ? null : summary.batch100BestStatementsPerSec >= BATCH_STATEMENTS_PER_SEC_TARGET;
  const lines = [
    `insert ops/s at C=${c} ÷ echo ops/s at C=${c}: ${fmt(summary.insertOpsPerSec)} / ${fmt(summary.echoOpsPerSec)} = ${fmt(summary.insertEchoRatio, 2)} (target ≥ ${INSERT_ECHO_RATIO_TARGET})${mark(ratioOk)}`,
    `insert p99 at C=${c}: ${fmt(summary.insertP99Ms, 1)} ms (target < ${INSERT_P99_MS_TARGET} ms)${mark(p99Ok)}`,
    `batch100 statements/s: ${fmt(summary.batch100StatementsPerSec)} at C=${c}, best ${fmt(summary.batch100BestStatementsPerSec)} (target ≥ ${fmt(BATCH_STATEMENTS_PER_SEC_TARGET)})${mark(batchOk)}`,
    `better-sqlite3 ceiling: ${fmt(summary.sqliteCommitsPerSec)} commits/s (fsync per commit), ${fmt(summary.sqliteRowsPerSecBatched)} rows/s at 100 rows per commit`,
  ];
  if (summary.failedRows.length > 0) lines.push(`FAILED (> ${ERROR_RATE_MAX * 100}% errors or no ops): ${summary.failedRows.join(', ')}`);
  return lines.join('\n');
}

export function renderMarkdown(meta: ReportMeta, settingsLine: string, rows: readonly RunRow[], summary: Summary): string {
  const header = '| run | C | loaders | ops/s | stmts/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | loader cores | server cores |';
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const body = rows.map((r) => {
    const errors = r.errors === 0 && r.abandoned === 0 ? '0' : `${r.errors} (${Object.entries(r.errorsByCode).map(([k, n]) => `${k} ${n}`).join(', ')}${r.abandoned ? `, abandoned ${r.abandoned}` : ''})`;
    const servers = Object.entries(r.cpu.serverCores).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ');
    return `| ${r.name} | ${r.concurrency} | ${r.loaders} | ${fmt(r.opsPerSec)} | ${fmt(r.statementsPerSec)} | ${fmt(r.latencyMs.p50, 2)} | ${fmt(r.latencyMs.p99, 2)} | ${fmt(r.latencyMs.p999, 2)} | ${fmt(r.latencyMs.max, 2)} | ${errors} | ${fmt(r.cpu.loaderCores, 2)} | ${servers} |`;
  });
  return [
    `# quorumlite bench ${meta.startedAt}`,
    '',
    `Machine: ${meta.cpus} × ${meta.cpuModel}, Node ${meta.node}, ${meta.platform}. ${settingsLine}`,
    '',
    '## Summary',
    '',
    ...renderSummary(summary).split('\n').map((l) => `- ${l}`),
    '',
    '## Runs',
    '',
    header,
    rule,
    ...body,
    '',
  ].join('\n');
}
