/**
 * Ticks that arrive while a follower waits on its own disk. A follower steps nothing while its
 * round waits on a persist (its answers need it), so the tick timer's ticks queue up behind the
 * wait and would all be stepped at once after it: a 400 ms fsync would replay as 16 ticks of
 * silence in one go, and an election would start against a leader that is alive — whose
 * heartbeats are queued behind the same wait, or were held up by the same shared disk. While a
 * follower (or candidate) waits on its disk, the ticks that arrive are one tick: its clock
 * runs slow, never fast, which can delay an election but not make one early, so no lease or
 * vote that relies on followers' patience is weakened. A leader steps its ticks during the
 * wait (its heartbeats must go on, and its lease is counted in them), so its ticks all pass.
 */
export class TickGate {
  private queuedDuringWait = false;
  private coalescedTicks = 0;

  /** A tick from the timer: true if it goes into the inbox. */
  admit(waitingOnDisk: boolean, leader: boolean): boolean {
    if (!waitingOnDisk || leader) return true;
    if (!this.queuedDuringWait) {
      this.queuedDuringWait = true;
      return true;
    }
    this.coalescedTicks++;
    return false;
  }

  /** The wait on the disk is over: the next wait may queue one tick again. */
  waitEnded(): void {
    this.queuedDuringWait = false;
  }

  /** Ticks folded into one since the start, for status and tests. */
  coalesced(): number {
    return this.coalescedTicks;
  }
}
