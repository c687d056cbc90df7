// Node loader scenarios `mixed90` (MIX=90, the default) and `mixed50` (MIX=50): linearizable
// point SELECTs over PRELOAD_ROWS preloaded rows, and single-row INSERTs for the rest.
//   cd bench/k6 && QL_ADDR=127.0.0.1:7001 VUS=64 DURATION=30s MIX=50 k6 run mixed.js
import { check } from 'k6';
import exec from 'k6/execution';
import { execute, PRELOAD_ROWS, prepare, query, scenarioOptions } from './lib.js';
import { insertRequest, mixedWrites, preloadKey, selectRequest } from './requests.js';

const MIX = Number(__ENV.MIX || '90') === 50 ? 50 : 90;

export const options = scenarioOptions(MIX === 50 ? 'mixed50' : 'mixed90');

export function setup() {
  prepare(PRELOAD_ROWS);
  return { run: Date.now().toString(36) };
}

export default function (data) {
  const seq = exec.vu.iterationInScenario;
  if (mixedWrites(MIX, seq)) {
    execute(insertRequest(`k6-${data.run}-${exec.vu.idInTest}-${seq}`), 'insert');
    return;
  }
  const i = (exec.vu.idInTest * 104729 + seq * 7919) % PRELOAD_ROWS;
  const res = query(selectRequest(preloadKey(i), 'CONSISTENCY_LINEARIZABLE'), 'select');
  if (res) check(res, { 'select: one row': (r) => r.message.rows.length === 1 });
}
