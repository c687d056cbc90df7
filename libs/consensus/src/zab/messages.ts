/**
 * Every message Zab nodes exchange, one union keyed by `type`. The names follow ZooKeeper's
 * quorum packets (Leader.java: FOLLOWERINFO, LEADERINFO, ACKEPOCH, DIFF/TRUNC/SNAP, NEWLEADER,
 * UPTODATE, PROPOSAL, ACK, COMMIT, INFORM, PING) and Fast Leader Election's notification.
 *
 * `epoch` on a quorum packet is the sender's epoch for that packet: the epoch the leader
 * proposes or leads (leader → learner), or the epoch the learner follows (learner → leader).
 */
import type { Entry, LogIndex, NodeId, SnapshotMeta, Term } from '../contract';

/** What a node is doing, as Fast Leader Election announces it (QuorumPeer.ServerState). */
export type PeerState = 'looking' | 'following' | 'leading' | 'observing';

/**
 * A vote for `leader`, ordered by (epoch, zxid, leader id) — FastLeaderElection's
 * totalOrderPredicate. `epoch` is the candidate's current epoch, (zxidEpoch, zxidIndex) its
 * last logged zxid.
 */
export interface Vote {
  readonly leader: NodeId;
  readonly epoch: Term;
  readonly zxidEpoch: Term;
  readonly zxidIndex: LogIndex;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
}

/** FLE notification: the sender's current vote, its election round and its state. */
export interface NotificationMessage extends Envelope {
  readonly type: 'notification';
  readonly round: number;
  readonly state: PeerState;
  readonly vote: Vote;
}

/**
 * Learner → prospective leader: FOLLOWERINFO / OBSERVERINFO, carrying acceptedEpoch.
 * (incarnation, attempt) names the learner's connection: ZooKeeper opens a new TCP connection
 * (and the leader a new LearnerHandler) per attempt; here a retry of the same attempt is not a
 * new connection, so a duplicated or resent FOLLOWERINFO never restarts a synchronization.
 */
export interface FollowerInfoMessage extends Envelope {
  readonly type: 'followerInfo';
  readonly epoch: Term;
  readonly acceptedEpoch: Term;
  readonly observer: boolean;
  readonly incarnation: number;
  readonly attempt: number;
}

/**
 * Prospective leader → learner: the new epoch, above every acceptedEpoch of a quorum.
 * `attempt` is the FOLLOWERINFO attempt this answers: in ZooKeeper LEADERINFO comes back on the
 * connection that carried the FOLLOWERINFO, so it never answers a connection the learner closed.
 */
export interface LeaderInfoMessage extends Envelope {
  readonly type: 'leaderInfo';
  readonly epoch: Term;
  readonly attempt: number;
}

/**
 * Learner → prospective leader: the new epoch is accepted (and durable); here is my history's
 * summary. `fresh`: this learner had not promised that epoch to another leader before — only
 * fresh acknowledgements count toward the discovery quorum (ZooKeeper sends currentEpoch -1
 * otherwise), so two prospective leaders can never both establish one epoch.
 */
export interface AckEpochMessage extends Envelope {
  readonly type: 'ackEpoch';
  readonly epoch: Term;
  /** The FOLLOWERINFO attempt this answers. */
  readonly attempt: number;
  readonly fresh: boolean;
  readonly currentEpoch: Term;
  readonly lastEpoch: Term;
  readonly lastIndex: LogIndex;
}

/**
 * Leader → learner: how this synchronization starts. `diff`: our histories agree up to
 * `index`; `trunc`: cut every record after `index` (whose epoch must be `indexEpoch`), then
 * take the proposals that follow; `snap`: install the snapshot beside this message.
 * `syncId` numbers the leader's synchronizations of this learner: a learner ignores proposals
 * of another one.
 */
export interface SyncMessage extends Envelope {
  readonly type: 'sync';
  readonly epoch: Term;
  /** The learner's FOLLOWERINFO attempt this synchronization serves. */
  readonly attempt: number;
  readonly syncId: number;
  readonly mode: 'diff' | 'trunc' | 'snap';
  readonly index: LogIndex;
  readonly indexEpoch: Term;
  readonly snapshot?: SnapshotMeta;
}

/**
 * Leader → follower: proposals in zxid order, starting right after the follower's last one,
 * and the leader's commit point (COMMIT piggybacked: never past the last proposal sent).
 * During synchronization these are the DIFF's proposals.
 */
export interface ProposalMessage extends Envelope {
  readonly type: 'proposal';
  readonly epoch: Term;
  readonly syncId: number;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/** Leader → learner: the synchronization is complete at `lastIndex`; accept epoch `epoch` as current. */
export interface NewLeaderMessage extends Envelope {
  readonly type: 'newLeader';
  readonly epoch: Term;
  readonly syncId: number;
  readonly lastIndex: LogIndex;
}

/** Learner → leader: everything up to `index` is durable here (`newLeader`: this acknowledges NEWLEADER). */
export interface AckMessage extends Envelope {
  readonly type: 'ack';
  readonly epoch: Term;
  readonly syncId: number;
  readonly index: LogIndex;
  readonly newLeader: boolean;
}

/** Leader → learner: a quorum acknowledged NEWLEADER; serve clients. Carries the commit point. */
export interface UpToDateMessage extends Envelope {
  readonly type: 'upToDate';
  readonly epoch: Term;
  readonly commit: LogIndex;
}

/** Leader → follower: every proposal up to `index` is committed (cumulative COMMIT). */
export interface CommitMessage extends Envelope {
  readonly type: 'commit';
  readonly epoch: Term;
  readonly index: LogIndex;
}

/** Leader → observer: committed proposals (INFORM); observers never acknowledge for a quorum. */
export interface InformMessage extends Envelope {
  readonly type: 'inform';
  readonly epoch: Term;
  readonly syncId: number;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * Leader → learner: PING. `syncId` is the learner's synchronization as the leader knows it (0:
 * none), `lastIndex` the newest proposal sent to it, `upToDate` whether UPTODATE was sent (a
 * learner that missed it learns it here); `readSeq` is the newest read barrier round the
 * leader wants confirmed. `dataHold`: how far every data voter durably holds the history, as
 * the leader knows it (0 until each has acknowledged; never beyond `commit`) — a witness
 * forgets its records up to there and no further.
 */
export interface PingMessage extends Envelope {
  readonly type: 'ping';
  readonly epoch: Term;
  readonly syncId: number;
  readonly lastIndex: LogIndex;
  readonly commit: LogIndex;
  readonly upToDate: boolean;
  readonly readSeq: number;
  readonly dataHold: LogIndex;
}

/** Learner → leader: the answer to a PING, with the learner's synchronization and durable last index. */
export interface PingAckMessage extends Envelope {
  readonly type: 'pingAck';
  readonly epoch: Term;
  readonly syncId: number;
  readonly index: LogIndex;
  readonly readSeq: number;
}

/**
 * Any node → a node of an older epoch, or a learner it will not lead: the sender's accepted
 * epoch and the newest epoch it knows established (its currentEpoch).
 */
export interface StaleEpochMessage extends Envelope {
  readonly type: 'staleEpoch';
  readonly epoch: Term;
  readonly currentEpoch: Term;
}

/**
 * Leader → each synchronized follower, as it stops leading to hand over (leadership transfer,
 * or a witness done bringing a data voter up to date): look again, and vote first for
 * `vote.leader`, whose durable history (`vote.zxidEpoch`, `vote.zxidIndex`) is all the leader
 * holds and whose current epoch is `epoch`. The analogue of the designated leader ZooKeeper's
 * COMMITANDACTIVATE carries (Leader.getDesignatedLeader): only a first vote, so FLE, discovery
 * and synchronization decide as ever; lost or late, it leaves an ordinary election.
 */
export interface HandOverMessage extends Envelope {
  readonly type: 'handOver';
  readonly epoch: Term;
  readonly vote: Vote;
}

/**
 * Any member → a LOOKING peer, in answer to its notification, while the sender's commit point
 * covers a reconfiguration: "the record with zxid (indexEpoch, index) is committed". A peer
 * holding the same record holds the same history up to it (Zab's prefix property), so it takes
 * it as committed — and with it the configuration it activates. The role ZooKeeper gives the
 * configuration its FLE notifications carry: a member that missed a change's commit counts
 * votes by the configuration the cluster left, whose voters may be gone.
 */
export interface CommitPointMessage extends Envelope {
  readonly type: 'commitPoint';
  readonly index: LogIndex;
  readonly indexEpoch: Term;
}

/**
 * A node whose history holds a reconfiguration not yet committed → a peer that may lack it (one
 * LOOKING, or a learner that came as an observer while that record names it a voter): "the
 * record with zxid (indexEpoch, index) names these members". The peer counts them as its last
 * seen configuration until its history holds that record or another in its place — ZooKeeper's
 * lastSeenQuorumVerifier, which FLE notifications carry. `config` is the record's data
 * (common/membership.ts encodes it).
 */
export interface SeenConfigMessage extends Envelope {
  readonly type: 'seenConfig';
  readonly index: LogIndex;
  readonly indexEpoch: Term;
  readonly config: Uint8Array;
}

/** Learner → leader: please confirm a read point for `requestId`. */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex';
  readonly epoch: Term;
  readonly requestId: string;
}

/** Leader → learner: `requestId` may read once applied ≥ `index` (unless rejected). */
export interface ReadIndexResponseMessage extends Envelope {
  readonly type: 'readIndexResponse';
  readonly epoch: Term;
  readonly requestId: string;
  readonly index: LogIndex;
  readonly reject: boolean;
}

export type ZabMessage =
  | NotificationMessage
  | FollowerInfoMessage
  | LeaderInfoMessage
  | AckEpochMessage
  | SyncMessage
  | ProposalMessage
  | NewLeaderMessage
  | AckMessage
  | UpToDateMessage
  | CommitMessage
  | InformMessage
  | PingMessage
  | PingAckMessage
  | StaleEpochMessage
  | HandOverMessage
  | CommitPointMessage
  | SeenConfigMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

export type ZabMessageType = ZabMessage['type'];

export const ZAB_MESSAGE_TYPES: readonly ZabMessageType[] = [
  'notification',
  'followerInfo',
  'leaderInfo',
  'ackEpoch',
  'sync',
  'proposal',
  'newLeader',
  'ack',
  'upToDate',
  'commit',
  'inform',
  'ping',
  'pingAck',
  'staleEpoch',
  'handOver',
  'commitPoint',
  'seenConfig',
  'readIndex',
  'readIndexResponse',
];
