/**
 * Every dependency with an install script is reviewed in package.json's allowScripts (true:
 * it runs; false: it is not needed), so `npm ci` prints no "not yet covered by allowScripts"
 * warning, and a dependency that gains one shows up here first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
}

describe('install scripts', () => {
  it('every locked package with an install script has an allowScripts decision', () => {
    const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
    const pkg = readJson('package.json') as { allowScripts?: Record<string, boolean> };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('better-sqlite3');
    const decided = new Set(Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(.)@.*$/, '$1')));
    expect(withScripts.filter((name) => !decided.has(name))).toEqual([]);
    // The native SQLite binding needs its install script; without it nothing opens a database.
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
  });
});
