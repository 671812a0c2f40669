import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, describeResult } from './helpers/cli.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, readLake } from './helpers/lake.ts';
import { withoutRunFields } from './helpers/run-fields.ts';
import { hostileRows } from './helpers/hostile-rows.ts';
import { createSensorDb } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

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
