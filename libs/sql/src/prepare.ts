/**
 * The leader's check of an Execute before it enters the log: limits, parameters, policy
 * (what may not run on a replicated database), syntax, and the CURRENT_* rewrite. What passes
 * is a Command with the leader's time and seed fixed in it.
 */
import type { SqlValue } from '@quorumlite/proto';
import { encodeCommand } from './codec';
import { checkCommandTime } from './determinism';
import { SqlError } from './errors';
import { limitName, plural, type SqlLimits } from './limits';
import { checkStatementPolicy, checkValue, paramShape, rewriteCurrentTime } from './policy';
import type { Lru } from './lru';
import { splitStatements } from './tokenizer';
import { namedKeys, type Command, type ExecuteInput, type StatementInput } from './types';

/** Throws SqlError('sql_error') when SQLite cannot parse the statement. */
export type SyntaxCheck = (sql: string, statementIndex: number) => void;

export function prepareCommand(
  input: ExecuteInput,
  timeMs: number,
  seed: number,
  limits: SqlLimits,
  checkSyntax: SyntaxCheck,
  cache: ShapeCache | null = null,
): { command: Command; encoded: Uint8Array } {
  checkCommandTime(timeMs);
  if (!Number.isFinite(seed)) throw new SqlError('invalid', `seed ${seed} is not a finite number`);
  const requestId = checkRequestId(input.requestId, limits);
  if (!Array.isArray(input.statements) || input.statements.length === 0) {
    throw new SqlError('invalid', 'a request needs at least one statement');
  }
  checkTotalSqlBytes(input.statements, limits);
  const statements = new Array<StatementInput>(Math.min(input.statements.length, limits.statementsPerRequestMax));
  for (let i = 0; i < input.statements.length; i++) {
    const s = input.statements[i];
    if (typeof s !== 'object' || s === null) throw new SqlError('invalid', `statement ${i} has no sql text`, { statementIndex: i }); // a hole the check above skipped
    const prepared = prepareStatement(s, i, limits, checkSyntax, cache);
    if (i >= limits.statementsPerRequestMax) {
      throw new SqlError(
        'too_large',
        `the request has more than ${limits.statementsPerRequestMax} statements (${limitName('statementsPerRequestMax')})`,
      );
    }
    statements[i] = prepared;
  }
  const command: Command = { statements, requestId, timeMs, seed };
  const encoded = encodeCommand(command);
  if (encoded.byteLength > limits.requestBytesMax) {
    throw new SqlError('too_large', `the request is ${encoded.byteLength} bytes; the limit is ${limits.requestBytesMax} (${limitName('requestBytesMax')})`);
  }
  return { command, encoded };
}

function checkRequestId(requestId: unknown, limits: SqlLimits): string | null {
  if (requestId === null || requestId === undefined || requestId === '') return null;
  if (typeof requestId !== 'string') throw new SqlError('invalid', 'requestId must be a string');
  const bytes = Buffer.byteLength(requestId, 'utf8');
  if (bytes > limits.requestIdBytesMax) {
    throw new SqlError(
      'too_large',
      `requestId is ${bytes} bytes; the limit is ${limits.requestIdBytesMax} (${limitName('requestIdBytesMax')})`,
    );
  }
  return requestId;
}

/** Fails fast, before any tokenizing, on requests that cannot fit whatever they hold. */
function checkTotalSqlBytes(statements: readonly StatementInput[], limits: SqlLimits): void {
  let total = 0;
  statements.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.sql !== 'string') {
      throw new SqlError('invalid', `statement ${i} has no sql text`, { statementIndex: i });
    }
    const bytes = Buffer.byteLength(s.sql, 'utf8');
    if (bytes > limits.statementBytesMax) {
      throw new SqlError(
        'too_large',
        `statement ${i} is ${bytes} bytes; the limit is ${limits.statementBytesMax} (${limitName('statementBytesMax')})`,
        { statementIndex: i },
      );
    }
    total += bytes;
  });
  if (total > limits.requestBytesMax) {
    throw new SqlError('too_large', `the request's SQL is ${total} bytes; the limit is ${limits.requestBytesMax} (${limitName('requestBytesMax')})`);
  }
}

/** What the checks learn from one SQL text; the same for every request that sends it. */
export interface StatementShape {
  /** The text as logged (CURRENT_* rewritten). */
  readonly sql: string;
  readonly positional: number;
  readonly names: readonly string[];
}

/**
 * Checked SQL texts by text. Policy, syntax and the CURRENT_* rewrite depend on the text
 * alone (never on the schema), so a request that repeats a statement with new parameters
 * pays for them once. Only texts that passed are cached.
 */
export type ShapeCache = Lru<string, StatementShape>;

function analyze(text: string, i: number, limits: SqlLimits, checkSyntax: SyntaxCheck): StatementShape {
  const pieces = splitStatements(text);
  if (pieces.length === 0) throw new SqlError('invalid', `statement ${i} has no SQL (only whitespace or comments)`, { statementIndex: i });
  if (pieces.length > 1) {
    throw new SqlError(
      'invalid',
      `statement ${i} holds ${pieces.length} SQL statements; a Statement is exactly one (send each as its own Statement of the request, which still runs them as one transaction)`,
      { statementIndex: i },
    );
  }
  const piece = pieces[0]!;
  checkStatementPolicy(piece.sql, piece.tokens, i);
  const shape = paramShape(piece.tokens, i);
  const count = shape.positional + shape.names.length;
  if (count > limits.paramsPerStatementMax) {
    throw new SqlError(
      'too_large',
      `statement ${i} has ${count} parameters; the limit is ${limits.paramsPerStatementMax} (${limitName('paramsPerStatementMax')})`,
      { statementIndex: i },
    );
  }
  const sql = rewriteCurrentTime(piece.sql, piece.tokens);
  checkSyntax(sql, i);
  return { sql, positional: shape.positional, names: shape.names };
}

/** The named values of a statement that has none (shared: nothing writes to a command's values). */
const NO_NAMES: Readonly<Record<string, SqlValue>> = Object.freeze({});

/** One input statement is one SQL statement (a trailing ';' or comment is fine). */
function prepareStatement(
  s: StatementInput,
  i: number,
  limits: SqlLimits,
  checkSyntax: SyntaxCheck,
  cache: ShapeCache | null,
): StatementInput {
  const invalid = (message: string): SqlError => new SqlError('invalid', message, { statementIndex: i });
  const params: readonly unknown[] = s.params ?? [];
  const named: Readonly<Record<string, unknown>> = s.named ?? NO_NAMES;
  if (!Array.isArray(params)) throw invalid(`statement ${i} params must be an array`);
  if (typeof named !== 'object' || Array.isArray(named)) throw invalid(`statement ${i} named must be an object`);
  for (let k = 0; k < params.length; k++) checkValue(params[k], i, k);
  const keys = namedKeys(named);
  for (let k = 0; k < keys.length; k++) checkValue(named[keys[k]!], i, `:${keys[k]!}`);

  let shape = cache?.get(s.sql);
  if (shape === undefined) {
    shape = analyze(s.sql, i, limits, checkSyntax);
    cache?.set(s.sql, shape);
  }
  // The common case: positional parameters only, all of them used.
  if (shape.names.length === 0 && keys.length === 0 && shape.positional === params.length) {
    return { sql: shape.sql, params: params as SqlValue[], named: NO_NAMES as Record<string, SqlValue> };
  }
  // A null-prototype object: a parameter named __proto__ stays a value.
  const mine = Object.create(null) as Record<string, SqlValue>;
  for (const name of shape.names) {
    if (!Object.prototype.hasOwnProperty.call(named, name)) {
      throw invalid(`statement ${i} has no value for named parameter :${name}`);
    }
    mine[name] = named[name] as SqlValue;
  }
  if (shape.positional !== params.length) {
    throw invalid(`statement ${i} has ${plural(shape.positional, 'positional parameter')} but was given ${plural(params.length, 'value')}`);
  }
  const names = new Set(shape.names);
  for (const key of keys) {
    if (!names.has(key)) throw invalid(`statement ${i} has no parameter named :${key} (keys are given without the prefix)`);
  }
  return { sql: shape.sql, params: params as SqlValue[], named: mine };
}
