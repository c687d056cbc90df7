/**
 * Small inline-SVG charts for the comparison report: lines over categories, grouped bars and a
 * strip of dots. Pure: data in, markup out, no library. A value that failed is drawn as a
 * labelled ✗ on the axis, never as a zero; a chart with nothing measured says so in its body.
 */

export interface ChartValue {
  /** null with failed=false: not measured (absent from the matrix); nothing is drawn. */
  y: number | null;
  failed: boolean;
}

export interface ChartSeries {
  name: string;
  values: ChartValue[];
}

export interface CategoryChart {
  title: string;
  yLabel: string;
  categories: string[];
  series: ChartSeries[];
}

export interface StripSeries {
  name: string;
  values: number[];
  failed: boolean;
}

export interface StripChart {
  title: string;
  yLabel: string;
  series: StripSeries[];
  /** A dashed horizontal line, e.g. a target. */
  guide?: { y: number; label: string };
}

const WIDTH = 560;
const HEIGHT = 300;
const M = { left: 64, right: 16, top: 30, bottom: 58 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const TICKS = 5;

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round upper bound for the y axis: 1, 2, 2.5 or 5 × 10^k at or above max. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export function formatTick(v: number): string {
  if (v >= 1_000_000) return `${+(v / 1_000_000).toFixed(1)}M`;
  if (v >= 10_000) return `${+(v / 1000).toFixed(0)}k`;
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return `${+v.toFixed(v < 10 ? 2 : 0)}`;
}

const yOf = (v: number, top: number): number => M.top + PLOT_H - (v / top) * PLOT_H;

function frame(title: string, yLabel: string, top: number, body: string, legend: string[]): string {
  const ticks = Array.from({ length: TICKS + 1 }, (_, i) => (top * i) / TICKS)
    .map((v) => `<line class="grid" x1="${M.left}" x2="${WIDTH - M.right}" y1="${yOf(v, top).toFixed(1)}" y2="${yOf(v, top).toFixed(1)}" stroke="#eee"/><text x="${M.left - 6}" y="${(yOf(v, top) + 4).toFixed(1)}" text-anchor="end">${formatTick(v)}</text>`)
    .join('');
  const axes = `<g class="axes" stroke="#333"><line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PLOT_H}"/><line x1="${M.left}" x2="${WIDTH - M.right}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}"/></g>`;
  const legendItems = legend.map((name, i) => `<g transform="translate(${M.left + i * 120},${HEIGHT - 14})"><rect width="10" height="10" y="-9" fill="${colorOf(i)}"/><text x="14">${escapeXml(name)}</text></g>`).join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<g class="y-ticks">${ticks}</g>`,
    axes,
    `<text transform="translate(14,${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    body,
    `<g class="legend">${legendItems}</g>`,
    '</svg>',
  ].join('');
}

function emptyNote(): string {
  return `<text class="empty" x="${M.left + PLOT_W / 2}" y="${M.top + PLOT_H / 2}" text-anchor="middle" fill="#999">nothing was measured</text>`;
}

function failedMark(x: number, color: string): string {
  return `<text class="failed" x="${x.toFixed(1)}" y="${M.top + PLOT_H - 4}" text-anchor="middle" fill="${color}" font-weight="bold">✗ failed</text>`;
}

function measured(series: readonly { values: readonly ChartValue[] }[]): number[] {
  return series.flatMap((s) => s.values.flatMap((v) => (v.y !== null && !v.failed && Number.isFinite(v.y) ? [v.y] : [])));
}

function categoryAxis(categories: readonly string[], xOf: (i: number) => number): string {
  return `<g class="x-ticks">${categories.map((c, i) => `<text x="${xOf(i).toFixed(1)}" y="${M.top + PLOT_H + 16}" text-anchor="middle">${escapeXml(c)}</text>`).join('')}</g>`;
}

/** One line per series over evenly spaced categories (e.g. C=1, 16, 64, 256). */
export function lineChart(chart: CategoryChart): string {
  const n = chart.categories.length;
  const xOf = (i: number): number => M.left + (n <= 1 ? PLOT_W / 2 : 20 + (i * (PLOT_W - 40)) / (n - 1));
  const values = measured(chart.series);
  const top = niceMax(Math.max(0, ...values));
  const body = chart.series
    .map((s, si) => {
      const color = colorOf(si);
      const pts = s.values.flatMap((v, i) => (v.y !== null && !v.failed ? [[xOf(i), yOf(v.y, top)] as const] : []));
      const path = pts.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>` : '';
      const dots = pts.map(([x, y]) => `<circle class="point" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${color}"/>`).join('');
      const fails = s.values.flatMap((v, i) => (v.failed ? [failedMark(xOf(i) + (si - 1) * 6, color)] : [])).join('');
      return `<g class="series">${path}${dots}${fails}</g>`;
    })
    .join('');
  const anyMark = values.length > 0 || chart.series.some((s) => s.values.some((v) => v.failed));
  return frame(chart.title, chart.yLabel, top, `${categoryAxis(chart.categories, xOf)}${body}${anyMark ? '' : emptyNote()}`, chart.series.map((s) => s.name));
}

/** One group of bars per category (e.g. p50, p99, p99.9), one bar per series. */
export function barChart(chart: CategoryChart): string {
  const n = Math.max(1, chart.categories.length);
  const groupW = PLOT_W / n;
  const barW = Math.min(28, (groupW * 0.8) / Math.max(1, chart.series.length));
  const xOf = (i: number): number => M.left + groupW * (i + 0.5);
  const values = measured(chart.series);
  const top = niceMax(Math.max(0, ...values));
  const body = chart.series
    .map((s, si) => {
      const color = colorOf(si);
      const offset = (si - (chart.series.length - 1) / 2) * barW;
      return s.values
        .map((v, i) => {
          const x = xOf(i) + offset;
          if (v.failed) return failedMark(x, color);
          if (v.y === null) return '';
          const y = yOf(v.y, top);
          return `<rect class="bar" x="${(x - barW / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(M.top + PLOT_H - y).toFixed(1)}" fill="${color}"><title>${escapeXml(`${s.name} ${chart.categories[i] ?? ''}: ${formatTick(v.y)}`)}</title></rect>`;
        })
        .join('');
    })
    .join('');
  const anyMark = values.length > 0 || chart.series.some((s) => s.values.some((v) => v.failed));
  return frame(chart.title, chart.yLabel, top, `${categoryAxis(chart.categories, xOf)}${body}${anyMark ? '' : emptyNote()}`, chart.series.map((s) => s.name));
}

/** Every value of a series as a dot in its column, the median as a bar across it. */
export function stripChart(chart: StripChart): string {
  const n = Math.max(1, chart.series.length);
  const colW = PLOT_W / n;
  const xOf = (i: number): number => M.left + colW * (i + 0.5);
  const all = chart.series.flatMap((s) => s.values);
  const top = niceMax(Math.max(0, ...all, chart.guide?.y ?? 0));
  const body = chart.series
    .map((s, si) => {
      const color = colorOf(si);
      const x = xOf(si);
      const sorted = [...s.values].sort((a, b) => a - b);
      const dots = sorted.map((v, k) => `<circle class="point" cx="${(x + ((k % 5) - 2) * 5).toFixed(1)}" cy="${yOf(v, top).toFixed(1)}" r="3.5" fill="${color}" fill-opacity="0.7"/>`).join('');
      const median = sorted.length > 0 ? sorted[Math.ceil(sorted.length / 2) - 1]! : null;
      const medianLine = median === null ? '' : `<line class="median" x1="${(x - 20).toFixed(1)}" x2="${(x + 20).toFixed(1)}" y1="${yOf(median, top).toFixed(1)}" y2="${yOf(median, top).toFixed(1)}" stroke="${color}" stroke-width="2"/>`;
      return `<g class="series">${dots}${medianLine}${s.failed ? failedMark(x, color) : ''}</g>`;
    })
    .join('');
  const guide = chart.guide
    ? `<g class="guide"><line x1="${M.left}" x2="${WIDTH - M.right}" y1="${yOf(chart.guide.y, top).toFixed(1)}" y2="${yOf(chart.guide.y, top).toFixed(1)}" stroke="#888" stroke-dasharray="4 3"/><text x="${WIDTH - M.right}" y="${(yOf(chart.guide.y, top) - 4).toFixed(1)}" text-anchor="end" fill="#666">${escapeXml(chart.guide.label)}</text></g>`
    : '';
  const anyMark = all.length > 0 || chart.series.some((s) => s.failed);
  const names = chart.series.map((s) => s.name);
  return frame(chart.title, chart.yLabel, top, `${categoryAxis(names, xOf)}${guide}${body}${anyMark ? '' : emptyNote()}`, names);
}
