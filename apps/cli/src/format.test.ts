import { QuorumliteError, zeroCounters, type NodeStatus } from '@quorumlite/client';
import { describe, expect, it } from 'vitest';
import { formatError, formatExecute, formatStatus, formatTable, formatValue, statusJson, toJson } from './format';

describe('formatValue', () => {
  it('shows NULL, exact integers, reals with a point and blobs as hex', () => {
    expect(formatValue(null)).toBe('NULL');
    expect(formatValue(9223372036854775807n)).toBe('9223372036854775807');
    expect(formatValue(2)).toBe('2.0');
    expect(formatValue(1.5)).toBe('1.5');
    expect(formatValue(1e21)).toBe('1e+21');
    expect(formatValue('text')).toBe('text');
    expect(formatValue(new Uint8Array([0, 255, 16]))).toBe("x'00ff10'");
  });
});

describe('formatTable', () => {
  it('aligns columns, right-aligns numbers and counts rows', () => {
    const out = formatTable({
      columns: [{ name: 'id', declType: 'INTEGER' }, { name: 'name', declType: 'TEXT' }, { name: 'b', declType: '' }],
      rows: [
        [1n, 'ann', null],
        [10n, 'bo\nb', new Uint8Array([1])],
      ],
      index: 7n,
      truncated: false,
    });
    expect(out.split('\n')).toEqual(['id | name  | b', '---+-------+------', ' 1 | ann   | NULL', "10 | bo\\nb | x'01'", '(2 rows, index 7)']);
  });

  it('says when rows were cut and handles no columns', () => {
    expect(formatTable({ columns: [], rows: [], index: 1n, truncated: false })).toBe('(0 rows, index 1)');
    expect(formatTable({ columns: [{ name: 'x', declType: '' }], rows: [[1n]], index: 2n, truncated: true }).split('\n').pop()).toBe('(1 row, index 2, truncated)');
  });
});

describe('formatExecute', () => {
  it('shows the rows a statement returned (RETURNING) above its summary', () => {
    const rows = { columns: [{ name: 'id', declType: 'INTEGER' }], rows: [[7n]], truncated: false };
    expect(formatExecute({ results: [{ rowsAffected: 1, lastInsertRowid: 7n, rows }], index: 3n, duplicate: false, uncommitted: false })).toBe(
      ['id', '--', ' 7', '(1 row, index 3)', '1 row affected (last insert rowid 7, index 3)'].join('\n'),
    );
  });

  it('says a leader-durability acknowledgement is not yet committed and has no results', () => {
    expect(formatExecute({ results: [], index: 9n, duplicate: false, uncommitted: true })).toBe(
      'durable on the leader at index 9, not yet committed (durability leader: no results yet; it is lost if the leader fails first)',
    );
  });

  it('prints one line per statement', () => {
    expect(formatExecute({ results: [{ rowsAffected: 3, lastInsertRowid: 7n }], index: 42n, duplicate: false, uncommitted: false })).toBe('3 rows affected (last insert rowid 7, index 42)');
    expect(
      formatExecute({
        results: [
          { rowsAffected: 1, lastInsertRowid: 1n },
          { rowsAffected: 0, lastInsertRowid: 1n },
        ],
        index: 5n,
        duplicate: true,
        uncommitted: false,
      }).split('\n'),
    ).toEqual(['1 row affected (last insert rowid 1, index 5, duplicate of an earlier request)', '0 rows affected (last insert rowid 1, index 5, duplicate of an earlier request)']);
  });
});

describe('formatError', () => {
  it('is one line with the codes', () => {
    const e = new QuorumliteError('UNIQUE constraint failed: t.id', { code: 'sql_error', grpcCode: 9, sqliteCode: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(formatError(e)).toBe('error (sql_error SQLITE_CONSTRAINT_UNIQUE): UNIQUE constraint failed: t.id');
    expect(formatError(new QuorumliteError('cannot reach 127.0.0.1:1:\n  refused', { code: 'unavailable', grpcCode: 14 }))).toBe('error (unavailable): cannot reach 127.0.0.1:1: refused');
    expect(formatError(new TypeError('parameter 1: bad'))).toBe('error (invalid): parameter 1: bad');
    expect(formatError('weird')).toBe('error: weird');
  });
});

function leaderStatus(): NodeStatus {
  return {
    nodeId: 'n1',
    role: 'leader',
    leaderId: 'n1',
    leaderAddress: '127.0.0.1:7001',
    term: 3n,
    fencingName: 'term',
    commitIndex: 10n,
    appliedIndex: 9n,
    lastIndex: 10n,
    snapshotIndex: 0n,
    logRecords: 10n,
    logBytes: 2048n,
    dataVotersHold: 0n,
    store: 'database',
    members: [
      { id: 'n1', address: '127.0.0.1:7001', role: 'voter', matchIndex: 10n, reachable: true },
      { id: 'n2', address: '127.0.0.1:7002', role: 'voter', matchIndex: 8n, reachable: false },
    ],
    protocol: 'raft',
    version: '0.1.0',
    counters: { ...zeroCounters(), sent: [{ type: 'append', count: 12, bytes: 3_072 }], storageSyncs: 9, elections: 1, leaderChanges: 1, leaderlessMs: 412.6 },
  };
}

describe('formatStatus', () => {
  it('summarizes the node and lists members', () => {
    const out = formatStatus(leaderStatus());
    expect(out).toContain('node      n1 (leader)');
    expect(out).toContain('leader    n1 at 127.0.0.1:7001');
    expect(out).toContain('commit 10  applied 9  last 10  snapshot 0');
    expect(out).toContain('n1 * | 127.0.0.1:7001 | voter |    10 | yes');
    expect(out).toContain('n2   | 127.0.0.1:7002 | voter |     8 | no');
    expect(out).not.toContain('rows');
  });

  it('says what the log holds on disk, and for a witness how far the data voters hold it', () => {
    expect(formatStatus(leaderStatus())).toContain('disk      10 records, 2.0 KiB in the log');
    expect(formatStatus(leaderStatus())).not.toContain('data voters hold');
    const witness = formatStatus({ ...leaderStatus(), role: 'witness', logRecords: 3n, logBytes: 900n, dataVotersHold: 7n });
    expect(witness).toContain('disk      3 records, 900 B in the log  (data voters hold 7)');
  });

  it('sums what the node counted since it started', () => {
    expect(formatStatus(leaderStatus())).toContain('counted   sent 12 msgs (3.0 KiB), received 0 (0 B), 9 syncs, 1 elections, 1 leader changes, 413 ms without a leader');
    expect(formatStatus(leaderStatus())).not.toContain('not prepared ahead');
    const short = leaderStatus();
    short.counters.logSpareFailures = 2;
    expect(formatStatus(short)).toContain('413 ms without a leader, 2 log segments not prepared ahead (is the disk short of room?)');
  });

  it("names the fencing number as the node's protocol does", () => {
    expect(formatStatus(leaderStatus())).toContain('term      3');
    const zab = formatStatus({ ...leaderStatus(), protocol: 'zab', fencingName: 'epoch' });
    expect(zab).toContain('epoch     3');
    expect(zab).not.toContain('term');
  });
});

describe('statusJson', () => {
  it('gives null where the table shows - (a follower does not track its peers), the index where it shows one', () => {
    const leader = leaderStatus();
    const status: NodeStatus = {
      ...leader,
      nodeId: 'n2',
      role: 'follower',
      appliedIndex: 10n,
      members: [
        { id: 'n1', address: '127.0.0.1:7001', role: 'voter', matchIndex: 0n, reachable: true },
        { id: 'n2', address: '127.0.0.1:7002', role: 'voter', matchIndex: 10n, reachable: true },
      ],
    };
    expect(formatStatus(status)).toContain('n1 * | 127.0.0.1:7001 | voter | -     | yes');
    const json = JSON.parse(statusJson(status)) as { term: string; members: { id: string; matchIndex: string | null }[] };
    expect(json.members.map((m) => [m.id, m.matchIndex])).toEqual([
      ['n1', null],
      ['n2', '10'],
    ]);
    expect(json.term).toBe('3');
    const asLeader = JSON.parse(statusJson({ ...status, role: 'leader' })) as { members: { matchIndex: string | null }[] };
    expect(asLeader.members.map((m) => m.matchIndex)).toEqual(['0', '10']);
  });
});

describe('toJson', () => {
  it('writes bigints as strings and blobs as hex objects', () => {
    expect(toJson({ rows: [[2n ** 63n - 1n, null, 1.5, new Uint8Array([171])]], index: 3n, truncated: false })).toBe(
      '{"rows":[["9223372036854775807",null,1.5,{"blob":"ab"}]],"index":"3","truncated":false}',
    );
    expect(JSON.parse(toJson({ error: new QuorumliteError('x', { code: 'refused', grpcCode: 9, index: 4n }) }))).toEqual({
      error: { code: 'refused', message: 'x', grpcCode: 9, index: '4' },
    });
  });
});
