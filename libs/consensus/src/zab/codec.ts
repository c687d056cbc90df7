/**
 * Compact binary wire format for ZabMessage:
 *
 *   message = version:u8 type:u8 from:str to:str body
 *
 * in the primitives of common/wire.ts. A proposal's entries start at the index given before
 * them; a vote is leader:str epoch:uint zxidEpoch:uint zxidIndex:uint.
 */
import { assertNever, logIndex, nodeId, term, type Entry } from '../contract';
import { decodeConfig } from '../common/membership';
import { WireReader, WireWriter } from '../common/wire';
import type { PeerState, Vote, ZabMessage, ZabMessageType } from './messages';

/** 2: LEADERINFO carries the attempt it answers. 3: HANDOVER (type 17), for leadership transfer. */
export const ZAB_CODEC_VERSION = 4;
/**
 * The version every message but HANDOVER, COMMITPOINT and SEENCONFIG is still written in. Types 1–16 are
 * laid out as in version 2, so a node of an earlier release and one of this release read each
 * other's messages during a rolling upgrade; a message an earlier release cannot act on goes
 * out in the version that brought it — HANDOVER in 3, COMMITPOINT and SEENCONFIG in 4 — and the older node
 * refuses that one frame (it votes as in any election, and counts votes as it did).
 */
const VERSION_OF: Partial<Record<ZabMessageType, number>> = { handOver: 3, commitPoint: 4, seenConfig: 4 };
const ZAB_CODEC_VERSION_BASE = 2;

const TYPE_CODES: Readonly<Record<ZabMessageType, number>> = {
  notification: 1,
  followerInfo: 2,
  leaderInfo: 3,
  ackEpoch: 4,
  sync: 5,
  proposal: 6,
  newLeader: 7,
  ack: 8,
  upToDate: 9,
  commit: 10,
  inform: 11,
  ping: 12,
  pingAck: 13,
  staleEpoch: 14,
  readIndex: 15,
  readIndexResponse: 16,
  handOver: 17,
  commitPoint: 18,
  seenConfig: 19,
};
const TYPES_BY_CODE = new Map<number, ZabMessageType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as ZabMessageType]),
);
const PEER_STATES: readonly PeerState[] = ['looking', 'following', 'leading', 'observing'];
const SYNC_MODES = ['diff', 'trunc', 'snap'] as const;

function writeVote(w: WireWriter, v: Vote): void {
  w.str(v.leader);
  w.uint(v.epoch, 'vote epoch');
  w.uint(v.zxidEpoch, 'vote zxid epoch');
  w.uint(v.zxidIndex, 'vote zxid index');
}

function readVote(r: WireReader): Vote {
  const leader = nodeId(r.nodeId('vote leader'));
  const epoch = term(r.uint('vote epoch'));
  const zxidEpoch = term(r.uint('vote zxid epoch'));
  return { leader, epoch, zxidEpoch, zxidIndex: logIndex(r.uint('vote zxid index')) };
}

function writeEntries(w: WireWriter, entries: readonly Entry[]): void {
  const first = entries[0]?.index ?? 0;
  w.uint(first, 'first index');
  w.entries(first, entries);
}

export function encodeMessage(m: ZabMessage): Uint8Array {
  const w = new WireWriter('zab');
  w.u8(VERSION_OF[m.type] ?? ZAB_CODEC_VERSION_BASE);
  w.u8(TYPE_CODES[m.type]);
  w.str(m.from);
  w.str(m.to);
  switch (m.type) {
    case 'notification':
      w.uint(m.round, 'round');
      w.u8(PEER_STATES.indexOf(m.state));
      writeVote(w, m.vote);
      break;
    case 'followerInfo':
      w.uint(m.epoch, 'epoch');
      w.uint(m.acceptedEpoch, 'acceptedEpoch');
      w.bool(m.observer);
      w.uint(m.incarnation, 'incarnation');
      w.uint(m.attempt, 'attempt');
      break;
    case 'leaderInfo':
      w.uint(m.epoch, 'epoch');
      w.uint(m.attempt, 'attempt');
      break;
    case 'staleEpoch':
      w.uint(m.epoch, 'epoch');
      w.uint(m.currentEpoch, 'currentEpoch');
      break;
    case 'ackEpoch':
      w.uint(m.epoch, 'epoch');
      w.uint(m.attempt, 'attempt');
      w.bool(m.fresh);
      w.uint(m.currentEpoch, 'currentEpoch');
      w.uint(m.lastEpoch, 'lastEpoch');
      w.uint(m.lastIndex, 'lastIndex');
      break;
    case 'sync':
      w.uint(m.epoch, 'epoch');
      w.uint(m.attempt, 'attempt');
      w.uint(m.syncId, 'syncId');
      w.u8(SYNC_MODES.indexOf(m.mode));
      w.uint(m.index, 'index');
      w.uint(m.indexEpoch, 'indexEpoch');
      w.bool(m.snapshot !== undefined);
      if (m.snapshot !== undefined) w.snapshot(m.snapshot);
      break;
    case 'proposal':
    case 'inform':
      w.uint(m.epoch, 'epoch');
      w.uint(m.syncId, 'syncId');
      w.uint(m.commit, 'commit');
      writeEntries(w, m.entries);
      break;
    case 'newLeader':
      w.uint(m.epoch, 'epoch');
      w.uint(m.syncId, 'syncId');
      w.uint(m.lastIndex, 'lastIndex');
      break;
    case 'ack':
      w.uint(m.epoch, 'epoch');
      w.uint(m.syncId, 'syncId');
      w.uint(m.index, 'index');
      w.bool(m.newLeader);
      break;
    case 'upToDate':
      w.uint(m.epoch, 'epoch');
      w.uint(m.commit, 'commit');
      break;
    case 'commit':
      w.uint(m.epoch, 'epoch');
      w.uint(m.index, 'index');
      break;
    case 'ping':
      w.uint(m.epoch, 'epoch');
      w.uint(m.syncId, 'syncId');
      w.uint(m.lastIndex, 'lastIndex');
      w.uint(m.commit, 'commit');
      w.bool(m.upToDate);
      w.uint(m.readSeq, 'readSeq');
      w.uint(m.dataHold, 'dataHold');
      break;
    case 'pingAck':
      w.uint(m.epoch, 'epoch');
      w.uint(m.syncId, 'syncId');
      w.uint(m.index, 'index');
      w.uint(m.readSeq, 'readSeq');
      break;
    case 'handOver':
      w.uint(m.epoch, 'epoch');
      writeVote(w, m.vote);
      break;
    case 'commitPoint':
      w.uint(m.index, 'index');
      w.uint(m.indexEpoch, 'index epoch');
      break;
    case 'seenConfig':
      w.uint(m.index, 'index');
      w.uint(m.indexEpoch, 'index epoch');
      w.bytes(m.config);
      break;
    case 'readIndex':
      w.uint(m.epoch, 'epoch');
      w.str(m.requestId);
      break;
    case 'readIndexResponse':
      w.uint(m.epoch, 'epoch');
      w.str(m.requestId);
      w.uint(m.index, 'index');
      w.bool(m.reject);
      break;
    default:
      return assertNever(m, 'zab message');
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array): ZabMessage {
  const r = new WireReader(bytes instanceof Uint8Array ? bytes : new Uint8Array(0), 'zab');
  if (!(bytes instanceof Uint8Array)) throw r.bad('input is not a Uint8Array');
  const version = r.u8('version');
  if (version < ZAB_CODEC_VERSION_BASE || version > ZAB_CODEC_VERSION) throw r.bad(`unsupported version ${version}`);
  const code = r.u8('type');
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw r.bad(`unknown type ${code}`);
  const since = VERSION_OF[type];
  if (since !== undefined && version !== since) throw r.bad(`a ${type} in version ${version}, which has no such message`);
  const from = nodeId(r.nodeId('from'));
  const to = nodeId(r.nodeId('to'));
  const m = readBody(r, type, { from, to });
  r.end(type);
  return m;
}

function readBody(r: WireReader, type: ZabMessageType, h: Pick<ZabMessage, 'from' | 'to'>): ZabMessage {
  const epoch = (): ReturnType<typeof term> => term(r.uint('epoch'));
  switch (type) {
    case 'notification': {
      const round = r.uint('round');
      const state = PEER_STATES[r.u8('state')];
      if (state === undefined) throw r.bad('notification has an unknown peer state');
      return { type, ...h, round, state, vote: readVote(r) };
    }
    case 'followerInfo': {
      const e = epoch();
      const acceptedEpoch = term(r.uint('acceptedEpoch'));
      const observer = r.bool('observer');
      const incarnation = r.uint('incarnation');
      return { type, ...h, epoch: e, acceptedEpoch, observer, incarnation, attempt: r.uint('attempt') };
    }
    case 'leaderInfo': {
      const e = epoch();
      return { type, ...h, epoch: e, attempt: r.uint('attempt') };
    }
    case 'staleEpoch': {
      const e = epoch();
      return { type, ...h, epoch: e, currentEpoch: term(r.uint('currentEpoch')) };
    }
    case 'ackEpoch': {
      const e = epoch();
      const attempt = r.uint('attempt');
      const fresh = r.bool('fresh');
      const currentEpoch = term(r.uint('currentEpoch'));
      const lastEpoch = term(r.uint('lastEpoch'));
      return { type, ...h, epoch: e, attempt, fresh, currentEpoch, lastEpoch, lastIndex: logIndex(r.uint('lastIndex')) };
    }
    case 'sync': {
      const e = epoch();
      const attempt = r.uint('attempt');
      const syncId = r.uint('syncId');
      const mode = SYNC_MODES[r.u8('mode')];
      if (mode === undefined) throw r.bad('sync has an unknown mode');
      const index = logIndex(r.uint('index'));
      const indexEpoch = term(r.uint('indexEpoch'));
      const hasSnapshot = r.bool('hasSnapshot');
      if (mode === 'snap' && !hasSnapshot) throw r.bad('a SNAP sync carries no snapshot');
      const base = { type, ...h, epoch: e, attempt, syncId, mode, index, indexEpoch } as const;
      return hasSnapshot ? { ...base, snapshot: r.snapshot() } : base;
    }
    case 'proposal':
    case 'inform': {
      const e = epoch();
      const syncId = r.uint('syncId');
      const commit = logIndex(r.uint('commit'));
      const first = r.uint('first index');
      const entries = r.entries(first);
      if (entries.length > 0 && first === 0) throw r.bad('proposal entries start at index 0');
      return { type, ...h, epoch: e, syncId, commit, entries };
    }
    case 'newLeader': {
      const e = epoch();
      const syncId = r.uint('syncId');
      return { type, ...h, epoch: e, syncId, lastIndex: logIndex(r.uint('lastIndex')) };
    }
    case 'ack': {
      const e = epoch();
      const syncId = r.uint('syncId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, epoch: e, syncId, index, newLeader: r.bool('newLeader') };
    }
    case 'upToDate': {
      const e = epoch();
      return { type, ...h, epoch: e, commit: logIndex(r.uint('commit')) };
    }
    case 'commit': {
      const e = epoch();
      return { type, ...h, epoch: e, index: logIndex(r.uint('index')) };
    }
    case 'ping': {
      const e = epoch();
      const syncId = r.uint('syncId');
      const lastIndex = logIndex(r.uint('lastIndex'));
      const commit = logIndex(r.uint('commit'));
      const upToDate = r.bool('upToDate');
      const readSeq = r.uint('readSeq');
      const dataHold = logIndex(r.uint('dataHold'));
      if (dataHold > commit) throw r.bad(`ping dataHold ${dataHold} is beyond its commit ${commit}`);
      return { type, ...h, epoch: e, syncId, lastIndex, commit, upToDate, readSeq, dataHold };
    }
    case 'pingAck': {
      const e = epoch();
      const syncId = r.uint('syncId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, epoch: e, syncId, index, readSeq: r.uint('readSeq') };
    }
    case 'handOver': {
      const e = epoch();
      const vote = readVote(r);
      // The leader names the vote of its own epoch, at a zxid it holds: anything else is not a
      // HANDOVER any leader sent.
      if (vote.epoch !== e) throw r.bad(`handOver of epoch ${e} names a vote of epoch ${vote.epoch}`);
      if (vote.zxidEpoch > vote.epoch) throw r.bad(`handOver names a zxid of epoch ${vote.zxidEpoch}, after its vote's epoch ${vote.epoch}`);
      return { type, ...h, epoch: e, vote };
    }
    case 'commitPoint': {
      const index = logIndex(r.uint('index'));
      const indexEpoch = term(r.uint('index epoch'));
      if (index === 0) throw r.bad('commitPoint names index 0');
      return { type, ...h, index, indexEpoch };
    }
    case 'seenConfig': {
      const index = logIndex(r.uint('index'));
      const indexEpoch = term(r.uint('index epoch'));
      if (index === 0) throw r.bad('seenConfig names index 0');
      const config = r.bytes('config');
      decodeConfig(config); // a member list we could not read is refused here, not when counted
      return { type, ...h, index, indexEpoch, config };
    }
    case 'readIndex': {
      const e = epoch();
      return { type, ...h, epoch: e, requestId: r.str('requestId') };
    }
    case 'readIndexResponse': {
      const e = epoch();
      const requestId = r.str('requestId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, epoch: e, requestId, index, reject: r.bool('reject') };
    }
    default:
      return assertNever(type, 'zab message type');
  }
}
