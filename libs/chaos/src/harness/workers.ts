/**
 * Client workers: each is one logical client process with its own clients (writes to any node,
 * reads to the nodes that keep the database), one operation at a time, recording every
 * operation. After an operation whose outcome is unknown the worker continues as a new process id (the old one is, for a checker, still waiting for
 * an answer that will never come), as Jepsen does.
 */
import { QuorumliteClient, type Durability, type QuorumliteError } from '@quorumlite/client';
import { seededRandom } from '@quorumlite/consensus/prng';
import { attemptInDoubt, writeOutcome, type HistoryRecorder, type OpInput, type OpOutput, type WorkloadName } from './history';
import { WORKLOADS, isWrite, runOp } from './workloads';

export interface WorkerOptions {
  /** Every node: writes may go to any, a witness or follower forwards them. */
  addresses: string[];
  /** The nodes that keep the database (a witness serves no reads). */
  readAddresses: string[];
  workloads: readonly WorkloadName[];
  recorder: HistoryRecorder;
  seed: number;
  workerCount: number;
  /** A prefix that makes request ids unique across runs sharing a cluster. */
  runId: string;
  clientTimeoutMs: number;
  clientRetryBudgetMs: number;
  /**
   * The share of writes sent with durability 'leader' (acknowledged before commit): each is
   * recorded as in doubt, for it may be lost — the checkers then allow exactly that.
   */
  leaderWrites: number;
  /** Pause between a worker's operations, drawn uniformly; keeps CPU use modest. */
  thinkMs: readonly [number, number];
  shouldStop: () => boolean;
}

export const CLIENT_TIMEOUT_MS_DEFAULT = 2_000;
export const CLIENT_RETRY_BUDGET_MS_DEFAULT = 4_000;
export const THINK_MS_DEFAULT: readonly [number, number] = [5, 30];
/** A hard bound on one worker's operations, so no loop is unbounded even if shouldStop never says so. */
const OPS_PER_WORKER_MAX = 1_000_000;

/** Run-wide unique integers for written values (shared by every worker of a run). */
export function uniqueCounter(start = 1): () => number {
  let next = start;
  return () => next++;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const LEADER_ACK = 'acknowledged with durability leader, before commit: it may be lost';

/** One worker; resolves when shouldStop() says so and its last operation has completed. */
export async function runWorker(worker: number, options: WorkerOptions, unique: () => number): Promise<void> {
  let inDoubt = false;
  const clientOf = (addresses: string[], linearizableReads: 'leader' | 'any' = 'leader'): QuorumliteClient =>
    new QuorumliteClient({
      addresses,
      linearizableReads,
      timeoutMs: options.clientTimeoutMs,
      retryBudgetMs: options.clientRetryBudgetMs,
      onRetry: (e: QuorumliteError) => {
        if (attemptInDoubt(e)) inDoubt = true;
      },
    });
  const writer = clientOf(options.addresses);
  // Odd workers read at their client's read node (linearizableReads 'any': a follower asks the
  // leader for the read index), even ones at the leader, so the checker sees both paths under
  // every fault. One client for an even worker when every node keeps data.
  const readsAnywhere = worker % 2 === 1;
  const reader = readsAnywhere ? clientOf(options.readAddresses, 'any') : sameAddresses(options.readAddresses, options.addresses) ? writer : clientOf(options.readAddresses);
  const clients: Clients = { reader, writer };
  const random = seededRandom((options.seed * 1_000_003 + worker * 7_919) >>> 0);
  const lastSeen = new Map<number, number>();
  let process = worker;
  try {
    for (let n = 0; n < OPS_PER_WORKER_MAX && !options.shouldStop(); n++) {
      const workload = options.workloads[Math.floor(random() * options.workloads.length)]!;
      const input = WORKLOADS[workload].generate(random, unique, (key) => lastSeen.get(key) ?? null);
      inDoubt = false;
      const durability: Durability = isWrite(input) && random() < options.leaderWrites ? 'leader' : 'quorum';
      const outcome = await runOne(clients, options, process, workload, input, `${options.runId}-${worker}-${n}`, durability, () => inDoubt, lastSeen);
      if (outcome === 'unknown') process += options.workerCount;
      const [lo, hi] = options.thinkMs;
      await sleep(lo + Math.floor(random() * (hi - lo + 1)));
    }
  } finally {
    writer.close();
    if (reader !== writer) reader.close();
  }
}

interface Clients {
  readonly reader: QuorumliteClient;
  readonly writer: QuorumliteClient;
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function runOne(
  clients: Clients,
  options: WorkerOptions,
  process: number,
  workload: WorkloadName,
  input: OpInput,
  requestId: string,
  durability: Durability,
  inDoubt: () => boolean,
  lastSeen: Map<number, number>,
): Promise<'ok' | 'fail' | 'unknown'> {
  const write = isWrite(input);
  const op = options.recorder.invoke(process, workload, input, write ? requestId : undefined);
  try {
    const answer = await runOp(write ? clients.writer : clients.reader, input, requestId, durability);
    if (answer.uncommitted) {
      // Durable on the leader only: it commits later, or is lost with that leader.
      options.recorder.complete(op, 'unknown', null, { index: answer.index, error: { code: 'uncommitted', message: LEADER_ACK } });
      return 'unknown';
    }
    options.recorder.complete(op, 'ok', answer.output, { index: answer.index });
    remember(lastSeen, input, answer.output);
    return 'ok';
  } catch (e: unknown) {
    // A read changes nothing, so a read that failed in any way simply did not happen.
    const outcome = write ? writeOutcome(e, inDoubt()) : 'fail';
    options.recorder.complete(op, outcome, null, { error: e });
    return outcome;
  }
}

function remember(lastSeen: Map<number, number>, input: OpInput, output: OpOutput): void {
  if (input.f === 'read' && output.f === 'read' && output.value !== null) lastSeen.set(input.key, output.value);
  if (input.f === 'write') lastSeen.set(input.key, input.value);
  if (input.f === 'cas' && output.f === 'cas' && output.matched) lastSeen.set(input.key, input.to);
}

/** Operations that read the whole state after the faults, as one more process; none start once `signal` aborts. */
export async function runFinalReads(client: QuorumliteClient, recorder: HistoryRecorder, workloads: readonly WorkloadName[], process: number, signal?: AbortSignal): Promise<void> {
  for (const workload of workloads) {
    for (const input of WORKLOADS[workload].finalReads()) {
      if (signal?.aborted) return;
      const op = recorder.invoke(process, workload, input);
      op.final = true;
      try {
        const answer = await runOp(client, input, '');
        recorder.complete(op, 'ok', answer.output, { index: answer.index });
      } catch (e: unknown) {
        recorder.complete(op, 'fail', null, { error: e });
      }
    }
  }
}
