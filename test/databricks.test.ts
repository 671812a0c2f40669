import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { adaptDatabricksSql } from '../src/query/adapt.ts';
import { clusterColumns } from '../src/schema/ddl.ts';
import { DATABRICKS, DUCKDB, qualifyTables } from '../src/schema/dialect.ts';
import { BUCKET_STAGES } from '../src/schema/notebooks.ts';
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
import { tempDir } from './helpers/tmp.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = spawnSync('python3', ['--version']).status === 0;

test('the committed databricks/ files equal what scripts/gen-databricks.ts generates, and nothing else is there', () => {
  const files = databricksFiles();
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, 'databricks', rel);
    assert.ok(existsSync(path), `databricks/${rel} is missing: run npm run gen:databricks`);
    assert.equal(readFileSync(path, 'utf8'), text, `databricks/${rel} is stale: run npm run gen:databricks`);
  }
  const committed = (readdirSync(join(root, 'databricks'), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(join(root, 'databricks').length + 1));
  assert.deepEqual(committed.sort(), [...Object.keys(files), 'README.md'].sort(), 'a file in databricks/ nobody generates');
});

for (const name of DATASET_NAMES) {
  test(`the ${DATASETS[name].table} streaming table goes to \${catalog}.\${schema}, clustered by node and event time, with a supplied schema of every record field`, () => {
    const spec = DATASETS[name];
    const sql = databricksFiles()[`tables/${spec.table}.sql`];
    const [node, time] = clusterColumns(name);
    assert.ok(sql.includes(`CREATE OR REFRESH STREAMING TABLE \`\${catalog}\`.\`\${schema}\`.\`${spec.table}\`\n`), sql.slice(0, 900));
    assert.ok(sql.includes(`CLUSTER BY (\`${node}\`, \`${time}\`)\n`));
    // Both keys lead the table: liquid clustering needs their statistics (first 32 columns).
    assert.ok(sql.includes(`AS SELECT\n  _pipeline.node_id AS \`${node}\`,\n  \`${time}\`,\n  * EXCEPT (\`${time}\`),`));
    assert.ok(sql.includes(`STREAM read_files(\n  's3://\${bucket_prefix}-databricks-${spec.bucketStage}-\${region}/${spec.dataset}/'`));
    assert.match(sql, /format => 'json'/);
    assert.match(sql, /pathGlobFilter => '\*\.jsonl\.gz'/);
    assert.match(sql, /partitionColumns => 'year,month,day,hour'/);
    assert.match(sql, /rescuedDataColumn => '_rescued_data'/);
    for (const key of Object.keys((spec.schema as { shape: object }).shape)) {
      assert.ok(sql.includes(`\`${key}\` `), `${spec.table} schema lacks ${key}`);
    }
    assert.ok(Object.keys((spec.schema as { shape: object }).shape).includes(time), `${spec.table} has its clustering column ${time}`);
    for (const p of ['year', 'month', 'day', 'hour']) assert.ok(sql.includes(`\`${p}\` INT`));
    assert.doesNotMatch(sql, /\bsensor_data\./);
  });
}

test('the Auto Loader notebook writes the same tables: catalog and schema widgets, same clustering, checkpoints in the checkpoint bucket', () => {
  const nb = databricksFiles()['autoloader_notebook.py'];
  assert.match(nb, /dbutils\.widgets\.text\("catalog", "main"\)/);
  assert.match(nb, /dbutils\.widgets\.text\("schema", "sensor_data"\)/);
  assert.match(nb, /\.clusterBy\("_node_id", time\)/);
  assert.match(nb, /\.toTable\(f"`\{catalog\}`\.`\{schema\}`\.`\{spec\['table'\]\}`"\)/);
  assert.match(nb, /f"s3:\/\/\{bucket\('checkpoints'\)\}\/autoloader"/);
  assert.match(nb, /def bucket\(stage\):\n    return f"\{bucket_prefix\}-databricks-\{stage\}-\{region\}"/);
  for (const n of DATASET_NAMES) assert.ok(nb.includes(`"time_column": "${clusterColumns(n)[1]}"`), n);
  assert.doesNotMatch(nb, /\bsensor_data\./);
});

test('both notebooks are valid Python', { skip: !python && 'python3 is not installed' }, () => {
  for (const f of ['autoloader_notebook.py', 'setup_unity_catalog.py']) {
    const r = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', join(root, 'databricks', f)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
});

/** Runs setup_unity_catalog.py with the given widget values, Databricks' dbutils and spark replaced by recorders. */
function runSetup(t: import('node:test').TestContext, widgets: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const dir = tempDir(t, 'edgelake-setup-');
  const harness = join(dir, 'harness.py');
  writeFileSync(
    harness,
    `import json, sys
class Widgets:
    def __init__(self, values): self.values, self.defaults = values, {}
    def text(self, name, default): self.defaults[name] = default
    def dropdown(self, name, default, choices): self.defaults[name] = default
    def get(self, name): return self.values.get(name, self.defaults[name])
class DBUtils: pass
class Spark:
    def sql(self, statement): raise RuntimeError("no workspace here: " + statement)
dbutils = DBUtils(); dbutils.widgets = Widgets(json.loads(sys.argv[2]))
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), {"dbutils": dbutils, "spark": Spark(), "__name__": "__main__"})
`,
  );
  const r = spawnSync('python3', [harness, join(root, 'databricks', 'setup_unity_catalog.py'), JSON.stringify(widgets)], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the setup notebook grants READ FILES on the six buckets and WRITE FILES on the checkpoint bucket only', { skip: !python && 'python3 is not installed' }, (t) => {
  const r = runSetup(t, { writer: 'edgelake-pipeline', readers: 'analysts', bucket_prefix: 'acme', region: 'eu-west-1', catalog: 'prod', schema: 'edge' });
  assert.equal(r.status, 0, r.stderr);
  const sql = r.stdout.trim().split('\n');
  assert.equal(BUCKET_STAGES.length, 6);
  // Every bucket holds a dataset of the registry and every dataset lands in one of the buckets.
  assert.deepEqual(new Set(DATASET_NAMES.map((n) => DATASETS[n].bucketStage)), new Set(BUCKET_STAGES));
  for (const stage of [...BUCKET_STAGES, 'checkpoints']) {
    assert.ok(
      sql.includes(`CREATE EXTERNAL LOCATION IF NOT EXISTS \`acme-databricks-${stage}-eu-west-1\` URL 's3://acme-databricks-${stage}-eu-west-1/' WITH (STORAGE CREDENTIAL \`edgelake_s3\`) COMMENT 'edgelake ${stage} bucket';`),
      `${stage}:\n${r.stdout}`,
    );
  }
  for (const stage of BUCKET_STAGES) assert.ok(sql.includes(`GRANT READ FILES ON EXTERNAL LOCATION \`acme-databricks-${stage}-eu-west-1\` TO \`edgelake-pipeline\`;`), stage);
  assert.ok(sql.includes('GRANT READ FILES, WRITE FILES ON EXTERNAL LOCATION `acme-databricks-checkpoints-eu-west-1` TO `edgelake-pipeline`;'));
  assert.equal(sql.filter((s) => s.includes('WRITE FILES')).length, 1, 'nothing else is writable');
  assert.ok(sql.includes("CREATE SCHEMA IF NOT EXISTS `prod`.`edge` COMMENT 'edgelake sensor lake';"));
  assert.ok(sql.includes('GRANT USE SCHEMA, CREATE TABLE, CREATE MATERIALIZED VIEW ON SCHEMA `prod`.`edge` TO `edgelake-pipeline`;'));
  assert.ok(sql.includes('GRANT USE SCHEMA, SELECT ON SCHEMA `prod`.`edge` TO `analysts`;'));
  assert.ok(!sql.some((s) => s.startsWith('CREATE CATALOG')), 'the catalog is created only when asked');
});

test('the setup notebook refuses bad names and a missing storage credential with what to do', { skip: !python && 'python3 is not installed' }, (t) => {
  const bad = runSetup(t, { writer: 'x', bucket_prefix: 's3://acme' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ValueError: widget bucket_prefix = 's3:\/\/acme' is not valid; expected something like 'expanso'/);
  const noWriter = runSetup(t, {});
  assert.match(noWriter.stderr, /widget writer = '' is not valid/);
  const live = runSetup(t, { writer: 'x', dry_run: 'no' });
  assert.notEqual(live.status, 0);
  assert.match(live.stderr, /storage credential 'edgelake_s3' does not exist[\s\S]*databricks storage-credentials create edgelake_s3 --json '\{"aws_iam_role": \{"role_arn"/);
});

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

test('Databricks SQL names every table through :catalog and :schema, and the query layer maps it back to exactly the DuckDB rendering', () => {
  for (const q of renderedQueries()) {
    assert.doesNotMatch(q.databricksSql, /\bsensor_data\./, q.name);
    assert.match(q.databricksSql, /FROM IDENTIFIER\(:catalog \|\| '\.' \|\| :schema \|\| '\.[a-z_]+'\)/, q.name);
    assert.deepEqual(q.params.slice(0, 2).map((p) => p.keyword), ['catalog', 'schema'], q.name);
    assert.equal(adaptDatabricksSql(q.databricksSql), q.duckdbSql, q.name);
  }
  const cost = renderedQueries({ params: { usd_per_gb: 0.5 } }).find((q) => q.name === 'dash_transfer_cost_savings')!;
  assert.match(cost.databricksSql, /:usd_per_gb AS usd_per_gb/);
  assert.match(cost.duckdbSql, /0\.5 AS usd_per_gb/);
  assert.equal(adaptDatabricksSql(cost.databricksSql, { usd_per_gb: '0.5' }), cost.duckdbSql);
});

test('a query naming an unknown table, or a table as a column qualifier, fails at rendering with the name', () => {
  assert.throws(() => qualifyTables('SELECT 1 FROM sensor_data.alertz', DATABRICKS), /unknown table sensor_data\.alertz; known: sensor_readings_ingestion/);
  assert.throws(() => qualifyTables('SELECT sensor_data.alerts.id FROM sensor_data.alerts', DUCKDB), /qualifies a column with a table name/);
  assert.equal(qualifyTables('SELECT 1 FROM sensor_data.alerts AS a', DUCKDB), 'SELECT 1 FROM sensor_data.alerts AS a');
  assert.throws(() => adaptDatabricksSql('SELECT :nope'), /:nope is not a query parameter; known: catalog, schema, usd_per_gb/);
  assert.equal(adaptDatabricksSql("SELECT ':usd_per_gb', CAST(1 AS DOUBLE)::VARCHAR -- :x"), "SELECT ':usd_per_gb', CAST(1 AS DOUBLE)::VARCHAR -- :x");
});

/** A tiny lake: every example record, in the contract's layout, plus variants for the queries. */
function writeLake(lake: string, skip: DatasetName[] = []): void {
  const nowIso = new Date().toISOString();
  const records: Record<DatasetName, Record<string, unknown>[]> = {
    ingestion: [EXAMPLES.ingestion],
    validated: [EXAMPLES.validated],
    enriched: [
      EXAMPLES.enriched,
      // with --keep-original-gps: true position 0.005° north of the fuzzed one; flagged by the sensor but no alert was raised
      { ...EXAMPLES.enriched, id: 2, anomaly_flag: true, original_latitude: 40.7111, original_longitude: -74.0012 },
    ],
    aggregated: [EXAMPLES.aggregated],
    // the second alert is for a reading that is not in the enriched table
    alerts: [EXAMPLES.alerts, { ...EXAMPLES.alerts, alert_id: 'edge-nyc-01-99', id: 99 }],
    pipeline_metrics: [
      EXAMPLES.pipeline_metrics,
      { ...EXAMPLES.pipeline_metrics, data_size: 1000, raw_size: 10000 },
      { ...EXAMPLES.pipeline_metrics, pipeline_type: 'ingestion', records_in: 1000, record_count: 1000, data_size: 50000, raw_size: 200000 },
    ],
    latency_metrics: [
      { ...EXAMPLES.latency_metrics, timestamp: nowIso },
      { ...EXAMPLES.latency_metrics, end_to_end_latency: 100, p50: 200, p95: 300, p99: 400, timestamp: nowIso },
      { ...EXAMPLES.latency_metrics, pipeline_type: 'alerts', end_to_end_latency: 30, p50: 25, p95: 40, p99: 45, timestamp: nowIso },
    ],
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
    // alert rows apart; percentiles from the per-row figures: median batch p50/p95, worst batch p99
    assert.deepEqual(
      results.demo_2_latency.map((r) => [r.path, r.batches, r.p50_latency_ms, r.p95_latency_ms, r.p99_latency_ms]),
      [
        ['alert', '1', 25, 40, 45],
        ['lake', '2', 420, 895, 1702],
      ],
    );
    const [node] = results.demo_3_node_performance;
    assert.equal(node.records_processed, '2');
    assert.equal(node.jobs_processed, '1', 'one execution');
    assert.deepEqual(node.capabilities, ['wasm', 'simd']);
    const gps = results.demo_4_gps_privacy;
    assert.equal(gps[0].recomputed_distance_meters, null);
    // 0.005° of latitude is 0.005 × π/180 × R ≈ 556 m whatever the longitude
    assert.ok(Math.abs((gps[1].recomputed_distance_meters as number) - 556) < 1, String(gps[1].recomputed_distance_meters));
    const [geo] = results.demo_5_geography;
    assert.equal(geo.anomalies_detected, '1', 'reading 1 has an alert; reading 2 is only flagged by its sensor');
    assert.equal(geo.anomaly_rate_pct, 50);
    assert.deepEqual(results.dash_sensor_positions.map((r) => r.anomalies), ['1']);
    assert.equal(results.dash_privacy_compliance[0].fuzzed_pct, 100);
    assert.equal(results.dash_anomalies_by_priority[0].under_one_second, '2');
    assert.deepEqual(
      results.dash_rejects_by_rule.map((r) => [r.stage, r.rule, r.field, r.violations]),
      [
        ['enriched', 'type', 'voltage', '2'],
        ['validated', 'type', 'voltage', '1'],
      ],
    );
    const same = Object.fromEntries(results.dash_volume_same_rows.map((r) => [r.pipeline_type, r]));
    assert.equal(same.ingestion.reduction_vs_raw_pct, 0);
    assert.equal(same.aggregated.reduction_vs_raw_pct, 98.3); // 1 − (5210 / 6000) / (50000 / 1000)
    assert.deepEqual(
      results.metrics_success.map((r) => [r.ordinal, r.measured, r.status]),
      [
        // 1–3 compare with the cloud-only baseline, which this lake does not hold.
        [1, null, 'no data'],
        [2, null, 'no data'],
        [3, null, 'no data'],
        // Every bucket's positions: the enriched ones are fuzzed, the ingestion and validated ones true.
        [4, 28.57, 'fail'],
        [5, 235, 'pass'],
      ],
    );
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
    for (const q of renderedQueries()) await rows(q.duckdbSql);
  } finally {
    close();
  }
});
