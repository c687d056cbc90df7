/**
 * What a statement may do, decided from its tokens before anything reaches the log. Every
 * refusal says what is refused and why, in one sentence. Also: the CURRENT_* rewrite and the
 * parameter shape of a statement.
 */
import type { SqlValue } from '@quorumlite/proto';
import { SqlError } from './errors';
import { TIME_ZONE_MODIFIERS, timeZoneRefusal } from './determinism';
import { nameText, type Token } from './tokenizer';

/** Tables quorumlite keeps inside the user's database; hidden and untouchable. */
export const INTERNAL_PREFIX = '_quorumlite_';

const DURABILITY_PRAGMAS = new Set([
  'journal_mode',
  'synchronous',
  'fullfsync',
  'checkpoint_fullfsync',
  'wal_checkpoint',
  'wal_autocheckpoint',
  'journal_size_limit',
  'cache_spill',
]);
const LOCKING_PRAGMAS = new Set(['locking_mode', 'busy_timeout', 'query_only', 'read_uncommitted']);

/** Read-only PRAGMAs that take an argument naming what to inspect. */
const INSPECT_PRAGMAS = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
]);
/** PRAGMAs that are read-only only without an argument (with one they set something). */
const READ_ONLY_PRAGMAS = new Set([
  'user_version',
  'application_id',
  'schema_version',
  'data_version',
  'page_count',
  'page_size',
  'freelist_count',
  'encoding',
  'foreign_keys',
  'collation_list',
  'function_list',
  'module_list',
  'pragma_list',
  'compile_options',
]);

const TRANSACTION_WORDS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

const refuse = (statementIndex: number, message: string): SqlError =>
  new SqlError('refused', message, { statementIndex });

/** The first word after an optional EXPLAIN [QUERY PLAN], and where it is. */
function leadingWord(tokens: readonly Token[]): { word: string; at: number } {
  let at = 0;
  if (isWord(tokens[at], 'EXPLAIN')) {
    at++;
    if (isWord(tokens[at], 'QUERY') && isWord(tokens[at + 1], 'PLAN')) at += 2;
  }
  const t = tokens[at];
  return { word: t?.kind === 'word' ? t.value : '', at };
}

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.value === w;
const isPunct = (t: Token | undefined, p: string): boolean => t !== undefined && t.kind === 'punct' && t.value === p;
const isName = (t: Token | undefined): t is Token => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');

/**
 * Throws SqlError('refused') when the statement would make replicas differ, escape the
 * command's transaction, or touch quorumlite's or SQLite's internal tables.
 */
export function checkStatementPolicy(sql: string, tokens: readonly Token[], statementIndex: number): void {
  const { word, at } = leadingWord(tokens);
  checkLeadingWord(tokens, word, at, statementIndex);
  checkAnywhere(sql, tokens, statementIndex);
}

function checkLeadingWord(tokens: readonly Token[], word: string, at: number, statementIndex: number): void {
  switch (word) {
    case 'ATTACH':
    case 'DETACH':
      throw refuse(statementIndex, `${word} is not allowed: every replica must keep one database file`);
    case 'VACUUM':
      throw refuse(
        statementIndex,
        'VACUUM is not allowed: it rewrites the database file outside a transaction (snapshots copy the database for you)',
      );
    case 'PRAGMA':
      return checkPragma(tokens, at + 1, statementIndex);
    case 'CREATE':
      checkCreate(tokens, at + 1, statementIndex);
      return checkPureExpressions(tokens, at + 1, statementIndex);
    case 'ALTER':
      return checkPureExpressions(tokens, at + 1, statementIndex);
    default:
      if (TRANSACTION_WORDS.has(word)) {
        throw refuse(
          statementIndex,
          `${word} is not allowed: the statements of one request already run as one transaction, all or nothing`,
        );
      }
  }
}

function checkPragma(tokens: readonly Token[], at: number, statementIndex: number): void {
  let i = at;
  if (isName(tokens[i]) && isPunct(tokens[i + 1], '.')) i += 2; // schema.
  const nameToken = tokens[i];
  const name = isName(nameToken) ? nameToken.value.toLowerCase() : '';
  const hasArgument = tokens.length > i + 1;
  const assigns = isPunct(tokens[i + 1], '=');
  // Reading one of these (no argument) changes nothing; wal_checkpoint runs a checkpoint even then.
  const reads = !hasArgument && name !== 'wal_checkpoint';
  if (DURABILITY_PRAGMAS.has(name) && !reads) {
    throw refuse(statementIndex, `PRAGMA ${name} is not allowed: it changes durability (reading it, without a value, is allowed)`);
  }
  if (LOCKING_PRAGMAS.has(name) && !reads) {
    throw refuse(statementIndex, `PRAGMA ${name} is not allowed: it changes locking (reading it, without a value, is allowed)`);
  }
  if (DURABILITY_PRAGMAS.has(name) || LOCKING_PRAGMAS.has(name)) return;
  if (INSPECT_PRAGMAS.has(name) && !assigns) return;
  if (READ_ONLY_PRAGMAS.has(name)) {
    if (!hasArgument) return;
    throw refuse(
      statementIndex,
      `PRAGMA ${name} may only be read here: setting it changes state outside the replicated statements`,
    );
  }
  const allowed = [...INSPECT_PRAGMAS, ...READ_ONLY_PRAGMAS].join(', ');
  throw refuse(statementIndex, `PRAGMA ${name || '(none)'} is not allowed: only read-only PRAGMAs are (${allowed})`);
}

function checkCreate(tokens: readonly Token[], at: number, statementIndex: number): void {
  const next = tokens[at];
  const temp = isWord(next, 'TEMP') || isWord(next, 'TEMPORARY');
  // CREATE TABLE temp.x, CREATE INDEX IF NOT EXISTS "temp".x …: the schema name comes early.
  const tempSchema = tokens
    .slice(at, at + 8)
    .some((t, k, near) => isName(t) && t.value.toUpperCase() === 'TEMP' && isPunct(near[k + 1], '.'));
  if (temp || tempSchema) {
    throw refuse(
      statementIndex,
      'CREATE TEMP is not allowed: temporary objects live in one connection of one replica and vanish on restart',
    );
  }
}

/** Functions whose value depends on the command's time or seed (with 'now' or no time value, for the date ones). */
const TIME_OR_RANDOM_FUNCTIONS = new Set(['RANDOM', 'RANDOMBLOB']);
const CURRENT_TIME_WORDS = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME']);

/**
 * Index expressions and WHERE clauses, generated columns and CHECK constraints must be
 * deterministic: SQLite recomputes them whenever it likes (integrity_check, a later UPDATE,
 * a snapshot check on another replica). On the write connection the date functions read the
 * command's time, so a value of theirs that hangs on 'now' would be a different value on the
 * next reading. The rule: random(), randomblob(), CURRENT_* and every date/time function are
 * refused in those places — the date functions even with a column argument, because a row
 * may hold the text 'now'. Store a computed time in an ordinary column instead.
 */
function checkPureExpressions(tokens: readonly Token[], at: number, statementIndex: number): void {
  const object = tokens[at]?.kind === 'word' && tokens[at]!.value === 'UNIQUE' ? tokens[at + 1] : tokens[at];
  const kind = object?.kind === 'word' ? object.value : '';
  if (kind === 'INDEX') return refuseImpure(tokens, at, tokens.length, 'an index', statementIndex);
  if (kind !== 'TABLE') return;
  // CREATE TABLE / ALTER TABLE: only CHECK (…) and [GENERATED ALWAYS] AS (…) are pure contexts.
  for (let i = at; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'word' || (t.value !== 'CHECK' && t.value !== 'AS')) continue;
    const open = nextSolid(tokens, i + 1);
    if (!isPunct(tokens[open], '(')) continue;
    const close = matchingParen(tokens, open);
    refuseImpure(tokens, open, close, t.value === 'CHECK' ? 'a CHECK constraint' : 'a generated column', statementIndex);
    i = close;
  }
}

function refuseImpure(tokens: readonly Token[], from: number, to: number, where: string, statementIndex: number): void {
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'word') continue;
    const call = isPunct(tokens[nextSolid(tokens, i + 1)], '(');
    const impure = CURRENT_TIME_WORDS.has(t.value) || (call && (TIME_OR_RANDOM_FUNCTIONS.has(t.value) || DATE_FUNCTION_WORDS.has(t.value)));
    if (!impure) continue;
    const name = CURRENT_TIME_WORDS.has(t.value) ? t.value : `${t.value.toLowerCase()}()`;
    throw refuse(
      statementIndex,
      `${name} is not allowed in ${where}: its value depends on the command's time or random seed, and ${where} must give the same value whenever SQLite recomputes it; store the value in an ordinary column instead`,
    );
  }
}

function nextSolid(tokens: readonly Token[], i: number): number {
  let j = i;
  while (j < tokens.length && (tokens[j]!.kind === 'space' || tokens[j]!.kind === 'comment')) j++;
  return j;
}

function matchingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    if (isPunct(tokens[i], ')') && --depth === 0) return i;
  }
  return tokens.length;
}

const DATE_FUNCTION_WORDS = new Set(['DATE', 'TIME', 'DATETIME', 'JULIANDAY', 'UNIXEPOCH', 'STRFTIME', 'TIMEDIFF']);

function checkAnywhere(sql: string, tokens: readonly Token[], statementIndex: number): void {
  // Which call each open parenthesis belongs to, to recognise date-function modifiers.
  const calls: boolean[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isPunct(t, '(')) calls.push(DATE_FUNCTION_WORDS.has(tokens[i - 1]?.kind === 'word' ? tokens[i - 1]!.value : ''));
    if (isPunct(t, ')')) calls.pop();
    if (t.kind === 'string' && calls[calls.length - 1] === true && isPunct(tokens[i - 1], ',')) {
      checkModifierLiteral(t, statementIndex);
    }
    if (isName(t) && t.value.toLowerCase().startsWith(INTERNAL_PREFIX)) {
      throw refuse(statementIndex, `${nameText(sql, t)} is not allowed: tables named ${INTERNAL_PREFIX}* are internal to quorumlite`);
    }
    if (t.kind !== 'word') continue;
    if (i > 0 && t.value === 'ROLLBACK') {
      throw refuse(
        statementIndex,
        'ROLLBACK conflict resolution is not allowed: it would undo other commands applied in the same transaction; use ABORT',
      );
    }
    if (t.value === 'DEFERRED' && tokens[i - 1]?.kind === 'word' && tokens[i - 1]!.value === 'INITIALLY') {
      throw refuse(
        statementIndex,
        'INITIALLY DEFERRED constraints are not allowed: requests are applied together in one transaction, so a deferred check would judge several requests at once; use immediate constraints (the default)',
      );
    }
    if (isPunct(tokens[i + 1], '(')) checkFunction(t.value, statementIndex);
    const targetToken = writeTarget(tokens, i);
    const target = targetToken === null ? null : nameText(sql, targetToken);
    if (target !== null && target.toLowerCase().startsWith('sqlite_')) {
      throw refuse(statementIndex, `writing ${target} is not allowed: sqlite_* tables belong to SQLite`);
    }
  }
}

function checkFunction(name: string, statementIndex: number): void {
  if (name === 'LOAD_EXTENSION') {
    throw refuse(statementIndex, 'load_extension() is not allowed: every replica must run the same code');
  }
  if (name === 'TOTAL_CHANGES') {
    throw refuse(statementIndex, "total_changes() is not allowed: it counts changes since this replica's connection opened");
  }
}

/** A literal 'localtime' or 'utc' modifier; apply refuses computed ones the same way. */
function checkModifierLiteral(t: Token, statementIndex: number): void {
  const text = t.value.slice(1, -1).trim().toLowerCase();
  if (TIME_ZONE_MODIFIERS.has(text)) {
    const e = timeZoneRefusal('date/time functions', text);
    throw new SqlError(e.code, e.message, { statementIndex });
  }
}

/** The table a write at tokens[i] targets: INSERT/REPLACE … INTO x, UPDATE [OR y] x, DELETE FROM x, DROP … x, ALTER TABLE x. */
function writeTarget(tokens: readonly Token[], i: number): Token | null {
  const t = tokens[i]!;
  let j: number;
  switch (t.value) {
    case 'INTO':
      j = i + 1;
      break;
    case 'UPDATE':
      j = isWord(tokens[i + 1], 'OR') ? i + 3 : i + 1;
      break;
    case 'DELETE':
      if (!isWord(tokens[i + 1], 'FROM')) return null;
      j = i + 2;
      break;
    case 'DROP':
    case 'ALTER':
      j = i + 2;
      if (isWord(tokens[j], 'IF') && isWord(tokens[j + 1], 'EXISTS')) j += 2;
      break;
    default:
      return null;
  }
  if (isName(tokens[j]) && isPunct(tokens[j + 1], '.')) j += 2; // schema.
  const name = tokens[j];
  return isName(name) ? name : null;
}

/**
 * CURRENT_TIMESTAMP, CURRENT_DATE and CURRENT_TIME are keywords SQLite evaluates without a
 * function call, so no override can reach them: rewrite them into the date functions (the
 * parentheses keep `DEFAULT CURRENT_TIMESTAMP` valid as `DEFAULT (datetime('now'))`).
 */
export function rewriteCurrentTime(sql: string, tokens: readonly Token[]): string {
  let out = '';
  let last = 0;
  for (const t of tokens) {
    if (t.kind !== 'word') continue;
    const replacement = CURRENT_KEYWORDS[t.value];
    if (replacement === undefined) continue;
    out += sql.slice(last, t.start) + replacement;
    last = t.end;
  }
  return last === 0 ? sql : out + sql.slice(last);
}

const CURRENT_KEYWORDS: Readonly<Record<string, string>> = {
  CURRENT_TIMESTAMP: "(datetime('now'))",
  CURRENT_DATE: "(date('now'))",
  CURRENT_TIME: "(time('now'))",
};

// ---- parameters ------------------------------------------------------------------------

/** How a statement's placeholders take values. */
export interface ParamShape {
  /** Values taken from `params`: the count of `?`, or the highest NNN of `?NNN`. */
  readonly positional: number;
  /** True when positional placeholders are `?NNN` (bound by number, not order). */
  readonly numbered: boolean;
  /** Named placeholders without their prefix, each once. */
  readonly names: readonly string[];
}

export function paramShape(tokens: readonly Token[], statementIndex: number): ParamShape {
  let anonymous = 0;
  const numbers = new Set<number>();
  const names = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'variable') continue;
    if (t.value === '?') anonymous++;
    else if (t.value.startsWith('?')) numbers.add(Number(t.value.slice(1)));
    else names.add(t.value.slice(1));
  }
  if (numbers.size === 0) return { positional: anonymous, numbered: false, names: [...names] };
  if (anonymous > 0 || names.size > 0) {
    throw new SqlError('invalid', `statement ${statementIndex} mixes ?NNN with other placeholders; use one style`, {
      statementIndex,
    });
  }
  const max = Math.max(...numbers);
  for (let k = 1; k <= max; k++) {
    if (!numbers.has(k)) {
      throw new SqlError('invalid', `statement ${statementIndex} uses ?${max} but not ?${k}: numbered parameters must run from ?1 without gaps`, {
        statementIndex,
      });
    }
  }
  return { positional: max, numbered: true, names: [...names] };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Throws SqlError('invalid') naming the statement and parameter when a value is not a SqlValue.
 * `param`: a positional parameter's index, or a named one's `:name`.
 */
export function checkValue(v: unknown, statementIndex: number, param: number | string): asserts v is SqlValue {
  if (v === null || typeof v === 'string') return;
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) throw badValue(statementIndex, param, `is ${v}, which does not fit in 64 bits`);
    return;
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) throw badValue(statementIndex, param, 'is NaN; SQLite has no NaN');
    return;
  }
  if (v instanceof Uint8Array) return;
  const kind = v === undefined ? 'undefined' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
  throw badValue(statementIndex, param, `is ${kind}; only null, integer (bigint), real (number), text (string) and blob (Uint8Array) are allowed`);
}

function badValue(statementIndex: number, param: number | string, why: string): SqlError {
  return new SqlError('invalid', `statement ${statementIndex} parameter ${param} ${why}`, { statementIndex });
}
