/**
 * The state-machine port: what the replica needs from the place its committed records go.
 *
 * A data node holds an SQLite database (`SqlData`). A witness holds none (`Witness`): it
 * applies nothing, serves no client request, and its snapshots are a log position only — it
 * forgets records every data voter holds instead of copying a database. The replica's snapshot
 * policy is the one place that tells them apart, by `kind`; everything else the
 * replica asks of either the same way.
 */
import type { Entry, MemberSpec } from '@quorumlite/consensus';
import {
  decodeCommand,
  readSnapshotIndex,
  SqlStateMachine,
  type ApplyOutcome,
  type ExecuteInput,
  type QueryInput,
  type QueryResult,
  type SqlOptions,
  type StatementInput,
} from '@quorumlite/sql';
import { ReplicaError } from './errors';

/** Where the client may find the leader, carried by a refusal. */
export interface LeaderHint {
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
}

/** Whether a snapshot file received from a peer holds what its message names. */
export type SnapshotFileCheck =
  | { readonly ok: true }
  /** The file does not open as a database: `cause` says why. */
  | { readonly ok: false; readonly why: string; readonly cause: unknown }
  /** It opens, at another applied index. */
  | { readonly ok: false; readonly why: string };

interface StateMachineBase {
  /** The last record applied. */
  appliedIndex(): number;
  /**
   * What the state machine's own durable state says it applied (the boot watermark of
   * install-marker.ts), or null when it keeps no durable state of its own.
   */
  durableAppliedIndex(): number | null;
  /** Throws the error a client gets when this node serves no request of this kind. */
  assertServes(request: 'write' | 'read', leader: LeaderHint): void;
  /** Leader, before the log: the command's log encoding (throws SqlError). */
  prepareWrite(input: ExecuteInput, timeMs: number, seed: number): Uint8Array;
  /** The statements of a command prepareWrite encoded, read back (throws SqlError on bytes that are not one). */
  writeStatements(data: Uint8Array): StatementInput[];
  /** Applies committed records in one go: an outcome per record, or null when no client waits on one here. */
  applyBatch(entries: readonly Entry[]): readonly ApplyOutcome[] | null;
  /** Why checkpoints of the write-ahead log moved back onto the event loop, if they did. */
  checkpointFailure(): string | null;
  query(input: QueryInput): QueryResult;
  checkSnapshotFile(file: string, index: number): SnapshotFileCheck;
  /** A row-level digest (tests compare replicas with it); null where there are no rows. */
  digest(): string | null;
  close(): void;
}

export interface DataStateMachine extends StateMachineBase {
  readonly kind: 'data';
  /** A consistent copy at the applied index, made without blocking the loop; returns that index. */
  snapshotTo(file: string): Promise<{ index: number }>;
  /** Makes what was applied durable in place, without blocking the loop; returns the index it covers. */
  makeDurable(): Promise<{ index: number }>;
  /** Replaces the database with a snapshot file, which it consumes; returns its applied index. */
  restoreFrom(file: string): { index: number };
  /** The member list of the last config record the database applied (addresses included), or null. */
  appliedMembers(): readonly MemberSpec[] | null;
  /** Where the database began: '' (empty) or 'sha256:<hex>' of the backup it was restored from. */
  origin(): string;
}

export interface WitnessStateMachine extends StateMachineBase {
  readonly kind: 'witness';
}

export type StateMachine = DataStateMachine | WitnessStateMachine;

/** The SQLite database of a data node. */
export class SqlData implements DataStateMachine {
  readonly kind = 'data';

  private constructor(private readonly sql: SqlStateMachine) {}

  static open(dbPath: string, options?: SqlOptions): SqlData {
    return new SqlData(SqlStateMachine.open(dbPath, options));
  }

  appliedIndex(): number {
    return this.sql.appliedIndex();
  }

  durableAppliedIndex(): number {
    return this.sql.appliedIndex();
  }

  assertServes(): void {}

  prepareWrite(input: ExecuteInput, timeMs: number, seed: number): Uint8Array {
    return this.sql.prepareEncoded(input, timeMs, seed).encoded;
  }

  writeStatements(data: Uint8Array): StatementInput[] {
    return decodeCommand(data).statements;
  }

  applyBatch(entries: readonly Entry[]): ApplyOutcome[] {
    return this.sql.applyBatch(entries.map((e) => ({ index: e.index, kind: e.kind, data: e.data })));
  }

  checkpointFailure(): string | null {
    return this.sql.walCheckpoints().failure;
  }

  query(input: QueryInput): QueryResult {
    return this.sql.query(input);
  }

  checkSnapshotFile(file: string, index: number): SnapshotFileCheck {
    let held: number;
    try {
      held = readSnapshotIndex(file);
    } catch (e: unknown) {
      return { ok: false, why: e instanceof Error ? e.message : String(e), cause: e };
    }
    if (held !== index) return { ok: false, why: `the snapshot for index ${index} holds a database at applied index ${held}` };
    return { ok: true };
  }

  digest(): string {
    return this.sql.digest();
  }

  appliedMembers(): readonly MemberSpec[] | null {
    return this.sql.appliedMembers()?.members ?? null;
  }

  origin(): string {
    return this.sql.origin();
  }

  snapshotTo(file: string): Promise<{ index: number }> {
    return this.sql.snapshotAsync(file);
  }

  makeDurable(): Promise<{ index: number }> {
    return this.sql.syncAsync();
  }

  restoreFrom(file: string): { index: number } {
    return this.sql.restore(file);
  }

  close(): void {
    this.sql.close();
  }
}

/**
 * A witness: it votes and holds the log's tail until every data voter holds it, and nothing
 * else. Its applied index is the last record it was handed, starting from its log's snapshot.
 */
export class Witness implements WitnessStateMachine {
  readonly kind = 'witness';

  constructor(
    private readonly nodeId: string,
    private applied: number,
  ) {}

  appliedIndex(): number {
    return this.applied;
  }

  durableAppliedIndex(): null {
    return null;
  }

  assertServes(request: 'write' | 'read', leader: LeaderHint): void {
    if (request === 'write') {
      throw new ReplicaError('unavailable', `node ${this.nodeId} is a witness that leads only until a data voter holds its records; retry shortly`, leader);
    }
    const elsewhere = leader.leaderId && leader.leaderId !== this.nodeId ? ` (the leader is ${leader.leaderId})` : '';
    throw new ReplicaError('refused', `node ${this.nodeId} is a witness: it keeps no database; read from a voter or an observer${elsewhere}`, { ...leader, noData: true });
  }

  prepareWrite(): never {
    throw new Error('a witness prepares no write (assertServes refuses it first)');
  }

  writeStatements(): never {
    throw new Error('a witness prepares no write, so it has none to read back');
  }

  applyBatch(entries: readonly Entry[]): null {
    this.applied = entries[entries.length - 1]?.index ?? this.applied;
    return null;
  }

  checkpointFailure(): null {
    return null;
  }

  query(): never {
    throw new Error('a witness answers no query (assertServes refuses it first)');
  }

  /** A witness takes a snapshot's position only, whatever its file holds. */
  checkSnapshotFile(): SnapshotFileCheck {
    return { ok: true };
  }

  digest(): null {
    return null;
  }

  close(): void {}
}
