/** What every protocol needs: quorum counting, per-peer progress, read points, member checks. */
export { dataVoters, memberListProblem, validateMembers, votingMembers, witnessShortfall, witnesses } from './members';
export { Inflights, Progress, type ProgressState } from './progress';
export { hasQuorum, majority, quorumValue, voteResult, type VoteResult } from './quorum';
export { ForwardedReads, READS_PENDING_MAX, ReadOnly, type ConfirmedRead, type ReadRequest } from './read-only';
export { refuseProtocolOptions, validateCoreOptions } from './options';
export { recipientsOf, splitEarly, type EarlySplit } from './early';
export { FAST_ELECTION_STAGGER_TICKS, fastElectionDelayTicks, fastElectionJitterTicks } from './fast-election';
export { CONFIG_CODEC_VERSION, CONFIG_MEMBERS_MAX, decodeConfig, encodeConfig, membershipChangeRefusal, membershipUnsupported, type MembershipChange, type MembershipRefused } from './membership';
export { COMMITTED_BYTES_PER_READY_MAX, COMMITTED_ENTRIES_PER_READY_MAX } from './apply-slice';
