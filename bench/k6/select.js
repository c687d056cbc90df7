// Node loader scenarios `select` (CONSISTENCY=linearizable, the default), `select-any`
// (linearizable, QL_ADDR a follower, ANY_NODE=1 names the scenario so) and `select-stale`
// (CONSISTENCY=stale): a point SELECT by key over PRELOAD_ROWS preloaded rows.
//   cd bench/k6 && VUS=64 DURATION=30s CONSISTENCY=stale k6 run select.js
import { check } from 'k6';
import exec from 'k6/execution';
import { PRELOAD_ROWS, prepare, query, scenarioOptions } from './lib.js';
import { preloadKey, selectRequest } from './requests.js';

const CONSISTENCY = (__ENV.CONSISTENCY || 'linearizable') === 'stale' ? 'CONSISTENCY_STALE' : 'CONSISTENCY_LINEARIZABLE';

// A follower asks the leader for the read index and answers from its own database.
const NAME = CONSISTENCY === 'CONSISTENCY_STALE' ? 'select-stale' : __ENV.ANY_NODE === '1' ? 'select-any' : 'select';

export const options = scenarioOptions(NAME);

export function setup() {
  prepare(PRELOAD_ROWS);
}

export default function () {
  const i = (exec.vu.idInTest * 104729 + exec.vu.iterationInScenario * 7919) % PRELOAD_ROWS;
  const res = query(selectRequest(preloadKey(i), CONSISTENCY), 'select');
  if (res) check(res, { 'select: one row': (r) => r.message.rows.length === 1 });
}
