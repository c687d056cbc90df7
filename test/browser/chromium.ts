/**
 * What the browser tests share: Debian's chromium driven by playwright-core, and where their
 * screenshots go. `npm run test:all` installs chromium when it is absent; without it a browser
 * test fails, naming the package, rather than skip.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.QL_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS_DIR = path.resolve(__dirname, '../../bench/results/screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; npm run test:all does it) or set QL_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
}

/** Writes a full-page screenshot to bench/results/screenshots/<name>.png; returns its size in bytes. */
export async function writeScreenshot(page: Page, name: string): Promise<number> {
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return fs.statSync(file).size;
}
