import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, describeResult } from './helpers/cli.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, readLake } from './helpers/lake.ts';
import { withoutRunFields } from './helpers/run-fields.ts';
import { createSensorDb, goodRow, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * Rows whose values change from batch to batch in the ways a worker's reader, stage or encoder
 * could get wrong where the main thread's does not (state carried between the batches a worker
 * reads, a value lost crossing threads): NULLs after values, text in REAL and INTEGER columns, odd
 * and missing timestamps, new sensors and firmware, extreme numbers and -0.
 */
function hostileRows(n: number): TestRow[] {
  const rows: TestRow[] = [];
  for (let i = 1; i <= n; i++) {
    const r: TestRow = { ...goodRow(i, `2025-08-15T${String(10 + Math.floor(i / 2500)).padStart(2, '0')}`) };
    const band = Math.floor(i / 700) % 4; // differs between consecutive batches of 700
    r.sensor_id = `S${(i * 7 + band) % 23}`;
    r.temperature = band === 1 && i % 3 === 0 ? null : 15 + ((i * 37) % 400) / 16;
    if (i % 11 === band) r.humidity = 'n/a';
    if (i % 13 === 0) r.timestamp = band === 2 ? null : '2025-08-15 10:00:00';
    if (i % 17 === 0) r.timestamp = 'yesterday';
    if (band === 3) r.firmware_version = `2.${i % 5}.0`;
    if (i % 19 === band) r.model = null;
    if (i % 23 === 0) r.pressure = band % 2 ? 1e308 : -0;
    if (i % 29 === 0) r.status_code = band === 0 ? 'E42' : 7;
    if (i % 31 === 0) r.latitude = null;
    rows.push(r);
  }
  return rows;
}

const BUCKETS = { ingestion: INGESTION_BUCKET, validated: VALIDATED_BUCKET, enriched: 'expanso-databricks-enriched-us-west-2' };

for (const type of ['ingestion', 'validated', 'enriched'] as const) {
  test(`${type}: two workers, each reading and encoding every other batch, write exactly what the main thread writes (9,100 hostile rows, 13 batches)`, async (t) => {
    const dir = tempDir(t, 'edgelake-worker-columns-');
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, hostileRows(9100));
    // One fuzzing key for both runs (each state would make its own): the fuzzed positions must match too.
    const key = join(dir, 'fuzz.key');
    writeFileSync(key, 'worker-columns-test-key\n', { mode: 0o600 });
    const lakes: Record<string, ReturnType<typeof readLake>> = {};
    for (const threads of ['0', '2']) {
      const lake = join(dir, `lake-${threads}`);
      const r = await runCli(['run', '--once', '--db', db, '--state-db', join(dir, `state-${threads}.db`), '--lake', lake, '--type', type, '--batch-size', '700', '--read-threads', threads, '--no-progress', '--node-id', 'n1', '--no-alerts', '--fuzz-key-file', key]);
      assert.equal(r.code, 0, describeResult(r));
      lakes[threads] = readLake(lake, BUCKETS[type]);
    }
    const [main, workers] = [lakes['0'], lakes['2']];
    assert.deepEqual(workers.map((o) => o.key), main.map((o) => o.key), 'the same objects');
    assert.equal(main.reduce((n, o) => n + o.records.length, 0), 9100);
    for (let k = 0; k < main.length; k++) {
      assert.deepEqual(workers[k].records.map(withoutRunFields), main[k].records.map(withoutRunFields), `object ${main[k].key}`);
    }
  });
}
