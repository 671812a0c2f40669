import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { parseRunOptions } from '../src/config.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { knownQueries, openQueryEngine } from '../src/query/index.ts';
import { parseReprocessOptions } from '../src/reprocess/options.ts';
import { reprocess } from '../src/reprocess/run.ts';
import { simulate } from '../src/simulate/index.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { assertBuilt, runBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { createHostileDb } from './helpers/hostile-db.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, listLakeFiles, readLake, readLakeAll } from './helpers/lake.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * Parquet lakes as readers meet them: ingestion's typed columns and `_rescued_data` against the
 * hostile source rows value by value, `edgelake query` over a lake holding both formats, a kill
 * at `object-written` and a rerun (the same keys, every row once), reprocess into Parquet.
 */

const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(m) };

/** A DuckDB value as plain JS (integers as numbers, structs as objects). */
function plain(v: DuckDBValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && 'entries' in v) return Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** What ingestion's Parquet must hold for a stored value of a column declared `kind`: the typed value, or null and the value in `_rescued_data`. */
function expected(kind: string, v: unknown): { typed: unknown; rescued?: unknown } {
  if (v === null) return { typed: null };
  if (Buffer.isBuffer(v)) return { typed: null, rescued: { $base64: v.toString('base64') } };
  if (kind === 'text') return typeof v === 'string' ? { typed: v } : { typed: null, rescued: Number.isFinite(v as number) ? v : String(v) };
  if (typeof v === 'string') return { typed: null, rescued: v };
  const n = v as number;
  if (kind === 'real') return { typed: n };
  return Number.isSafeInteger(n) ? { typed: n } : { typed: null, rescued: Number.isFinite(n) ? n : String(n) };
}

test('ingestion in Parquet keeps every hostile value as stored: in its typed column when it fits, else null there and as stored in _rescued_data', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'hostile.db');
  const made = createHostileDb(db, { malformed: 3000, huge: 2 });
  const lake = join(dir, 'lake');
  await runPipeline(parseRunOptions({ db, lake, once: true, type: 'ingestion', format: 'parquet', progress: false, alerts: false, batchSize: 1000 }), { log: quiet });
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const src = new Database(db, { readonly: true });
  try {
    const result = await con.runAndReadAll(`SELECT * FROM read_parquet('${join(lake, INGESTION_BUCKET)}/**/*.parquet', hive_partitioning = false) ORDER BY id`);
    const names = result.columnNames();
    const rows = result.getRows().map((r) => Object.fromEntries(r.map((v, i) => [names[i], plain(v)])));
    const source = src.prepare('SELECT * FROM sensor_readings ORDER BY id').all() as Array<Record<string, unknown>>;
    assert.equal(rows.length, made.rows);
    assert.equal(rows.length, source.length);
    let rescuedRows = 0;
    for (let i = 0; i < rows.length; i++) {
      const got = rows[i];
      const want = source[i];
      assert.equal(got.id, want.id);
      const rescued = got._rescued_data === null ? {} : (JSON.parse(got._rescued_data as string) as Record<string, unknown>);
      if (got._rescued_data !== null) rescuedRows++;
      const expectRescued: Record<string, unknown> = {};
      for (const { name, kind } of READING_COLUMNS) {
        if (name === 'id') continue;
        const e = expected(kind, want[name]);
        assert.deepEqual(got[name], e.typed, `row ${want.id} ${name}: ${String(want[name]).slice(0, 80)}`);
        if ('rescued' in e) expectRescued[name] = e.rescued;
      }
      assert.deepEqual(rescued, expectRescued, `row ${want.id}: _rescued_data`);
    }
    t.diagnostic(`${rows.length} rows, ${rescuedRows} with _rescued_data, ${listLakeFiles(lake).filter((f) => f.endsWith('.parquet')).length} Parquet objects`);
    assert.ok(rescuedRows > 100, 'the hostile rows put many values into _rescued_data');
  } finally {
    src.close();
    con.closeSync();
    inst.closeSync();
  }
});

test('edgelake query reads a lake holding both formats: each table is the union of its JSON Lines and Parquet objects, and every known query runs', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 4000, sensors: 8, startMs: Date.UTC(2025, 7, 15), seed: 5, invalidRate: 0.02 });
  const lake = join(dir, 'lake');
  const onlyParquet = join(dir, 'lake-parquet');
  for (const type of ['ingestion', 'validated', 'enriched', 'aggregated'] as const) {
    for (const [format, nodeId, where] of [['jsonl', 'edge-json', lake], ['parquet', 'edge-parquet', lake], ['parquet', 'edge-parquet', onlyParquet]] as const) {
      const o = parseRunOptions({ db, stateDb: join(dir, `${type}-${nodeId}-${where === lake ? 'mixed' : 'alone'}.state.db`), lake: where, once: true, type, format, nodeId: `${nodeId}-${type}`, progress: false, window: '1m', lateness: '10s' });
      await runPipeline(o, { log: quiet });
    }
  }
  for (const [where, nodes] of [[lake, ['edge-json', 'edge-parquet']], [onlyParquet, ['edge-parquet']]] as const) {
    const engine = await openQueryEngine({ lake: where });
    try {
      for (const table of ['sensor_readings_ingestion', 'sensor_readings_validated', 'sensor_readings_enriched']) {
        const r = await engine.query(`SELECT split_part(_pipeline.node_id, '-', 2) AS node, count(*) AS n, count(DISTINCT id) AS ids FROM sensor_data.${table} GROUP BY ALL ORDER BY node`);
        assert.deepEqual(r.rows, nodes.map((n) => ({ node: n.split('-')[1], n: 4000, ids: 4000 })), `${where} ${table}`);
      }
      // The same rows through both formats: the same validated values, field by field.
      if (nodes.length === 2) {
        const diff = await engine.query(`SELECT count(*) AS n FROM (SELECT * EXCLUDE (_pipeline) FROM sensor_data.sensor_readings_validated WHERE _pipeline.node_id LIKE 'edge-json%' EXCEPT SELECT * EXCLUDE (_pipeline) FROM sensor_data.sensor_readings_validated WHERE _pipeline.node_id LIKE 'edge-parquet%')`);
        assert.deepEqual(diff.rows, [{ n: 0 }], 'validated rows of the Parquet objects equal those of the JSON Lines objects');
        const raw = await engine.query(`SELECT count(*) AS n FROM (SELECT * EXCLUDE (_pipeline) FROM sensor_data.sensor_readings_ingestion WHERE _pipeline.node_id LIKE 'edge-json%' EXCEPT SELECT * EXCLUDE (_pipeline) FROM sensor_data.sensor_readings_ingestion WHERE _pipeline.node_id LIKE 'edge-parquet%')`);
        assert.deepEqual(raw.rows, [{ n: 0 }], 'ingestion rows of the Parquet objects read as the JSON Lines ones');
      }
      for (const q of knownQueries()) await engine.named(q);
      t.diagnostic(`${where === lake ? 'mixed' : 'Parquet-only'} lake: ${knownQueries().length} known queries ran`);
    } finally {
      engine.close();
    }
  }
});

test('a kill at object-written in a Parquet run, then a rerun: the same keys as an uninterrupted run, every row exactly once', async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 6000, sensors: 6, startMs: Date.UTC(2025, 7, 15), seed: 9 });
  const args = (lake: string, state: string) => ['run', '--once', '--db', db, '--state-db', state, '--lake', lake, '--type', 'validated', '--format', 'parquet', '--batch-size', '1000', '--node-id', 'killed', '--no-progress'];
  const clean = join(dir, 'clean');
  const done = await runBuilt(args(clean, join(dir, 'clean.state.db')));
  assert.equal(done.code, 0, describeResult(done));
  const lake = join(dir, 'lake');
  const state = join(dir, 'killed.state.db');
  const killed = await runBuilt(args(lake, state), { env: { EDGELAKE_CRASH_AT: 'object-written:3' } });
  assert.equal(killed.signal, 'SIGKILL', describeResult(killed));
  const rerun = await runBuilt(args(lake, state));
  assert.equal(rerun.code, 0, describeResult(rerun));
  // Metrics objects are partitioned by the hour their batch started (wall clock, kept by a replay):
  // two runs on either side of an hour boundary differ there, and only there.
  const processingHour = /\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\//;
  const stageKeys = (l: string) =>
    listLakeFiles(l)
      .filter((f) => f.startsWith(VALIDATED_BUCKET) || (f.includes('_metrics/') && !f.includes('~alerts')))
      .map((f) => (f.includes('_metrics/') ? f.replace(processingHour, '/year=…/hour=…/') : f))
      .sort();
  assert.ok(stageKeys(lake).every((k) => k.endsWith('.parquet')), 'only Parquet objects');
  assert.deepEqual(stageKeys(lake), stageKeys(clean), 'the same keys as the uninterrupted run');
  const counts = new Map<number, number>();
  for (const o of await readLakeAll(lake, VALIDATED_BUCKET)) for (const r of o.records) counts.set(r.id as number, (counts.get(r.id as number) ?? 0) + 1);
  assert.equal(counts.size, 6000);
  assert.ok([...counts.values()].every((n) => n === 1), 'no row twice');
  const alerts = (await readLakeAll(lake, 'expanso-databricks-emergency-us-west-2')).flatMap((o) => o.records.map((r) => r.alert_id));
  assert.equal(new Set(alerts).size, alerts.length, 'no alert twice');
});

test('reprocess --format parquet writes the records of a JSON Lines reprocess of the same raw objects, under the same keys with .parquet', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 3000, sensors: 5, startMs: Date.UTC(2025, 7, 15), seed: 2, invalidRate: 0.02 });
  const lake = join(dir, 'lake');
  await runPipeline(parseRunOptions({ db, lake, once: true, type: 'ingestion', progress: false, alerts: false, nodeId: 'edge-r' }), { log: quiet });
  const out: Record<string, ReturnType<typeof readLake>> = {};
  for (const format of ['jsonl', 'parquet'] as const) {
    const o = parseReprocessOptions({ lake, type: 'validated', format, run: `twin-${format}`, progress: false }, {});
    await reprocess(o, { log: quiet, env: {} });
    out[format] = format === 'jsonl' ? readLake(lake, VALIDATED_BUCKET) : (await readLakeAll(lake, VALIDATED_BUCKET)).filter((x) => x.key.endsWith('.parquet'));
  }
  const keys = (f: 'jsonl' | 'parquet') => out[f].map((o) => o.key.replace(`_rtwin-${f}_`, '_r_').replace(/\.(jsonl\.gz|parquet)$/, '')).sort();
  assert.ok(out.parquet.length > 0 && out.parquet.every((o) => /_rtwin-parquet_\d{12}-\d{12}\.parquet$/.test(o.key)));
  assert.deepEqual(keys('parquet'), keys('jsonl'));
  const records = (f: 'jsonl' | 'parquet') =>
    out[f]
      .flatMap((o) => o.records)
      .map((r) => {
        // Error values are a union (text or number as stored): Parquet's STRING holds their JSON text.
        const v = r._validation as { valid: boolean; errors: Array<Record<string, unknown>> };
        const errors = v.errors.map((e) => ({ ...e, value: e.value === null || typeof e.value === 'string' ? e.value : JSON.stringify(e.value) }));
        const plain = Object.fromEntries(Object.entries({ ...r, _pipeline: undefined, _validation: { valid: v.valid, errors } }).filter(([, x]) => x !== null && x !== undefined));
        return JSON.stringify(plain);
      })
      .sort();
  assert.deepEqual(records('parquet'), records('jsonl'));
  t.diagnostic(`${out.parquet.length} Parquet objects, ${records('parquet').length} records`);
});

test('run --format parquet into S3: every dataset lands as .parquet objects typed application/vnd.apache.parquet, readable by DuckDB', async (t) => {
  const { startS3Server, S3RVER_ENV, S3RVER_CREDENTIALS } = await import('./helpers/s3server.ts');
  const { runCli } = await import('./helpers/cli.ts');
  const { HeadObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  const { decodeParquet } = await import('./checker/lake-source.ts');
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  await simulate({ db, rows: 3000, sensors: 4, startMs: Date.UTC(2025, 7, 15), seed: 4 });
  const s3 = await startS3Server();
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-west-2', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  try {
    const r = await runCli(['run', '--db', db, '--once', '--type', 'validated', '--format', 'parquet', '--s3-endpoint', s3.endpoint, '--create-buckets', '--node-id', 'edge-s3', '--no-progress'], { env: S3RVER_ENV });
    assert.equal(r.code, 0, describeResult(r));
    let rows = 0;
    for (const stage of ['validated', 'emergency', 'metrics']) {
      const bucket = `expanso-databricks-${stage}-us-west-2`;
      const keys = (await s3.listKeys(bucket)).filter((k) => !k.startsWith('_edgelake/'));
      assert.ok(keys.length > 0 && keys.every((k) => k.endsWith('.parquet')), `${bucket}: ${keys.join(', ')}`);
      for (const key of keys) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        assert.equal(head.ContentType, 'application/vnd.apache.parquet', key);
        const records = await decodeParquet(await s3.readObject(bucket, key), key);
        if (stage === 'validated') rows += records.length;
      }
    }
    assert.equal(rows, 3000);
  } finally {
    client.destroy();
    await s3.dispose();
  }
});
