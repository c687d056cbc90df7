/** SqlService handlers: decode, call the replica once, encode. */
import * as grpc from '@grpc/grpc-js';
import type { Replica } from '@quorumlite/replica';
import { FORWARDED_METADATA_KEY } from '../forwarder';
import {
  decodeExecute,
  decodeQuery,
  encodeExecuteResponse,
  encodeQueryResponse,
  type RequestDefaults,
  type WireExecuteRequest,
  type WireQueryRequest,
} from './codec';
import { openAccess, withAuthorization, type Authorizer } from './access';
import { toServiceError } from './errors';
import { noRpcObserver, timeCall, type RpcObserver } from './observer';
import { sessionHandler } from './session.handler';

export const NODE_VERSION = '0.1.0';

export function sqlHandlers(
  replica: Replica,
  defaults: RequestDefaults,
  observer: RpcObserver = noRpcObserver,
  authorize: Authorizer = openAccess,
): grpc.UntypedServiceImplementation {
  return {
    Session: sessionHandler(replica, defaults, observer, authorize),
    Execute: (call: grpc.ServerUnaryCall<WireExecuteRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('Execute');
      if (refused) {
        observer.done('Execute', refused.code, 0, null);
        cb(refused);
        return;
      }
      const timed = timeCall(observer, 'Execute');
      const fail = (e: unknown): void => {
        const err = toServiceError(e);
        timed.failed(err);
        cb(err);
      };
      const forwarded = call.metadata.get(FORWARDED_METADATA_KEY).length > 0;
      let request;
      try {
        request = withAuthorization(decodeExecute(call.request, forwarded, defaults), call.metadata);
      } catch (e: unknown) {
        fail(e);
        return;
      }
      replica.execute(request).then((r) => {
        timed.ok();
        cb(null, encodeExecuteResponse(r));
      }, fail);
    },
    Query: (call: grpc.ServerUnaryCall<WireQueryRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('Query');
      if (refused) {
        observer.done('Query', refused.code, 0, null);
        cb(refused);
        return;
      }
      const timed = timeCall(observer, 'Query');
      const fail = (e: unknown): void => {
        const err = toServiceError(e);
        timed.failed(err);
        cb(err);
      };
      let request;
      try {
        request = decodeQuery(call.request, defaults);
      } catch (e: unknown) {
        fail(e);
        return;
      }
      replica.query(request).then((r) => {
        timed.ok();
        cb(null, encodeQueryResponse(r));
      }, fail);
    },
    Status: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const refused = authorize(call)('Status');
      observer.done('Status', refused?.code ?? grpc.status.OK, 0, null);
      if (refused) {
        cb(refused);
        return;
      }
      try {
        const s = replica.status();
        cb(null, {
          node_id: s.nodeId,
          role: s.role,
          leader_id: s.leaderId ?? '',
          leader_address: s.leaderAddress ?? '',
          term: String(s.term),
          fencing_name: s.fencingName,
          commit_index: String(s.commitIndex),
          applied_index: String(s.appliedIndex),
          last_index: String(s.lastIndex),
          snapshot_index: String(s.snapshotIndex),
          log_records: String(s.logRecords),
          log_bytes: String(s.logBytes),
          data_voters_hold: String(s.dataVotersHold),
          promised_fence: String(s.promisedFence),
          store: s.store,
          counters: {
            sent: s.counters.sent.map((t) => ({ type: t.type, count: String(t.count), bytes: String(t.bytes) })),
            received: s.counters.received.map((t) => ({ type: t.type, count: String(t.count), bytes: String(t.bytes) })),
            storage_syncs: String(s.counters.storageSyncs),
            elections: String(s.counters.elections),
            leader_changes: String(s.counters.leaderChanges),
            leaderless_ms: s.counters.leaderlessMs,
            writes_answered: String(s.counters.writesAnswered),
            write_ms: s.counters.writeMs,
            reads_answered: String(s.counters.readsAnswered),
            read_ms: s.counters.readMs,
            steps: s.counters.steps.map((t) => ({ step: t.step, count: String(t.count), total_ms: t.ms })),
            log_spare_failures: String(s.counters.logSpareFailures),
          },
          members: s.members.map((m) => ({
            id: m.id,
            address: m.address,
            role: m.role,
            match_index: String(m.matchIndex),
            reachable: m.reachable,
          })),
          protocol: s.protocol,
          version: NODE_VERSION,
        });
      } catch (e: unknown) {
        cb(toServiceError(e));
      }
    },
  };
}
