import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline, type RunSummary } from '../src/pipeline/run.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { tempDir } from './helpers/tmp.ts';
import { createSensorDb, goodRow, query, type TestRow } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, METRICS_BUCKET, exactlyOnceProblems, parseRowKey, readLake, type LakeObject } from './helpers/lake.ts';

const NODE = 'edge-test-1';
const HOUR = 3_600_000;

/** Runs the pipeline in-process, like `edgelake run --once --lake <lake>`. */
function runOnce(db: string, lake: string, extra: Record<string, unknown> = {}): Promise<RunSummary> {
  const options = parseRunOptions({ db, lake, once: true, nodeId: NODE, progress: false, ...extra });
  return runPipeline(options, { log: createLogger({ quiet: true }) });
}

function sourceRows(db: string): Array<Record<string, unknown>> {
  return query<Record<string, unknown>>(db, 'SELECT * FROM sensor_readings ORDER BY id');
}

function recordsById(objects: readonly LakeObject[]): Map<number, { record: Record<string, unknown>; key: string }> {
  const m = new Map<number, { record: Record<string, unknown>; key: string }>();
  for (const o of objects) for (const r of o.records) m.set(r.id as number, { record: r, key: o.key });
  return m;
}

describe('ingestion to a lake folder', () => {
  test('lands every id exactly once in hive partitions whose date parts equal the event hour of each record', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const rows: TestRow[] = [];
    // 3 hours, ids not in time order within the hour (timestamps are not ordered by id).
    for (let n = 1; n <= 150; n++) rows.push(goodRow(n, `2025-08-15T0${Math.floor((n - 1) / 50) + 7}`, (n * 37) % 3600));
    createSensorDb(db, rows);
    const summary = await runOnce(db, join(dir, 'lake'), { batchSize: 7 });
    assert.equal(summary.rows, 150);
    assert.equal(summary.lastId, 150);
    assert.equal(summary.batches, Math.ceil(150 / 7));

    const objects = readLake(join(dir, 'lake'), INGESTION_BUCKET);
    assert.equal(exactlyOnceProblems(objects, 150), null);
    for (const o of objects) {
      const k = parseRowKey(o.key);
      assert.ok(k, `key does not follow sensor_readings/year=/month=/day=/hour=/{node}_{first}-{last}.jsonl.gz: ${o.key}`);
      assert.equal(k.node, NODE);
      const ids = o.records.map((r) => r.id as number);
      assert.equal(k.firstId, Math.min(...ids), o.key);
      assert.equal(k.lastId, Math.max(...ids), o.key);
      for (const r of o.records) {
        const eventMs = Date.parse(r.timestamp as string);
        assert.equal(Math.floor(eventMs / HOUR) * HOUR, k.hourMs, `record ${r.id} (${r.timestamp}) is in ${o.key}`);
      }
      // Within an object records are in id order.
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    }
    assert.deepEqual(
      [...new Set(objects.map((o) => o.key.split('/').slice(1, 5).join('/')))].sort(),
      ['year=2025/month=08/day=15/hour=07', 'year=2025/month=08/day=15/hour=08', 'year=2025/month=08/day=15/hour=09'],
    );
  });

  test('writes every source column exactly as stored, plus _pipeline', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const rows: TestRow[] = [goodRow(1), goodRow(2), goodRow(3), goodRow(4)];
    rows[1] = { ...rows[1], temperature: null, humidity: null, anomaly_type: null, latitude: null, synced: null };
    rows[2] = { ...rows[2], temperature: 'n/a', pressure: '1013.25 hPa', status_code: 'ok', anomaly_type: 'spike', sensor_id: 'ÜMLAUT_"quoted"\n' };
    rows[3] = { ...rows[3], voltage: 1e300, height_meters: -0, orientation_degrees: 0.1 + 0.2, model: 42 };
    createSensorDb(db, rows);
    await runOnce(db, join(dir, 'lake'));

    const byId = recordsById(readLake(join(dir, 'lake'), INGESTION_BUCKET));
    assert.equal(byId.size, 4);
    for (const src of sourceRows(db)) {
      const { record } = byId.get(src.id as number)!;
      assert.deepEqual(
        Object.keys(record),
        [...READING_COLUMNS.map((c) => c.name), '_pipeline'],
        'every column, in table order, then _pipeline',
      );
      for (const { name } of READING_COLUMNS) {
        // -0 has no JSON form other than 0; everything else must come back identical, type included.
        const expected = Object.is(src[name], -0) ? 0 : src[name];
        assert.deepEqual(record[name], expected, `id ${src.id} column ${name}`);
      }
      const p = record._pipeline as Record<string, unknown>;
      assert.equal(p.type, 'ingestion');
      assert.equal(p.node_id, NODE);
      assert.equal(typeof p.version, 'string');
      assert.match(p.batch_id as string, new RegExp(`^${NODE}-ingestion-1-4$`));
      assert.ok(!Number.isNaN(Date.parse(p.processed_at as string)), `processed_at ${p.processed_at}`);
      assert.equal(p.event_time_fallback, undefined);
    }
    assert.equal(byId.get(3)!.record.temperature, 'n/a', 'a text in a REAL column stays text');
    assert.equal(byId.get(2)!.record.temperature, null, 'NULL stays null');
  });

  test('partitions other ISO forms by their UTC hour and unparseable timestamps by the batch start hour, flagged', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const forms: Array<[string | number | null, number | 'fallback']> = [
      ['2025-08-15T10:20:30.123+00:00', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15T10:20:30Z', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15T10:20:30.5Z', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15T10:20:30', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15 10:20:30', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15T12:20:30.000+02:00', Date.UTC(2025, 7, 15, 10)],
      ['2025-08-15T01:30:00-04:00', Date.UTC(2025, 7, 15, 5)],
      ['2025-08-16T00:30:00+01:00', Date.UTC(2025, 7, 15, 23)],
      ['not a time', 'fallback'],
      ['', 'fallback'],
      ['2025-13-45T99:99:99Z', 'fallback'],
      [null, 'fallback'],
      // Regression: SQLite's date functions accept these too ('now' → the current time, '10:20' → 2000-01-01,
      // numeric text → a Julian day), which put garbage rows into a made-up, unflagged hour.
      ['now', 'fallback'],
      ['10:20', 'fallback'],
      ['2460000.5', 'fallback'],
      [1755252030, 'fallback'],
    ];
    createSensorDb(db, forms.map(([ts], i) => ({ ...goodRow(i + 1), timestamp: ts })));
    await runOnce(db, join(dir, 'lake'));

    const exec = query<{ started_at: string }>(db, 'SELECT started_at FROM pipeline_executions');
    assert.equal(exec.length, 1);
    const fallbackHour = Math.floor(Date.parse(exec[0].started_at) / HOUR) * HOUR;
    const byId = recordsById(readLake(join(dir, 'lake'), INGESTION_BUCKET));
    assert.equal(byId.size, forms.length);
    const stored = sourceRows(db).map((r) => r.timestamp);
    forms.forEach(([ts, hour], i) => {
      const { record, key } = byId.get(i + 1)!;
      // A number bound into the TEXT column is stored as text by SQLite's affinity; it stays what was stored.
      assert.deepEqual(record.timestamp, stored[i], `timestamp stays as stored: ${JSON.stringify(ts)}`);
      const p = record._pipeline as Record<string, unknown>;
      if (hour === 'fallback') {
        assert.equal(parseRowKey(key)!.hourMs, fallbackHour, `${JSON.stringify(ts)} → ${key}`);
        assert.equal(p.event_time_fallback, true, `${JSON.stringify(ts)} is flagged`);
      } else {
        assert.equal(parseRowKey(key)!.hourMs, hour, `${JSON.stringify(ts)} → ${key}`);
        assert.equal(p.event_time_fallback, undefined, `${JSON.stringify(ts)} is not flagged`);
      }
    });
  });

  test('splits a batch spanning two hours into two objects named by their own id ranges', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const ts = ['2025-08-15T10:59:59.998+00:00', '2025-08-15T11:00:00.000+00:00', '2025-08-15T10:59:59.999+00:00', '2025-08-15T11:00:00.001+00:00'];
    createSensorDb(db, ts.map((timestamp, i) => ({ ...goodRow(i + 1), timestamp })));
    await runOnce(db, join(dir, 'lake'), { batchSize: 10 });
    const objects = readLake(join(dir, 'lake'), INGESTION_BUCKET);
    assert.deepEqual(
      objects.map((o) => [o.key, o.records.map((r) => r.id)]),
      [
        [`sensor_readings/year=2025/month=08/day=15/hour=10/${NODE}_000000000001-000000000003.jsonl.gz`, [1, 3]],
        [`sensor_readings/year=2025/month=08/day=15/hour=11/${NODE}_000000000002-000000000004.jsonl.gz`, [2, 4]],
      ],
    );
    const exec = query<{ objects_written: number; records_in: number }>(db, 'SELECT objects_written, records_in FROM pipeline_executions');
    assert.deepEqual(exec.map((e) => ({ ...e })), [{ objects_written: 2, records_in: 4 }]);
  });

  test('writes one pipeline_metrics and one latency_metrics record per batch to the metrics bucket', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, Array.from({ length: 25 }, (_, i) => goodRow(i + 1)));
    const summary = await runOnce(db, join(dir, 'lake'), { batchSize: 10 });
    assert.equal(summary.batches, 3);
    const metrics = readLake(join(dir, 'lake'), METRICS_BUCKET);
    const pm = metrics.filter((o) => o.key.startsWith('pipeline_metrics/')).flatMap((o) => o.records);
    const lm = metrics.filter((o) => o.key.startsWith('latency_metrics/')).flatMap((o) => o.records);
    assert.equal(pm.length, 3);
    assert.equal(lm.length, 3);
    assert.deepEqual(pm.map((r) => r.record_count).sort(), [10, 10, 5]);
    for (const r of pm) {
      assert.equal(r.pipeline_type, 'ingestion');
      assert.equal(r.node_id, NODE);
      for (const f of ['data_size', 'raw_size', 'processing_time']) assert.ok((r[f] as number) > 0, `${f} = ${r[f]}`);
      assert.ok(!Number.isNaN(Date.parse(r.timestamp as string)));
    }
    for (const r of lm) {
      assert.equal(r.processing_location, 'edge');
      assert.equal(r.node_id, NODE);
      assert.ok((r.end_to_end_latency as number) > 0, 'event time (2025) → now is positive');
    }
    const execs = query<{ n: number }>(db, 'SELECT count(*) AS n FROM pipeline_executions');
    assert.equal(execs[0].n, 3);
  });

  test('a second run --once with nothing new writes nothing and keeps the checkpoint', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, Array.from({ length: 5 }, (_, i) => goodRow(i + 1)));
    await runOnce(db, join(dir, 'lake'));
    const again = await runOnce(db, join(dir, 'lake'));
    assert.equal(again.rows, 0);
    assert.equal(exactlyOnceProblems(readLake(join(dir, 'lake'), INGESTION_BUCKET), 5), null);
  });
});
