// Request shapes for quorumlite.v1.SqlService, in the JSON form k6's gRPC client sends
// (protojson: a Value oneof is one key such as { text: '...' } or { integer: '42' }; 64-bit
// integers travel as strings). Plain ES module with no k6 imports, so the repository's tests
// can check every method and field here against proto/quorumlite/v1/sql.proto.

export const EXECUTE = 'quorumlite.v1.SqlService/Execute';
export const QUERY = 'quorumlite.v1.SqlService/Query';
export const STATUS = 'quorumlite.v1.SqlService/Status';

// The same table, statements and row size as the Node loader (bench/src/scenarios.ts).
export const TABLE_DDL = 'CREATE TABLE IF NOT EXISTS kv(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)';
export const INSERT_SQL = 'INSERT INTO kv(k, v) VALUES (?, ?)';
// Preloading may run again against the same cluster; existing keys are left alone.
export const PRELOAD_SQL = 'INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO NOTHING';
export const SELECT_SQL = 'SELECT v FROM kv WHERE k = ?';
export const UPDATE_SQL = 'UPDATE kv SET v = ? WHERE k = ?';
export const VALUE_TEXT = 'x'.repeat(72);
// hot-update rewrites only this many preloaded rows, so concurrent writes contend for them.
export const HOT_ROWS = 8;
export const BATCH_ROWS = 100;

export function text(s) {
  return { text: s };
}

export function integer(n) {
  return { integer: String(n) };
}

export function preloadKey(i) {
  return `k6pre-${String(i).padStart(8, '0')}`;
}

export function statement(sql, params) {
  return { sql, params };
}

export function executeRequest(statements, requestId) {
  const req = { statements, durability: 'DURABILITY_QUORUM' };
  if (requestId) req.request_id = requestId;
  return req;
}

export function createTableRequest() {
  return executeRequest([statement(TABLE_DDL, [])]);
}

export function insertRequest(key) {
  return executeRequest([statement(INSERT_SQL, [text(key), text(VALUE_TEXT)])]);
}

export function batchRequest(keyPrefix) {
  const statements = [];
  for (let i = 0; i < BATCH_ROWS; i++) statements.push(statement(INSERT_SQL, [text(`${keyPrefix}-${i}`), text(VALUE_TEXT)]));
  return executeRequest(statements);
}

// hot-update: rewrite one of the HOT_ROWS preloaded rows with a value of the usual size.
export function updateRequest(key, seq) {
  return executeRequest([statement(UPDATE_SQL, [text(`${VALUE_TEXT.slice(8)}${String(seq).padStart(8, '0')}`), text(key)])]);
}

// mixed90 writes one operation in ten, mixed50 one in two (bench/src/scenarios.ts mixedWrites).
export function mixedWrites(readPercent, seq) {
  return readPercent === 90 ? seq % 10 === 9 : seq % 2 === 1;
}

export function preloadRequest(first, count) {
  const statements = [];
  for (let i = first; i < first + count; i++) statements.push(statement(PRELOAD_SQL, [text(preloadKey(i)), text(VALUE_TEXT)]));
  return executeRequest(statements);
}

// consistency: 'CONSISTENCY_LINEARIZABLE' (the Node loader's `select`) or 'CONSISTENCY_STALE' (`select-stale`).
export function selectRequest(key, consistency) {
  return { sql: SELECT_SQL, params: [text(key)], consistency, max_rows: 1 };
}

export function statusRequest() {
  return {};
}
