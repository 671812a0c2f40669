import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import type { ColumnarBatch, StoredValue } from '../src/batch.ts';
import { simulate } from '../src/simulate/index.ts';
import { SensorReader } from '../src/source/reader.ts';
import { NUMERIC_COLUMNS, type ColumnName } from '../src/source/schema.ts';
import { AGGREGATED_COLUMNS } from '../src/stages/aggregated.ts';
import { FolderRecordSource, S3RecordSource, parseRowObjectKey, readIngestionBatch, readIngestionObject, type LakeRecordSource } from '../src/source/lake-records.ts';
import { buildBatch, decodeIngestionLines, eventTimes, extraColumnsOf, type LakeRow } from '../src/source/record-batch.ts';
import { describeResult, runCli } from './helpers/cli.ts';
import { createHostileDb } from './helpers/hostile-db.ts';
import { S3RVER_CREDENTIALS, S3RVER_ENV, startS3Server } from './helpers/s3server.ts';
import { tempDir } from './helpers/tmp.ts';

const BUCKET = 'expanso-databricks-ingestion-us-west-2';
const T0 = Date.UTC(2025, 7, 15, 6, 40);

/** `edgelake run --once --type ingestion` of `db` into `--lake lake` (or S3), as a node would. */
async function ingest(db: string, node: string, dest: string[], env: Record<string, string | undefined> = {}): Promise<void> {
  const r = await runCli(['run', '--once', '--type', 'ingestion', '--db', db, '--node-id', node, '--batch-size', '700', '--no-progress', ...dest], {
    env,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, describeResult(r));
}

/** What the live reader reads from `db`: every row at once, with the given projection. */
function readAll(db: string, columns?: readonly ColumnName[], keepTimestampText = true, extras: string[] = []): ColumnarBatch {
  const conn = new Database(db, { readonly: true });
  try {
    const reader = new SensorReader({ db: conn, columns, keepTimestampText, extras });
    return reader.read(0, 1_000_000);
  } finally {
    conn.close();
  }
}

/** All rows of every landed object, merged in id order. */
async function landedRows(source: LakeRecordSource): Promise<LakeRow[]> {
  const rows: LakeRow[] = [];
  for (const obj of await source.list({ bucket: BUCKET })) rows.push(...(await readIngestionObject(source, obj)).rows);
  return rows.sort((a, b) => a.id - b.id);
}

/**
 * The one case the ingestion encoding cannot tell apart (see record-batch.ts): a TEXT
 * 'Infinity'/'-Infinity' stored in a numeric column is written like the REAL ±Infinity and comes
 * back as the REAL. This applies exactly that to the reader's batch, and nothing else.
 */
function withInfinityAmbiguity(b: ColumnarBatch): { batch: ColumnarBatch; changed: number } {
  let changed = 0;
  let rawBytes = b.rawBytes;
  const numeric = { ...b.numeric };
  const irregular = new Map([...b.irregular].map(([c, m]) => [c, new Map(m)] as const));
  for (const col of NUMERIC_COLUMNS) {
    const odd = irregular.get(col);
    if (!odd || !numeric[col]) continue;
    const copy = (numeric[col] = Float64Array.from(numeric[col]!));
    for (const [row, v] of odd) {
      if (v !== 'Infinity' && v !== '-Infinity') continue;
      copy[row] = Number(v);
      odd.delete(row);
      rawBytes -= v.length - 8;
      changed++;
    }
    if (odd.size === 0) irregular.delete(col);
  }
  return { batch: { ...b, numeric, irregular, rawBytes }, changed };
}

/** Asserts two batches equal column by column, naming the first column that differs. */
function assertSameBatch(actual: ColumnarBatch, expected: ColumnarBatch): void {
  assert.deepEqual(actual.columns, expected.columns);
  assert.equal(actual.length, expected.length);
  assert.deepEqual(actual.id, expected.id, 'id');
  assert.deepEqual(actual.eventMs, expected.eventMs, 'eventMs');
  assert.deepEqual(actual.timestampText, expected.timestampText, 'timestampText');
  for (const c of Object.keys(expected.numeric)) assert.deepEqual(actual.numeric[c as 'voltage'], expected.numeric[c as 'voltage'], `numeric ${c}`);
  assert.deepEqual(Object.keys(actual.numeric), Object.keys(expected.numeric));
  for (const c of Object.keys(expected.text)) assert.deepEqual(actual.text[c as 'model'], expected.text[c as 'model'], `text ${c}`);
  assert.deepEqual(Object.keys(actual.text), Object.keys(expected.text));
  assert.deepEqual(new Set(actual.irregular.keys()), new Set(expected.irregular.keys()), 'irregular columns');
  for (const [c, m] of expected.irregular) assert.deepEqual(actual.irregular.get(c), m, `irregular ${c}`);
  assert.deepEqual(actual.extra, expected.extra, 'extra columns');
  assert.equal(actual.rawBytes, expected.rawBytes, 'rawBytes');
}

describe('decoding landed ingestion objects', () => {
  test('simulated rows come back from every object exactly as the live reader reads them, in all three projections', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    await simulate({ db, rows: 3000, sensors: 7, seed: 5, startMs: T0, spanMs: 3 * 3_600_000 });
    // A column outside the contract, added later by a writer: ingestion keeps it as stored.
    const w = new Database(db);
    w.exec(`ALTER TABLE sensor_readings ADD COLUMN site_code TEXT`);
    w.exec(`UPDATE sensor_readings SET site_code = CASE id % 4 WHEN 0 THEN 'S-' || (id % 9) WHEN 1 THEN 2.5 WHEN 2 THEN x'00ff' END WHERE id > 1000`);
    w.close();
    const lake = join(dir, 'lake');
    await ingest(db, 'edge-1', ['--lake', lake]);
    const source = new FolderRecordSource(lake);
    const objects = await source.list({ bucket: BUCKET });
    assert.ok(objects.length >= 5, `batches of 700 over 3+ hours make several objects (got ${objects.length})`);
    const hours = new Set(objects.map((o) => o.hourMs));
    assert.ok(hours.size >= 3);
    // Whole lake vs whole table.
    const rows = await landedRows(source);
    assert.deepEqual(extraColumnsOf(rows), ['site_code']);
    assertSameBatch(buildBatch(rows, { extras: ['site_code'] }), readAll(db, undefined, true, ['site_code']));
    for (const [columns, keepTs] of [[undefined, true], [AGGREGATED_COLUMNS, false], [['id', 'timestamp', 'location'] as ColumnName[], true]] as const) {
      assertSameBatch(buildBatch(rows, { columns, keepTimestampText: keepTs }), readAll(db, columns, keepTs));
    }
    // Object by object: each holds a contiguous id range here (rows in time order), read by the reader as one range.
    const conn = new Database(db, { readonly: true });
    t.after(() => conn.close());
    const reader = new SensorReader({ db: conn, extras: ['site_code'] });
    for (const obj of objects) {
      const got = await readIngestionBatch(source, obj, { extras: ['site_code'] });
      const want = reader.read(obj.firstId - 1, 1_000_000, obj.lastId);
      assert.equal(got.length, obj.lastId - obj.firstId + 1, obj.key);
      assertSameBatch(got, want);
    }
  });

  test('hostile rows (wrong types, BLOBs, invalid UTF-8, odd timestamps, 1 MB strings) decode as the reader reads them, but for TEXT "Infinity" in numeric columns', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'hostile.db');
    createHostileDb(db, { seed: 3, malformed: 3000, huge: 4 });
    const lake = join(dir, 'lake');
    await ingest(db, 'edge-hostile', ['--lake', lake]);
    const rows = await landedRows(new FolderRecordSource(lake));
    const { batch: want, changed } = withInfinityAmbiguity(readAll(db));
    assert.ok(changed > 0, 'the hostile database has TEXT "Infinity" in numeric columns');
    assertSameBatch(buildBatch(rows), want);
    const projected = withInfinityAmbiguity(readAll(db, AGGREGATED_COLUMNS, false)).batch;
    assertSameBatch(buildBatch(rows, { columns: AGGREGATED_COLUMNS, keepTimestampText: false }), projected);
  });

  test('objects listed from S3 decode to the same rows as the same node written to a lake folder', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    await simulate({ db, rows: 1500, sensors: 4, seed: 9, startMs: T0, spanMs: 2 * 3_600_000 });
    copyFileSync(db, join(dir, 'copy.db'));
    const server = await startS3Server({ buckets: [] });
    t.after(() => server.dispose());
    await ingest(db, 'edge-s3', ['--s3-endpoint', server.endpoint, '--create-buckets'], S3RVER_ENV);
    await ingest(join(dir, 'copy.db'), 'edge-s3', ['--lake', join(dir, 'lake')]);
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    const s3 = new S3RecordSource({ endpoint: server.endpoint, region: 'us-west-2' });
    t.after(() => s3.close());
    const folder = new FolderRecordSource(join(dir, 'lake'));
    const [a, b] = [await s3.list({ bucket: BUCKET }), await folder.list({ bucket: BUCKET })];
    assert.deepEqual(a.map((o) => o.key), b.map((o) => o.key));
    assert.ok(a.every((o) => o.size > 0));
    assertSameBatch(buildBatch(await landedRows(s3)), buildBatch(await landedRows(folder)));
    // An hour range lists only its hours, from S3 as from the folder.
    // [07:40, 08:40) overlaps the hours 07 and 08.
    const range = { bucket: BUCKET, fromMs: Date.UTC(2025, 7, 15, 7, 40), untilMs: Date.UTC(2025, 7, 15, 8, 40) };
    const ranged = await s3.list(range);
    assert.deepEqual([...new Set(ranged.map((o) => new Date(o.hourMs).getUTCHours()))].sort(), [7, 8]);
    assert.deepEqual(ranged.map((o) => o.key), (await folder.list(range)).map((o) => o.key));
    assert.deepEqual(ranged.map((o) => o.key), a.filter((o) => o.hourMs >= Date.UTC(2025, 7, 15, 7) && o.hourMs <= Date.UTC(2025, 7, 15, 8)).map((o) => o.key));
  });

  test('listing filters by node id (every source generation of it) and by hour, and skips what is not a live batch object', async (t) => {
    const lake = tempDir(t);
    const put = (key: string) => {
      mkdirSync(join(lake, BUCKET, key, '..'), { recursive: true });
      writeFileSync(join(lake, BUCKET, key), gzipSync(''));
    };
    const h = 'sensor_readings/year=2025/month=08/day=15/hour=';
    put(`${h}06/edge_1_000000000001-000000000009.jsonl.gz`);
    put(`${h}07/edge_1_000000000010-000000000019.jsonl.gz`);
    put(`${h}07/edge_1~g2_000000000001-000000000005.jsonl.gz`);
    put(`${h}07/%E6%9D%B1%E4%BA%AC-01_000000000001-000000000003.jsonl.gz`);
    put(`${h}07/edge_1~alerts_000000000001-000000000003.jsonl.gz`);
    put(`${h}07/.tmp-edge_1_000000000020-000000000029.jsonl.gz.part`);
    put(`${h}08/edge_1_000000000030-000000000039.parquet`);
    put('sensor_readings/year=2025/month=13/day=15/hour=07/edge_1_000000000040-000000000049.jsonl.gz');
    put(`alerts/year=2025/month=08/day=15/hour=07/edge_1_000000000001-000000000003.jsonl.gz`);
    const source = new FolderRecordSource(lake);
    const all = await source.list({ bucket: BUCKET });
    assert.deepEqual(
      all.map((o) => [o.nodeId, o.generation, o.firstId]),
      // The .parquet object is a live batch object too (run --format parquet).
      [['東京-01', 1, 1], ['edge_1', 1, 1], ['edge_1', 1, 10], ['edge_1', 1, 30], ['edge_1', 2, 1]],
    );
    const mine = await source.list({ bucket: BUCKET, node: 'edge_1', fromMs: Date.UTC(2025, 7, 15, 7, 30), untilMs: Date.UTC(2025, 7, 15, 8) });
    assert.deepEqual(mine.map((o) => o.key.split('/').pop()), ['edge_1_000000000010-000000000019.jsonl.gz', 'edge_1~g2_000000000001-000000000005.jsonl.gz']);
    assert.equal(parseRowObjectKey(`${h}07/edge_000000000009-000000000001.jsonl.gz`), null, 'first id after last id');
  });

  test('a line that is not an ingestion record is an error naming the object, the line and the column', () => {
    const good = (id: number) => JSON.stringify(Object.fromEntries([['id', id], ...NUMERIC_COLUMNS.slice(1).map((c) => [c, 1]), ...TEXT_NAMES.map((c) => [c, 'x'])]));
    assert.equal(decodeIngestionLines(good(2) + '\n' + good(1) + '\n', 'obj').rows.map((r) => r.id).join(), '1,2', 'rows come out in id order');
    assert.throws(() => decodeIngestionLines(good(1) + '\n{"id":2', 'lake/x.jsonl.gz'), /lake\/x\.jsonl\.gz line 2: not JSON/);
    assert.throws(() => decodeIngestionLines('{"id":"1"}', 'o'), /line 1: id "1" is not an integer/);
    // A contract column the table lacked is absent from the record, and from the batch, as the reader leaves it out.
    const bare = buildBatch(decodeIngestionLines('{"id":1,"voltage":12}', 'o').rows);
    assert.deepEqual(bare.columns, ['id', 'voltage']);
    assert.equal(bare.timestampText, null);
    assert.ok(Number.isNaN(bare.eventMs[0]));
    const withArray = JSON.parse(good(1)) as Record<string, unknown>;
    withArray.voltage = [1];
    assert.throws(() => decodeIngestionLines(JSON.stringify(withArray), 'o'), /column "voltage" holds \[1\]/);
    const validated = JSON.parse(good(1)) as Record<string, unknown>;
    validated._pipeline = { type: 'validated' };
    assert.throws(() => decodeIngestionLines(JSON.stringify(validated), 'o'), /_pipeline\.type is "validated", expected "ingestion"/);
  });

  test('event times are SQLite\'s parse of the reader\'s expression: offsets honoured, impossible dates and non-dates NaN', () => {
    const ms = eventTimes(['2025-08-15T00:02:46.167+00:00', '2025-08-15T02:02:46.167+02:00', '2025-08-15T00:02:46Z', '2025-02-30T00:00:00Z', 'now', '10:00', '2459000.5', null, '2024-02-29T12:00:00Z']);
    assert.deepEqual([...ms], [Date.UTC(2025, 7, 15, 0, 2, 46, 167), Date.UTC(2025, 7, 15, 0, 2, 46, 167), Date.UTC(2025, 7, 15, 0, 2, 46), NaN, NaN, NaN, NaN, NaN, Date.UTC(2024, 1, 29, 12)]);
  });

  test('BLOBs and non-finite REALs are decoded to the values the reader held', () => {
    const rec: Record<string, unknown> = JSON.parse(
      JSON.stringify(Object.fromEntries([['id', 7], ...NUMERIC_COLUMNS.slice(1).map((c) => [c, null]), ...TEXT_NAMES.map((c) => [c, null])])),
    );
    Object.assign(rec, { temperature: 'Infinity', humidity: '-Infinity', pressure: 'NaN', vibration: { $base64: 'AQI=' }, model: { $base64: '' }, location: 'Infinity' });
    const b = buildBatch(decodeIngestionLines(JSON.stringify(rec), 'o').rows);
    assert.equal(b.numeric.temperature![0], Infinity);
    assert.equal(b.numeric.humidity![0], -Infinity);
    assert.ok(Number.isNaN(b.numeric.pressure![0]));
    const odd = (c: ColumnName): StoredValue | undefined => b.irregular.get(c)?.get(0);
    assert.equal(odd('pressure'), 'NaN', 'a NaN REAL cannot be stored, so "NaN" was text');
    assert.deepEqual(odd('vibration'), Buffer.from([1, 2]));
    assert.deepEqual(odd('model'), Buffer.alloc(0));
    assert.equal(b.text.location!.values[b.text.location!.codes[0]], 'Infinity', 'in a TEXT column it is text');
  });
});

const TEXT_NAMES = ['timestamp', 'sensor_id', 'anomaly_type', 'firmware_version', 'model', 'manufacturer', 'location', 'original_timezone', 'serial_number', 'manufacture_date', 'deployment_type', 'installation_date', 'instance_id', 'sensor_type'];
