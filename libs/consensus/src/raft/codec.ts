/**
 * Compact binary wire format for RaftMessage.
 *
 *   message  = version:u8 type:u8 from:str to:str term:uint body
 *
 * in the primitives of common/wire.ts (an append's entries start at prevIndex + 1).
 */
import { assertNever, ConsensusError, logIndex, nodeId, term } from '../contract';
import { WireReader, WireWriter } from '../common/wire';
import type { RaftMessage, RaftMessageType } from './messages';

/**
 * Every message is written at version 2 but `resign`, new in version 3: a node of the release
 * before reads all the others (it drops a resign, which costs only liveness), so a cluster
 * upgrades one node at a time. Version 2 of `resign` does not exist.
 */
export const RAFT_CODEC_VERSION = 2;
export const RAFT_RESIGN_VERSION = 3;

const TYPE_CODES: Readonly<Record<RaftMessageType, number>> = {
  append: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  vote: 5,
  voteResponse: 6,
  preVote: 7,
  preVoteResponse: 8,
  timeoutNow: 9,
  readIndex: 10,
  readIndexResponse: 11,
  snapshot: 12,
  resign: 13,
};
const TYPES_BY_CODE = new Map<number, RaftMessageType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as RaftMessageType]),
);

export function encodeMessage(m: RaftMessage): Uint8Array {
  const w = new WireWriter('raft');
  w.u8(m.type === 'resign' ? RAFT_RESIGN_VERSION : RAFT_CODEC_VERSION);
  w.u8(TYPE_CODES[m.type]);
  w.str(m.from);
  w.str(m.to);
  w.uint(m.term, 'term');
  switch (m.type) {
    case 'append':
      w.uint(m.prevIndex, 'prevIndex');
      w.uint(m.prevTerm, 'prevTerm');
      w.uint(m.commit, 'commit');
      w.entries(m.prevIndex + 1, m.entries);
      break;
    case 'appendResponse':
      w.uint(m.index, 'index');
      w.bool(m.reject);
      w.uint(m.hintIndex, 'hintIndex');
      w.uint(m.hintTerm, 'hintTerm');
      w.bool(m.lost);
      break;
    case 'heartbeat':
      w.uint(m.commit, 'commit');
      w.uint(m.readSeq, 'readSeq');
      w.uint(m.dataHold, 'dataHold');
      break;
    case 'heartbeatResponse':
      w.uint(m.readSeq, 'readSeq');
      break;
    case 'vote':
    case 'preVote':
      w.uint(m.lastIndex, 'lastIndex');
      w.uint(m.lastTerm, 'lastTerm');
      w.bool(m.transfer);
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(m.reject);
      break;
    case 'timeoutNow':
    case 'resign':
      break;
    case 'readIndex':
      w.str(m.requestId);
      break;
    case 'readIndexResponse':
      w.str(m.requestId);
      w.uint(m.index, 'index');
      w.bool(m.reject);
      break;
    case 'snapshot':
      w.snapshot(m.snapshot);
      break;
    default:
      return assertNever(m, 'raft message');
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

export function decodeMessage(bytes: Uint8Array): RaftMessage {
  const r = new WireReader(bytes instanceof Uint8Array ? bytes : new Uint8Array(0), 'raft');
  if (!(bytes instanceof Uint8Array)) throw r.bad('input is not a Uint8Array');
  const version = r.u8('version');
  if (version !== RAFT_CODEC_VERSION && version !== RAFT_RESIGN_VERSION) throw r.bad(`unsupported version ${version}`);
  const code = r.u8('type');
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw r.bad(`unknown type ${code}`);
  if ((type === 'resign') !== (version === RAFT_RESIGN_VERSION)) throw r.bad(`${type} is not a message of version ${version}`);
  const from = nodeId(r.nodeId('from'));
  const to = nodeId(r.nodeId('to'));
  const t = term(r.uint('term'));
  const m = readBody(r, type, { from, to, term: t });
  r.end(type);
  return m;
}

type Head = Pick<RaftMessage, 'from' | 'to' | 'term'>;

function readBody(r: WireReader, type: RaftMessageType, h: Head): RaftMessage {
  switch (type) {
    case 'append': {
      const prevIndex = r.uint('prevIndex');
      const prevTerm = r.uint('prevTerm');
      const commit = r.uint('commit');
      const entries = r.entries(prevIndex + 1);
      return { type, ...h, prevIndex: logIndex(prevIndex), prevTerm: term(prevTerm), commit: logIndex(commit), entries };
    }
    case 'appendResponse': {
      const index = logIndex(r.uint('index'));
      const reject = r.bool('reject');
      const hintIndex = logIndex(r.uint('hintIndex'));
      const hintTerm = term(r.uint('hintTerm'));
      const lost = r.bool('lost');
      return { type, ...h, index, reject, hintIndex, hintTerm, lost };
    }
    case 'heartbeat': {
      const commit = logIndex(r.uint('commit'));
      const readSeq = r.uint('readSeq');
      const dataHold = logIndex(r.uint('dataHold'));
      if (dataHold > commit) throw new ConsensusError('bad_message', `raft heartbeat: dataHold ${dataHold} is beyond its commit ${commit}`);
      return { type, ...h, commit, readSeq, dataHold };
    }
    case 'heartbeatResponse':
      return { type, ...h, readSeq: r.uint('readSeq') };
    case 'vote':
    case 'preVote': {
      const lastIndex = logIndex(r.uint('lastIndex'));
      const lastTerm = term(r.uint('lastTerm'));
      return { type, ...h, lastIndex, lastTerm, transfer: r.bool('transfer') };
    }
    case 'voteResponse':
    case 'preVoteResponse':
      return { type, ...h, reject: r.bool('reject') };
    case 'timeoutNow':
    case 'resign':
      return { type, ...h };
    case 'readIndex':
      return { type, ...h, requestId: r.str('requestId') };
    case 'readIndexResponse': {
      const requestId = r.str('requestId');
      const index = logIndex(r.uint('index'));
      return { type, ...h, requestId, index, reject: r.bool('reject') };
    }
    case 'snapshot':
      return { type, ...h, snapshot: r.snapshot() };
    default:
      return assertNever(type, 'raft message type');
  }
}
