import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { batchBuffers, releaseBuffers, storedValue, type ColumnarBatch } from '../src/batch.ts';
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
      const pooled = new PooledReader({ db, path, pool: async () => pool, columns, keepTimestampText, minPooledIds: 1000 });
      // Both read the whole table batch by batch, each cutting its own batches: same rows, same values.
      const readAll = async (read: (after: number) => ColumnarBatch | Promise<ColumnarBatch>) => {
        const rows: unknown[] = [];
        let batches = 0;
        for (let after = 0; ; batches++) {
          const b = await read(after);
          if (b.length === 0) break;
          assert.ok(b.length <= 7000, `a batch holds at most the limit (${b.length})`);
          rows.push(...flatten(b).slice(3));
          after = b.id[b.length - 1];
        }
        return { rows, batches };
      };
      const want = await readAll((after) => main.read(after, 7000));
      const got = await readAll((after) => pooled.read(after, 7000));
      assert.equal(got.rows.length, want.rows.length, `columns ${columns.length}: same row count`);
      assert.deepEqual(got.rows, want.rows, `columns ${columns.length}: same rows and values`);
      assert.ok(got.batches >= 5, `read ${got.batches} batches`);
      // A bounded replay read (untilId) within one id range reads exactly what the main thread reads.
      assert.deepEqual(flatten(await pooled.read(100, 7000, 5000)), flatten(main.read(100, 7000, 5000)));
      // A read that is not the one read ahead, then a read after reset: still the right rows.
      const odd = await pooled.read(3, 20_000);
      assert.deepEqual(flatten(odd), flatten(main.read(3, odd.length, odd.id[odd.length - 1])));
      pooled.reset();
      const first = await pooled.read(0, 7000);
      assert.deepEqual(flatten(first), flatten(main.read(0, first.length)));
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
    const broken = new PooledReader({ db, path: join(dir, 'gone.db'), pool: async () => pool, minPooledIds: 1000 });
    await assert.rejects(broken.read(0, 10_000), (err: Error) => /gone\.db/.test(err.message));
    const ok = new PooledReader({ db, path, pool: async () => pool, minPooledIds: 1000 });
    assert.equal((await ok.read(0, 10_000)).length, 10_000);
  });

  test('run --once gives the same lake with reader threads as on the main thread, for the row and the window stages', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's.db');
    hostileRows(path);
    // In event-time order with id gaps: windows then do not depend on where batches are cut
    // (the hostile rows interleave hours, so their late rows and corrections do).
    const ordered = join(dir, 'ordered.db');
    createSensorDb(ordered, Array.from({ length: 30_000 }, (_v, i) => ({ ...goodRow(i + 1), id: (i + 1) * 2 + (i % 5 === 0 ? 1 : 0), timestamp: new Date(Date.UTC(2025, 7, 15) + i * 200).toISOString() })));
    const quiet = createLogger({ quiet: true });
    for (const type of ['ingestion', 'aggregated'] as const) {
      const lakes: string[][] = [];
      for (const readThreads of [0, 2]) {
        const lake = join(dir, `${type}-${readThreads}`);
        const options = parseRunOptions({ db: type === 'aggregated' ? ordered : path, stateDb: join(dir, `state-${type}-${readThreads}.db`), lake, once: true, type, alerts: false, progress: false, nodeId: 'n1', batchSize: 9000, readThreads });
        await runPipeline(options, { log: quiet });
        const bucket = `expanso-databricks-${type}-us-west-2`;
        // Batches may be cut differently (id ranges vs row counts), so keys may differ; the records must not.
        const strip = (r: Record<string, unknown>) => JSON.stringify({ ...r, _pipeline: undefined, first_id: undefined, last_id: undefined });
        lakes.push(readLake(lake, bucket).flatMap((o) => o.records.map(strip)).sort());
      }
      assert.ok(lakes[0].length > 50, `${type}: ${lakes[0].length} records`);
      assert.deepEqual(lakes[1], lakes[0], `${type}: same records`);
    }
  });
});

test('releaseBuffers frees a batch that came from a worker at once: every column but the kept ones reads empty, the kept ones intact', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'sensors.db');
  hostileRows(path);
  const pool = await KernelPool.open({ threads: 1 });
  try {
    const batch = await pool.readColumns({ db: path, parts: [{ afterId: 0, untilId: 20_000, rows: 20_000 }], columns: READING_COLUMNS.map((c) => c.name) });
    assert.ok(batch.length > 9000);
    const eventMs = batch.eventMs.slice();
    const buffers = batchBuffers(batch);
    assert.ok(buffers.length >= 10, `${buffers.length} buffers`);
    releaseBuffers(batch, [batch.eventMs]);
    assert.deepEqual(batch.eventMs, eventMs, 'the kept column is untouched');
    assert.equal(batch.id.length, 0);
    for (const [name, col] of Object.entries(batch.numeric)) assert.equal(col.length, 0, name);
    for (const [name, col] of Object.entries(batch.text)) assert.equal(col.codes.length, 0, name);
    assert.deepEqual(batchBuffers(batch), [batch.eventMs.buffer], 'only the kept buffer is left to give away');
    releaseBuffers(batch);
    assert.equal(batch.eventMs.length, 0, 'released without keeping anything');
    releaseBuffers(batch);
  } finally {
    await pool.close();
  }
});
