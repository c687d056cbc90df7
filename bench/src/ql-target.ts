/**
 * Operations against a quorumlite cluster through the project's pipelining client. Loaded
 * lazily by the worker so the echo and SQLite paths never need the client library.
 */
import { QuorumliteClient } from '@quorumlite/client';
import type { Operation } from './loop';
import { assertNever, BATCH_ROWS, HOT_ROWS, INSERT_SQL, insertKey, mixedWrites, preloadKey, SELECT_SQL, UPDATE_SQL, VALUE_TEXT, type ScenarioName } from './scenarios';

export interface QuorumliteTarget {
  op: Operation;
  /** One round trip, so connection setup happens before the start line. */
  warm(): Promise<void>;
  close(): void;
}

export interface QuorumliteTargetOptions {
  addresses: string[];
  scenario: ScenarioName;
  runId: string;
  loader: number;
  preloadRows: number;
}

export function quorumliteTarget(options: QuorumliteTargetOptions): QuorumliteTarget {
  const client = new QuorumliteClient({ addresses: options.addresses });
  const key = (seq: number): string => insertKey(options.runId, options.loader, seq);
  // Reads pick keys spread over the preloaded rows, deterministically per sequence number.
  const readKey = (seq: number): string => preloadKey((seq * 7919 + options.loader * 104729) % options.preloadRows);
  return {
    op: operationFor(options.scenario, client, key, readKey),
    warm: async () => {
      await client.status();
    },
    close: () => client.close(),
  };
}

function operationFor(scenario: ScenarioName, client: QuorumliteClient, key: (seq: number) => string, readKey: (seq: number) => string): Operation {
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
    case 'select-stale':
      return async (seq) => {
        expectOneRow(await client.query(SELECT_SQL, [readKey(seq)], { consistency: 'stale' }));
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
        await client.execute([{ sql: UPDATE_SQL, params: [`${VALUE_TEXT.slice(8)}${String(seq).padStart(8, '0')}`, preloadKey(seq % HOT_ROWS)] }]);
      };
    default:
      return assertNever(scenario);
  }
}

/** A point read of a preloaded key that finds nothing is a wrong answer, counted as an error. */
function expectOneRow(result: { rows: unknown[] }): void {
  if (result.rows.length !== 1) {
    throw Object.assign(new Error(`point read returned ${result.rows.length} rows, expected 1`), { code: 'wrong_row_count' });
  }
}
