/**
 * Checkpoints a database's write-ahead log in a worker thread, so the two fsyncs of a
 * checkpoint (the log, then the database file) never hold the node's event loop. SQLite's
 * automatic checkpoint runs inside the COMMIT that crosses its threshold, on the thread that
 * commits: with 16 MiB commands that was 100 ms to over a second of a blocked loop per
 * command on a busy disk — no heartbeat sent or answered meanwhile, and elections followed.
 *
 * The write connection turns the automatic checkpoint off (wal_autocheckpoint = 0) and tells
 * this class how much it committed; past WAL_CHECKPOINT_BYTES (or WAL_CHECKPOINT_IDLE_MS after
 * the first write after a checkpoint) the worker opens its own connection, runs a PASSIVE checkpoint — it copies
 * what no reader still needs and never blocks the writer — and closes it again. The next
 * write transaction after a complete checkpoint starts the log over, as after an automatic one.
 *
 * The worker holds the file open only while it checkpoints. pause() waits for a checkpoint
 * under way to end and keeps the next from starting, so restore() can swap the file and
 * close() can finish with a TRUNCATE checkpoint of its own. Should the worker fail (it
 * cannot open the file, an I/O error), the write connection checkpoints by itself from then
 * on, where an error stops the node like any failed write.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { messageOf } from './errors';

/** About what SQLite's default automatic checkpoint waits for (1,000 pages of 4 KiB). */
export const WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024;
/** A log with anything uncheckpointed is checkpointed at most this long after the first such write. */
export const WAL_CHECKPOINT_IDLE_MS = 1_000;
/**
 * What one commit adds to the log beyond its commands' bytes: the pages of the tables and
 * indexes it touched, the dedup row, the applied index. An estimate — only the threshold uses it.
 */
export const WAL_PAGES_PER_COMMIT = 4;
const WAL_PAGE_BYTES = 4096;
/**
 * Past this much uncheckpointed, the write connection checkpoints by itself, blocking: the
 * worker is not keeping up (a reader holding an old snapshot), and the log must stay bounded.
 */
export const WAL_UNCHECKPOINTED_BYTES_MAX = 256 * 1024 * 1024;
/** How long pause() waits for a checkpoint under way, at most. */
export const WAL_PAUSE_WAIT_MS_MAX = 60_000;

const IDLE = 0;
const RUNNING = 1;
const PAUSED = 2;

/**
 * PASSIVE checkpoints the worker runs back to back: each copies what the writer committed
 * while the one before ran, so the last leaves only a small tail.
 */
export const WAL_PASSIVE_PASSES = 2;
/**
 * The log starts over only at a write that finds every frame copied, which under a steady
 * load never happens by itself: after its PASSIVE passes the worker runs a RESTART checkpoint,
 * which copies the small tail holding the write lock (a write that comes meanwhile waits for
 * it) so the next write starts the log over. It waits this long at most for a write or read
 * under way, and tries again next time.
 */
export const WAL_RESTART_WAIT_MS = 100;

/** The worker's whole program: one PASSIVE checkpoint per message, unless paused. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqliteModule);
const state = new Int32Array(workerData.state);
parentPort.on('message', () => {
  if (Atomics.compareExchange(state, 0, ${IDLE}, ${RUNNING}) !== ${IDLE}) {
    parentPort.postMessage({ skipped: true });
    return;
  }
  let error = null;
  let complete = false;
  try {
    const db = new Database(workerData.dbPath, { fileMustExist: true });
    try {
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = ${WAL_RESTART_WAIT_MS}');
      let r = null;
      for (let pass = 0; pass < ${WAL_PASSIVE_PASSES}; pass++) {
        [r] = db.pragma('wal_checkpoint(PASSIVE)');
        if (r.busy !== 0) break;
      }
      if (r.busy === 0) [r] = db.pragma('wal_checkpoint(RESTART)');
      complete = r.busy === 0 && r.log === r.checkpointed;
    } finally {
      db.close();
    }
  } catch (e) {
    error = e && e.message ? e.message : String(e);
  } finally {
    Atomics.store(state, 0, ${IDLE});
    Atomics.notify(state, 0);
  }
  parentPort.postMessage({ skipped: false, error, complete });
});
`;

interface WorkerReply {
  readonly skipped: boolean;
  readonly error?: string | null;
  readonly complete?: boolean;
}

function sqliteModulePath(): string {
  // Resolved here, where the bundler left better-sqlite3 a runtime dependency, and handed to
  // the worker, whose own `require` would resolve from the process's working directory.
  return createRequire(__filename).resolve('better-sqlite3');
}

export class WalCheckpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  /** Started at the first checkpoint; null before that, and after it failed or closed. */
  private worker: Worker | null = null;
  /** The worker failed: the write connection checkpoints by itself from then on. */
  private workerGone = false;
  /** Estimated bytes committed to the log since the last checkpoint began. */
  private uncheckpointedBytes = 0;
  private inFlight = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Checkpoints the worker ran, and why it stopped (null while it works). */
  private runs = 0;
  private failure: string | null = null;

  constructor(
    private readonly dbPath: string,
    /** The write connection: the fallback when the worker fails, and the one a blocking checkpoint uses. */
    private readonly write: () => Database.Database,
    /** Called just before the worker is asked to checkpoint: readers this thread holds should end. */
    private readonly beforeCheckpoint: () => void = () => undefined,
  ) {}

  private startWorker(): Worker | null {
    if (this.worker !== null || this.workerGone || this.closed) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { dbPath: this.dbPath, state: this.state.buffer, sqliteModule: sqliteModulePath() },
      });
      worker.unref();
      worker.on('message', (reply: WorkerReply) => this.onReply(reply));
      worker.on('error', (e: unknown) => this.workerFailed(messageOf(e)));
      worker.on('exit', (code) => {
        if (!this.closed) this.workerFailed(`the checkpoint worker exited with code ${code}`);
      });
      this.worker = worker;
    } catch (e: unknown) {
      this.workerGone = true;
      this.failure = messageOf(e);
    }
    return this.worker;
  }

  /** What a commit added to the log: the bytes of its commands. */
  committed(commandBytes: number): void {
    if (this.closed) return;
    this.uncheckpointedBytes += commandBytes + WAL_PAGES_PER_COMMIT * WAL_PAGE_BYTES;
    if (this.uncheckpointedBytes >= WAL_UNCHECKPOINTED_BYTES_MAX || (this.workerGone && this.uncheckpointedBytes >= WAL_CHECKPOINT_BYTES)) {
      this.checkpointHere();
      return;
    }
    if (this.uncheckpointedBytes >= WAL_CHECKPOINT_BYTES) {
      this.kick();
      return;
    }
    if (this.idleTimer === null) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.uncheckpointedBytes > 0) this.kick();
      }, WAL_CHECKPOINT_IDLE_MS);
      this.idleTimer.unref();
    }
  }

  /**
   * Waits for a checkpoint under way to end (blocking, at most WAL_PAUSE_WAIT_MS_MAX) and
   * keeps the next from starting until resume(): the worker holds no connection after this.
   */
  pause(): void {
    const deadline = Date.now() + WAL_PAUSE_WAIT_MS_MAX;
    for (;;) {
      const was = Atomics.compareExchange(this.state, 0, IDLE, PAUSED);
      if (was === IDLE || was === PAUSED) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the WAL checkpoint of ${this.dbPath} did not end within ${WAL_PAUSE_WAIT_MS_MAX} ms`);
      Atomics.wait(this.state, 0, RUNNING, left);
    }
  }

  resume(): void {
    Atomics.compareExchange(this.state, 0, PAUSED, IDLE);
  }

  /** Pauses for good and lets the worker go; the caller's close checkpoints what is left. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.pause();
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) void worker.terminate();
  }

  /** A checkpoint was asked of the worker and has not answered yet. */
  busy(): boolean {
    return this.inFlight;
  }

  /** Checkpoints the worker completed, and why it stopped if it did (for tests and status). */
  stats(): { runs: number; failure: string | null } {
    return { runs: this.runs, failure: this.failure };
  }

  private kick(): void {
    if (this.inFlight || this.closed) return;
    const worker = this.startWorker();
    if (worker === null) return;
    this.inFlight = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    // What is committed from here on is left for the next checkpoint.
    this.uncheckpointedBytes = 0;
    this.beforeCheckpoint();
    worker.postMessage(null);
  }

  private onReply(reply: WorkerReply): void {
    this.inFlight = false;
    if (reply.skipped) return;
    if (reply.error) {
      this.workerFailed(reply.error);
      return;
    }
    this.runs++;
    if (this.uncheckpointedBytes >= WAL_CHECKPOINT_BYTES) this.kick();
  }

  private workerFailed(reason: string): void {
    const worker = this.worker;
    if (worker === null) return;
    this.failure = reason;
    this.worker = null;
    this.workerGone = true;
    this.inFlight = false;
    // A worker that died mid-checkpoint holds no connection any more: pause() must not wait for it.
    void worker.terminate().then(() => Atomics.compareExchange(this.state, 0, RUNNING, IDLE));
  }

  /** The write connection's own checkpoint: blocking, and its errors are the caller's. */
  private checkpointHere(): void {
    this.uncheckpointedBytes = 0;
    this.write().pragma('wal_checkpoint(PASSIVE)');
  }
}
