/**
 * Wrap a protocol so every Ready passes through a mutation: a broken driver or core in a
 * box, to show that the simulator notices when a real protocol's guarantees are removed.
 */
import type { BaseMessage, ConsensusCore, CoreStatus, ProtocolModule, Ready } from '@quorumlite/consensus';

export function mutateReady<M extends BaseMessage>(protocol: ProtocolModule<M>, mutate: (rd: Ready<M>) => Ready<M>): ProtocolModule<M> {
  return mutateCore(protocol, { ready: mutate });
}

/** Wrap every core the protocol creates, passing its Readys and its status through the given mutations. */
export function mutateCore<M extends BaseMessage>(
  protocol: ProtocolModule<M>,
  mutate: { readonly ready?: (rd: Ready<M>) => Ready<M>; readonly status?: (s: CoreStatus) => CoreStatus },
): ProtocolModule<M> {
  const ready = mutate.ready ?? ((rd: Ready<M>) => rd);
  const status = mutate.status ?? ((s: CoreStatus) => s);
  return {
    ...protocol,
    create: (options, persisted) => {
      const core = protocol.create(options, persisted);
      const wrapped: ConsensusCore<M> = {
        tick: () => core.tick(),
        step: (m) => core.step(m),
        propose: (data) => core.propose(data),
        proposeMembership: (next) => core.proposeMembership(next),
        readIndex: (id) => core.readIndex(id),
        hasReady: () => core.hasReady(),
        ready: () => ready(core.ready()),
        advance: () => core.advance(),
        takeEarlyMessages: () => core.takeEarlyMessages(),
        compact: (meta, retain) => core.compact(meta, retain),
        membersAt: (index) => core.membersAt(index),
        reportSnapshotFailure: (to) => core.reportSnapshotFailure(to),
        reportUnreachable: (to) => core.reportUnreachable(to),
        reportReachable: (to) => core.reportReachable(to),
        transferLeadership: (to) => core.transferLeadership(to),
        status: () => status(core.status()),
      };
      return wrapped;
    },
  };
}

/** A witness told it may forget everything committed, whether or not the data voters hold it. */
export const withOverstatedDataVotersHold = <M extends BaseMessage>(p: ProtocolModule<M>): ProtocolModule<M> =>
  mutateCore(p, { status: (s) => ({ ...s, dataVotersHold: s.commitIndex }) });

/** Never fsync: acknowledgements and votes a crash can take back. */
export const withoutFsync = <M extends BaseMessage>(p: ProtocolModule<M>): ProtocolModule<M> =>
  mutateReady(p, (rd) => ({ ...rd, mustSync: false }));

/** Forget hard state (term, vote, commit): a restarted node may vote twice in a term. */
export const withoutHardState = <M extends BaseMessage>(p: ProtocolModule<M>): ProtocolModule<M> =>
  mutateReady(p, (rd) => ({ ...rd, hardState: null }));

/** Answer reads one record too early. */
export const withStaleReads = <M extends BaseMessage>(p: ProtocolModule<M>): ProtocolModule<M> =>
  mutateReady(p, (rd) => ({ ...rd, readStates: rd.readStates.map((rs) => ({ ...rs, index: Math.max(0, rs.index - 1) as typeof rs.index })) }));

/** Send messages but never persist records: a leader elected later misses committed ones. */
export const withoutLogWrites = <M extends BaseMessage>(p: ProtocolModule<M>): ProtocolModule<M> =>
  mutateReady(p, (rd) => ({ ...rd, entries: [] }));
