/**
 * A sensor that restarts may delete its database and create a new one at the same path. The
 * run's own connection keeps reading the old, unlinked file until the run notices and stops
 * (test/faults-db.test.ts); a worker that opened the path afresh would read the new file in its
 * place — rows of another source under this source's ids and alert ids, or rows silently missing.
 * So every worker task carries the file the run opened, and a worker refuses any other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineStamp } from '../src/stages/rows.ts';
import { KernelPool } from '../src/pool/kernel-pool.ts';
import { fileIdentity } from '../src/source/open.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { createSensorDb } from './helpers/sensor-db.ts';
import { hostileRows } from './helpers/hostile-rows.ts';
import { tempDir } from './helpers/tmp.ts';

const COLUMNS = READING_COLUMNS.map((c) => c.name);
const BUCKETS = { ingestion: 'i', validated: 'v', enriched: 'e', aggregated: 'a', emergency: 'x', metrics: 'm' };

test('worker tasks read only the file the run opened: after the path was replaced each kind is refused with SOURCE_FILE_REPLACED, and a task without that file still reads the path', async (t) => {
  const dir = tempDir(t, 'edgelake-pool-replaced-');
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, hostileRows(400));
  const opened = fileIdentity(db);
  assert.ok(opened);
  const pool = await KernelPool.open({ threads: 1, impl: 'wasm' });
  t.after(() => pool.close());

  const read = () => pool.readColumns({ db, dbFile: opened, parts: [{ afterId: 0, untilId: 400, rows: 400 }], columns: ['id', 'timestamp', 'sensor_id', 'temperature'] });
  const ctx = { batchId: '', nodeId: 'n', keyNode: 'n', version: 't', startedMs: 0, nowMs: 0, buckets: BUCKETS, gzipLevel: 1, final: false };
  const stage = () =>
    pool.stage({ db, dbFile: opened, afterId: 0, untilId: 400, limit: 400, spec: { type: 'ingestion', columns: COLUMNS, extras: [], keepTimestampText: true }, ctx });
  const stamps = { event: pipelineStamp('alerts', { ...ctx, batchId: 'b' }, false), fallback: pipelineStamp('alerts', { ...ctx, batchId: 'b' }, true) };
  const alertRecords = (file: string | null) =>
    pool.alertRecords({
      db,
      dbFile: file,
      columns: COLUMNS,
      detections: [{ id: 7, eventMs: 0, score: 9, priority: 'high', reasons: ['score'] }],
      keyNode: 'n',
      detectedMs: 0,
      stamps,
      coordinates: { fuzzKey: null, radiusKm: 0, keepOriginalGps: false },
    });

  // The file the run opened: every kind reads it.
  assert.equal((await read()).length, 400);
  assert.equal((await stage()).batch.length, 400);
  const before = await alertRecords(opened);
  assert.deepEqual(before.readingIds, [7]);

  // The sensor deletes its database and starts a new one at the same path (other rows, ids from 1).
  const newSource = () => hostileRows(20).map((r) => ({ ...r, sensor_id: 'NEW-SENSOR' }));
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  createSensorDb(db, newSource());
  assert.notEqual(fileIdentity(db), opened);
  const refused = { name: 'PipelineError', code: 'SOURCE_FILE_REPLACED', message: /was replaced by a new file while running; stopping so that the next run reads the new file/ };
  await assert.rejects(read(), refused, 'readColumns');
  await assert.rejects(stage(), refused, 'stage');
  await assert.rejects(alertRecords(opened), refused, 'alertRecords');

  // Deleted without a new file: refused too, as replaced, not as an unreadable path.
  rmSync(db, { force: true });
  await assert.rejects(read(), { code: 'SOURCE_FILE_REPLACED', message: /was deleted while running/ });

  // A task that names no file (benchmarks, tools) reads whatever the path holds.
  createSensorDb(db, newSource());
  const any = await alertRecords(null);
  assert.deepEqual(any.readingIds, [7], 'the new file has a row 7 too');
  assert.match(any.bodies[0], /"sensor_id":"NEW-SENSOR"/, 'and it is the new source\'s row: exactly what a run must never mix in');
  assert.match(before.bodies[0], /"sensor_id":"S\d+"/);
});
