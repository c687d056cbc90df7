/**
 * NodeSupervisor: brings a local cluster's crashed node back, after a delay that doubles with
 * each attempt, and gives up on a node that keeps exiting so a bad config or a full disk does
 * not turn into a restart loop. A node that stayed up for stableAfterMs starts counting again.
 */
export interface RestartPolicy {
  /** Delay before the first restart of a run of crashes. */
  firstDelayMs: number;
  /** The delay doubles per attempt up to this. */
  delayMaxMs: number;
  /** Restarts in one run of crashes before the supervisor gives up on the node. */
  attemptsMax: number;
  /** A node up this long after a restart has recovered: its next crash starts a new run. */
  stableAfterMs: number;
}

export const RESTART_POLICY_DEFAULT: RestartPolicy = { firstDelayMs: 500, delayMaxMs: 8_000, attemptsMax: 5, stableAfterMs: 30_000 };

/** The delay before restart number `attempt` (1-based) of a run of crashes. */
export function restartDelayMs(policy: RestartPolicy, attempt: number): number {
  return Math.min(policy.firstDelayMs * 2 ** Math.max(0, attempt - 1), policy.delayMaxMs);
}

/** What the supervisor needs of a LocalCluster. */
export interface Restartable {
  restart(id: string): Promise<void>;
  kill(id: string): Promise<void>;
  isRunning(id: string): boolean;
  pid(id: string): number | null;
  logFile(id: string): string;
}

interface NodeState {
  /** Restarts in the current run of crashes. */
  attempts: number;
  /** When the node last came back (or 0: never restarted). */
  upSince: number;
  timer: NodeJS.Timeout | null;
  restarting: boolean;
}

export class NodeSupervisor {
  private readonly nodes = new Map<string, NodeState>();
  private stopped = false;

  constructor(
    private readonly cluster: Restartable,
    private readonly log: (line: string) => void,
    private readonly policy: RestartPolicy = RESTART_POLICY_DEFAULT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call when a node exited without being asked to (LocalClusterOptions.onNodeExit). */
  nodeExited(id: string): void {
    if (this.stopped) return;
    const state = this.state(id);
    // An exit during a restart is that restart failing; restartNow() schedules the next try.
    if (state.restarting || state.timer) return;
    if (state.upSince > 0 && this.now() - state.upSince >= this.policy.stableAfterMs) state.attempts = 0;
    this.schedule(id, state);
  }

  /** Cancels pending restarts; call before stopping the cluster. */
  stop(): void {
    this.stopped = true;
    for (const state of this.nodes.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = null;
    }
  }

  private state(id: string): NodeState {
    let state = this.nodes.get(id);
    if (!state) {
      state = { attempts: 0, upSince: 0, timer: null, restarting: false };
      this.nodes.set(id, state);
    }
    return state;
  }

  private schedule(id: string, state: NodeState): void {
    if (state.attempts >= this.policy.attemptsMax) {
      this.log(`node ${id} exited ${state.attempts + 1} times in a row; not restarting it again (log: ${this.cluster.logFile(id)})`);
      return;
    }
    state.attempts++;
    const delayMs = restartDelayMs(this.policy, state.attempts);
    this.log(`restarting node ${id} in ${delayMs} ms (attempt ${state.attempts} of ${this.policy.attemptsMax})`);
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.restartNow(id, state);
    }, delayMs);
  }

  private async restartNow(id: string, state: NodeState): Promise<void> {
    if (this.stopped) return;
    state.restarting = true;
    try {
      // A node that hung on the previous attempt is still running: it goes first.
      if (this.cluster.isRunning(id)) await this.cluster.kill(id);
      await this.cluster.restart(id);
      state.upSince = this.now();
      this.log(`node ${id} is back (pid ${this.cluster.pid(id) ?? '-'})`);
    } catch (e: unknown) {
      if (this.stopped) return;
      this.log(`node ${id} did not come back: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      this.schedule(id, state);
    } finally {
      state.restarting = false;
    }
  }
}
