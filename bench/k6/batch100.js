// Node loader scenario `batch100`: one Execute carrying 100 single-row INSERTs (one transaction).
// Statements/s = 100 × the reported grpc_reqs rate.
//   cd bench/k6 && VUS=16 DURATION=30s k6 run batch100.js
import exec from 'k6/execution';
import { execute, prepare, scenarioOptions } from './lib.js';
import { batchRequest } from './requests.js';

export const options = scenarioOptions('batch100');

export function setup() {
  prepare(0);
  return { run: Date.now().toString(36) };
}

export default function (data) {
  execute(batchRequest(`k6b-${data.run}-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`), 'batch100');
}
