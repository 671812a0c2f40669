import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BUILT_CLI, assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult, spawnNode } from './helpers/cli.ts';
import { INGESTION_BUCKET, exactlyOnceProblems, readLake, readS3 } from './helpers/lake.ts';
import { S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { checkpointId, createSensorDb, maxId } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { fillUp, mountTmpfs } from './helpers/tmpfs.ts';
import { until } from './helpers/until.ts';

// Issue 10: "the wall clock jumps back one hour: uploads freeze (checkpoint stuck while the table
// grows)"; "S3 unreachable when a follower starts: exits 1 after 1.5 s instead of riding it out
// like a mid-run outage; state-db disk-full in follow mode crashes instead of retrying".

const BUCKETS = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'].map((s) => `expanso-databricks-${s}-us-west-2`);

test('a wall clock stepped back by an hour while following changes nothing but the processing timestamps: partial batches keep landing on the batch timeout', { timeout: 90_000 }, async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  createSensorDb(db);
  // Default batch size (50 000): at 400 rows/s only the --batch-timeout (1 s) uploads anything.
  const run = spawnNode(['--import', './test/fixtures/clock-shift.mjs', BUILT_CLI], ['run', '--db', db, '--lake', lake, '--node-id', 'clocky', '--no-progress', '--no-alerts'], {
    env: { CLOCK_SHIFT_MS: String(-3_600_000), CLOCK_SHIFT_AFTER_MS: '2000' },
  });
  const writer = await runBuilt(['simulate', '--db', db, '--duration', '8s', '--rate', '400', '--sensors', '8']);
  assert.equal(writer.code, 0, describeResult(writer));
  const rows = maxId(db);
  // Caught up within a few batch timeouts of the last row, although the clock went back an hour 2 s in.
  await until('the follower to catch up', () => checkpointId(db) === rows, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}; checkpoint ${checkpointId(db)} of ${rows}:\n${run.stderr()}`);
  });
  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0);
  const objects = readLake(lake, INGESTION_BUCKET);
  assert.equal(exactlyOnceProblems(objects, rows), null);
  const stamps = objects.flatMap((o) => o.records.map((r) => Date.parse((r._pipeline as { processed_at: string }).processed_at)));
  assert.ok(Math.min(...stamps) < Date.now() - 3_000_000, 'processing timestamps show the stepped clock');
});

test('a follower started while S3 is down waits with backoff, like a mid-run outage, and lands every row exactly once when S3 returns 20 s later', { timeout: 90_000 }, async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const server = await startS3Server({ buckets: BUCKETS });
  t.after(() => server.dispose());
  await server.stop();
  const run = spawnBuilt(['run', '--db', db, '--s3-endpoint', server.endpoint, '--node-id', 'late-s3', '--no-progress', '--no-alerts', '--batch-timeout', '300ms'], { env: S3RVER_ENV });
  const writer = spawnBuilt(['simulate', '--db', db, '--duration', '6s', '--rate', '300', '--sensors', '5']);
  await delay(20_000);
  assert.equal(run.child.exitCode, null, `the follower must not give up while S3 is down:\n${run.stderr()}`);
  assert.match(run.stderr(), /cannot reach S3 .* retrying in/);
  assert.equal(checkpointId(db), null, 'nothing committed while S3 was down');
  await server.restart();
  assert.equal((await writer.exited).code, 0);
  const rows = maxId(db);
  await until('the follower to land every row', () => checkpointId(db) === rows, 45_000).catch((err: Error) => {
    throw new Error(`${err.message}; checkpoint ${checkpointId(db)} of ${rows}:\n${run.stderr()}`);
  });
  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0);
  assert.equal(exactlyOnceProblems(await readS3(server, INGESTION_BUCKET), rows), null);
});

test('a full state-database disk in follow mode is retried with backoff instead of crashing; once space is freed every row lands exactly once', { timeout: 90_000 }, async (t) => {
  assertBuilt();
  const mnt = mountTmpfs(t, 4 * 1024 * 1024);
  if (mnt.skip !== undefined) return t.skip(mnt.skip);
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  const state = join(mnt.dir, 'state.db');
  createSensorDb(db);
  const run = spawnBuilt(['run', '--db', db, '--state-db', state, '--lake', lake, '--node-id', 'full-state', '--no-progress', '--no-alerts', '--batch-timeout', '200ms', '--batch-size', '500']);
  const w1 = await runBuilt(['simulate', '--db', db, '--duration', '1s', '--rate', '1000', '--sensors', '5', '--seed', '1']);
  assert.equal(w1.code, 0);
  await until('the first rows to land', () => checkpointId(db, 'live') === null && readLake(lake, INGESTION_BUCKET).length > 0, 20_000);
  const filler = join(mnt.dir, 'filler');
  fillUp(filler);
  const w2 = await runBuilt(['simulate', '--db', db, '--duration', '3s', '--rate', '1000', '--sensors', '5', '--seed', '2']);
  assert.equal(w2.code, 0);
  await until('the run to report the full disk', () => /the state database cannot be written \(SQLITE_FULL/.test(run.stderr()), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}:\n${run.stderr()}`);
  });
  await delay(1500);
  assert.equal(run.child.exitCode, null, `still running:\n${run.stderr()}`);
  assert.doesNotMatch(run.stderr(), /unexpected failure/);
  rmSync(filler);
  const rows = maxId(db);
  const landed = () => {
    const objects = readLake(lake, INGESTION_BUCKET);
    return exactlyOnceProblems(objects, rows) === null;
  };
  await until('every row to land after space is freed', landed, 45_000).catch((err: Error) => {
    throw new Error(`${err.message}:\n${run.stderr()}`);
  });
  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0, run.stderr());
  assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), rows), null);
});
