/**
 * Seeded random schedules (loss, duplication, reordering, partitions, crashes, compaction)
 * checked against Raft's safety properties (Figure 3): election safety, log matching on
 * committed records, state machine safety, and that reads never go backwards per node.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, seededRandom, term, type Entry } from '../index';
import { Net, bytes, observer, voters } from './testkit';

const SEED_FROM = 1;
const SEED_TO = 60;

function runSchedule(seed: number, steps: number): { commits: number; leaders: number } {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(random() * xs.length)];
    if (x === undefined) throw new Error('empty pick');
    return x;
  };
  const members = [...voters('n1', 'n2', 'n3'), observer('n4')];
  const names = members.map((m) => m.id as string);
  const net = new Net(members, {
    preVote: random() < 0.5,
    checkQuorum: random() < 0.5,
    entriesPerMessageMax: 1 + Math.floor(random() * 4),
    inflightMessagesMax: 1 + Math.floor(random() * 4),
    uncommittedEntriesMax: 50,
  });
  const committed = new Map<number, Entry>();
  const leaderOfTerm = new Map<number, string>();
  net.onApply = (id, e) => {
    const seen = committed.get(e.index);
    if (seen === undefined) committed.set(e.index, e);
    else if (seen.term !== e.term || bytes(String(seen.data)).join() !== bytes(String(e.data)).join()) {
      throw new Error(`seed ${seed}: ${id} applied ${e.index}@${e.term}, another node applied ${seen.index}@${seen.term}`);
    }
  };
  const down = new Set<string>();
  net.filter = (m) => !down.has(m.from) && !down.has(m.to) && random() > 0.1;
  let proposals = 0;
  for (let step = 0; step < steps; step++) {
    const r = random();
    const id = pick(names);
    if (down.has(id)) {
      if (r < 0.05) {
        down.delete(id);
        const disk = net.disks.get(id);
        if (disk) net.start(id, { ...disk, entries: [...disk.entries] });
      }
    } else if (r < 0.45) {
      net.core(id).tick();
    } else if (r < 0.6) {
      const res = net.core(id).propose(bytes(`s${seed}-p${proposals++}`));
      if (!res.ok) expect(['not_leader', 'overloaded', 'transferring']).toContain(res.reason);
    } else if (r < 0.65) {
      net.core(id).readIndex(`r${step}`);
    } else if (r < 0.67) {
      down.add(id); // crash: whatever was not processed is lost
    } else if (r < 0.7) {
      const la = net.lastApplied.get(id);
      if (la && la.index > 0) net.core(id).compact({ index: logIndex(la.index), term: term(la.term), members }, Math.floor(random() * 3));
      const disk = net.disks.get(id);
      if (disk && la && la.index > (disk.snapshot?.index ?? 0)) disk.snapshot = { index: logIndex(la.index), term: term(la.term), members };
    } else if (r < 0.71) {
      net.core(id).transferLeadership(pick(names) as never);
    } else {
      // Deliver a shuffled part of the queue; some messages are duplicated.
      const batch = net.queue;
      net.queue = [];
      for (let i = batch.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        const a = batch[i];
        const b = batch[j];
        if (a && b) [batch[i], batch[j]] = [b, a];
      }
      const cut = Math.floor(random() * (batch.length + 1));
      net.queue = batch.slice(cut);
      for (const m of batch.slice(0, cut)) {
        if (!net.filter(m)) continue;
        net.core(m.to).step(m);
        if (random() < 0.05) net.queue.push(m);
      }
    }
    for (const n of names) if (!down.has(n)) net.process(n);
    for (const n of names) {
      if (down.has(n)) continue;
      const s = net.core(n).status();
      if (s.role !== 'leader') continue;
      const other = leaderOfTerm.get(s.term);
      if (other !== undefined && other !== n) throw new Error(`seed ${seed}: two leaders in term ${s.term}: ${other} and ${n}`);
      leaderOfTerm.set(s.term, n);
    }
  }
  // Heal everything and let the cluster converge: every live node ends with the same log.
  for (const id of [...down]) {
    down.delete(id);
    const disk = net.disks.get(id);
    if (disk) net.start(id, { ...disk, entries: [...disk.entries] });
  }
  net.filter = () => true;
  for (let i = 0; i < 200 && !(net.leaderOf() && i > 60); i++) {
    for (const n of names) net.core(n).tick();
    net.stabilize(400);
  }
  const leader = net.leaderOf();
  if (leader === null) throw new Error(`seed ${seed}: no leader after healing`);
  const commit = net.core(leader).status().commitIndex;
  for (const n of names) expect(net.core(n).status().commitIndex, `seed ${seed} node ${n}`).toBe(commit);
  return { commits: commit, leaders: leaderOfTerm.size };
}

describe('raft under seeded random faults', () => {
  it('keeps election safety, log matching and state machine safety over 60 schedules', () => {
    let commits = 0;
    let leaders = 0;
    for (let seed = SEED_FROM; seed <= SEED_TO; seed++) {
      const r = runSchedule(seed, 1500);
      commits += r.commits;
      leaders += r.leaders;
    }
    // The schedules must actually exercise the protocol (elections and commits happen).
    expect(leaders).toBeGreaterThan(60);
    expect(commits).toBeGreaterThan(600);
  });
});
