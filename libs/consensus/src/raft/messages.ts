/**
 * Every message Raft nodes exchange, one union keyed by `type` (etcd's raftpb.Message,
 * split per kind so each carries only its own fields).
 */
import type { Entry, LogIndex, NodeId, SnapshotMeta, Term } from '../contract';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's current term (for vote and preVote: the term being campaigned for). */
  readonly term: Term;
}

/** Leader → peer: entries following (prevIndex, prevTerm), plus the leader's commit index. */
export interface AppendMessage extends Envelope {
  readonly type: 'append';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly commit: LogIndex;
  /** Contiguous, starting at prevIndex + 1; may be empty (a probe or a commit update). */
  readonly entries: readonly Entry[];
}

/**
 * Peer → leader, answering `append` and `snapshot`. Accepted: `index` is the last index the
 * peer now matches. Rejected: `index` is the rejected prevIndex and (hintIndex, hintTerm) is
 * the peer's last index whose term is ≤ the probed prevTerm, so the leader can skip a whole
 * conflicting term in one round trip (hintTerm 0: unknown).
 */
export interface AppendResponseMessage extends Envelope {
  readonly type: 'appendResponse';
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
  /**
   * With `reject`: the sender rejoins after losing its data directory, so it may lack records
   * it once acknowledged; the leader forgets its match index instead of calling this stale.
   */
  readonly lost: boolean;
}

/**
 * Leader → peer: "I am still leader". `commit` is capped at the peer's match index;
 * `readSeq` is the newest read-index round the leader wants confirmed.
 */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: LogIndex;
  readonly readSeq: number;
  /**
   * How far every data voter holds the log durably, as the leader knows it from their
   * acknowledgements (never above its commit index): a witness forgets its records up to it.
   */
  readonly dataHold: LogIndex;
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly readSeq: number;
}

/** Candidate → voter (`vote`), or pre-candidate → voter (`preVote`, term is the future term). */
export interface VoteRequestMessage extends Envelope {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  /** Set by a leadership transfer: the voter ignores its leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends Envelope {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

/** Leader → transfer target: campaign now, without waiting for an election timeout. */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeoutNow';
}

/**
 * Leader → its peers but the successor it names (which gets TimeoutNow and campaigns), as it
 * steps down for want of a quorum (CheckQuorum): stop honouring my lease. A leader that can send
 * but no longer hears a quorum would otherwise keep its followers' election clocks reset with
 * its heartbeats until it stepped down, and leave them a whole election timeout more to wait
 * after that.
 */
export interface ResignMessage extends Envelope {
  readonly type: 'resign';
}

/** Follower → leader: please confirm a read point for `requestId`. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex';
  readonly requestId: string;
}

/** Leader → follower: `requestId` may read once applied ≥ `index` (unless rejected). */
export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse';
  readonly requestId: string;
  readonly index: LogIndex;
  readonly reject: boolean;
}

/** Leader → far-behind peer: install this snapshot (its bytes travel beside the message). */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
}

export type RaftMessage =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteRequestMessage
  | VoteResponseMessage
  | TimeoutNowMessage
  | ResignMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | SnapshotMessage;

export type RaftMessageType = RaftMessage['type'];

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'vote',
  'voteResponse',
  'preVote',
  'preVoteResponse',
  'timeoutNow',
  'readIndex',
  'readIndexResponse',
  'snapshot',
  'resign',
];
