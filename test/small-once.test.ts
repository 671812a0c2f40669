/**
 * A `--once` run over a small backlog (a Bacalhau batch job over the rows since its last run)
 * does without worker threads: starting two of them costs more than its rows. It must write
 * exactly what the workers write, start no worker for alert records either, and a backlog of
 * MIN_POOLED_IDS ids or more must still go to the workers. (Byte for byte with ids without gaps,
 * as here: where ids have gaps the main thread cuts batches by rows and the workers by ids, so
 * object boundaries differ, every row once either way.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline, type RunSummary } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';
import { DEFAULT_STAGE_READERS, MIN_POOLED_IDS } from '../src/source/pooled-reader.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, readLake } from './helpers/lake.ts';
import { withoutRunFields } from './helpers/run-fields.ts';
import { tempDir } from './helpers/tmp.ts';

const BUCKETS = { ingestion: INGESTION_BUCKET, validated: VALIDATED_BUCKET, enriched: 'expanso-databricks-enriched-us-west-2' } as const;
const EMERGENCY = 'expanso-databricks-emergency-us-west-2';
const AGGREGATED = 'expanso-databricks-aggregated-us-west-2';
const START = Date.UTC(2025, 7, 15);

/** The alerts a run put into the emergency bucket, in id order, without the fields that differ from run to run. */
function emergencyAlerts(lake: string) {
  return readLake(lake, EMERGENCY)
    .flatMap((o) => o.records)
    .map((r) => withoutRunFields(r))
    .map(({ detected_at: _d, latency_ms: _l, ...rest }) => rest)
    .sort((x, y) => Number(x.id) - Number(y.id));
}

function run(dir: string, db: string, name: string, extra: Record<string, unknown>): Promise<RunSummary> {
  // One fuzzing key for every run of a test (each state would make its own): fuzzed positions must match too.
  writeFileSync(join(dir, 'fuzz.key'), 'small-once-test-key\n', { mode: 0o600 });
  const options = parseRunOptions({ db, stateDb: join(dir, `state-${name}.db`), lake: join(dir, `lake-${name}`), nodeId: 'edge-small', once: true, progress: false, fuzzKeyFile: join(dir, 'fuzz.key'), ...extra });
  return runPipeline(options, { log: createLogger({ quiet: true }) });
}

for (const type of ['ingestion', 'validated', 'enriched'] as const) {
  test(`${type}: a --once backlog of 3,000 rows runs on the main thread, starts no worker, and writes what two workers write`, async (t) => {
    const dir = tempDir(t, 'edgelake-small-once-');
    const db = join(dir, 'sensor_data.db');
    // Anomalies enough that alerts are recorded too (their records come from the stage's batch).
    await simulate({ db, rows: 3000, sensors: 12, startMs: START, seed: 5, anomalyRate: 0.1 });
    const alone = await run(dir, db, 'alone', { type });
    assert.equal(alone.workerThreads, 0, 'no worker started for 3,000 rows');
    assert.equal(alone.rows, 3000);
    assert.ok(alone.alerts && alone.alerts.alerts > 64, `alerts: ${alone.alerts?.alerts}`);
    const forced = await run(dir, db, 'forced', { type, readThreads: 2 });
    assert.equal(forced.workerThreads, 2, '--read-threads 2 is the operator’s choice: workers even for a small backlog');
    const [a, f] = [readLake(join(dir, 'lake-alone'), BUCKETS[type]), readLake(join(dir, 'lake-forced'), BUCKETS[type])];
    assert.deepEqual(a.map((o) => o.key), f.map((o) => o.key), 'the same objects');
    for (let k = 0; k < a.length; k++) assert.deepEqual(a[k].records.map(withoutRunFields), f[k].records.map(withoutRunFields), `object ${a[k].key}`);
    const alerts = (lake: string) => emergencyAlerts(join(dir, lake));
    assert.deepEqual(alerts('lake-alone'), alerts('lake-forced'), 'the same alerts');
  });
}

test(`a --once backlog of ${MIN_POOLED_IDS} ids still goes to the workers; a smaller aggregated one starts none, not even for its alert records`, async (t) => {
  const dir = tempDir(t, 'edgelake-small-once-');
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: MIN_POOLED_IDS, sensors: 12, startMs: START, seed: 6, anomalyRate: 0.2 });
  const big = await run(dir, db, 'big', { type: 'ingestion', alerts: false });
  assert.equal(big.workerThreads, 2, `${MIN_POOLED_IDS} ids: the workers run the batch`);
  // Aggregated over fewer ids: every batch is read here, and its many alerts are built here too.
  const small = join(dir, 'small.db');
  await simulate({ db: small, rows: MIN_POOLED_IDS - 1, sensors: 12, startMs: START, seed: 6, anomalyRate: 0.2 });
  const agg = await run(dir, small, 'agg', { type: 'aggregated', batchSize: 4000 });
  assert.equal(agg.workerThreads, 0);
  assert.ok(agg.alerts && agg.alerts.alerts > 2 * 64, `alerts: ${agg.alerts?.alerts}`);
  assert.equal(agg.alerts.recordsBuiltInWorkers, 0);
});

test('aggregated reads with one worker by default (the main thread scores on the other core): the same windows and alerts as with two readers and with none', async (t) => {
  const dir = tempDir(t, 'edgelake-small-once-');
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 30_000, sensors: 12, startMs: START, seed: 8, anomalyRate: 0.1 });
  const one = await run(dir, db, 'one', { type: 'aggregated', batchSize: 10_000 });
  assert.equal(one.workerThreads, DEFAULT_STAGE_READERS);
  assert.equal(DEFAULT_STAGE_READERS, 1);
  assert.ok(one.alerts && one.alerts.recordsBuiltInWorkers > 0, 'its alert records are built by that worker too');
  const two = await run(dir, db, 'two', { type: 'aggregated', batchSize: 10_000, readThreads: 2 });
  assert.equal(two.workerThreads, 2, '--read-threads 2 is the operator’s choice');
  const none = await run(dir, db, 'none', { type: 'aggregated', batchSize: 10_000, readThreads: 0 });
  assert.equal(none.workerThreads, 0);
  const windows = (lake: string) => readLake(join(dir, lake), AGGREGATED).map((o) => ({ key: o.key, records: o.records.map(withoutRunFields) }));
  assert.ok(windows('lake-one').length > 1);
  assert.deepEqual(windows('lake-one'), windows('lake-two'));
  assert.deepEqual(windows('lake-one'), windows('lake-none'));
  const alerts = (lake: string) => emergencyAlerts(join(dir, lake));
  assert.ok(alerts('lake-one').length > 64);
  assert.deepEqual(alerts('lake-one'), alerts('lake-two'));
  assert.deepEqual(alerts('lake-one'), alerts('lake-none'));
});
