import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { storedValue, type ColumnarBatch } from '../src/batch.ts';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { KernelPool } from '../src/pool/kernel-pool.ts';
import { PooledReader } from '../src/source/pooled-reader.ts';
import { SensorReader } from '../src/source/reader.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { AGGREGATED_COLUMNS } from '../src/stages/aggregated.ts';
import { readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

/** 30k rows with id gaps and every kind of irregular value a bad writer can store. */
function hostileRows(path: string): void {
  const rows: TestRow[] = [];
  for (let n = 1; n <= 30_000; n++) {
    const r: TestRow = { ...goodRow(n, `2025-08-15T${String(10 + (n % 5)).padStart(2, '0')}`), id: n * 2 + (n % 7 === 0 ? 1 : 0) };
    if (n % 97 === 0) r.temperature = 'hot';
    if (n % 101 === 0) r.sensor_id = null;
    if (n % 103 === 0) r.timestamp = 'yesterday';
    if (n % 107 === 0) r.humidity = null;
    if (n % 109 === 0) r.location = 'Zürich ✓';
    if (n % 113 === 0) r.voltage = 'NaN';
    rows.push(r);
  }
  createSensorDb(path, rows);
  const w = new Database(path);
  // BLOBs and integers where text is declared, a huge id gap.
  w.prepare('UPDATE sensor_readings SET sensor_id = ? WHERE id % 1009 = 0').run(Buffer.from([0xff, 0x00, 0xfe]));
  w.prepare('UPDATE sensor_readings SET location = 42 WHERE id % 1013 = 0').run();
  w.prepare('INSERT INTO sensor_readings (id, timestamp, sensor_id, temperature) VALUES (?, ?, ?, ?)').run(500_000, '2025-08-15T12:00:00Z', 'far', 21.5);
  w.close();
}

/** Every value of a batch as stored, row by row, plus the batch-level facts. */
function flatten(b: ColumnarBatch): unknown[] {
  const rows: unknown[] = [b.length, b.rawBytes, [...b.columns]];
  for (let i = 0; i < b.length; i++) rows.push([b.eventMs[i], ...b.columns.map((c) => storedValue(b, c, i))]);
  return rows;
}

describe('reading batches in worker threads', () => {
  test('workers read exactly the batches the main thread reads: boundaries, values as stored, irregular values, raw bytes', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's.db');
    hostileRows(path);
    const db = new Database(path, { readonly: true });
    t.after(() => db.close());
    const pool = await KernelPool.open({ threads: 2 });
    t.after(() => pool.close());
    for (const columns of [READING_COLUMNS.map((c) => c.name), AGGREGATED_COLUMNS]) {
      const keepTimestampText = columns.includes('timestamp');
      const main = new SensorReader({ db, columns, keepTimestampText });
      const pooled = new PooledReader({ db, path, pool: async () => pool, columns, keepTimestampText, minPooledRows: 1000 });
      let after = 0;
      let batches = 0;
      for (;;) {
        const want = main.read(after, 7000);
        const got = await pooled.read(after, 7000);
        assert.deepEqual(flatten(got), flatten(want), `batch after id ${after} (columns ${columns.length})`);
        if (want.length === 0) break;
        after = want.id[want.length - 1];
        batches++;
      }
      assert.ok(batches >= 5, `read ${batches} batches`);
      // A bounded replay read (untilId) and a read that is not the one read ahead.
      assert.deepEqual(flatten(await pooled.read(100, 7000, 9000)), flatten(main.read(100, 7000, 9000)));
      assert.deepEqual(flatten(await pooled.read(3, 20_000)), flatten(main.read(3, 20_000)));
      pooled.reset();
      assert.deepEqual(flatten(await pooled.read(0, 7000)), flatten(main.read(0, 7000)));
    }
    assert.ok(pool.completed > 10, `the workers did the reading (${pool.completed} tasks)`);
  });

  test('a worker that cannot read the database rejects with the path and the reason, and the reader stays usable', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's.db');
    createSensorDb(path, Array.from({ length: 20_000 }, (_v, i) => goodRow(i + 1)));
    const db = new Database(path, { readonly: true });
    t.after(() => db.close());
    const pool = await KernelPool.open({ threads: 2 });
    t.after(() => pool.close());
    const broken = new PooledReader({ db, path: join(dir, 'gone.db'), pool: async () => pool, minPooledRows: 1000 });
    await assert.rejects(broken.read(0, 10_000), (err: Error) => /gone\.db/.test(err.message));
    const ok = new PooledReader({ db, path, pool: async () => pool, minPooledRows: 1000 });
    assert.equal((await ok.read(0, 10_000)).length, 10_000);
  });

  test('run --once gives the same lake with reader threads as on the main thread, for the row and the window stages', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's.db');
    hostileRows(path);
    const quiet = createLogger({ quiet: true });
    for (const type of ['ingestion', 'aggregated'] as const) {
      const lakes: Array<Map<string, unknown[]>> = [];
      for (const readThreads of [0, 2]) {
        const lake = join(dir, `${type}-${readThreads}`);
        const options = parseRunOptions({ db: path, stateDb: join(dir, `state-${type}-${readThreads}.db`), lake, once: true, type, alerts: false, progress: false, nodeId: 'n1', batchSize: 9000, readThreads });
        await runPipeline(options, { log: quiet });
        const bucket = `expanso-databricks-${type}-us-west-2`;
        // processed_at and friends differ between runs; the records' data must not.
        const strip = (r: Record<string, unknown>) => ({ ...r, _pipeline: undefined });
        lakes.push(new Map(readLake(lake, bucket).map((o) => [o.key, o.records.map(strip)])));
      }
      assert.ok(lakes[0].size > 3, `${type}: ${lakes[0].size} objects`);
      assert.deepEqual([...lakes[1].keys()].sort(), [...lakes[0].keys()].sort(), `${type}: same keys`);
      for (const [key, records] of lakes[0]) assert.deepEqual(lakes[1].get(key), records, `${type}: ${key}`);
    }
  });
});
