import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '../src/errors.ts';
import { createStage, type StageEnv } from '../src/stages/index.ts';
import { spawnCli, runCli, describeResult, type CliChild } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';
import { checkpointId, createSensorDb, maxId, query } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, exactlyOnceProblems, idCounts, readLake } from './helpers/lake.ts';
import { until } from './helpers/until.ts';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';

/** Polls the live checkpoint until it reaches `id` (the state db is the only signal a separate process gives). */
async function checkpointReaches(db: string, id: number, run: CliChild, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((checkpointId(db) ?? 0) < id) {
    if (run.child.exitCode !== null) throw new Error(`run exited early (${run.child.exitCode}):\n${run.stderr()}`);
    if (Date.now() > until) throw new Error(`checkpoint ${checkpointId(db)} did not reach ${id} in ${timeoutMs} ms:\n${run.stderr()}`);
    await delay(20);
  }
}

function startFollowing(db: string, lake: string): CliChild {
  return spawnCli(['run', '--db', db, '--lake', lake, '--batch-timeout', '200ms', '--batch-size', '1000', '--node-id', 'follower', '--no-progress']);
}

test('run follows a concurrently written database and, on SIGTERM, exits 0 with every row landed exactly once', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  createSensorDb(db);
  const run = startFollowing(db, lake);
  const writer = await runCli(['simulate', '--db', db, '--duration', '4s', '--rate', '2000', '--sensors', '25']);
  assert.equal(writer.code, 0, describeResult(writer));
  const last = maxId(db);
  assert.ok(last >= 4000, `the writer wrote ${last} rows`);
  await checkpointReaches(db, last, run);
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), last), null);
  // Follow mode uploaded while the writer was still writing: many batches, not one at the end.
  const batches = query<{ n: number }>(db, 'SELECT count(*) AS n FROM pipeline_executions')[0].n;
  assert.ok(batches >= 4, `${batches} batches`);
});

const validatedAvailable = await createStage('validated', {} as StageEnv).then(
  () => true,
  (err: unknown) => !(err instanceof ConfigError && err.code === 'STAGE_NOT_AVAILABLE'),
);

test(
  'pipeline set while following takes effect at the next batch: earlier rows in the ingestion bucket, later ones in validated, each once',
  { skip: validatedAvailable ? false : 'validated stage not built yet' },
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    createSensorDb(db);
    const run = startFollowing(db, lake);
    const writer = spawnCli(['simulate', '--db', db, '--duration', '4s', '--rate', '2000', '--sensors', '25']);
    // Switch once a few batches have landed as ingestion.
    await checkpointReaches(db, 2000, run);
    const set = await runCli(['pipeline', 'set', '--db', db, '--type', 'validated', '--by', 'operator']);
    assert.equal(set.code, 0, describeResult(set));
    const switchedAt = Date.parse(query<{ created_at: string }>(db, 'SELECT created_at FROM pipeline_config WHERE is_active = 1')[0].created_at);
    const w = await writer.exited;
    assert.equal(w.code, 0, describeResult(w));
    // On a loaded machine the switch can land after the last live row: rows written after it are
    // what proves the next batch follows it.
    const more = await runCli(['simulate', '--db', db, '--rows', '3000', '--sensors', '25']);
    assert.equal(more.code, 0, describeResult(more));
    const last = maxId(db);
    await checkpointReaches(db, last, run);
    run.child.kill('SIGTERM');
    const r = await run.exited;
    assert.equal(r.code, 0, describeResult(r));

    const execs = query<{ pipeline_type: string; first_id: number; last_id: number; started_at: string }>(
      db,
      'SELECT pipeline_type, first_id, last_id, started_at FROM pipeline_executions ORDER BY first_id',
    );
    const types = execs.map((e) => e.pipeline_type);
    const firstValidated = types.indexOf('validated');
    assert.ok(firstValidated > 0, `types by batch: ${types.join(',')}`);
    assert.deepEqual(types.slice(firstValidated), types.slice(firstValidated).map(() => 'validated'), 'one switch, never back');
    for (const e of execs) {
      const started = Date.parse(e.started_at);
      // A batch read before the switch stays ingestion; once the switch is visible, the next batch follows it.
      if (started < switchedAt) assert.equal(e.pipeline_type, 'ingestion', `batch ${e.first_id}-${e.last_id} started before the switch`);
      if (started > switchedAt + 1000) assert.equal(e.pipeline_type, 'validated', `batch ${e.first_id}-${e.last_id} started 1 s after the switch`);
    }
    const boundary = execs[firstValidated].first_id;
    const ing = idCounts(readLake(lake, INGESTION_BUCKET));
    const val = idCounts(readLake(lake, VALIDATED_BUCKET));
    for (let id = 1; id <= last; id++) {
      const [i, v] = [ing.get(id) ?? 0, val.get(id) ?? 0];
      assert.equal(i + v, 1, `id ${id}: ${i} in ingestion, ${v} in validated`);
      assert.equal(v, id >= boundary ? 1 : 0, `id ${id} is in the bucket of the stage active when its batch was read (switch at id ${boundary})`);
    }
    assert.equal(ing.size + val.size, last);
  },
);

test('a follower on aggregated reads with one worker; switched to ingestion it starts the second with that stage’s first batch, and every row lands once', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  await simulate({ db, rows: 20_000, sensors: 12, startMs: Date.UTC(2025, 7, 15), seed: 3 });
  const set = (type: string) => runCli(['pipeline', 'set', '--db', db, '--type', type, '--by', 'operator']);
  assert.equal((await set('aggregated')).code, 0);
  const follow = async (work: () => Promise<unknown>) => {
    const stop = new AbortController();
    const options = parseRunOptions({ db, lake, nodeId: 'switcher', once: false, progress: false, batchSize: 5000, batchTimeout: 200, alerts: false });
    const running = runPipeline(options, { log: createLogger({ quiet: true }), signal: stop.signal });
    try {
      await work();
    } finally {
      stop.abort();
    }
    return running;
  };
  const reaches = (id: number) => until(`the checkpoint at ${id}`, () => (checkpointId(db) ?? 0) >= id, 60_000);
  // Aggregated alone: one reader.
  const alone = await follow(() => reaches(20_000));
  assert.equal(alone.workerThreads, 1, 'aggregated reads with one worker');
  // New rows under aggregated, then the operator switches to ingestion and more rows arrive: the same pool grows.
  await simulate({ db, rows: 20_000, sensors: 12, startMs: Date.UTC(2025, 7, 16), seed: 4 });
  const switched = await follow(async () => {
    await reaches(40_000);
    assert.equal((await set('ingestion')).code, 0);
    await simulate({ db, rows: 20_000, sensors: 12, startMs: Date.UTC(2025, 7, 17), seed: 5 });
    await reaches(maxId(db));
  });
  assert.equal(switched.workerThreads, 2, 'the row stage started the second worker');
  const execs = query<{ pipeline_type: string; first_id: number; last_id: number }>(db, 'SELECT pipeline_type, first_id, last_id FROM pipeline_executions ORDER BY first_id');
  const firstIngestion = execs.findIndex((e) => e.pipeline_type === 'ingestion');
  assert.ok(firstIngestion > 0, `types by batch: ${execs.map((e) => e.pipeline_type).join(',')}`);
  assert.ok(execs.slice(0, firstIngestion).every((e) => e.pipeline_type === 'aggregated'));
  const boundary = execs[firstIngestion].first_id;
  assert.ok(boundary > 40_000, `the switch came after the aggregated rows (first ingestion batch at ${boundary})`);
  const ingested = idCounts(readLake(lake, INGESTION_BUCKET));
  const last = maxId(db);
  assert.equal(ingested.size, last - boundary + 1, 'every row from the switch on is in the ingestion bucket');
  for (const [id, n] of ingested) assert.ok(id >= boundary && id <= last && n === 1, `id ${id} ingested ${n} times`);
});
