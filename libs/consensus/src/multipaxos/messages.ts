/**
 * Every message Multi-Paxos nodes exchange, one union keyed by `type` (Lamport, "Paxos Made
 * Simple" §3; van Renesse and Altinbuken, "Paxos Made Moderately Complex": P1a/P1b, P2a/P2b,
 * plus the leader's heartbeat that carries the chosen watermark).
 *
 * `ballot` is the sender's ballot: the one it prepares or leads with (proposer → acceptor),
 * or the one it promised (acceptor → proposer).
 */
import type { Entry, LogIndex, NodeId, SnapshotMeta, Term } from '../contract';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Term;
}

/**
 * Before phase 1: would you promise `ballot` (the next one I would prepare), holding as you do
 * no live leader? Nothing is promised or persisted by asking or answering, so a node cut off
 * from the others asks again and again without raising any promise, and a leader it returns
 * to is not deposed by one (the leader lease of Paxos Made Live, checked before the ballot
 * rises rather than after). `fromSlot` as in prepare.
 */
export interface PrePrepareMessage extends Envelope {
  readonly type: 'prePrepare';
  readonly fromSlot: LogIndex;
}

/** The answer: granted (`ballot` is the one asked about), or refused (`ballot` is our promise). */
export interface PrePromiseMessage extends Envelope {
  readonly type: 'prePromise';
  readonly reject: boolean;
}

/**
 * P1a: promise me `ballot`, and tell me what you accepted from `fromSlot` on. `designatedAt`
 * is 0, or the ballot of the leader that handed leadership to this proposer (takeOver): an
 * acceptor whose promise is that ballot — it follows that leader — promises although it hears
 * the leader alive. It waives the lease only; the ballot rules are those of any Prepare.
 */
export interface PrepareMessage extends Envelope {
  readonly type: 'prepare';
  readonly fromSlot: LogIndex;
  readonly designatedAt: Term;
}

/**
 * P1b: promised (or, `reject`, refused: `ballot` is then the higher promise). `accepted` holds
 * every slot from the prepare's `fromSlot` on that this acceptor accepted, each with the
 * ballot it accepted it at (`Entry.term`); slots it accepted nothing for are absent (holes).
 * `chosen` is the acceptor's chosen watermark: every slot up to it holds the chosen value.
 */
export interface PromiseMessage extends Envelope {
  readonly type: 'promise';
  readonly reject: boolean;
  readonly chosen: LogIndex;
  /** The first slot the acceptor still holds (earlier ones are inside its snapshot). */
  readonly firstSlot: LogIndex;
  readonly accepted: readonly Entry[];
}

/**
 * P2a: accept these values at `ballot`, slot by slot (`Entry.index` is the slot); slots are
 * independent — an acceptor takes them whatever it holds before them. `chosen` is the leader's
 * chosen watermark: the entries up to it carry chosen values (an acceptor that holds one
 * already, at an older ballot, keeps it), and the acceptor learns the watermark as far as its
 * own right prefix reaches.
 */
export interface AcceptMessage extends Envelope {
  readonly type: 'accept';
  readonly entries: readonly Entry[];
  readonly chosen: LogIndex;
}

/**
 * P2b: accepted the slots [fromSlot, toSlot] at `ballot` (or, `reject`, refused: `ballot` is the
 * higher promise). `prefix` is the highest slot up to which this acceptor holds, slot for slot,
 * the value chosen or accepted at `ballot` — how far the leader may tell it what is chosen.
 */
export interface AcceptedMessage extends Envelope {
  readonly type: 'accepted';
  readonly reject: boolean;
  readonly fromSlot: LogIndex;
  readonly toSlot: LogIndex;
  readonly prefix: LogIndex;
}

/** Leader → all: I still lead `ballot`; `chosen` as in accept; `readSeq` is the newest read round to confirm. */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat';
  readonly chosen: LogIndex;
  readonly readSeq: number;
  /**
   * How far every data voter durably holds the chosen slots, as far as the leader knows
   * (never above `chosen`; 0 while unknown): a witness forgets its slots up to it.
   */
  readonly dataHold: LogIndex;
  /**
   * To a witness: the data voters dataHold was counted over (PaxosCore.holdersFrom), each of
   * which holds every chosen value up to it — the candidates the witness may lend its promise
   * to over slots it forgot. Empty to anyone else.
   */
  readonly holders: readonly NodeId[];
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly readSeq: number;
  readonly prefix: LogIndex;
}

/**
 * Leader → the data voter it hands leadership to (transferLeadership): run phase 1 now, without
 * asking first (prePrepare), and name my `ballot` in your Prepare (designatedAt). Sent once the
 * leader proposes nothing more and every slot it proposed is chosen and held by the receiver up
 * to `chosen`, its chosen watermark; the receiver ignores one that does not come from the
 * leader it follows at the ballot it promised (a duplicate, or a stale one).
 */
export interface TakeOverMessage extends Envelope {
  readonly type: 'takeOver';
  readonly chosen: LogIndex;
}

/** Leader → far-behind node: install this snapshot (its bytes travel beside the message). */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: SnapshotMeta;
  /** The data voters that hold every chosen value up to the snapshot, as in a heartbeat's `holders`; may be empty. */
  readonly holders: readonly NodeId[];
}

/** Node → leader: please confirm a read point for `requestId`. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex';
  readonly requestId: string;
}

/** Leader → node: `requestId` may read once applied ≥ `index` (unless rejected). */
export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse';
  readonly requestId: string;
  readonly index: LogIndex;
  readonly reject: boolean;
}

/**
 * A learner that missed decisions asks ("Paxos Made Simple" §3: a learner can find out what
 * was chosen by asking): sent by a node that has heard no leader for an election timeout to
 * every node its configurations name, at most once per timeout, and again at once to a node
 * whose answer showed it knows more. What is chosen from `fromSlot` on? `ballot` is the asker's
 * promise. Nothing is promised or persisted by asking or answering.
 */
export interface LearnMessage extends Envelope {
  readonly type: 'learn';
  readonly fromSlot: LogIndex;
}

/**
 * The answer of a node whose chosen watermark reaches the asked slot: its chosen values from
 * that slot on, contiguous and never a hole, each with the ballot it holds it at, and its
 * chosen watermark `chosen` (at or above the last entry). `ballot` is the sender's promise.
 */
export interface TeachMessage extends Envelope {
  readonly type: 'teach';
  readonly entries: readonly Entry[];
  readonly chosen: LogIndex;
}

export type PaxosMessage =
  | PrePrepareMessage
  | PrePromiseMessage
  | PrepareMessage
  | PromiseMessage
  | AcceptMessage
  | AcceptedMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | TakeOverMessage
  | LearnMessage
  | TeachMessage;

export type PaxosMessageType = PaxosMessage['type'];

export const PAXOS_MESSAGE_TYPES: readonly PaxosMessageType[] = [
  'prePrepare',
  'prePromise',
  'prepare',
  'promise',
  'accept',
  'accepted',
  'heartbeat',
  'heartbeatResponse',
  'snapshot',
  'readIndex',
  'readIndexResponse',
  'takeOver',
  'learn',
  'teach',
];
