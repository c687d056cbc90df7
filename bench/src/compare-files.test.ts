import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discardClusterData, rerenderCompareReport, resultsDirOf, runCompare } from './compare';

const FIXTURE = path.join(__dirname, 'fixtures', 'compare-results.json');

describe('compare --report DIR', () => {
  const dirs: string[] = [];
  const dirWith = (results: string | null): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-rerender-'));
    dirs.push(dir);
    if (results !== null) fs.writeFileSync(path.join(dir, 'results.json'), results);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('renders report.md and report.html again from results.json, leaving results.json as it was', () => {
    const text = fs.readFileSync(FIXTURE, 'utf8');
    const dir = dirWith(text);
    fs.writeFileSync(path.join(dir, 'report.md'), 'stale');
    expect(rerenderCompareReport(dir)).toBe(dir);
    const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/^# quorumlite compare /);
    expect(md).toContain('## Readings');
    expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/<svg[\s\S]*<\/svg>/);
    expect(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).toBe(text);
  });

  it('names the file and the fault when it cannot', () => {
    const missing = dirWith(null);
    expect(() => rerenderCompareReport(missing)).toThrow(new RegExp(`--report: cannot read ${missing}/results\\.json`));
    expect(() => rerenderCompareReport(dirWith('{"cells": ['))).toThrow(/results\.json is not JSON/);
    expect(() => rerenderCompareReport(dirWith('{"cells": []}'))).toThrow(/is not the results of quorumlite compare \(it needs meta\.startedAt, settings and cells\)/);
    expect(() => rerenderCompareReport(dirWith('null'))).toThrow(/is not the results of quorumlite compare/);
    expect(() => rerenderCompareReport(dirWith('{"meta": {"startedAt": "x"}, "settings": null, "cells": []}'))).toThrow(/is not the results of quorumlite compare/);
  });

  it('exits 2 with the sentence on stderr, 0 with the paths on stdout', async () => {
    const errors: string[] = [];
    const err = process.stderr.write;
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      expect(await runCompare(['--report', dirWith('[]')])).toBe(2);
    } finally {
      process.stderr.write = err;
    }
    expect(errors.join('')).toMatch(/is not the results of quorumlite compare/);
    const outs: string[] = [];
    const out = process.stdout.write;
    process.stdout.write = ((chunk: string) => outs.push(String(chunk)) > 0) as typeof process.stdout.write;
    const dir = dirWith(fs.readFileSync(FIXTURE, 'utf8'));
    try {
      expect(await runCompare(['--report', dir])).toBe(0);
    } finally {
      process.stdout.write = out;
    }
    expect(outs.join('')).toContain(`wrote ${dir}/report.md`);
  });
});

describe('discardClusterData', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('keeps the nodes\' logs under logs/<cluster directory>/ and removes the rest', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-discard-'));
    dirs.push(root);
    const data = path.join(root, 'tmp', 'zab-3v');
    fs.mkdirSync(path.join(data, 'logs'), { recursive: true });
    fs.mkdirSync(path.join(data, 'n1'));
    fs.writeFileSync(path.join(data, 'n1', 'db.sqlite'), 'x'.repeat(1000));
    fs.writeFileSync(path.join(data, 'logs', 'n1.log'), '{"msg":"took a snapshot and compacted the log"}\n');
    const results = resultsDirOf(path.join(root, 'out'), '2026-12-06T13:36:40.382Z');
    expect(results).toBe(path.join(root, 'out', '2026-12-06T13-36-40-382Z'));
    discardClusterData(data, path.join(results, 'logs'));
    expect(fs.existsSync(data)).toBe(false);
    expect(fs.readFileSync(path.join(results, 'logs', 'zab-3v', 'n1.log'), 'utf8')).toContain('took a snapshot');
    expect(fs.existsSync(path.join(results, 'logs', 'zab-3v', 'db.sqlite'))).toBe(false);
    // A cluster that never started has no logs: its directory just goes.
    const empty = path.join(root, 'tmp', 'raft-5v');
    fs.mkdirSync(empty, { recursive: true });
    discardClusterData(empty, path.join(results, 'logs'));
    expect(fs.existsSync(empty)).toBe(false);
    expect(fs.existsSync(path.join(results, 'logs', 'raft-5v'))).toBe(false);
  });
});
