/**
 * Just enough SQL lexing for a shell: split input into statements at `;` (outside strings,
 * quoted names and comments, and not inside CREATE TRIGGER … END), and tell reads from writes.
 */

export type Token = { kind: 'word'; text: string; upper: string } | { kind: 'literal' } | { kind: 'punct'; text: string };

/** Tokens outside comments; quoted strings and names become opaque literals. */
export function lex(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const skipped = skipNonCode(sql, i);
    if (skipped > i) {
      i = skipped;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      i = closeQuote(sql, i);
      tokens.push({ kind: 'literal' });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'word', text: m, upper: m.toUpperCase() });
      i += m.length;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** Index just past a comment starting at i, or i when there is none. */
function skipNonCode(sql: string, i: number): number {
  if (sql.startsWith('--', i)) {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (sql.startsWith('/*', i)) {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return i;
}

/** Index just past the quoted string or name opening at i (a doubled quote is an escape). */
function closeQuote(sql: string, i: number): number {
  const close = sql[i] === '[' ? ']' : sql[i]!;
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === close) {
      if (close !== ']' && sql[j + 1] === close) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}

function isTriggerDefinition(words: string[]): boolean {
  return words[0] === 'CREATE' && (words[1] === 'TRIGGER' || ((words[1] === 'TEMP' || words[1] === 'TEMPORARY') && words[2] === 'TRIGGER'));
}

/** A trigger body holds `;`s: it ends only at `END;`. */
function statementComplete(candidate: string): boolean {
  const tokens = lex(candidate);
  const words = tokens.flatMap((t) => (t.kind === 'word' ? [t.upper] : []));
  if (!isTriggerDefinition(words)) return true;
  const last = tokens[tokens.length - 2];
  return last?.kind === 'word' && last.upper === 'END';
}

/** Whether the text has anything besides whitespace and comments. */
export function hasCode(sql: string): boolean {
  return lex(sql).length > 0;
}

/**
 * Complete statements (without their final `;`, empty ones dropped) and the unfinished rest.
 */
export function splitStatements(text: string): { statements: string[]; rest: string } {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const skipped = skipNonCode(text, i);
    if (skipped > i) {
      i = skipped;
      continue;
    }
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      i = closeQuote(text, i);
      continue;
    }
    i++;
    if (c !== ';' || !statementComplete(text.slice(start, i))) continue;
    const statement = text.slice(start, i - 1).trim();
    if (hasCode(statement)) statements.push(statement);
    start = i;
  }
  return { statements, rest: text.slice(start) };
}

/** PRAGMAs that take an argument in parentheses and still only read. */
const READING_PRAGMAS_WITH_ARGUMENT = new Set([
  'TABLE_INFO',
  'TABLE_XINFO',
  'TABLE_LIST',
  'INDEX_INFO',
  'INDEX_XINFO',
  'INDEX_LIST',
  'FOREIGN_KEY_LIST',
  'FOREIGN_KEY_CHECK',
  'INTEGRITY_CHECK',
  'QUICK_CHECK',
]);

export type StatementKind = 'read' | 'write';

function isPunct(t: Token | undefined, text: string): boolean {
  return t?.kind === 'punct' && t.text === text;
}

function classifyPragma(tokens: Token[]): StatementKind {
  // PRAGMA [schema.]name [= value | (argument)]
  const at = isPunct(tokens[2], '.') ? 3 : 1;
  const name = tokens[at];
  const next = tokens[at + 1];
  if (next === undefined || isPunct(next, ';')) return 'read';
  if (isPunct(next, '(')) return name?.kind === 'word' && READING_PRAGMAS_WITH_ARGUMENT.has(name.upper) ? 'read' : 'write';
  return 'write';
}

/** WITH … is a read when the statement after the common table expressions is SELECT or VALUES. */
function classifyWith(tokens: Token[]): StatementKind {
  let depth = 0;
  for (const t of tokens.slice(1)) {
    if (t.kind === 'punct') depth += t.text === '(' ? 1 : t.text === ')' ? -1 : 0;
    if (depth !== 0 || t.kind !== 'word') continue;
    if (t.upper === 'SELECT' || t.upper === 'VALUES') return 'read';
    if (t.upper === 'INSERT' || t.upper === 'UPDATE' || t.upper === 'DELETE' || t.upper === 'REPLACE') return 'write';
  }
  return 'write';
}

/** Reads go to Query, everything else to Execute (the node refuses what it does not allow). */
export function classify(sql: string): StatementKind {
  const tokens = lex(sql);
  const first = tokens[0];
  if (first?.kind !== 'word') return 'write';
  switch (first.upper) {
    case 'SELECT':
    case 'VALUES':
    case 'EXPLAIN':
      return 'read';
    case 'WITH':
      return classifyWith(tokens);
    case 'PRAGMA':
      return classifyPragma(tokens);
    default:
      return 'write';
  }
}

/**
 * Whether a statement opens, commits or abandons a transaction (BEGIN [DEFERRED | IMMEDIATE |
 * EXCLUSIVE] [TRANSACTION], COMMIT or END [TRANSACTION], ROLLBACK [TRANSACTION]), or null.
 * ROLLBACK TO a savepoint is not one of them.
 */
export function transactionControl(sql: string): 'begin' | 'commit' | 'rollback' | null {
  const words = lex(sql).filter((t) => !(t.kind === 'punct' && t.text === ';'));
  const upper = words.map((t) => (t.kind === 'word' ? t.upper : null));
  const rest = (from: number, allowed: readonly string[]): boolean => upper.slice(from).every((w, i) => w !== null && allowed[i] === w);
  switch (upper[0]) {
    case 'BEGIN': {
      const mode = ['DEFERRED', 'IMMEDIATE', 'EXCLUSIVE'].includes(upper[1] ?? '') ? 2 : 1;
      return rest(mode, ['TRANSACTION']) ? 'begin' : null;
    }
    case 'COMMIT':
    case 'END':
      return rest(1, ['TRANSACTION']) ? 'commit' : null;
    case 'ROLLBACK':
      return rest(1, ['TRANSACTION']) ? 'rollback' : null;
    default:
      return null;
  }
}
