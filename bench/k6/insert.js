// Node loader scenario `insert`: one single-row INSERT (~100-byte row) per Execute, unique key per op.
//   cd bench/k6 && QL_ADDR=127.0.0.1:7001 VUS=64 DURATION=30s k6 run insert.js
import exec from 'k6/execution';
import { execute, prepare, scenarioOptions } from './lib.js';
import { insertRequest } from './requests.js';

export const options = scenarioOptions('insert');

export function setup() {
  prepare(0);
  return { run: Date.now().toString(36) };
}

export default function (data) {
  execute(insertRequest(`k6-${data.run}-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`), 'insert');
}
