// Node loader scenario `hot-update`: every VU rewrites the same HOT_ROWS preloaded rows, so
// concurrent writes contend for them.
//   cd bench/k6 && QL_ADDR=127.0.0.1:7001 VUS=64 DURATION=30s k6 run hot-update.js
import { check } from 'k6';
import exec from 'k6/execution';
import { execute, prepare, scenarioOptions } from './lib.js';
import { HOT_ROWS, preloadKey, updateRequest } from './requests.js';

export const options = scenarioOptions('hot-update');

export function setup() {
  prepare(HOT_ROWS);
}

export default function () {
  const seq = exec.vu.iterationInScenario;
  const res = execute(updateRequest(preloadKey((exec.vu.idInTest + seq) % HOT_ROWS), seq), 'hot-update');
  // k6 gives the response as protojson: lowerCamelCase names, 64-bit integers as strings.
  if (res) check(res, { 'hot-update: one row changed': (r) => Number(r.message.results[0].rowsAffected ?? r.message.results[0].rows_affected) === 1 });
}
