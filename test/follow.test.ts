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
