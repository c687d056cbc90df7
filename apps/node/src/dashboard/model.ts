/**
 * What the live dashboard shows, computed from readings of every member's Status: the members
 * (up or down, role, fencing number, commit/applied index and lag), the leader, the cluster's
 * writes and reads per second and their latency over the last minutes, and recent events
 * (a member down or back, elections, leader changes). Pure: time comes in with each reading,
 * the edge (server.ts) polls and serves.
 */
import { diffCounters, type NodeCounters, type NodeStatus } from '@quorumlite/client';

/** A member as configured: the dashboard lists it even while it never answered. */
export interface DashboardMemberSpec {
  readonly id: string;
  readonly address: string;
  /** voter, observer, witness. */
  readonly role: string;
}

/** One member's answer to Status, or why it gave none. */
export type MemberReading = { readonly kind: 'up'; readonly status: NodeStatus } | { readonly kind: 'down'; readonly error: string };

export interface DashboardMember {
  readonly id: string;
  readonly address: string;
  readonly memberRole: string;
  readonly up: boolean;
  /** Its protocol role (leader, follower, …); null while down. */
  readonly role: string | null;
  /** Its fencing number as a decimal string (a ballot may exceed 2^53); null while down. */
  readonly fence: string | null;
  readonly leaderId: string | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** Entries committed in the cluster (the highest commit index any member reports) it has not applied. */
  readonly lagEntries: number | null;
  /** Why it is shown down: the Status call's error. */
  readonly error: string | null;
}

export interface DashboardSeries {
  readonly bucketMs: number;
  /** The end of the last bucket (ms since the epoch); bucket i ends at endMs - (n - 1 - i) × bucketMs. */
  readonly endMs: number;
  readonly writesPerSecond: readonly number[];
  readonly readsPerSecond: readonly number[];
  /** Mean time from arrival to answer; null where the bucket holds none. */
  readonly writeLatencyMs: readonly (number | null)[];
  readonly readLatencyMs: readonly (number | null)[];
}

export type DashboardEventKind = 'down' | 'up' | 'election' | 'leader' | 'leaderless';

export interface DashboardEvent {
  readonly atMs: number;
  readonly kind: DashboardEventKind;
  readonly text: string;
}

/** One server-sent event: everything the page draws, so a page that connects late misses nothing. */
export interface DashboardPayload {
  readonly nodeId: string;
  readonly protocol: string;
  /** What the protocol calls its fencing number: term, epoch, ballot. */
  readonly fencingName: string;
  readonly atMs: number;
  readonly leader: { readonly id: string; readonly fence: string } | null;
  readonly members: readonly DashboardMember[];
  readonly series: DashboardSeries;
  /** Newest first. */
  readonly events: readonly DashboardEvent[];
}

/** The charts cover the last five minutes in two-second buckets (150 points per line). */
export const DASHBOARD_WINDOW_MS = 5 * 60_000;
export const DASHBOARD_BUCKET_MS = 2_000;
/** Recent events kept: enough for a burst of failovers, small enough to send every poll. */
export const DASHBOARD_EVENTS_MAX = 100;

interface Bucket {
  writes: number;
  writeMs: number;
  reads: number;
  readMs: number;
}

/**
 * Client writes and reads counted into fixed time buckets over a sliding window: rates per
 * second and mean latency per bucket. The last bucket is the one still filling.
 */
export class RateWindow {
  private readonly buckets = new Map<number, Bucket>();

  constructor(
    readonly bucketMs: number = DASHBOARD_BUCKET_MS,
    readonly windowMs: number = DASHBOARD_WINDOW_MS,
  ) {
    if (!(bucketMs > 0) || windowMs < bucketMs) throw new RangeError(`a rate window needs 0 < bucketMs (${bucketMs}) <= windowMs (${windowMs})`);
  }

  /** Adds what happened since the previous reading, at `atMs`. */
  add(atMs: number, d: { writes: number; writeMs: number; reads: number; readMs: number }): void {
    const key = Math.floor(atMs / this.bucketMs);
    const b = this.buckets.get(key) ?? { writes: 0, writeMs: 0, reads: 0, readMs: 0 };
    b.writes += d.writes;
    b.writeMs += d.writeMs;
    b.reads += d.reads;
    b.readMs += d.readMs;
    this.buckets.set(key, b);
    const oldest = key - this.count() + 1;
    for (const k of this.buckets.keys()) if (k < oldest) this.buckets.delete(k);
  }

  series(atMs: number): DashboardSeries {
    const last = Math.floor(atMs / this.bucketMs);
    const n = this.count();
    const perSecond = 1000 / this.bucketMs;
    const writesPerSecond: number[] = [];
    const readsPerSecond: number[] = [];
    const writeLatencyMs: (number | null)[] = [];
    const readLatencyMs: (number | null)[] = [];
    for (let k = last - n + 1; k <= last; k++) {
      const b = this.buckets.get(k);
      writesPerSecond.push((b?.writes ?? 0) * perSecond);
      readsPerSecond.push((b?.reads ?? 0) * perSecond);
      writeLatencyMs.push(b && b.writes > 0 ? b.writeMs / b.writes : null);
      readLatencyMs.push(b && b.reads > 0 ? b.readMs / b.reads : null);
    }
    return { bucketMs: this.bucketMs, endMs: (last + 1) * this.bucketMs, writesPerSecond, readsPerSecond, writeLatencyMs, readLatencyMs };
  }

  private count(): number {
    return Math.floor(this.windowMs / this.bucketMs);
  }
}

/** The leader the members agree on: the one that says it leads at the highest fencing number. */
export function leaderOf(readings: ReadonlyMap<string, MemberReading>): { id: string; fence: bigint } | null {
  let best: { id: string; fence: bigint } | null = null;
  for (const [id, r] of readings) {
    if (r.kind !== 'up' || r.status.role !== 'leader') continue;
    if (best === null || r.status.term > best.fence) best = { id, fence: r.status.term };
  }
  return best;
}

/** The dashboard's state: fed a reading of every member per poll, it builds the payload the page draws. */
export class DashboardModel {
  private readonly window: RateWindow;
  private readonly previous = new Map<string, NodeCounters>();
  private readonly lastKind = new Map<string, MemberReading['kind']>();
  private readings: ReadonlyMap<string, MemberReading> = new Map();
  private leader: { id: string; fence: bigint } | null = null;
  /** The last leader known, kept while none answers: the next one is named as its successor. */
  private lastLeaderId: string | null = null;
  private readonly events: DashboardEvent[] = [];

  constructor(
    private readonly self: { readonly nodeId: string; readonly protocol: string; readonly fencingName: string },
    private readonly members: readonly DashboardMemberSpec[],
    window: RateWindow = new RateWindow(),
  ) {
    this.window = window;
  }

  /** One poll: every member's reading at `atMs` (a member missing from `readings` counts as down). */
  observe(atMs: number, readings: ReadonlyMap<string, MemberReading>): void {
    const delta = { writes: 0, writeMs: 0, reads: 0, readMs: 0 };
    for (const m of this.members) {
      const r = readings.get(m.id) ?? { kind: 'down', error: 'not polled' };
      this.noteAvailability(atMs, m.id, r);
      if (r.kind === 'down') {
        // Its next answer may come from a restarted process: count from that answer on.
        this.previous.delete(m.id);
        continue;
      }
      const before = this.previous.get(m.id);
      this.previous.set(m.id, r.status.counters);
      if (!before) continue;
      const d = diffCounters(before, r.status.counters);
      delta.writes += d.writesAnswered;
      delta.writeMs += d.writeMs;
      delta.reads += d.readsAnswered;
      delta.readMs += d.readMs;
      if (d.elections > 0) this.event(atMs, 'election', `${m.id} stood for election (${this.self.fencingName} ${r.status.term})`);
    }
    this.window.add(atMs, delta);
    this.noteLeader(atMs, leaderOf(readings));
    this.readings = readings;
  }

  payload(atMs: number): DashboardPayload {
    let committed = 0;
    for (const r of this.readings.values()) if (r.kind === 'up') committed = Math.max(committed, Number(r.status.commitIndex));
    return {
      nodeId: this.self.nodeId,
      protocol: this.self.protocol,
      fencingName: this.self.fencingName,
      atMs,
      leader: this.leader ? { id: this.leader.id, fence: this.leader.fence.toString() } : null,
      members: this.members.map((m) => memberView(m, this.readings.get(m.id), committed)),
      series: this.window.series(atMs),
      events: [...this.events],
    };
  }

  private noteAvailability(atMs: number, id: string, r: MemberReading): void {
    const before = this.lastKind.get(id);
    this.lastKind.set(id, r.kind);
    // The first reading is where things stand, not a change (members start one after another).
    if (before === undefined || before === r.kind) return;
    if (r.kind === 'down') this.event(atMs, 'down', `${id} is down: ${r.error}`);
    else this.event(atMs, 'up', `${id} is up (${r.status.role})`);
  }

  private noteLeader(atMs: number, next: { id: string; fence: bigint } | null): void {
    const before = this.leader;
    if (before?.id === next?.id && before?.fence === next?.fence) return;
    if (next === null) {
      if (before !== null) this.event(atMs, 'leaderless', `no leader answers (${before.id} led at ${this.self.fencingName} ${before.fence})`);
    } else {
      const after = this.lastLeaderId !== null && this.lastLeaderId !== next.id ? ` (after ${this.lastLeaderId})` : '';
      this.event(atMs, 'leader', `${next.id} leads at ${this.self.fencingName} ${next.fence}${after}`);
      this.lastLeaderId = next.id;
    }
    this.leader = next;
  }

  private event(atMs: number, kind: DashboardEventKind, text: string): void {
    this.events.unshift({ atMs, kind, text });
    if (this.events.length > DASHBOARD_EVENTS_MAX) this.events.length = DASHBOARD_EVENTS_MAX;
  }
}

function memberView(m: DashboardMemberSpec, r: MemberReading | undefined, committed: number): DashboardMember {
  const base = { id: m.id, address: m.address, memberRole: m.role };
  if (r === undefined || r.kind === 'down') {
    return { ...base, up: false, role: null, fence: null, leaderId: null, commitIndex: null, appliedIndex: null, lagEntries: null, error: r?.error ?? 'not polled yet' };
  }
  const s = r.status;
  const applied = Number(s.appliedIndex);
  return {
    ...base,
    up: true,
    role: s.role,
    fence: s.term.toString(),
    leaderId: s.leaderId === '' ? null : s.leaderId,
    commitIndex: Number(s.commitIndex),
    appliedIndex: applied,
    // A witness keeps no database: it applies nothing, so it lags nothing.
    lagEntries: s.role === 'witness' ? 0 : Math.max(0, committed - applied),
    error: null,
  };
}
