/** Multi-Paxos under faults: snapshot installs, leases, crashes inside a persist. */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term } from '../contract';
import { ballotOf } from './config';
import { PaxosNet, text, voters } from './testkit';
import type { PaxosMessage } from './messages';

const N3 = ['n1', 'n2', 'n3'];
const others = (all: readonly string[], x: string): string[] => all.filter((id) => id !== x);
const firstSlotOf = (m: PaxosMessage): number => (m.type === 'accept' ? (m.entries[0]?.index ?? 0) : 0);

describe('multipaxos: an installed snapshot keeps the slots after it', () => {
  it('a chosen slot above the snapshot survives a crash between the snapshot install and the append', () => {
    const net = new PaxosNet(voters(...N3), { entriesPerMessageMax: 1 });
    const L = net.settle();
    const [F, A] = others(N3, L) as [string, string];
    for (let i = 0; i < 5; i++) net.propose(L, `a${i}`);
    net.stabilize();
    net.tickAll(2);
    const base = net.core(L).status().lastIndex;
    // F misses base+1..base+6; A misses base+7..base+8 (Accepts lost).
    net.filter = (m) => {
      const s = firstSlotOf(m);
      if (m.to === F && m.type === 'accept' && s >= base + 1 && s <= base + 6) return false;
      if (m.to === A && m.type === 'accept' && s >= base + 7) return false;
      return true;
    };
    for (let i = 1; i <= 8; i++) net.propose(L, `x${i}`);
    net.stabilize();
    expect(net.core(L).status().commitIndex).toBe(base + 8); // 1..6 by {L,A}, 7..8 by {L,F}
    const lApplied = new Map(net.applied.get(L)!.map((e) => [e.index as number, text(e.data)]));
    expect(lApplied.get(base + 7)).toBe('x7');
    // L compacts below the slots F holds; F, with a gap, gets a snapshot.
    net.core(L).compact({ index: logIndex(base + 6), term: term(net.core(L).status().term), members: net.members }, 0);
    let snap: PaxosMessage | null = null;
    net.filter = (m) => {
      if (m.type === 'snapshot' && m.to === F) { snap = m; return false; }
      const s = firstSlotOf(m);
      if (m.to === F && m.type === 'accept' && s >= base + 1 && s <= base + 6) return false;
      if (m.to === A && m.type === 'accept' && s >= base + 7) return false;
      return true;
    };
    for (let i = 0; i < net.resendTicks + 5 && snap === null; i++) net.tickAll(1);
    expect(snap).not.toBeNull();
    // F restores, keeping base+7 and base+8: the Ready asks storage to keep its records after
    // the snapshot instead of emptying the log, and has nothing to write again. F crashes right
    // after the install.
    const f = net.core(F);
    f.step(snap!);
    const rd = f.ready();
    expect(rd.snapshot?.index).toBe(base + 6);
    expect(rd.snapshotKeepsLog).toBe(true);
    expect(rd.entries).toEqual([]);
    net.disk(F).snapshot = rd.snapshot;
    net.disk(F).entries = net.disk(F).entries.filter((e) => e.index > base + 6);
    net.crash(F);
    // The old leader dies; A and F carry on.
    net.crash(L);
    net.filter = () => true;
    net.restart(F);
    const L2 = net.settle();
    net.propose(L2, 'after');
    net.stabilize();
    net.tickAll(3);
    const at = (id: string, i: number): string | undefined => {
      const e = net.applied.get(id)!.find((x) => x.index === i);
      return e === undefined ? undefined : `${e.kind}:${text(e.data)}`;
    };
    // Slot base+7 was chosen as x7 and applied by L: everyone must apply x7 there.
    expect(at(A, base + 7)).toBe('command:x7');
  });
});

describe('multipaxos: the leader lease', () => {
  it('a leader whose phase 1 took longer than a timeout keeps its lease against a returning node', () => {
    const net = new PaxosNet(voters(...N3));
    const L = net.settle();
    const [B, C] = others(N3, L) as [string, string];
    // Force L through a slow phase 1: it is deposed and re-elects, with promises held back.
    net.isolate(L);
    for (let i = 0; i < 60 && net.leaderOf() === L; i++) net.tickAll();
    net.heal();
    // Now whoever leads — make phase 1 slow: drop promises for 12 ticks.
    const leader0 = net.settle();
    net.isolate(leader0);
    const [p, q] = others(N3, leader0) as [string, string];
    let held: PaxosMessage[] = [];
    net.filter = (m) => { if (m.type === 'promise') { held.push(m); return false; } return true; };
    let cand: string | null = null;
    for (let i = 0; i < 80 && cand === null; i++) {
      net.tickAll();
      for (const id of [p, q]) if (net.core(id).status().role === 'candidate') cand = id;
    }
    expect(cand).not.toBeNull();
    // Keep it a candidate (its promises held) for 12 ticks, not long enough to restart phase 1.
    let winner: string | null = null;
    for (let i = 0; i < 12; i++) { net.tick(cand!); }
    net.filter = () => true;
    const mine = held.filter((m) => m.to === cand);
    held = [];
    for (const m of mine) net.core(cand!).step(m);
    net.process(cand!);
    if (net.core(cand!).status().role === 'leader') winner = cand;
    if (winner === null) return; // timeout restarted phase 1: scenario not reached
    net.stabilize();
    const other = others([p, q], winner)[0]!;
    const w = net.core(winner);
    // A returning node with a higher ballot prepares directly at the leader.
    w.step({ type: 'prepare', from: nodeId(leader0), to: nodeId(winner), ballot: term(ballotOf(500, 1)), fromSlot: logIndex(1), designatedAt: term(0) });
    net.process(winner);
    expect(w.status().role).toBe('leader');
    void other; void B; void C;
  });
});
