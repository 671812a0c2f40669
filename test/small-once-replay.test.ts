/**
 * What an operator's batch job meets after a crash: a `--once` run with a large backlog works in
 * worker threads, which cut each batch by ids; it is killed with a batch pending; the sensor
 * writes on; the rerun finds a backlog under MIN_POOLED_IDS and runs on the main thread, which
 * cuts new batches by rows. The pending batch must be replayed onto its recorded range and key,
 * and every row — old, gapped and new — land exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';
import { MIN_POOLED_IDS } from '../src/source/pooled-reader.ts';
import { runCli, describeResult } from './helpers/cli.ts';
import { INGESTION_BUCKET, idCounts, readLake } from './helpers/lake.ts';
import { goodRow, insertRows } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

test('killed with a worker-cut batch pending, a live writer, then a small --once rerun on the main thread: the pending batch lands on its recorded key and every row once', async (t) => {
  const dir = tempDir(t, 'edgelake-small-replay-');
  const db = join(dir, 'sensor_data.db');
  const state = join(dir, 'state.db');
  const lake = join(dir, 'lake');
  await simulate({ db, rows: 12_000, sensors: 12, startMs: Date.UTC(2025, 7, 15, 9, 0), seed: 8, anomalyRate: 0 });
  // All in one hour (so no hour split hides a wrong batch cut), with gaps in one stretch: a batch
  // of 2,000 ids then holds fewer rows than a batch of 2,000 rows.
  const sensors = new Database(db);
  sensors.pragma('busy_timeout = 5000');
  t.after(() => sensors.close());
  sensors.exec('DELETE FROM sensor_readings WHERE id % 3 = 0 AND id BETWEEN 3000 AND 7000');
  const args = ['run', '--once', '--db', db, '--state-db', state, '--lake', lake, '--node-id', 'edge-sr', '--type', 'ingestion', '--batch-size', '2000', '--no-alerts', '--no-progress'];

  // 12,000 ids: the workers run the batches. Killed after the third batch's upload, before its commit.
  const killed = await runCli(args, { env: { EDGELAKE_CRASH_AT: 'batch-uploaded:3' } });
  assert.equal(killed.signal, 'SIGKILL', describeResult(killed));
  const cp = new Database(state, { readonly: true }).prepare("SELECT last_id AS lastId, pending FROM edgelake_checkpoints WHERE cursor = 'live'").get() as { lastId: number; pending: string | null };
  assert.ok(cp.pending, 'a batch was left pending');
  const pending = JSON.parse(cp.pending) as { afterId: number; lastId: number };
  assert.equal(pending.afterId, cp.lastId);
  const pendingKey = readLake(lake, INGESTION_BUCKET).find((o) => o.key.includes(`_${String(pending.afterId + 1).padStart(12, '0')}-${String(pending.lastId).padStart(12, '0')}`));
  assert.ok(pendingKey, `the pending batch ${pending.afterId + 1}-${pending.lastId} was uploaded before the kill`);

  // The sensor writes on between the kill and the rerun.
  const last = sensors.prepare('SELECT max(id) FROM sensor_readings').pluck().get() as number;
  insertRows(sensors, Array.from({ length: 150 }, (_, i) => ({ ...goodRow(last + 1 + i, '2025-08-15T12'), sensor_id: `S${i % 12}` })));
  const maxId = last + 150;
  assert.ok(maxId - cp.lastId < MIN_POOLED_IDS, `the rerun's backlog (${maxId - cp.lastId} ids) is small`);

  // The rerun, as a plain `run --once` would: on the main thread, no worker started.
  const options = parseRunOptions({ db, stateDb: state, lake, nodeId: 'edge-sr', type: 'ingestion', batchSize: 2000, alerts: false, once: true, progress: false });
  const summary = await runPipeline(options, { log: createLogger({ quiet: true }) });
  assert.equal(summary.workerThreads, 0, 'the small rerun ran on the main thread');

  const objects = readLake(lake, INGESTION_BUCKET);
  const counts = idCounts(objects);
  const ids = sensors.prepare('SELECT id FROM sensor_readings ORDER BY id').pluck().all() as number[];
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), ids, 'the lake holds exactly the ids of the table: the gapped stretch and the new rows included');
  assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'each once');
  const again = objects.find((o) => o.key === pendingKey.key);
  assert.ok(again, 'the pending batch is under its recorded key');
  assert.deepEqual(
    again.records.map((r) => r.id),
    pendingKey.records.map((r) => r.id),
    'with the same rows',
  );
});
