import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseRunOptions } from '../src/config.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { DATASETS, DATASET_NAMES, type DatasetName } from '../src/schema/datasets.ts';
import { datasetColumns, duckdbType, type ColumnType } from '../src/schema/ddl.ts';
import { simulate } from '../src/simulate/index.ts';
import type { PipelineType } from '../src/state/pipeline-types.ts';
import { checkFleet, readLakeFolder } from './checker/index.ts';
import { listLakeFiles, readLake, readLakeAll, type LakeObject } from './helpers/lake.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * `--format parquet` against `--format jsonl` on the same database: every stage's objects, the
 * windows, the alerts and the metrics, read back by DuckDB, hold the records of their JSON Lines
 * twins (processing times aside), under the same keys with `.parquet`; the fleet checker proves
 * the Parquet lakes against the source rows; DuckDB sees exactly the Databricks DDL's types.
 */

const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };
const STAGES: readonly PipelineType[] = ['ingestion', 'validated', 'enriched', 'aggregated'];
const ROWS = 6000;

interface Twin {
  readonly db: string;
  readonly lakes: Record<'jsonl' | 'parquet', string>;
}

/** One simulated database (1 % bad rows) run through `stage` in both formats, same node and fuzzing key. */
async function twins(dir: string, stage: PipelineType, db: string, keyFile: string): Promise<Twin> {
  const lakes = { jsonl: join(dir, `${stage}-jsonl`), parquet: join(dir, `${stage}-parquet`) };
  for (const format of ['jsonl', 'parquet'] as const) {
    const o = parseRunOptions({ db, stateDb: join(dir, `${stage}-${format}.state.db`), lake: lakes[format], once: true, type: stage, format, nodeId: 'twin', fuzzKeyFile: keyFile, progress: false, batchSize: 2500, window: '1m', lateness: '10s' });
    await runPipeline(o, { log: quiet });
  }
  return { db, lakes };
}

/** Fields that hold processing times or host state: they may differ between two runs of the same rows. */
const VOLATILE = new Set(['processed_at', 'processing_timestamp', 'fuzzing_timestamp', 'execution_time_ms', 'memory_free_gb', 'load_average', 'taken_at', 'detected_at', 'latency_ms']);

/** A record as both formats must agree on it: volatile fields and nulls dropped (absent in JSON ≡ null in Parquet), error values as the text Parquet's STRING holds. */
function comparable(v: unknown, path = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => comparable(x, path));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null || x === undefined || VOLATILE.has(k)) continue;
    // `_validation.errors[].value` is a union (text or number as stored): a STRING column holding its JSON text.
    out[k] = path.endsWith('errors') && k === 'value' && typeof x !== 'string' ? JSON.stringify(x) : comparable(x, `${path}.${k}`);
  }
  return out;
}

const METRIC_FIELDS = ['pipeline_type', 'node_id', 'batch_id', 'record_count', 'records_in', 'raw_size', 'objects_written', 'invalid_count', 'run', 'flush', 'processing_location', 'row_count', 'first_id', 'last_id'];

/** Records by dataset (alerts and their latency records by id: their grouping into objects follows upload timing). */
function byDataset(objects: readonly LakeObject[]): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  for (const o of objects) {
    const dataset = `${o.bucket.replace(/^expanso-databricks-|-us-west-2$/g, '')}/${o.key.split('/')[0]}`;
    let m = out.get(dataset);
    if (!m) out.set(dataset, (m = new Map()));
    o.records.forEach((r, i) => {
      const isMetric = dataset.startsWith('metrics/');
      const rec = isMetric ? Object.fromEntries(METRIC_FIELDS.filter((f) => r[f] !== undefined && r[f] !== null).map((f) => [f, r[f]])) : comparable(r);
      const alertLatency = isMetric && r.pipeline_type === 'alerts';
      const id = dataset.startsWith('emergency/') ? String(r.alert_id) : alertLatency ? `alerts-latency-${i}` : `${o.key.replace(/\.(jsonl\.gz|parquet)$/, '')}#${i}`;
      if (alertLatency) return; // one per upload chunk: how many depends on timing
      m.set(id, rec);
    });
  }
  return out;
}

test('every dataset in Parquet holds the records of its JSON Lines twin, under the same keys with .parquet, for every stage', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: ROWS, sensors: 12, startMs: Date.UTC(2025, 7, 15, 23, 40), seed: 7, invalidRate: 0.02 });
  const keyFile = join(dir, 'fuzz.key');
  writeFileSync(keyFile, 'a-fleet-fuzzing-key-for-the-twins-0123456789');
  for (const stage of STAGES) {
    const { lakes } = await twins(dir, stage, db, keyFile);
    const json = readLake(lakes.jsonl);
    const parquet = await readLakeAll(lakes.parquet);
    assert.equal(listLakeFiles(lakes.parquet).filter((f) => f.endsWith('.jsonl.gz')).length, 0, `${stage}: no JSON Lines object in the Parquet lake`);
    // Same keys (with .parquet) for the stage's own objects and the batch metrics.
    const keys = (objs: readonly LakeObject[]) => objs.filter((o) => !o.bucket.includes('emergency') && !o.key.includes('~alerts')).map((o) => `${o.bucket}/${o.key.replace(/\.(jsonl\.gz|parquet)$/, '')}`).sort();
    assert.deepEqual(keys(parquet), keys(json), `${stage}: keys`);
    const a = byDataset(json);
    const b = byDataset(parquet);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${stage}: datasets`);
    for (const [dataset, records] of a) {
      const other = b.get(dataset)!;
      assert.equal(other.size, records.size, `${stage} ${dataset}: record count`);
      for (const [id, rec] of records) assert.deepEqual(other.get(id), rec, `${stage} ${dataset} ${id}`);
    }
    const rows = [...a.entries()].filter(([d]) => d.endsWith('/sensor_readings')).reduce((n, [, m]) => n + m.size, 0);
    t.diagnostic(`${stage}: ${rows} records, ${a.get('emergency/alerts')?.size ?? 0} alerts, ${parquet.length} Parquet objects equal to their JSON Lines twins`);
    // The fleet checker, which imports nothing of edgelake, proves the Parquet lake against the source rows.
    const report = checkFleet({ lake: await readLakeFolder(lakes.parquet), nodes: [{ nodeId: 'twin', db }], windowMs: 60_000 });
    assert.deepEqual(report.problems, [], `${stage}: fleet checker on the Parquet lake`);
  }
});

/** The DuckDB type of a DDL type as read from Parquet (instants are TIMESTAMP WITH TIME ZONE there). */
function duckFromParquet(t: ColumnType): string {
  if (t.kind === 'timestamp') return 'TIMESTAMPTZ';
  if (t.kind === 'array') return `${duckFromParquet(t.of)}[]`;
  if (t.kind === 'struct') return `STRUCT(${t.fields.map((f) => `"${f.name}" ${duckFromParquet(f.type)}`).join(', ')})`;
  return duckdbType(t);
}

test('DuckDB reads every dataset\'s Parquet objects with exactly the columns and types of the Databricks DDL', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 3000, sensors: 6, startMs: Date.UTC(2025, 7, 15), seed: 3, invalidRate: 0.02 });
  const lake = join(dir, 'lake');
  const keyFile = join(dir, 'fuzz.key');
  writeFileSync(keyFile, 'another-fleet-fuzzing-key-0123456789abcdef');
  for (const type of STAGES) {
    // A node per stage: one node's second state would recover its position from the lake's manifest.
    const o = parseRunOptions({ db, stateDb: join(dir, `${type}.state.db`), lake, once: true, type, format: 'parquet', nodeId: `node-${type}`, fuzzKeyFile: keyFile, progress: false, window: '1m', lateness: '10s' });
    await runPipeline(o, { log: quiet });
  }
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const seen = new Set<DatasetName>();
    const describe = async (sql: string) => (await con.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJson().map((row) => `${row.column_name} ${row.column_type}`);
    for (const name of DATASET_NAMES) {
      const spec = DATASETS[name];
      // The DDL's columns as a DuckDB table, so both sides are spelled by DuckDB.
      await con.run(`CREATE OR REPLACE TABLE want (${datasetColumns(name, 'parquet').map((c) => `"${c.name}" ${duckFromParquet(c.type)}`).join(', ')})`);
      const want = await describe('want');
      const files = listLakeFiles(lake).filter((f) => f.startsWith(`expanso-databricks-${spec.bucketStage}-us-west-2/${spec.dataset}/`) && f.endsWith('.parquet'));
      assert.ok(files.length > 0, `${name}: Parquet objects were written`);
      for (const f of files) {
        assert.deepEqual(await describe(`SELECT * FROM read_parquet('${join(lake, f)}', hive_partitioning = false)`), want, `${name}: ${f}`);
      }
      seen.add(name);
    }
    assert.equal(seen.size, DATASET_NAMES.length);
  } finally {
    con.closeSync();
    inst.closeSync();
  }
});
