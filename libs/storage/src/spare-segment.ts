import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempPathFor, writeFully } from './files';

/**
 * Zeros are written and made durable this much at a time, with a pause after each part: a
 * 64 MiB spare takes about 0.7 s, at most 100 MB/s. Unpaced, the three nodes of a cluster
 * (whose logs roll over together) wrote 64 MiB each at once, and every fdatasync of the log
 * waited behind them (batch100's p99 rose from 109 to 122 ms).
 */
const SPARE_PART_BYTES = 1024 * 1024;
const SPARE_PAUSE_MS = 10;
/** A spare is made only while the file system keeps this much free beside it and the log's next segment. */
const SPARE_FREE_MARGIN_BYTES = 64 * 1024 * 1024;
const SPARE_NAME = 'spare.seg';

type SpareState =
  | { readonly kind: 'none' }
  | { readonly kind: 'filling'; readonly file: string; readonly done: Promise<void> }
  | { readonly kind: 'ready'; readonly file: string }
  /** The last fill failed or the disk was nearly full: the log grows its segments until the next roll asks again. */
  | { readonly kind: 'failed' };

/**
 * The next log segment, made ahead of time: a file of zeros as large as a segment, written and
 * fdatasync'd in the background (a temporary name, so open() removes one a crash left).
 *
 * Why: a record appended past a file's end changes its size and block map, so each fdatasync
 * of a growing segment also commits the file system's journal; over blocks already written the
 * fdatasync flushes data alone. On ext4 here, 10 KB appends and an fdatasync each took 160 µs
 * growing a file and 90 µs over written zeros (one process), 250–310 against 140 µs with three
 * processes syncing at once. Blocks merely reserved (fallocate) still change the block map at
 * their first write and gain little (150 µs).
 *
 * The fill runs beside the log's queue on a file of its own, so a flush never waits for it
 * and never syncs its pages. The log takes a spare when it rolls over; if none is ready it
 * creates an empty segment as before and takes the spare once it is ready (DurableLog.roll).
 * The spare's own syncs are not counted by storageSyncCount (64 for a 64 MiB segment, not per write).
 */
export class SpareSegment {
  private state: SpareState = { kind: 'none' };
  private closed = false;

  /** `onFailure`: told why a fill failed (a full disk, say); the log goes on growing its segments. */
  constructor(
    private readonly dir: string,
    private readonly bytes: number,
    private readonly onFailure: (error: Error) => void = () => undefined,
  ) {}

  /** Starts filling a spare unless one is ready, being filled, or the last fill failed. */
  prepare(): void {
    if (this.closed || this.state.kind !== 'none') return;
    const file = tempPathFor(path.join(this.dir, SPARE_NAME));
    this.state = { kind: 'filling', file, done: this.fill(file) };
  }

  isReady(): boolean {
    return this.state.kind === 'ready';
  }

  /**
   * The ready spare's path, now the caller's to rename into place (or null: none is ready).
   * A failed fill is forgotten here, so the next segment asks for a spare again.
   */
  take(): string | null {
    const state = this.state;
    if (state.kind === 'filling') return null;
    this.state = { kind: 'none' };
    return state.kind === 'ready' ? state.file : null;
  }

  /** Testing: settles once the fill in progress (if any) has finished or failed. */
  async settled(): Promise<void> {
    if (this.state.kind === 'filling') await this.state.done;
  }

  /** Stops a fill in progress and removes the spare: the directory keeps only the log. */
  async close(): Promise<void> {
    this.closed = true;
    const state = this.state;
    this.state = { kind: 'none' };
    if (state.kind === 'filling') await state.done;
    if (state.kind === 'filling' || state.kind === 'ready') await fs.rm(state.file, { force: true }).catch(() => undefined);
  }

  private async fill(file: string): Promise<void> {
    let handle: FileHandle | null = null;
    try {
      await this.checkRoom();
      handle = await fs.open(file, 'wx');
      const zeros = Buffer.alloc(Math.min(SPARE_PART_BYTES, this.bytes));
      for (let at = 0; at < this.bytes; ) {
        if (this.closed) throw new Error('the log closed');
        if (at > 0 && at % (16 * SPARE_PART_BYTES) === 0) await this.checkRoom(this.bytes - at);
        const n = Math.min(zeros.length, this.bytes - at);
        await writeFully(handle, zeros.subarray(0, n), at);
        await handle.datasync();
        at += n;
        if (at < this.bytes) await sleep(SPARE_PAUSE_MS);
      }
      await handle.close();
      handle = null;
      if (this.closed) throw new Error('the log closed');
      this.state = { kind: 'ready', file };
    } catch (e: unknown) {
      await handle?.close().catch(() => undefined);
      await fs.rm(file, { force: true }).catch(() => undefined);
      if (!this.closed) {
        this.state = { kind: 'failed' };
        this.onFailure(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * Zeros must never take the last free space the log, its hard state or SQLite need: the fill
   * stops (and the log goes on growing its segments) unless `toWrite` more leaves a segment
   * and a margin free.
   */
  private async checkRoom(toWrite = this.bytes): Promise<void> {
    const { bavail, bsize } = await fs.statfs(this.dir);
    const free = bavail * bsize;
    const needed = toWrite + this.bytes + SPARE_FREE_MARGIN_BYTES;
    if (free < needed) throw new Error(`too little free space in ${this.dir} for a spare segment: ${free} bytes free, ${needed} needed (the spare, a segment and a margin)`);
  }
}
