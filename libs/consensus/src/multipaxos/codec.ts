/**
 * Compact binary wire format for PaxosMessage:
 *
 *   message = version:u8 type:u8 from:str to:str ballot:uint body
 *
 * in the primitives of common/wire.ts. Slots travel as entries after their first slot (an
 * Accept's slots are contiguous); a Promise's accepted slots may have holes between them, so
 * each carries its own slot number.
 */
import { assertNever, logIndex, nodeId, term, type Entry, type NodeId } from '../contract';
import { WireReader, WireWriter } from '../common/wire';
import type { PaxosMessage, PaxosMessageType } from './messages';

/**
 * 2: prePrepare and prePromise. 3: takeOver, and prepare's designatedAt (leadership transfer).
 * 4: the holders of a heartbeat or a snapshot to a witness (membership changes with witnesses).
 * 5: learn and teach (a learner that heard no leader asks what is chosen).
 * A cluster upgrades one node at a time, so a node writes each message in the oldest version
 * that carries it — version 2 for all but takeOver, a designated prepare (designatedAt above 0),
 * a heartbeat or snapshot naming holders, learn and teach — and reads all four; an older
 * prepare is designated by no one, an older heartbeat or snapshot names no holders. Any other
 * version is refused, so a node of an older release drops a learn (its sender asks the others).
 */
export const PAXOS_CODEC_VERSION = 5;
/** The version of holders (membership changes with witnesses). */
export const PAXOS_CODEC_VERSION_V4 = 4;
/** The version of leadership transfer. */
export const PAXOS_CODEC_VERSION_V3 = 3;
/** The version before leadership transfer, still written for every message it can carry. */
export const PAXOS_CODEC_VERSION_V2 = 2;

/** Only what an older node cannot read goes out in a newer version. */
function versionFor(m: PaxosMessage): number {
  if (m.type === 'learn' || m.type === 'teach') return PAXOS_CODEC_VERSION;
  if ((m.type === 'heartbeat' || m.type === 'snapshot') && m.holders.length > 0) return PAXOS_CODEC_VERSION_V4;
  return m.type === 'takeOver' || (m.type === 'prepare' && m.designatedAt !== 0) ? PAXOS_CODEC_VERSION_V3 : PAXOS_CODEC_VERSION_V2;
}

function writeHolders(w: WireWriter, holders: readonly string[]): void {
  w.uint(holders.length, 'holder count');
  for (const id of holders) w.str(id);
}

function readHolders(r: WireReader, version: number): NodeId[] {
  if (version < PAXOS_CODEC_VERSION_V4) return [];
  const n = r.count('holder count', 1);
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(nodeId(r.nodeId('holder')));
  return out;
}

const TYPE_CODES: Readonly<Record<PaxosMessageType, number>> = {
  prepare: 1,
  promise: 2,
  accept: 3,
  accepted: 4,
  heartbeat: 5,
  heartbeatResponse: 6,
  snapshot: 7,
  readIndex: 8,
  readIndexResponse: 9,
  prePrepare: 10,
  prePromise: 11,
  takeOver: 12,
  learn: 13,
  teach: 14,
};
const TYPES_BY_CODE = new Map<number, PaxosMessageType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as PaxosMessageType]),
);

/**
 * What a proposer sends, at a ballot of its own: never 0 (ballotOf's rounds start at 1). An
 * acceptor takes ballot 0 as a promise like any other, and an Accept at 0 would leave a hole
 * that carries a value — a disk validatePersisted refuses at the next boot. Answers may carry
 * 0: an acceptor that has promised nothing yet refuses with its promise.
 */
const PROPOSER_TYPES: ReadonlySet<PaxosMessageType> = new Set(['prePrepare', 'prepare', 'accept', 'heartbeat', 'snapshot', 'takeOver']);

/** Slots that may have holes between them: each one as a run of one. */
function writeSparse(w: WireWriter, entries: readonly Entry[]): void {
  w.uint(entries.length, 'accepted count');
  for (const e of entries) {
    w.uint(e.index, 'slot');
    w.entries(e.index, [e]);
  }
}

function readSparse(r: WireReader): Entry[] {
  const n = r.count('accepted count', 4);
  const out: Entry[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const slot = r.uint('slot');
    if (slot <= prev) throw r.bad(`accepted slot ${slot} does not follow slot ${prev}`);
    const [e, ...rest] = r.entries(slot);
    if (e === undefined || rest.length > 0) throw r.bad(`accepted slot ${slot} must carry exactly one record`);
    out.push(e);
    prev = slot;
  }
  return out;
}

export function encodeMessage(m: PaxosMessage): Uint8Array {
  const w = new WireWriter('multipaxos');
  const version = versionFor(m);
  w.u8(version);
  w.u8(TYPE_CODES[m.type]);
  w.str(m.from);
  w.str(m.to);
  w.uint(m.ballot, 'ballot');
  switch (m.type) {
    case 'prePrepare':
      w.uint(m.fromSlot, 'fromSlot');
      break;
    case 'prepare':
      // The decoder's rule, refused here too: a message no node would read is a bug at its sender.
      if (m.designatedAt !== 0 && m.designatedAt >= m.ballot) throw w.fail(`prepare designatedAt ${m.designatedAt} is not below its ballot ${m.ballot}`);
      w.uint(m.fromSlot, 'fromSlot');
      if (version >= PAXOS_CODEC_VERSION_V3) w.uint(m.designatedAt, 'designatedAt');
      break;
    case 'takeOver':
      w.uint(m.chosen, 'chosen');
      break;
    case 'prePromise':
      w.bool(m.reject);
      break;
    case 'learn':
      w.uint(m.fromSlot, 'fromSlot');
      break;
    case 'promise':
      w.bool(m.reject);
      w.uint(m.chosen, 'chosen');
      w.uint(m.firstSlot, 'firstSlot');
      writeSparse(w, m.accepted);
      break;
    // A teach is laid out as an Accept: the chosen watermark, then contiguous slots.
    case 'accept':
    case 'teach': {
      const first = m.entries[0]?.index ?? 0;
      w.uint(m.chosen, 'chosen');
      w.uint(first, 'first slot');
      w.entries(first, m.entries);
      break;
    }
    case 'accepted':
      w.bool(m.reject);
      w.uint(m.fromSlot, 'fromSlot');
      w.uint(m.toSlot, 'toSlot');
      w.uint(m.prefix, 'prefix');
      break;
    case 'heartbeat':
      w.uint(m.chosen, 'chosen');
      w.uint(m.readSeq, 'readSeq');
      w.uint(m.dataHold, 'dataHold');
      if (version >= PAXOS_CODEC_VERSION_V4) writeHolders(w, m.holders);
      break;
    case 'heartbeatResponse':
      w.uint(m.readSeq, 'readSeq');
      w.uint(m.prefix, 'prefix');
      break;
    case 'snapshot':
      w.snapshot(m.snapshot);
      if (version >= PAXOS_CODEC_VERSION_V4) writeHolders(w, m.holders);
      break;
    case 'readIndex':
      w.str(m.requestId);
      break;
    case 'readIndexResponse':
      w.str(m.requestId);
      w.uint(m.index, 'index');
      w.bool(m.reject);
      break;
    default:
      return assertNever(m, 'multipaxos message');
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array): PaxosMessage {
  const r = new WireReader(bytes instanceof Uint8Array ? bytes : new Uint8Array(0), 'multipaxos');
  if (!(bytes instanceof Uint8Array)) throw r.bad('input is not a Uint8Array');
  const version = r.u8('version');
  if (version < PAXOS_CODEC_VERSION_V2 || version > PAXOS_CODEC_VERSION) {
    throw r.bad(`unsupported version ${version}: this node reads versions ${PAXOS_CODEC_VERSION_V2} to ${PAXOS_CODEC_VERSION}`);
  }
  const code = r.u8('type');
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw r.bad(`unknown type ${code}`);
  if (type === 'takeOver' && version < PAXOS_CODEC_VERSION_V3) throw r.bad(`takeOver needs version ${PAXOS_CODEC_VERSION_V3}, got ${version}`);
  if ((type === 'learn' || type === 'teach') && version < PAXOS_CODEC_VERSION) throw r.bad(`${type} needs version ${PAXOS_CODEC_VERSION}, got ${version}`);
  const from = nodeId(r.nodeId('from'));
  const to = nodeId(r.nodeId('to'));
  const ballot = term(r.uint('ballot'));
  if (ballot === 0 && PROPOSER_TYPES.has(type)) throw r.bad(`${type} ballot 0: a proposer's ballot is at least 1`);
  const m = readBody(r, type, version, { from, to, ballot });
  r.end(type);
  return m;
}

function readBody(r: WireReader, type: PaxosMessageType, version: number, h: Pick<PaxosMessage, 'from' | 'to' | 'ballot'>): PaxosMessage {
  switch (type) {
    case 'prePrepare':
      return { type, ...h, fromSlot: logIndex(r.uint('fromSlot')) };
    case 'prepare': {
      const fromSlot = logIndex(r.uint('fromSlot'));
      const designatedAt = term(version >= PAXOS_CODEC_VERSION_V3 ? r.uint('designatedAt') : 0);
      // A leader hands over to a higher ballot than its own (startPhase1 goes above every ballot seen).
      if (designatedAt >= h.ballot) throw r.bad(`prepare designatedAt ${designatedAt} is not below its ballot ${h.ballot}`);
      return { type, ...h, fromSlot, designatedAt };
    }
    case 'takeOver':
      return { type, ...h, chosen: logIndex(r.uint('chosen')) };
    case 'prePromise':
      return { type, ...h, reject: r.bool('reject') };
    case 'learn': {
      const fromSlot = logIndex(r.uint('fromSlot'));
      if (fromSlot === 0) throw r.bad('learn fromSlot 0: slots start at 1');
      return { type, ...h, fromSlot };
    }
    case 'teach': {
      const chosen = logIndex(r.uint('chosen'));
      const first = r.uint('first slot');
      const entries = r.entries(first);
      const last = entries[entries.length - 1];
      if (last === undefined) throw r.bad('teach carries no slot');
      if (first === 0) throw r.bad('teach slots start at slot 0');
      if (last.index > chosen) throw r.bad(`teach slot ${last.index} is beyond its chosen ${chosen}`);
      // A chosen slot holds a value accepted at some ballot: never a hole.
      for (const e of entries) if (e.term === 0) throw r.bad(`teach slot ${e.index} has ballot 0 (a hole): only chosen values are taught`);
      return { type, ...h, chosen, entries };
    }
    case 'promise': {
      const reject = r.bool('reject');
      const chosen = logIndex(r.uint('chosen'));
      const firstSlot = logIndex(r.uint('firstSlot'));
      return { type, ...h, reject, chosen, firstSlot, accepted: readSparse(r) };
    }
    case 'accept': {
      const chosen = logIndex(r.uint('chosen'));
      const first = r.uint('first slot');
      const entries = r.entries(first);
      if (entries.length > 0 && first === 0) throw r.bad('accept slots start at slot 0');
      return { type, ...h, chosen, entries };
    }
    case 'accepted': {
      const reject = r.bool('reject');
      const fromSlot = logIndex(r.uint('fromSlot'));
      const toSlot = logIndex(r.uint('toSlot'));
      return { type, ...h, reject, fromSlot, toSlot, prefix: logIndex(r.uint('prefix')) };
    }
    case 'heartbeat': {
      const chosen = logIndex(r.uint('chosen'));
      const readSeq = r.uint('readSeq');
      const dataHold = logIndex(r.uint('dataHold'));
      if (dataHold > chosen) throw r.bad(`heartbeat dataHold ${dataHold} is beyond its chosen ${chosen}`);
      return { type, ...h, chosen, readSeq, dataHold, holders: readHolders(r, version) };
    }
    case 'heartbeatResponse': {
      const readSeq = r.uint('readSeq');
      return { type, ...h, readSeq, prefix: logIndex(r.uint('prefix')) };
    }
    case 'snapshot': {
      const snapshot = r.snapshot();
      return { type, ...h, snapshot, holders: readHolders(r, version) };
    }
    case 'readIndex':
      return { type, ...h, requestId: r.str('requestId') };
    case 'readIndexResponse': {
      const requestId = r.str('requestId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, requestId, index, reject: r.bool('reject') };
    }
    default:
      return assertNever(type, 'multipaxos message type');
  }
}
