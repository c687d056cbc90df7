/**
 * Which data directory each member speaks from (the transport's handshake.ts has the rule).
 * This node's own incarnation is a random id written durably at the directory's first start,
 * before the node talks to any peer; a directory that starts rejoining gets a fresh one marked
 * `rejoined`. The incarnation first heard from each peer is recorded durably before anything
 * from that peer counts, and replaced only by one that began with --rejoin.
 *
 * A member's record is dropped once the node applied a configuration without it, where the
 * protocol's applied members are in force everywhere (forgetAllBut, called by the replica for
 * Raft and Zab), so a removed member may be added again from an empty directory.
 *
 * Not detected: a member that lost its directory before any peer recorded its incarnation
 * (its very first contact), and a directory restored from an older copy (same incarnation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '@quorumlite/storage';
import { judgeIncarnation, type Incarnation, type PeerIdentity } from '@quorumlite/transport';
import { ReplicaError } from './errors';

/** This node's incarnation: `{ "id": …, "rejoined": … }`. */
export const INCARNATION_FILE = 'INCARNATION';
/** The incarnation first heard from each peer: `{ "<member>": "<id>" }`. */
export const PEER_INCARNATIONS_FILE = 'PEER_INCARNATIONS';

export class IncarnationBook implements PeerIdentity {
  private constructor(
    private readonly dataDir: string,
    readonly self: Incarnation,
    private readonly peers: Map<string, string>,
  ) {}

  /**
   * Reads both files, writing this node's incarnation first if the directory has none, or if
   * it starts rejoining under one that did not begin with --rejoin (a start refused for its
   * lost directory, then restarted with --rejoin).
   */
  static async open(dataDir: string, rejoining: boolean, newId: () => string): Promise<IncarnationBook> {
    const selfFile = path.join(dataDir, INCARNATION_FILE);
    let self = readJson(selfFile, parseIncarnation);
    if (self === null || (rejoining && !self.rejoined)) {
      self = { id: newId(), rejoined: rejoining };
      await writeFileAtomic(selfFile, encode(self));
    }
    const peers = readJson(path.join(dataDir, PEER_INCARNATIONS_FILE), parsePeers) ?? new Map<string, string>();
    return new IncarnationBook(dataDir, self, peers);
  }

  /** The incarnation recorded for `member`, or null. */
  recorded(member: string): string | null {
    return this.peers.get(member) ?? null;
  }

  /**
   * Forgets the incarnation of every peer outside `members` (a configuration in force): a
   * member whose removal committed may come back on an empty data directory — as a witness
   * where it kept a database, say — and be added again; its new directory's incarnation is
   * then recorded at its first stream, as a new member's is. Durable before it returns, as a
   * record is. Returns the members forgotten.
   */
  forgetAllBut(members: ReadonlySet<string>): string[] {
    const gone = [...this.peers.keys()].filter((m) => !members.has(m));
    if (gone.length === 0) return [];
    const next = new Map(this.peers);
    for (const m of gone) next.delete(m);
    this.replacePeers(next);
    return gone;
  }

  /** Writes `next` durably, then makes it the book's: a change never counts before it is on disk. */
  private replacePeers(next: ReadonlyMap<string, string>): void {
    writeFileAtomicSync(path.join(this.dataDir, PEER_INCARNATIONS_FILE), encode(Object.fromEntries(next)));
    this.peers.clear();
    for (const [member, id] of next) this.peers.set(member, id);
  }

  admit(member: string, presented: Incarnation | null): string | null {
    const verdict = judgeIncarnation(member, this.recorded(member), presented);
    switch (verdict.kind) {
      case 'accept':
        return null;
      case 'refuse':
        return verdict.why;
      case 'record': {
        // Synchronous on purpose: the frame that presented it is delivered right after this
        // returns, and must not count before the record is durable. It happens once per
        // member per directory (and again after that member rejoins).
        this.replacePeers(new Map(this.peers).set(member, verdict.id));
        return null;
      }
    }
  }
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value) + '\n');
}

function readJson<T>(file: string, parse: (value: unknown) => T | null): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return null;
    throw e;
  }
  let parsed: T | null = null;
  try {
    parsed = parse(JSON.parse(text));
  } catch {
    // Reported below with the file's name.
  }
  if (parsed === null) throw new ReplicaError('internal', `${file} is not a valid incarnation file; it was damaged or edited by hand`);
  return parsed;
}

function parseIncarnation(value: unknown): Incarnation | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id, rejoined } = value as Record<string, unknown>;
  return typeof id === 'string' && id.length > 0 && typeof rejoined === 'boolean' ? { id, rejoined } : null;
}

function parsePeers(value: unknown): Map<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([, id]) => typeof id === 'string' && id.length > 0) ? new Map(entries as [string, string][]) : null;
}
