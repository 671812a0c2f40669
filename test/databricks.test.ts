import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  DATASETS,
  DATASET_NAMES,
  EXAMPLES,
  databricksFiles,
  datasetColumns,
  datasetFolder,
  duckdbSetupSql,
  renderedQueries,
  type DatasetName,
} from '../src/schema/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the committed databricks/ files equal what scripts/gen-databricks.ts generates from the schemas', () => {
  const files = databricksFiles();
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, 'databricks', rel);
    assert.ok(existsSync(path), `databricks/${rel} is missing: run node --import tsx scripts/gen-databricks.ts`);
    assert.equal(readFileSync(path, 'utf8'), text, `databricks/${rel} is stale: run node --import tsx scripts/gen-databricks.ts`);
  }
  const committedTables = readdirSync(join(root, 'databricks', 'tables')).map((f) => `tables/${f}`);
  assert.deepEqual(committedTables.sort(), Object.keys(files).filter((f) => f.startsWith('tables/')).sort());
});

for (const name of DATASET_NAMES) {
  test(`the ${DATASETS[name].table} streaming table reads its bucket with a supplied schema of every record field`, () => {
    const spec = DATASETS[name];
    const sql = databricksFiles()[`tables/${spec.table}.sql`];
    assert.match(sql, new RegExp(`CREATE OR REFRESH STREAMING TABLE sensor_data\\.${spec.table}\\b`));
    assert.ok(sql.includes(`STREAM read_files(\n  's3://\${bucket_prefix}-databricks-${spec.bucketStage}-\${region}/${spec.dataset}/'`));
    assert.match(sql, /format => 'json'/);
    assert.match(sql, /partitionColumns => 'year,month,day,hour'/);
    assert.match(sql, /rescuedDataColumn => '_rescued_data'/);
    for (const key of Object.keys((spec.schema as { shape: object }).shape)) {
      assert.ok(sql.includes(`\`${key}\` `), `${spec.table} schema lacks ${key}`);
    }
    for (const p of ['year', 'month', 'day', 'hour']) assert.ok(sql.includes(`\`${p}\` INT`));
  });
}

test('_bacalhau_metadata is a struct column, and the demo queries read it with dots, never explode it', () => {
  const enriched = databricksFiles()['tables/sensor_readings_enriched.sql'];
  assert.match(enriched, /`_bacalhau_metadata` STRUCT<`job_id`: STRING/);
  const demo = databricksFiles()['demo_queries.sql'];
  assert.doesNotMatch(demo, /explode|LATERAL VIEW/i);
  assert.match(demo, /_bacalhau_metadata\.node_snapshot\.location\.city/);
});

test('the GPS privacy query uses fuzz_distance_m and a haversine with cos(latitude), not the flat formula', () => {
  const q4 = renderedQueries().find((q) => q.name === 'demo_4_gps_privacy')!;
  assert.doesNotMatch(q4.databricksSql, /111111/);
  assert.match(q4.databricksSql, /_privacy\.fuzz_distance_m/);
  assert.match(q4.databricksSql, /cos\(radians\(original_latitude\)\) \* cos\(radians\(latitude\)\)/);
});

test('demo and dashboard queries differ between engines only in percentile and now()', () => {
  for (const q of renderedQueries()) {
    const norm = (s: string) => s.replace(/percentile\(|quantile_cont\(/g, 'P(').replace(/current_timestamp\(\)|CAST\(now\(\) AS TIMESTAMP\)/g, 'NOW');
    assert.equal(norm(q.databricksSql), norm(q.duckdbSql), q.name);
  }
});

/** A tiny lake: every example record, in the contract's layout, plus variants for the queries. */
function writeLake(lake: string, skip: DatasetName[] = []): void {
  const nowIso = new Date().toISOString();
  const records: Record<DatasetName, Record<string, unknown>[]> = {
    ingestion: [EXAMPLES.ingestion],
    validated: [EXAMPLES.validated],
    enriched: [
      EXAMPLES.enriched,
      // with --keep-original-gps: true position 0.005° north of the fuzzed one
      { ...EXAMPLES.enriched, id: 2, anomaly_flag: true, original_latitude: 40.7111, original_longitude: -74.0012 },
    ],
    aggregated: [EXAMPLES.aggregated],
    alerts: [EXAMPLES.alerts],
    pipeline_metrics: [EXAMPLES.pipeline_metrics, { ...EXAMPLES.pipeline_metrics, data_size: 1000, raw_size: 10000 }],
    latency_metrics: [{ ...EXAMPLES.latency_metrics, timestamp: nowIso }, { ...EXAMPLES.latency_metrics, end_to_end_latency: 100, timestamp: nowIso }],
  };
  for (const name of DATASET_NAMES) {
    if (skip.includes(name)) continue;
    const spec = DATASETS[name];
    const schema = spec.schema;
    for (const r of records[name]) assert.ok(schema.safeParse(r).success, `${name} fixture must be schema-valid`);
    const dir = join(datasetFolder(name, { lake }), 'year=2025', 'month=08', 'day=15', 'hour=00');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'edge-nyc-01_000000000001-000000000002.jsonl.gz'), gzipSync(records[name].map((r) => JSON.stringify(r) + '\n').join('')));
  }
}

async function openLake(lake: string) {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  for (const sql of duckdbSetupSql({ lake }, (folder) => existsSync(folder))) await con.run(sql);
  const rows = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  return { rows, close: () => con.closeSync() };
}

test('the DuckDB views expose every record field with the types the Databricks tables declare', async (t) => {
  const lake = mkdtempSync(join(tmpdir(), 'edgelake-lake-'));
  t.after(() => rmSync(lake, { recursive: true, force: true }));
  writeLake(lake);
  const { rows, close } = await openLake(lake);
  try {
    for (const name of DATASET_NAMES) {
      const cols = (await rows(`DESCRIBE sensor_data.${DATASETS[name].table}`)).map((r) => r.column_name);
      assert.deepEqual(cols, [...datasetColumns(name).map((c) => c.name), 'year', 'month', 'day', 'hour'], name);
    }
    const [e] = await rows(
      `SELECT _bacalhau_metadata.node_snapshot.location.city AS city, _privacy.fuzz_distance_m AS d, hour, timestamp FROM sensor_data.sensor_readings_enriched WHERE id = 1`,
    );
    assert.deepEqual(e, { city: 'New York', d: 588.3, hour: 0, timestamp: '2025-08-15 00:02:46.167' });
    const [i] = await rows(`SELECT voltage, temperature FROM sensor_data.sensor_readings_ingestion`);
    assert.deepEqual(i, { voltage: 'n/a', temperature: '24.7' });
  } finally {
    close();
  }
});

test('every demo and dashboard query runs on a local lake through DuckDB with the expected answers', async (t) => {
  const lake = mkdtempSync(join(tmpdir(), 'edgelake-lake-'));
  t.after(() => rmSync(lake, { recursive: true, force: true }));
  writeLake(lake);
  const { rows, close } = await openLake(lake);
  try {
    const results: Record<string, Record<string, unknown>[]> = {};
    for (const q of renderedQueries()) results[q.name] = await rows(q.duckdbSql);
    const [vol] = results.demo_1_volume_reduction;
    assert.equal(vol.records_in, '6000');
    assert.equal(vol.reduction_pct, 99.2); // 1 − (4210 + 1000) / (612000 + 10000)
    const [lat] = results.demo_2_latency;
    assert.equal(lat.batches, '2');
    const [node] = results.demo_3_node_performance;
    assert.equal(node.records_processed, '2');
    assert.deepEqual(node.capabilities, ['wasm', 'simd']);
    const gps = results.demo_4_gps_privacy;
    assert.equal(gps[0].recomputed_distance_meters, null);
    // 0.005° of latitude is 0.005 × π/180 × R ≈ 556 m whatever the longitude
    assert.ok(Math.abs((gps[1].recomputed_distance_meters as number) - 556) < 1, String(gps[1].recomputed_distance_meters));
    const [geo] = results.demo_5_geography;
    assert.equal(geo.anomalies_detected, '1');
    assert.equal(results.dash_privacy_compliance[0].fuzzed_pct, 100);
    assert.equal(results.dash_anomalies_by_priority[0].under_one_second, '1');
    for (const [name, r] of Object.entries(results)) assert.ok(r.length > 0, `${name} returned no rows`);
  } finally {
    close();
  }
});

test('a dataset with no objects yet gives an empty view instead of failing the preview', async (t) => {
  const lake = mkdtempSync(join(tmpdir(), 'edgelake-lake-'));
  t.after(() => rmSync(lake, { recursive: true, force: true }));
  writeLake(lake, ['enriched', 'alerts']);
  const { rows, close } = await openLake(lake);
  try {
    assert.deepEqual(await rows(renderedQueries().find((q) => q.name === 'demo_5_geography')!.duckdbSql), []);
    assert.deepEqual(await rows('SELECT count(*) AS n FROM sensor_data.alerts'), [{ n: '0' }]);
  } finally {
    close();
  }
});
