/**
 * The comparison report opened in a real headless browser (Debian's chromium, driven by
 * playwright-core): every chart must render — a non-empty SVG box with axes, a legend naming
 * each protocol and marks of its own — and a screenshot is written for people to look at.
 * Chromium is found and launched as test/browser/chromium.ts says.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroCounters } from '@quorumlite/client';
import { renderCompareHtml, type CellResult, type CompareResults } from '../../bench/src/compare-report';
import { launchChromium, writeScreenshot } from './chromium';

/** The recorded matrix of the report tests, with counters on its C=64 load cells so the cost charts render too. */
function recordedResults(): CompareResults {
  const r = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../bench/src/fixtures/compare-results.json'), 'utf8')) as CompareResults;
  const counters = (messages: number) => ({ ...zeroCounters(), sent: [{ type: 'append', count: messages, bytes: messages * 400 }], storageSyncs: messages });
  return {
    ...r,
    cells: r.cells.map((c, i): CellResult =>
      c.kind === 'load' && c.concurrency === 64 ? { ...c, cost: { committedEntries: 1_000, missing: [], nodes: [{ id: 'n1', role: 'leader', leader: true, counters: counters(100 + 10 * i) }] } } : c,
    ),
  };
}

interface RenderedFigure {
  id: string;
  width: number;
  height: number;
  axes: number;
  legend: string;
  marks: number;
  caption: string;
}

describe('compare report in a headless browser', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await launchChromium();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-report-'));
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renders every chart with its axes, legend, marks and reading, offline, and writes a screenshot', async () => {
    const results = recordedResults();
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, renderCompareHtml(results));
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) requests.push(req.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${file}`, { timeout: 30_000 });
    const figures: RenderedFigure[] = await page.$$eval('figure', (els) =>
      els.map((el) => {
        const svg = el.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: el.id,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          axes: svg?.querySelectorAll('.axes, .x-ticks, .y-ticks').length ?? 0,
          legend: svg?.querySelector('.legend')?.textContent ?? '',
          marks: svg?.querySelectorAll('.point, .bar, .median, .failed, path.series, polyline').length ?? 0,
          caption: el.querySelector('figcaption')?.textContent ?? '',
        };
      }),
    );
    // Throughput and latency per topology × scenario, failover per topology, cost charts per topology.
    expect(figures.map((f) => f.id)).toEqual(expect.arrayContaining(['throughput-3v-insert', 'latency-2v1w-select', 'failover-3v', 'cost-messages-3v', 'cost-syncs-2v1w']));
    for (const f of figures) {
      expect(f.width, f.id).toBeGreaterThan(100);
      expect(f.height, f.id).toBeGreaterThan(100);
      expect(f.axes, f.id).toBeGreaterThan(0);
      for (const protocol of ['raft', 'zab', 'multipaxos']) expect(f.legend, f.id).toContain(protocol);
      expect(f.marks, f.id).toBeGreaterThan(0);
      expect(f.caption.length, f.id).toBeGreaterThan(20);
    }
    // The tables are there, and a failed cell reads as failed.
    expect(await page.locator('td.failed').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await writeScreenshot(page, 'compare-report')).toBeGreaterThan(10_000);
    await context.close();
  });
});
