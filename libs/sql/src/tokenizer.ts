/**
 * A small SQLite tokenizer: enough of SQLite's lexical rules (tokenize.c) to split a script
 * into statements, find keywords outside string literals, quoted identifiers and comments,
 * and locate bound parameters. It never rejects input: malformed text becomes tokens that
 * SQLite itself then reports as a syntax error when the statement is prepared.
 */

export type TokenKind =
  | 'space' // whitespace
  | 'comment' // -- line or /* block */
  | 'word' // bare identifier or keyword
  | 'quoted' // "id", `id` or [id]
  | 'string' // 'text' or x'blob'
  | 'number'
  | 'variable' // ?, ?NNN, :name, @name, $name
  | 'semi'
  | 'punct'; // any other character

export interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number; // exclusive
  /** For words: upper-cased. For quoted identifiers: the unquoted name. Otherwise the raw text. */
  readonly value: string;
}

/** A name as the user wrote it (words keep their case, quoted identifiers lose their quotes). */
export function nameText(sql: string, t: Token): string {
  return t.kind === 'word' ? sql.slice(t.start, t.end) : t.value;
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
// SQLite treats every byte >= 0x80 as an identifier character.
const isIdStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c >= '\u0080';
const isIdChar = (c: string): boolean => isIdStart(c) || isDigit(c) || c === '$';

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const t = nextToken(sql, i);
    tokens.push(t);
    i = t.end;
  }
  return tokens;
}

function nextToken(s: string, i: number): Token {
  const c = s.charAt(i);
  const n = s.charAt(i + 1);
  if (isSpace(c)) return { kind: 'space', start: i, end: scanWhile(s, i, isSpace), value: ' ' };
  if (c === '-' && n === '-') {
    const nl = s.indexOf('\n', i);
    const end = nl < 0 ? s.length : nl + 1;
    return { kind: 'comment', start: i, end, value: s.slice(i, end) };
  }
  if (c === '/' && n === '*') {
    const close = s.indexOf('*/', i + 2);
    const end = close < 0 ? s.length : close + 2;
    return { kind: 'comment', start: i, end, value: s.slice(i, end) };
  }
  if (c === "'") return quotedToken(s, i, "'", 'string');
  if ((c === 'x' || c === 'X') && n === "'") {
    const t = quotedToken(s, i + 1, "'", 'string');
    return { ...t, start: i, value: s.slice(i, t.end) };
  }
  if (c === '"' || c === '`') return quotedToken(s, i, c, 'quoted');
  if (c === '[') {
    const close = s.indexOf(']', i + 1);
    const end = close < 0 ? s.length : close + 1;
    return { kind: 'quoted', start: i, end, value: s.slice(i + 1, close < 0 ? s.length : close) };
  }
  if (isDigit(c) || (c === '.' && isDigit(n))) return numberToken(s, i);
  if (isIdStart(c)) {
    const end = scanWhile(s, i, isIdChar);
    return { kind: 'word', start: i, end, value: s.slice(i, end).toUpperCase() };
  }
  if (c === '?') {
    const end = scanWhile(s, i + 1, isDigit);
    return { kind: 'variable', start: i, end, value: s.slice(i, end) };
  }
  if ((c === ':' || c === '@' || c === '$') && isIdChar(n)) {
    const end = scanWhile(s, i + 1, isIdChar);
    return { kind: 'variable', start: i, end, value: s.slice(i, end) };
  }
  if (c === ';') return { kind: 'semi', start: i, end: i + 1, value: ';' };
  // Surrogate pairs are two UTF-16 units but one character; keep them together.
  const width = c >= '\ud800' && c <= '\udbff' ? 2 : 1;
  return { kind: 'punct', start: i, end: i + width, value: s.slice(i, i + width) };
}

function scanWhile(s: string, i: number, pred: (c: string) => boolean): number {
  let j = i;
  while (j < s.length && pred(s.charAt(j))) j++;
  return j;
}

/** A quoted run where a doubled quote stands for one; unterminated runs end at the input's end. */
function quotedToken(s: string, i: number, q: string, kind: 'string' | 'quoted'): Token {
  let j = i + 1;
  for (;;) {
    const k = s.indexOf(q, j);
    if (k < 0) return { kind, start: i, end: s.length, value: kind === 'string' ? s.slice(i) : s.slice(i + 1) };
    if (s.charAt(k + 1) === q) {
      j = k + 2;
      continue;
    }
    const end = k + 1;
    const value = kind === 'string' ? s.slice(i, end) : s.slice(i + 1, k).split(q + q).join(q);
    return { kind, start: i, end, value };
  }
}

function numberToken(s: string, i: number): Token {
  let j = i;
  while (j < s.length) {
    const c = s.charAt(j);
    const prev = s.charAt(j - 1);
    const signAfterExp = (c === '+' || c === '-') && (prev === 'e' || prev === 'E') && !/^0[xX]/.test(s.slice(i, j));
    if (isDigit(c) || c === '.' || isIdStart(c) || signAfterExp) j++;
    else break;
  }
  return { kind: 'number', start: i, end: j, value: s.slice(i, j) };
}

/** Tokens that carry meaning (no whitespace or comments). */
export function significant(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

export interface SplitStatement {
  /** The statement's text, without its terminating ';' and surrounding whitespace. */
  readonly sql: string;
  /** Significant tokens with offsets relative to `sql`. */
  readonly tokens: readonly Token[];
}

/**
 * Splits a script at top-level semicolons, the way sqlite3_complete() decides where a
 * statement ends. Inside CREATE [TEMP] TRIGGER … BEGIN … END the body's own semicolons do not
 * end the statement: only a ';' that follows `; END` does (a CASE … END inside the body is
 * never directly preceded by ';'). Pieces holding only whitespace and comments are dropped.
 */
export function splitStatements(script: string): SplitStatement[] {
  const out: SplitStatement[] = [];
  let sig: Token[] = [];
  const flush = (): void => {
    if (sig.length > 0) {
      const first = sig[0]!;
      const last = sig[sig.length - 1]!;
      const base = first.start;
      out.push({
        sql: script.slice(base, last.end),
        tokens: sig.map((t) => ({ ...t, start: t.start - base, end: t.end - base })),
      });
    }
    sig = [];
  };
  for (const t of tokenize(script)) {
    if (t.kind === 'space' || t.kind === 'comment') continue;
    if (t.kind === 'semi' && endsStatement(sig)) {
      flush();
      continue;
    }
    sig.push(t);
  }
  flush();
  return out;
}

function endsStatement(sig: readonly Token[]): boolean {
  if (!isTrigger(sig)) return true;
  const n = sig.length;
  return n >= 2 && sig[n - 1]!.kind === 'word' && sig[n - 1]!.value === 'END' && sig[n - 2]!.kind === 'semi';
}

/** CREATE [TEMP|TEMPORARY] TRIGGER, optionally after EXPLAIN [QUERY PLAN]. */
function isTrigger(sig: readonly Token[]): boolean {
  const words = sig.slice(0, 6).map((t) => (t.kind === 'word' ? t.value : ''));
  let k = 0;
  if (words[k] === 'EXPLAIN') {
    k++;
    if (words[k] === 'QUERY' && words[k + 1] === 'PLAN') k += 2;
  }
  if (words[k] !== 'CREATE') return false;
  k++;
  if (words[k] === 'TEMP' || words[k] === 'TEMPORARY') k++;
  return words[k] === 'TRIGGER';
}
