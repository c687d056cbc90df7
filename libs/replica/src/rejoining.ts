/**
 * A rejoin under way (the plan is rejoin.ts): fence above what the other voters promised,
 * follow as an observer until caught up with the newest leader, then build the core again as a
 * voter. The replica routes through this until `complete()` finishes.
 */
import {
  nodeId as asNodeId,
  term as asTerm,
  type ConsensusCore,
  type HardState,
  type Member,
  type ProtocolModule,
} from '@quorumlite/consensus';
import type { IndexWaiters } from './index-waiters';
import type { ReplicaLogger, Timer } from './ports';
import { endRejoin, planRejoin, promisedFence, type PeerStatusReader, type PeerView } from './rejoin';

/** A rejoining node logs why it still waits at most this often. */
const REJOIN_WAIT_LOG_EVERY_MS = 10_000;
/** A rejoining node asks the other voters for their status at least this often. */
const REJOIN_PROBE_MS_MIN = 200;

export interface RejoiningHost {
  /** The members in use now (a membership change may have moved them since boot). */
  members(): readonly { readonly id: string; readonly address: string; readonly role: Member['role'] }[];
  readonly settings: {
    readonly nodeId: string;
    readonly members: readonly { readonly id: string; readonly address: string; readonly role: Member['role'] }[];
    readonly dataDir: string;
    readonly tickMs: number;
    readonly electionTimeoutTicks: number;
  };
  readonly protocol: ProtocolModule;
  readonly peerStatus: PeerStatusReader;
  readonly logger: ReplicaLogger;
  now(): number;
  /** The driver's timers (Clock.after): virtual time in a simulation. */
  after(ms: number, fn: () => void): Timer;
  /** Records applied on this node. */
  readonly applied: IndexWaiters;
  /** The last committed record the core handed out. */
  handedOut(): number;
  core(): ConsensusCore;
  stopped(): boolean;
  failed(): boolean;
  /** Resolves once no loop round is running. */
  idle(): Promise<void>;
  /** Resolves once no snapshot copy is running. */
  settled(): Promise<void>;
  /** Builds the core again from disk under the hard state `next` makes, once durable. */
  rebuildCore(next: (hard: HardState | null) => HardState, rejoining: boolean): Promise<void>;
  kick(): void;
  fail(error: unknown): void;
  /** The node is a voter again: the replica stops routing through this rejoin. */
  finished(): void;
}

export class Rejoining {
  /**
   * Its hard state holds the highest number the other voters promised (rejoin.ts, step 0).
   * Until then the core is not run: nothing it could answer reaches a peer.
   */
  private fenceHeld = false;
  /** The newest leader's number and last index once known. */
  private target: { readonly fence: number; readonly leader: string; readonly index: number } | null = null;
  /** A round of answers taken after catching up named the leader the core follows, at this number. */
  private confirmation: { readonly fence: number; readonly leader: string } | null = null;
  private timer: Timer | null = null;
  /** When a reason to wait was last logged (a rejoin with no leader waits quietly). */
  private waitLoggedAtMs = -Infinity;
  private waitLogged = '';
  private finished = false;

  constructor(private readonly host: RejoiningHost) {}

  /** Fenced: the core may run and answer peers. */
  get fenced(): boolean {
    return this.fenceHeld;
  }

  /** Caught up and following the leader the voters named: the next round completes the rejoin. */
  get confirmed(): boolean {
    return this.confirmation !== null;
  }

  start(): void {
    this.scheduleProbe(0);
  }

  stop(): void {
    this.timer?.cancel();
  }

  private scheduleProbe(delayMs: number): void {
    if (this.finished || this.host.stopped()) return;
    this.timer = this.host.after(delayMs, () => {
      this.timer = null;
      void this.probe();
    });
  }

  /** One round of status answers from every other voting member, and what it allows. */
  private async probe(): Promise<void> {
    if (this.finished || this.host.stopped() || this.host.failed()) return;
    const probeMs = Math.max(REJOIN_PROBE_MS_MIN, this.host.settings.tickMs * this.host.settings.electionTimeoutTicks);
    // Only answers asked for after catching up may confirm it.
    const caughtUp = this.fenceHeld && this.target !== null && this.host.applied.value() >= this.target.index && this.host.handedOut() >= this.target.index;
    const answers = await this.askVotersStatus(probeMs);
    if (this.finished || this.host.stopped()) return;
    if (!this.fenceHeld) {
      await this.fence(answers);
      this.scheduleProbe(this.fenceHeld ? 0 : probeMs);
      return;
    }
    const plan = planRejoin(answers);
    const fenceName = this.host.protocol.fencingName;
    if (plan.kind === 'wait') {
      this.noteWait(plan.why);
    } else if (this.target === null) {
      this.target = { fence: plan.fence, leader: plan.leader, index: plan.index };
      this.host.logger.info('rejoin: catching up with the newest leader', { leader: plan.leader, [fenceName]: plan.fence, index: plan.index });
    } else if (caughtUp) {
      const s = this.host.core().status();
      if (s.leader !== null && s.leader === plan.leader && s.term === plan.fence && s.term >= this.target.fence) {
        this.confirmation = { fence: s.term, leader: s.leader };
        this.host.kick();
        return;
      }
      this.noteWait(`caught up; waiting to follow the leader ${plan.leader} at ${fenceName} ${plan.fence} (following ${s.leader ?? 'none'} at ${s.term})`);
    } else {
      this.noteWait(`catching up: applied ${this.host.applied.value()} of ${this.target.index}`);
    }
    this.scheduleProbe(probeMs);
  }

  private async askVotersStatus(timeoutMs: number): Promise<Map<string, PeerView | Error>> {
    const others = this.host.members().filter((m) => m.id !== this.host.settings.nodeId && m.role !== 'observer');
    const reader = this.host.peerStatus;
    const answers = await Promise.all(
      others.map(async (m): Promise<[string, PeerView | Error]> => {
        try {
          return [m.id, await reader.status(m.address, timeoutMs)];
        } catch (e: unknown) {
          return [m.id, e instanceof Error ? e : new Error(String(e))];
        }
      }),
    );
    return new Map(answers);
  }

  /**
   * Step 0 of rejoin.ts: with every other voter's answer, persist a hard state at or above the
   * highest number any of them promised, then run a core built from it. The core has not run
   * yet (kick() waits for this), so nothing is in flight.
   */
  private async fence(answers: ReadonlyMap<string, PeerView | Error>): Promise<void> {
    const promised = promisedFence(answers);
    if (promised.kind === 'wait') {
      this.noteWait(`${promised.why}, before answering anything`);
      return;
    }
    const fence = asTerm(promised.fence);
    const self = asNodeId(this.host.settings.nodeId);
    try {
      await this.host.idle();
      await this.host.rebuildCore((hard) => this.host.protocol.fencedHardState(hard, { fence, self }), true);
    } catch (e: unknown) {
      this.host.fail(e);
      return;
    }
    this.fenceHeld = true;
    this.host.logger.info(`rejoin: promised ${this.host.protocol.fencingName} ${fence}, the highest any other voter promised; following from here`);
    this.host.kick();
  }

  private noteWait(why: string): void {
    const now = this.host.now();
    if (why === this.waitLogged && now - this.waitLoggedAtMs < REJOIN_WAIT_LOG_EVERY_MS) return;
    this.waitLogged = why;
    this.waitLoggedAtMs = now;
    this.host.logger.info(`rejoin: ${why}`);
  }

  /**
   * Caught up with the newest leader: promise its number to it in the hard state, durably,
   * then drop the marker and build the core again as a voter from what is on disk.
   */
  async complete(): Promise<void> {
    await this.host.settled();
    const s = this.host.core().status();
    if (s.leader === null || s.leader !== this.confirmation?.leader || s.term !== this.confirmation.fence) {
      // The core moved on since the answers confirmed it: ask again.
      this.confirmation = null;
      this.scheduleProbe(0);
      return;
    }
    this.finished = true;
    this.host.finished();
    const self = asNodeId(this.host.settings.nodeId);
    await this.host.rebuildCore((hard) => this.host.protocol.rejoinedHardState(hard, { fence: s.term, leader: s.leader!, self }), false);
    await endRejoin(this.host.settings.dataDir);
    this.host.logger.info('rejoined as a voter', { [this.host.protocol.fencingName]: s.term, leader: s.leader, applied: this.host.applied.value() });
  }
}
