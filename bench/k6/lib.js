// Shared by insert.js, select.js and batch100.js: the proto, one connection per VU, the
// constant-vus scenario and the p(99) threshold.
import grpc from 'k6/net/grpc';
import { check, fail } from 'k6';
import { EXECUTE, QUERY, BATCH_ROWS, createTableRequest, preloadRequest } from './requests.js';

export const ADDR = __ENV.QL_ADDR || '127.0.0.1:7001';
export const VUS = parseInt(__ENV.VUS || '64', 10);
export const DURATION = __ENV.DURATION || '30s';
// p(99) of grpc_req_duration must stay under this many milliseconds.
export const P99_MS = parseInt(__ENV.P99_MS || '60', 10);
export const PRELOAD_ROWS = parseInt(__ENV.PRELOAD_ROWS || '10000', 10);

// Init phase: every VU parses the proto once. Paths are relative to this directory.
const client = new grpc.Client();
client.load(['../../proto'], 'quorumlite/v1/sql.proto');

let connected = false;

function connectOnce() {
  if (connected) return;
  client.connect(ADDR, { plaintext: true, timeout: '10s' });
  connected = true;
}

export function scenarioOptions(name) {
  return {
    scenarios: {
      [name]: { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '10s' },
    },
    thresholds: {
      grpc_req_duration: [`p(99)<${P99_MS}`],
      checks: ['rate>0.99'],
    },
  };
}

function invoke(method, request, what) {
  connectOnce();
  const res = client.invoke(method, request, { timeout: '10s' });
  const ok = check(res, { [`${what}: status OK`]: (r) => r && r.status === grpc.StatusOK });
  return ok ? res : null;
}

export function execute(request, what = 'execute') {
  return invoke(EXECUTE, request, what);
}

export function query(request, what = 'query') {
  return invoke(QUERY, request, what);
}

// For setup(): the table, plus `rows` preloaded rows when a scenario reads.
export function prepare(rows) {
  connectOnce();
  const created = client.invoke(EXECUTE, createTableRequest(), { timeout: '10s' });
  if (created.status !== grpc.StatusOK) fail(`CREATE TABLE failed on ${ADDR}: ${JSON.stringify(created.error)}`);
  for (let first = 0; first < rows; first += BATCH_ROWS) {
    const res = client.invoke(EXECUTE, preloadRequest(first, Math.min(BATCH_ROWS, rows - first)), { timeout: '30s' });
    if (res.status !== grpc.StatusOK) fail(`preload failed at row ${first}: ${JSON.stringify(res.error)}`);
  }
}
