import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { takeRows, type ColumnarBatch } from '../src/batch.ts';
import { JsonWriter } from '../src/encode/json-writer.ts';
import { SensorReader } from '../src/source/reader.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { isoRange, isoWriter, typedColumnsWriter, type TypedColumnsOptions } from '../src/stages/typed.ts';
import { createSensorDb, goodRow, type TestRow } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

/** Each row's typed columns as written by one writer over the whole batch. */
function lines(batch: ColumnarBatch, opts: (b: ColumnarBatch) => TypedColumnsOptions): string[] {
  const out: string[] = [];
  const chunks: Buffer[] = [];
  const w = new JsonWriter((c) => chunks.push(Buffer.from(c)), 1 << 16);
  const write = typedColumnsWriter(batch, opts(batch));
  for (let r = 0; r < batch.length; r++) {
    write(w, r);
    w.flush();
    out.push(Buffer.concat(chunks).toString('utf8'));
    chunks.length = 0;
  }
  return out;
}

/** Rows of 9 sensors whose describing columns change under them: firmware updates, moves, NULLs, odd types. */
function changingRows(n: number): TestRow[] {
  const rows: TestRow[] = [];
  for (let i = 1; i <= n; i++) {
    const r: TestRow = { ...goodRow(i) };
    r.sensor_id = i % 41 === 0 ? null : `S${i % 9}`;
    r.serial_number = `SN-${i % 9}`; // per sensor (goodRow's is per row, which no cache could reuse)
    if (i > n / 2) r.firmware_version = '2.0.0'; // an update halfway
    if (i % 5 === 0) r.location = `Site ${i % 3}`; // moved back and forth
    if (i % 7 === 0) r.latitude = 40 + (i % 4) / 10;
    if (i % 11 === 0) r.model = null;
    if (i % 13 === 0) r.synced = i % 2;
    if (i % 17 === 0) r.height_meters = null;
    if (i % 19 === 0) r.orientation_degrees = -0;
    if (i % 23 === 0) r.deployment_type = 'indoor "lab"';
    if (i % 29 === 0) r.instance_id = 'ünïcode ✓';
    if (i % 31 === 0) r.serial_number = 12345; // a number in a TEXT column (irregular: the run is not cached)
    rows.push(r);
  }
  return rows;
}

test('typed columns with the sensor-describing runs cached per sensor are byte for byte those of each row written on its own', (t) => {
  const dir = tempDir(t, 'edgelake-typed-');
  const path = join(dir, 'sensor_data.db');
  const rows = changingRows(700);
  // The same rows without the irregular serial numbers, so that caching applies to the whole run.
  createSensorDb(path, rows.map((r) => (typeof r.serial_number === 'number' ? { ...r, serial_number: 'SN-0' } : r)));
  const irregularPath = join(dir, 'irregular.db');
  createSensorDb(irregularPath, rows);
  for (const p of [path, irregularPath]) {
    const db = new Database(p, { readonly: true });
    try {
      const all = new SensorReader({ db, columns: READING_COLUMNS.map((c) => c.name), keepTimestampText: false }).read(0, 5000);
      assert.equal(all.length, 700);
      const fuzzed = (b: ColumnarBatch) => ({ latitude: b.numeric.latitude!.map((v, i) => v + i / 1000), longitude: b.numeric.longitude!.map((v) => -v) });
      const variants: Array<[string, (b: ColumnarBatch) => TypedColumnsOptions]> = [
        ['as stored', () => ({})],
        ['other coordinates', (b) => ({ gps: fuzzed(b) })],
        ['other coordinates and the originals', (b) => ({ gps: fuzzed(b), originalGps: true })],
      ];
      for (const [what, opts] of variants) {
        const whole = lines(all, opts);
        for (let r = 0; r < all.length; r++) {
          const alone = lines(takeRows(all, [r]), (b) => {
            const o = opts(all);
            return o.gps ? { ...o, gps: { latitude: o.gps.latitude.subarray(r, r + 1), longitude: o.gps.longitude.subarray(r, r + 1) } } : o;
          })[0];
          assert.equal(whole[r], alone, `${p === path ? 'regular' : 'irregular'} rows, ${what}: row ${r + 1}`);
        }
      }
    } finally {
      db.close();
    }
  }
});

test('the ISO instant writer writes JSON.stringify(new Date(ms).toISOString()) byte for byte (1M instants of every year 0000–9999, day and year edges) and floors a fractional ms', () => {
  const min = new Date('0000-01-01T00:00:00.000Z').getTime();
  const max = new Date('9999-12-31T23:59:59.999Z').getTime();
  assert.ok(isoRange(min) && isoRange(max) && !isoRange(min - 1) && !isoRange(max + 1) && !isoRange(NaN));
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const instants: number[] = [min, max, 0, -1, 1, 86_399_999, 86_400_000, -86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2025, 7, 15, 10, 0, 0, 5)];
  for (let i = 0; i < 1_000_000; i++) {
    // Mostly near one day (the cache's path), sometimes anywhere in the range.
    instants.push(i % 10 === 0 ? Math.floor(min + rand() * (max - min)) : Date.UTC(2025, 7, 15) + Math.floor(rand() * 3 * 86_400_000));
  }
  const chunks: Buffer[] = [];
  const w = new JsonWriter((c) => chunks.push(Buffer.from(c)));
  const write = isoWriter();
  for (const ms of instants) {
    write(w, ms);
    w.byte(10);
  }
  w.flush();
  const got = Buffer.concat(chunks).toString('latin1').split('\n');
  for (let i = 0; i < instants.length; i++) {
    const want = JSON.stringify(new Date(instants[i]).toISOString());
    if (got[i] !== want) assert.fail(`${instants[i]}: wrote ${got[i]}, toISOString gives ${want}`);
  }
  for (const ms of [0.5, 1.999, -0.5, -1.5, Date.UTC(2025, 0, 1) + 0.25]) {
    const c: Buffer[] = [];
    const w2 = new JsonWriter((b) => c.push(Buffer.from(b)));
    isoWriter()(w2, ms);
    w2.flush();
    assert.equal(Buffer.concat(c).toString('latin1'), JSON.stringify(new Date(Math.floor(ms)).toISOString()), `fractional ${ms}`);
  }
});
