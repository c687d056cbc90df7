/**
 * Operations against a quorumlite cluster through the project's pipelining client. Loaded
 * lazily by the worker so the echo and SQLite paths never need the client library.
 */
import { QuorumliteClient } from '@quorumlite/client';
import type { Operation } from './loop';
import { assertNever, BATCH_ROWS, HOT_ROWS, INSERT_SQL, insertKey, mixedWrites, preloadKey, readKeyOf, SELECT_SQL, UPDATE_SQL, VALUE_TEXT, type ScenarioName } from './scenarios';

export interface QuorumliteTarget {
  op: Operation;
  /** One round trip, so connection setup happens before the start line. */
  warm(): Promise<void>;
  close(): void;
}

export interface QuorumliteTargetOptions {
  addresses: string[];
  /** The node for stale reads; absent: the client's own pick, at random. */
  readAddress?: string;
  scenario: ScenarioName;
  runId: string;
  loader: number;
  preloadRows: number;
  /** The cluster's authority and the loader's certificate, or null for plaintext. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer } | null;
}

export function quorumliteTarget(options: QuorumliteTargetOptions): QuorumliteTarget {
  const client = new QuorumliteClient({
    addresses: options.addresses,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.scenario === 'select-any' ? { linearizableReads: 'any' as const } : {}),
  });
  const key = (seq: number): string => insertKey(options.runId, options.loader, seq);
  // Reads pick keys spread over the preloaded rows, deterministically per sequence number.
  const readKey = (seq: number): string => readKeyOf(seq, options.loader, options.preloadRows);
  // The same few rows for every client of every loader, so their writes contend.
  const hotKey = (seq: number): string => preloadKey(seq % Math.min(HOT_ROWS, options.preloadRows));
  return {
    op: operationFor(options.scenario, client, { key, readKey, hotKey }, options.readAddress),
    warm: async () => {
      await client.status();
    },
    close: () => client.close(),
  };
}

/**
 * The insert scenario's call through the same client, pinned to one address: against the
 * stream echo server it measures the client and the Session stream alone (no leader probe,
 * which a bare server could not answer).
 */
export function streamEchoTarget(address: string, runId: string, loader: number): QuorumliteTarget {
  const client = new QuorumliteClient({ addresses: [address] });
  const insert = async (seq: number): Promise<void> => {
    await client.execute([{ sql: INSERT_SQL, params: [insertKey(runId, loader, seq), VALUE_TEXT] }], { address });
  };
  return { op: insert, warm: () => insert(-1), close: () => client.close() };
}

interface Keys {
  /** A fresh key for an insert. */
  key(seq: number): string;
  /** A preloaded key, spread over all of them. */
  readKey(seq: number): string;
  /** One of the HOT_ROWS preloaded keys. */
  hotKey(seq: number): string;
}

function operationFor(scenario: ScenarioName, client: QuorumliteClient, { key, readKey, hotKey }: Keys, readAddress: string | undefined): Operation {
  // The loader's read node (a follower; the runner always names one, so loaders spread
  // evenly), or else the client's own pick: where stale reads go, and select-any's
  // linearizable ones (its client is made with linearizableReads: 'any', which routes them
  // to that pick when no address is given).
  const at = readAddress === undefined ? {} : { address: readAddress };
  const stale = { consistency: 'stale' as const, ...at };
  switch (scenario) {
    case 'insert':
      return async (seq) => {
        await client.execute([{ sql: INSERT_SQL, params: [key(seq), VALUE_TEXT] }]);
      };
    case 'batch100':
      return async (seq) => {
        const statements = Array.from({ length: BATCH_ROWS }, (_, i) => ({ sql: INSERT_SQL, params: [key(seq * BATCH_ROWS + i), VALUE_TEXT] }));
        await client.execute(statements);
      };
    case 'select':
      return async (seq) => {
        expectOneRow(await client.query(SELECT_SQL, [readKey(seq)], { consistency: 'linearizable' }));
      };
    case 'select-any':
      return async (seq) => {
        expectOneRow(await client.query(SELECT_SQL, [readKey(seq)], { consistency: 'linearizable', ...at }));
      };
    case 'select-stale':
      return async (seq) => {
        expectOneRow(await client.query(SELECT_SQL, [readKey(seq)], stale));
      };
    case 'mixed90':
    case 'mixed50':
      return async (seq) => {
        if (mixedWrites(scenario, seq)) await client.execute([{ sql: INSERT_SQL, params: [key(seq), VALUE_TEXT] }]);
        else expectOneRow(await client.query(SELECT_SQL, [readKey(seq)], { consistency: 'linearizable' }));
      };
    case 'hot-update':
      // Every client rewrites the same few rows: writes to one row queue behind each other.
      return async (seq) => {
        const result = await client.execute([{ sql: UPDATE_SQL, params: [`${VALUE_TEXT.slice(8)}${String(seq).padStart(8, '0')}`, hotKey(seq)] }]);
        expectRowsAffected(result.results[0]?.rowsAffected ?? 0);
      };
    default:
      return assertNever(scenario);
  }
}

/** An update of a hot row that changes nothing found no row: a wrong answer, counted as an error. */
function expectRowsAffected(n: number): void {
  if (n !== 1) throw Object.assign(new Error(`update of a hot row changed ${n} rows, expected 1`), { code: 'wrong_row_count' });
}

/** A point read of a preloaded key that finds nothing is a wrong answer, counted as an error. */
function expectOneRow(result: { rows: unknown[] }): void {
  if (result.rows.length !== 1) {
    throw Object.assign(new Error(`point read returned ${result.rows.length} rows, expected 1`), { code: 'wrong_row_count' });
  }
}
