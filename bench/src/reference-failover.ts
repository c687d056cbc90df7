/**
 * Failover trials against a peer, measured as quorumlite's are (failover.ts): writers run
 * closed loops through the peer's standard client, the leader gets SIGKILL, and the stall is
 * the time from the kill to the end of the first successful write that started after it.
 * Each trial restarts the killed member before the next.
 */
import { firstWriteAfter, type FailoverTrial, type TrialOp } from './failover';
import type { ReferenceCluster } from './reference-clusters';
import { referenceTarget, type ReferenceTarget } from './reference-targets';

/** A trial with no successful write this long after the kill fails the run. */
const TRIAL_TIMEOUT_MS = 30_000;


export interface ReferenceFailoverSettings {
  trials: number;
  writers: number;
  settleMs: number;
  preloadRows: number;
}

export async function runReferenceFailover(cluster: ReferenceCluster, settings: ReferenceFailoverSettings, log: (line: string) => void): Promise<FailoverTrial[]> {
  const trials: FailoverTrial[] = [];
  const ops: TrialOp[] = [];
  let stop = false;
  let seq = 0;
  // One client per writer: a peer's client pins its session to one member, so writers spread
  // over the members as independent applications would.
  const targets: ReferenceTarget[] = [];
  const writer = async (target: ReferenceTarget): Promise<void> => {
    while (!stop) {
      const start = performance.now();
      let ok = false;
      try {
        await target.op(seq++);
        ok = true;
      } catch {
        // A failed write is counted; the writer goes straight on, as a retrying application would.
      }
      ops.push({ start, end: performance.now(), ok });
      if (!ok) await sleep(10);
    }
  };
  let writers: Promise<void>[] = [];
  try {
    for (let w = 0; w < settings.writers; w++) targets.push(await referenceTarget({ system: cluster.system, op: 'write', addresses: cluster.addresses, loader: w, preloadRows: settings.preloadRows }));
    writers = targets.map((t) => writer(t));
    for (let t = 0; t < settings.trials; t++) {
      await sleep(settings.settleMs);
      const leader = await cluster.leader();
      ops.length = 0;
      const killAt = performance.now();
      await cluster.kill(leader);
      const elected = await cluster.leader(TRIAL_TIMEOUT_MS);
      const electedMs = performance.now() - killAt;
      const first = await firstWriteAfter(ops, killAt, TRIAL_TIMEOUT_MS);
      if (!first) throw new Error(`trial ${t + 1}: no write succeeded within ${TRIAL_TIMEOUT_MS} ms of killing member ${leader + 1}`);
      const after = ops.filter((o) => o.start >= killAt);
      trials.push({
        killed: `${cluster.system}-${leader + 1}`,
        newLeader: `${cluster.system}-${elected + 1}`,
        stallMs: first.end - killAt,
        electedMs,
        failedWrites: after.filter((o) => !o.ok).length,
        okWrites: after.filter((o) => o.ok).length,
      });
      log(`${cluster.system} trial ${t + 1}: killed member ${leader + 1}, member ${elected + 1} leads after ${electedMs.toFixed(0)} ms, writes stalled ${(first.end - killAt).toFixed(0)} ms`);
      await cluster.restart(leader);
    }
  } finally {
    stop = true;
    await Promise.allSettled(writers);
    for (const t of targets) t.close();
  }
  return trials;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
