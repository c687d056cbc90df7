/**
 * No node process may outlive the process that started it. Two layers: this process kills its
 * children on exit and on SIGINT/SIGTERM, and each child runs a watchdog (loaded with
 * --require) that stops it when its parent disappears, which also covers SIGKILL of the parent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Reapable {
  /** Kills every child at once, synchronously (the 'exit' event allows nothing else). */
  killAllNow(): void;
}

const live = new Set<Reapable>();
let installed = false;

function onExit(): void {
  for (const r of live) r.killAllNow();
}

/**
 * When another listener handles the signal (the CLI stops its cluster gracefully), leave it to
 * that listener; the 'exit' hook remains the backstop. When only this hook listens, clean up
 * and keep the signal's default meaning (terminate).
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  onExit();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

export function track(r: Reapable): void {
  live.add(r);
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function untrack(r: Reapable): void {
  live.delete(r);
  if (live.size > 0 || !installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}

/** How often a child looks for its parent, and how long it gets to stop before it exits hard. */
const WATCHDOG_INTERVAL_MS = 500;
const WATCHDOG_GRACE_MS = 5_000;

/**
 * The watchdog a node loads with --require. The parent's pid is written into it (the
 * parent may already be gone by the time the child runs it).
 */
export function watchdogSource(parentPid: number | string): string {
  return `'use strict';
// Stops this node when the process that started it is gone (the child is re-parented).
const parent = ${parentPid};
const timer = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(timer);
  setTimeout(() => process.exit(1), ${WATCHDOG_GRACE_MS}).unref();
  process.kill(process.pid, 'SIGTERM');
}, ${WATCHDOG_INTERVAL_MS});
timer.unref();
`;
}

/** Writes the watchdog script (for children of `parentPid`) into `dir` and returns its path. */
export function writeWatchdog(dir: string, parentPid: number = process.pid): string {
  const file = path.join(dir, 'parent-watchdog.cjs');
  fs.writeFileSync(file, watchdogSource(parentPid));
  return file;
}
