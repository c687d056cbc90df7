import * as path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DurableLog } from './durable-log';
import { entries, makeTempDir, removeTempDir } from './test-support';

const RECORDS = 10_000;
const BATCH_RECORDS = 100;
const PAYLOAD_BYTES = 100;

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await removeTempDir(root);
});

// Printed, not asserted: timing depends on the machine and its other load.
it(`throughput: ${RECORDS} records of ${PAYLOAD_BYTES} bytes in synced batches of ${BATCH_RECORDS}`, async () => {
  const { log } = await DurableLog.open(path.join(root, 'log'));
  const all = entries(1, RECORDS, 1, PAYLOAD_BYTES);
  const started = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i += BATCH_RECORDS) {
    log.append(all.slice(i, i + BATCH_RECORDS));
    await log.flush(true);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await log.close();
  console.log(
    `storage throughput: ${Math.round(RECORDS / seconds)} records/s, ${Math.round(RECORDS / BATCH_RECORDS / seconds)} synced flushes/s (${seconds.toFixed(3)} s)`,
  );
  const { log: reopened, loaded } = await DurableLog.open(path.join(root, 'log'));
  expect(loaded.entries).toHaveLength(RECORDS);
  await reopened.close();
});
