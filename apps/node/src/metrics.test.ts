import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ReplicaStatus } from '@quorumlite/replica';
import { NodeMetrics } from './metrics';

function status(sent: number, syncs: number): ReplicaStatus {
  return {
    nodeId: 'n1',
    role: 'leader',
    leaderId: 'n1',
    leaderAddress: '127.0.0.1:7001',
    term: 4,
    fencingName: 'term',
    commitIndex: 20,
    appliedIndex: 20,
    lastIndex: 22,
    snapshotIndex: 0,
    logRecords: 22,
    logBytes: 2_048,
    dataVotersHold: 0,
    promisedFence: 4,
    store: 'database',
    protocol: 'raft',
    counters: { sent: [{ type: 'append', count: sent, bytes: sent * 100 }], received: [], elections: 1, leaderChanges: 1, leaderlessMs: 250, writesAnswered: 3, writeMs: 6, readsAnswered: 0, readMs: 0, storageSyncs: syncs, steps: [{ step: 'fsync', count: 3, ms: 3 }], snapshots: [{ kind: 'taken', count: 2, ms: 1500 }, { kind: 'installed', count: 0, ms: 0 }, { kind: 'sent', count: 1, ms: 250 }], logSpareFailures: 1 },
    members: [
      { id: 'n1', address: 'a', role: 'voter', matchIndex: 22, reachable: true },
      { id: 'n2', address: 'b', role: 'voter', matchIndex: 19, reachable: true },
      { id: 'n3', address: 'c', role: 'voter', matchIndex: 0, reachable: false },
    ],
  };
}

describe('NodeMetrics', () => {
  it('reads gauges and counters from Status at each scrape: counters follow it, never add up across scrapes', async () => {
    let current = status(10, 5);
    const m = new NodeMetrics(() => current);
    const first = await m.render();
    expect(first).toContain('quorumlite_messages_sent_total{type="append"} 10');
    expect(first).toContain('quorumlite_snapshots_total{kind="taken"} 2');
    expect(first).toContain('quorumlite_log_spare_failures_total 1');
    expect(first).toContain('quorumlite_snapshots_total{kind="installed"} 0');
    expect(first).toContain('quorumlite_snapshot_seconds_total{kind="taken"} 1.5');
    expect(first).toContain('quorumlite_snapshot_seconds_total{kind="sent"} 0.25');
    expect(first).toContain('quorumlite_message_sent_bytes_total{type="append"} 1000');
    expect(first).toContain('quorumlite_storage_syncs_total 5');
    expect(first).toContain('quorumlite_leaderless_seconds_total 0.25');
    expect(first).toContain('quorumlite_role{role="leader"} 1');
    expect(first).toContain('quorumlite_role{role="follower"} 0');
    expect(first).toContain('quorumlite_fencing_number 4');
    expect(first).toContain('quorumlite_peer_lag_entries{peer="n2"} 3');
    expect(first).toContain('quorumlite_peer_lag_entries{peer="n3"} 22');
    expect(first).toContain('quorumlite_peer_reachable{peer="n3"} 0');
    expect(first).not.toContain('peer="n1"');
    current = status(15, 7);
    const second = await m.render();
    expect(second).toContain('quorumlite_messages_sent_total{type="append"} 15');
    expect(second).toContain('quorumlite_storage_syncs_total 7');
  });

  it('counts client calls by method and status name, SQL errors by SQLite code, and observes latencies', async () => {
    const m = new NodeMetrics(() => status(0, 0));
    m.done('Execute', grpc.status.OK, 0.002, null);
    m.done('Execute', grpc.status.FAILED_PRECONDITION, 0.001, 'SQLITE_CONSTRAINT_UNIQUE');
    m.step('apply', 0.3);
    m.writeAnswered(4);
    const text = await m.render();
    expect(text).toContain('quorumlite_client_rpcs_total{method="Execute",code="OK"} 1');
    expect(text).toContain('quorumlite_client_rpcs_total{method="Execute",code="FAILED_PRECONDITION"} 1');
    expect(text).toContain('quorumlite_sql_errors_total{code="SQLITE_CONSTRAINT_UNIQUE"} 1');
    expect(text).toContain('quorumlite_driver_step_duration_seconds_count{step="apply"} 1');
    expect(text).toContain('quorumlite_commit_latency_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('quorumlite_commit_latency_seconds_bucket{le="0.0025"} 0');
  });
});
