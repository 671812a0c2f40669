import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simulate } from '../src/simulate/index.ts';
import { runCli, describeResult } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';
import { checkpointId, createSensorDb, goodRow, insertRows } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, METRICS_BUCKET, exactlyOnceProblems, parseRowKey, readS3 } from './helpers/lake.ts';
import { S3RVER_ENV, startS3Server } from './helpers/s3server.ts';

const runArgs = (db: string, endpoint: string, ...extra: string[]) => [
  'run', '--once', '--db', db, '--s3-endpoint', endpoint, '--node-id', 's3node', '--no-progress', ...extra,
];

describe('run --once against an S3-protocol server', () => {
  test('uploads every id exactly once under the contract keys, creating the buckets with --create-buckets', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const rows = 20_000;
    await simulate({ db, rows, sensors: 10, startMs: Date.UTC(2025, 7, 15, 6), seed: 3 });
    const server = await startS3Server();
    t.after(() => server.dispose());
    const r = await runCli(runArgs(db, server.endpoint, '--create-buckets', '--batch-size', '3000'), { env: S3RVER_ENV });
    assert.equal(r.code, 0, describeResult(r));
    const objects = await readS3(server, INGESTION_BUCKET);
    assert.equal(exactlyOnceProblems(objects, rows), null);
    for (const o of objects) {
      const k = parseRowKey(o.key);
      assert.ok(k, o.key);
      for (const rec of o.records) assert.equal(Math.floor(Date.parse(rec.timestamp as string) / 3_600_000) * 3_600_000, k.hourMs, o.key);
    }
    const metrics = await server.listKeys(METRICS_BUCKET);
    assert.equal(metrics.filter((k) => k.startsWith('pipeline_metrics/')).length, Math.ceil(rows / 3000));
    assert.equal(checkpointId(db), rows);
  });

  test('without --create-buckets on a fresh server it exits 2 naming the missing bucket, and uploads nothing', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, [goodRow(1)]);
    const server = await startS3Server();
    t.after(() => server.dispose());
    const r = await runCli(runArgs(db, server.endpoint), { env: S3RVER_ENV });
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /bucket "expanso-databricks-[a-z]+-us-west-2" does not exist/);
    assert.match(r.stderr, /--create-buckets/);
    assert.ok((checkpointId(db) ?? 0) === 0);
  });

  test('an unreachable endpoint exits 1 with the checkpoint unchanged, and a later run uploads everything exactly once', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, Array.from({ length: 40 }, (_, i) => goodRow(i + 1)));
    const server = await startS3Server();
    t.after(() => server.dispose());
    const first = await runCli(runArgs(db, server.endpoint, '--create-buckets', '--batch-size', '15'), { env: S3RVER_ENV });
    assert.equal(first.code, 0, describeResult(first));
    assert.equal(checkpointId(db), 40);

    const h = new Database(db);
    insertRows(h, Array.from({ length: 35 }, (_, i) => goodRow(41 + i, '2025-08-15T11')));
    h.close();
    await server.stop();
    const down = await runCli(runArgs(db, server.endpoint, '--batch-size', '15'), { env: S3RVER_ENV });
    assert.equal(down.code, 1, describeResult(down));
    assert.match(down.stderr, new RegExp(`cannot reach S3 at ${server.endpoint.replace(/\./g, '\\.')}`));
    assert.match(down.stderr, /checkpoint is unchanged/);
    assert.equal(checkpointId(db), 40, 'the checkpoint did not move');

    await server.restart();
    const again = await runCli(runArgs(db, server.endpoint, '--batch-size', '15'), { env: S3RVER_ENV });
    assert.equal(again.code, 0, describeResult(again));
    assert.equal(checkpointId(db), 75);
    assert.equal(exactlyOnceProblems(await readS3(server, INGESTION_BUCKET), 75), null);
  });
});
