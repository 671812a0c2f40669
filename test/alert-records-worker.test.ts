/**
 * Alert records built in a worker (KernelPool.alertRecords) are the main thread's, byte for byte:
 * a stage that reads few columns (aggregated) has its alerted rows looked up by id and encoded in
 * a worker, and nothing about an alert may depend on which thread made it — not the hostile
 * values of its row, not its coordinates (withheld, fuzzed with the same key, originals kept),
 * not a reading that vanished before the lookup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { encodeDetections, type DetectionById } from '../src/alerts/record.ts';
import { parseRunOptions } from '../src/config.ts';
import { loadKernels } from '../src/kernels/index.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { KernelPool } from '../src/pool/kernel-pool.ts';
import { policyFromSpec, type CoordinatePolicySpec } from '../src/privacy/coordinates.ts';
import { simulate } from '../src/simulate/index.ts';
import { openSensorDb } from '../src/source/open.ts';
import { SensorReader } from '../src/source/reader.ts';
import { tableColumns } from '../src/source/table.ts';
import { pipelineStamp } from '../src/stages/rows.ts';
import { hostileRows } from './helpers/hostile-rows.ts';
import { readLake } from './helpers/lake.ts';
import { createSensorDb } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

const ROWS = 3000;
const EMERGENCY = 'expanso-databricks-emergency-us-west-2';
const PRIORITIES = ['low', 'medium', 'high'] as const;

test('a worker looks up and encodes alerted rows exactly as the main thread does, under every coordinate policy, leaving out readings that vanished', async (t) => {
  const dir = tempDir(t, 'edgelake-alert-records-');
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, hostileRows(ROWS));
  const conn = openSensorDb(db);
  t.after(() => conn.close());
  const columns = tableColumns(conn).known;
  const reader = new SensorReader({ db: conn, columns, keepTimestampText: false });
  const kernels = await loadKernels('wasm');
  const pool = await KernelPool.open({ threads: 2, impl: 'wasm' });
  t.after(() => pool.close());

  // Every 7th reading, and ids past the table's end (a reading pruned before its lookup).
  const detections: DetectionById[] = [];
  for (let id = 1; id <= ROWS + 100; id += 7) {
    detections.push({
      id,
      eventMs: id % 50 === 0 ? NaN : Date.UTC(2025, 7, 15, 10) + id * 1000,
      score: id % 41 === 0 ? Infinity : (id % 97) / 7,
      priority: PRIORITIES[id % 3],
      reasons: id % 2 ? ['score'] : ['physical_range', 'sensor_flag'],
    });
  }
  const detectedMs = Date.UTC(2025, 7, 15, 12, 0, 0, 123);
  const ctx = { version: '9.9.9-test', nodeId: 'edge-ar-1', batchId: 'edge-ar-1-alerts-1-3100', nowMs: detectedMs };
  const stamps = { event: pipelineStamp('alerts', ctx, false), fallback: pipelineStamp('alerts', ctx, true) };
  const specs: CoordinatePolicySpec[] = [
    { fuzzKey: null, radiusKm: 0, keepOriginalGps: false },
    { fuzzKey: null, radiusKm: 0, keepOriginalGps: true },
    { fuzzKey: 'alert-records-test-key', radiusKm: 2.5, keepOriginalGps: false },
    { fuzzKey: 'alert-records-test-key', radiusKm: 2.5, keepOriginalGps: true },
  ];
  for (const spec of specs) {
    const what = `fuzzKey ${spec.fuzzKey === null ? 'none' : 'set'}, keepOriginalGps ${spec.keepOriginalGps}`;
    const rows = reader.readIds(detections.map((d) => d.id));
    const main = encodeDetections(rows, policyFromSpec(spec, kernels).apply(rows, detectedMs), detections, 'edge-ar-1', detectedMs, stamps);
    const worker = await pool.alertRecords({ db, columns, detections, keyNode: 'edge-ar-1', detectedMs, stamps, coordinates: spec });
    const present = detections.filter((d) => d.id <= ROWS).map((d) => d.id);
    assert.deepEqual(main.alerts.map((a) => a.detection.id), present, `${what}: the main thread leaves out exactly the vanished readings`);
    assert.deepEqual(worker.readingIds, present, `${what}: so does the worker`);
    assert.equal(worker.bodies.length, main.bodies.length);
    for (let k = 0; k < main.bodies.length; k++) assert.equal(worker.bodies[k], main.bodies[k], `${what}: alert of reading ${present[k]}`);
    const parsed = worker.bodies.map((b) => JSON.parse(b) as Record<string, unknown>);
    assert.ok(parsed.every((a, k) => a.alert_id === `edge-ar-1-${present[k]}`));
    assert.equal(parsed.some((a) => '_privacy' in a), spec.fuzzKey !== null, `${what}: a _privacy block exactly when fuzzed`);
    assert.equal(parsed.some((a) => 'original_latitude' in a), spec.keepOriginalGps, `${what}: originals exactly when kept`);
  }
});

test('aggregated with alerts: the emergency dataset is the same whether alerted rows are looked up in workers or on the main thread', async (t) => {
  const dir = tempDir(t, 'edgelake-alert-records-run-');
  const db = join(dir, 'sensor_data.db');
  // Enough anomalies that every 4,000-row batch has more alerts than the worker threshold.
  await simulate({ db, rows: 24_000, sensors: 12, startMs: Date.UTC(2025, 7, 15), seed: 11, anomalyRate: 0.2 });
  const datasets: Record<string, Array<Record<string, unknown>>> = {};
  for (const readThreads of [0, 2]) {
    const lake = join(dir, `lake-${readThreads}`);
    const options = parseRunOptions({ db, stateDb: join(dir, `state-${readThreads}.db`), lake, nodeId: 'edge-ar-2', type: 'aggregated', batchSize: 4000, readThreads, once: true, progress: false });
    const summary = await runPipeline(options, { log: createLogger({ quiet: true }) });
    assert.ok(summary.alerts && summary.alerts.rowsLookedUp > 0, 'alerted rows were looked up (aggregated reads few columns)');
    assert.equal(summary.alerts.rowsLookedUp, summary.alerts.alerts, 'each alerted row looked up once');
    if (readThreads === 0) assert.equal(summary.alerts.recordsBuiltInWorkers, 0, 'no workers: the main thread built every record');
    else assert.equal(summary.alerts.recordsBuiltInWorkers, summary.alerts.alerts, 'every batch had enough alerts to send them to a worker');
    datasets[readThreads] = readLake(lake, EMERGENCY)
      .flatMap((o) => o.records)
      .map(({ detected_at: _d, latency_ms: _l, _pipeline: _p, ...rest }) => rest)
      .sort((a, b) => Number(a.id) - Number(b.id));
  }
  assert.ok(datasets[0].length > 6 * 64, `alerts: ${datasets[0].length}`);
  assert.deepEqual(datasets[2], datasets[0]);
});
