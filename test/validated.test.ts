import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ValidatedRecord } from '../src/schema/records.ts';
import { simulate } from '../src/simulate/index.ts';
import { insertRaw, insertRow, lakeRecords, openTestDb, runStage, type RowValues, BASE_ROW } from './helpers/stage-db.ts';
import { tempDir } from './helpers/tmp.ts';

type Errors = Array<{ field: string; rule: string; value: unknown; message: string }>;
const errorsOf = (rec: Record<string, unknown>) => (rec._validation as { valid: boolean; errors: Errors }).errors;

const FUTURE_OK = new Date(Date.now() + 4 * 60_000).toISOString();
const FUTURE_BAD = new Date(Date.now() + 10 * 60_000).toISOString();

/** Each rule at and just past its boundary: column overrides → the `field.rule` errors expected. */
const CASES: Array<[string, RowValues, string[]]> = [
  ['a generic-profile row', {}, []],
  ['temperature at -40 °C', { temperature: -40 }, []],
  ['temperature at 85 °C', { temperature: 85 }, []],
  ['temperature just above 85 °C', { temperature: 85.01 }, ['temperature.range']],
  ['temperature just below -40 °C', { temperature: -40.01 }, ['temperature.range']],
  ['humidity at 0 and 100 %', { humidity: 0 }, []],
  ['humidity at 100 %', { humidity: 100 }, []],
  ['humidity above 100 %', { humidity: 100.01 }, ['humidity.range']],
  ['humidity below 0 %', { humidity: -0.01 }, ['humidity.range']],
  ['pressure at 80000 Pa', { pressure: 80000 }, []],
  ['pressure at 110000 Pa', { pressure: 110000 }, []],
  ['pressure below 80000 Pa', { pressure: 79999.99 }, ['pressure.range']],
  ['pressure above 110000 Pa', { pressure: 110000.01 }, ['pressure.range']],
  ['vibration at 0 and 50', { vibration: 50 }, []],
  ['negative vibration', { vibration: -0.01 }, ['vibration.range']],
  ['vibration above 50', { vibration: 50.01 }, ['vibration.range']],
  ['voltage at 24 V', { voltage: 24 }, []],
  ['voltage above 24 V', { voltage: 24.01 }, ['voltage.range']],
  ['negative voltage', { voltage: -0.01 }, ['voltage.range']],
  ['voltage collapse under vibration', { voltage: 8.99, vibration: 8.01 }, ['voltage.voltage_collapse_with_vibration']],
  ['voltage exactly 9 V with vibration 9', { voltage: 9, vibration: 9 }, []],
  ['voltage 8 V with vibration exactly 8', { voltage: 8, vibration: 8 }, []],
  ['status 1 without the anomaly flag', { status_code: 1, anomaly_flag: 0 }, ['status_code.status_flag_consistency']],
  ['the anomaly flag with status 0', { status_code: 0, anomaly_flag: 1 }, ['status_code.status_flag_consistency']],
  ['status 1 with the anomaly flag', { status_code: 1, anomaly_flag: 1, anomaly_type: 'spike' }, []],
  ['status_code 2', { status_code: 2 }, ['status_code.flag_domain']],
  ['status_code 0.5', { status_code: 0.5 }, ['status_code.flag_domain']],
  ['anomaly_flag 3', { anomaly_flag: 3 }, ['anomaly_flag.flag_domain']],
  ['synced 2', { synced: 2 }, ['synced.flag_domain']],
  ['synced NULL', { synced: null }, []],
  ['the poles and the antimeridian', { latitude: 90, longitude: -180 }, []],
  ['latitude -90, longitude 180', { latitude: -90, longitude: 180 }, []],
  ['latitude past the pole', { latitude: 90.0001 }, ['latitude.gps_range']],
  ['longitude past the antimeridian', { longitude: -180.0001 }, ['longitude.gps_range']],
  ['latitude NULL', { latitude: null }, ['latitude.required']],
  ['longitude as text', { longitude: 'east' }, ['longitude.type']],
  ['timestamp NULL', { timestamp: null }, ['timestamp.required']],
  ['timestamp that is not a time', { timestamp: 'yesterday' }, ['timestamp.format']],
  ['timestamp 1 ms before the epoch', { timestamp: '1969-12-31T23:59:59.999Z' }, ['timestamp.min_time']],
  ['timestamp at the epoch', { timestamp: '1970-01-01T00:00:00.000Z' }, []],
  ['timestamp 4 minutes ahead (clock skew)', { timestamp: FUTURE_OK }, []],
  ['timestamp 10 minutes ahead', { timestamp: FUTURE_BAD }, ['timestamp.not_future']],
  ['timestamp in 2100', { timestamp: '2100-01-01T00:00:00Z' }, ['timestamp.not_future']],
  ['timestamp with a +02:00 offset', { timestamp: '2025-08-15T02:02:46.167+02:00' }, []],
  ['timestamp with Z and no fraction', { timestamp: '2025-08-15T00:02:46Z' }, []],
  ['temperature as text', { temperature: 'n/a' }, ['temperature.type']],
  ['temperature NULL', { temperature: null }, ['temperature.required']],
  ['a number written as text into a REAL column', { temperature: '25.5' }, []],
  ['height_meters as text', { height_meters: 'tall' }, ['height_meters.type']],
  ['sensor_id NULL', { sensor_id: null }, ['sensor_id.required']],
];

test('applies every validation rule at its boundaries, keeping invalid rows flagged (wasm and ts kernels agree)', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cases.db');
  const db = openTestDb(dbPath);
  const ids = CASES.map(([, values]) => insertRow(db, values));
  db.close();
  for (const kernels of ['wasm', 'ts'] as const) {
    const lake = join(dir, `lake-${kernels}`);
    await runStage({ db: dbPath, lake, type: 'validated', kernels, ...(kernels === 'ts' ? { fromId: 1 } : {}) });
    const records = lakeRecords(lake, 'validated');
    assert.equal(records.length, CASES.length, 'every row is kept');
    CASES.forEach(([name, , expected], i) => {
      const rec = records[i];
      assert.equal(rec.id, ids[i]);
      ValidatedRecord.parse(rec);
      const got = errorsOf(rec).map((e) => `${e.field}.${e.rule}`);
      assert.deepEqual(got, expected, `${kernels}: ${name}`);
      assert.equal((rec._validation as { valid: boolean }).valid, expected.length === 0, `${kernels}: ${name} valid`);
    });
  }
  const byName = new Map(CASES.map(([name], i) => [name, i]));
  const recs = lakeRecords(join(dir, 'lake-wasm'), 'validated');
  const rec = (name: string) => recs[byName.get(name)!];
  assert.deepEqual(errorsOf(rec('temperature as text'))[0].value, 'n/a');
  assert.equal(rec('temperature as text').temperature, null);
  assert.equal(errorsOf(rec('temperature NULL'))[0].value, null);
  assert.equal(errorsOf(rec('temperature just above 85 °C'))[0].value, 85.01);
  assert.match(errorsOf(rec('temperature just above 85 °C'))[0].message, /85\.01 °C is outside \[-40, 85\]/);
  assert.equal(errorsOf(rec('timestamp that is not a time'))[0].value, 'yesterday');
  assert.equal(errorsOf(rec('timestamp in 2100'))[0].value, '2100-01-01T00:00:00Z');
  assert.equal(errorsOf(rec('latitude past the pole'))[0].value, 90.0001);
  assert.equal(errorsOf(rec('longitude as text'))[0].value, 'east');
  assert.equal(rec('status_code 0.5').status_code, null);
  assert.equal(rec('synced 2').synced, null);
  assert.equal(rec('timestamp with a +02:00 offset').timestamp, '2025-08-15T00:02:46.167Z');
  assert.equal(rec('timestamp with Z and no fraction').timestamp, '2025-08-15T00:02:46.000Z');
  assert.equal(rec('timestamp that is not a time').timestamp, null);
  assert.equal(rec('a number written as text into a REAL column').temperature, 25.5);
  assert.equal(rec('status 1 with the anomaly flag').anomaly_flag, true);
});

test('writes typed columns field by field: ISO UTC timestamp, numbers, integer status, boolean flags', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'typed.db');
  const db = openTestDb(dbPath);
  insertRow(db, { timestamp: '2025-08-15T00:02:46.167-04:00', status_code: 1, anomaly_flag: 1, anomaly_type: 'spike', synced: 0 });
  db.close();
  const lake = join(dir, 'lake');
  await runStage({ db: dbPath, lake, type: 'validated', nodeId: 'edge-test-1' });
  const [rec] = lakeRecords(lake, 'validated');
  ValidatedRecord.parse(rec);
  const expected: Record<string, unknown> = {
    ...BASE_ROW,
    id: 1,
    timestamp: '2025-08-15T04:02:46.167Z',
    status_code: 1,
    anomaly_flag: true,
    anomaly_type: 'spike',
    synced: false,
  };
  for (const [field, value] of Object.entries(expected)) assert.deepEqual(rec[field], value, field);
  assert.deepEqual(rec._validation, { valid: true, errors: [] });
  const p = rec._pipeline as Record<string, unknown>;
  assert.equal(p.type, 'validated');
  assert.equal(p.node_id, 'edge-test-1');
  assert.equal(p.batch_id, 'edge-test-1-validated-1-1');
  assert.match(String(p.version), /^\d+\.\d+\.\d+/);
  assert.deepEqual(Object.keys(rec), ['id', ...Object.keys(BASE_ROW), '_validation', '_pipeline']);
});

test('never crashes on bad rows: NULL everywhere, BLOBs, a 10 MB string, invalid UTF-8, text in REAL columns', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'bad.db');
  await simulate({ db: dbPath, rows: 2000, sensors: 5, seed: 7, startMs: Date.UTC(2025, 7, 15) });
  const db = openTestDb(dbPath);
  const nulls = Number(db.prepare('INSERT INTO sensor_readings (timestamp) VALUES (NULL)').run().lastInsertRowid);
  const huge = 'x'.repeat(10 * 1024 * 1024);
  const hugeId = insertRow(db, { humidity: huge, model: huge });
  const utf8Real = insertRaw(db, 'temperature', "CAST(x'c328' AS TEXT)");
  const utf8Text = insertRaw(db, 'model', "CAST(x'ff61fe' AS TEXT)");
  const blobReal = insertRaw(db, 'pressure', 'zeroblob(4)');
  const blobText = insertRaw(db, 'sensor_id', "x'0102'");
  const blobTs = insertRaw(db, 'timestamp', "x'00'");
  db.close();
  const lake = join(dir, 'lake');
  await runStage({ db: dbPath, lake, type: 'validated', batchSize: 1000 });
  const records = lakeRecords(lake, 'validated');
  assert.equal(records.length, 2007);
  for (const rec of records) ValidatedRecord.parse(rec);
  const byId = new Map(records.map((r) => [r.id as number, r]));
  const simulated = records.filter((r) => (r.id as number) <= 2000);
  assert.ok(simulated.every((r) => (r._validation as { valid: boolean }).valid), 'simulated rows of the generic profile are valid');

  const n = byId.get(nulls)!;
  assert.deepEqual(
    errorsOf(n).map((e) => `${e.field}.${e.rule}`).sort(),
    ['humidity', 'latitude', 'longitude', 'pressure', 'sensor_id', 'temperature', 'timestamp', 'vibration', 'voltage'].map((f) => `${f}.required`),
  );
  for (const [k, v] of Object.entries(n)) if (!k.startsWith('_') && k !== 'id') assert.equal(v, null, k);
  assert.equal((n._pipeline as { event_time_fallback?: boolean }).event_time_fallback, true);

  const h = byId.get(hugeId)!;
  assert.equal(h.model, huge);
  assert.equal(h.humidity, null);
  const hErr = errorsOf(h)[0];
  assert.deepEqual([hErr.field, hErr.rule, (hErr.value as string).length], ['humidity', 'type', huge.length]);
  assert.ok(hErr.message.length < 200, 'the message does not repeat the value');

  assert.equal(errorsOf(byId.get(utf8Real)!)[0].rule, 'type');
  assert.equal(typeof errorsOf(byId.get(utf8Real)!)[0].value, 'string');
  assert.equal(typeof byId.get(utf8Text)!.model, 'string');
  assert.deepEqual(errorsOf(byId.get(blobReal)!).map((e) => [e.field, e.rule, e.value]), [['pressure', 'type', 'base64:AAAAAA==']]);
  assert.deepEqual(errorsOf(byId.get(blobText)!).map((e) => [e.field, e.rule, e.value]), [['sensor_id', 'type', 'base64:AQI=']]);
  assert.equal(byId.get(blobText)!.sensor_id, null);
  assert.deepEqual(errorsOf(byId.get(blobTs)!).map((e) => [e.field, e.rule]), [['timestamp', 'type']]);
});

test('stores pass/fail counts by rule in the execution history and counts invalid rows in the metrics', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'history.db');
  const db = openTestDb(dbPath);
  for (let i = 0; i < 10; i++) insertRow(db);
  insertRow(db, { temperature: 99 });
  insertRow(db, { temperature: 'hot', humidity: -5 });
  insertRow(db, { status_code: 1 });
  db.close();
  const lake = join(dir, 'lake');
  await runStage({ db: dbPath, lake, type: 'validated' });
  const state = new Database(dbPath, { readonly: true });
  const row = state.prepare("SELECT invalid_count, records_out, details FROM pipeline_executions WHERE pipeline_type = 'validated'").get() as {
    invalid_count: number;
    records_out: number;
    details: string;
  };
  state.close();
  assert.equal(row.invalid_count, 3);
  assert.equal(row.records_out, 13);
  assert.deepEqual(JSON.parse(row.details).rejected, {
    valid: 10,
    invalid: 3,
    by_rule: { range: 2, type: 1, status_flag_consistency: 1 },
    by_field: { temperature: 2, humidity: 1, status_code: 1 },
  });
  const metrics = lakeRecords(lake, 'pipeline_metrics');
  assert.equal(metrics[0].invalid_count, 3);
});
