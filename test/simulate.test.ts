import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../src/errors.ts';
import { READING_COLUMNS } from '../src/source/schema.ts';
import { ANOMALY_TYPES, CITIES, INVALID_KINDS, simulate } from '../src/simulate/index.ts';
import { lakeRecords, runStage } from './helpers/stage-db.ts';
import type { SimulateOptions } from '../src/simulate/index.ts';

const START = Date.UTC(2025, 7, 15, 0, 0, 0);
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;
const RANGES = {
  temperature: [-10, 45],
  humidity: [0, 100],
  pressure: [95000, 105000],
  vibration: [0, 10],
  voltage: [10, 14],
} as const;

let dir: string;
let seq = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-simulate-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});
const dbPath = () => join(dir, `sensor_data_${++seq}.db`);

function query<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('simulate backfill', () => {
  test('creates sensor_readings with exactly the 27 contract columns in order, in WAL mode', async () => {
    const db = dbPath();
    await simulate({ db, rows: 10, startMs: START });
    const cols = query<{ name: string }>(db, 'PRAGMA table_info(sensor_readings)').map((c) => c.name);
    assert.deepEqual(cols, READING_COLUMNS.map((c) => c.name));
    assert.equal(query<{ journal_mode: string }>(db, 'PRAGMA journal_mode')[0].journal_mode, 'wal');
    assert.deepEqual(
      query<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((t) => t.name),
      ['sensor_readings', 'sqlite_sequence'],
    );
  });

  test('writes exactly the requested number of rows and reports their id range', async () => {
    const db = dbPath();
    const s = await simulate({ db, rows: 12_345, sensors: 7, startMs: START });
    const [c] = query<{ n: number; lo: number; hi: number; a: number }>(
      db,
      'SELECT count(*) n, min(id) lo, max(id) hi, sum(anomaly_flag) a FROM sensor_readings',
    );
    assert.deepEqual(c, { n: 12_345, lo: 1, hi: 12_345, a: s.anomalies });
    assert.equal(s.rowsWritten, 12_345);
    assert.equal(s.firstId, 1);
    assert.equal(s.lastId, 12_345);
    assert.ok(s.rowsPerSecond > 0 && s.elapsedMs > 0);
    const again = await simulate({ db, rows: 100, startMs: START });
    assert.deepEqual([again.firstId, again.lastId], [12_346, 12_445], 'a second run appends after the existing ids');
  });

  test('writes byte-identical rows for the same seed and options, and different rows for another seed', async () => {
    const opts = { rows: 3_000, sensors: 12, startMs: START, seed: 7 };
    const [a, b, c] = [dbPath(), dbPath(), dbPath()];
    await simulate({ db: a, ...opts });
    await simulate({ db: b, ...opts });
    await simulate({ db: c, ...opts, seed: 8 });
    const dump = (p: string) => JSON.stringify(query(p, 'SELECT * FROM sensor_readings ORDER BY id'));
    assert.equal(dump(a), dump(b));
    assert.notEqual(dump(a), dump(c));
  });

  test('flags about anomalyRate of rows, with a type on exactly the flagged rows', async () => {
    const db = dbPath();
    const s = await simulate({ db, rows: 50_000, startMs: START });
    const rows = query<{ f: number; sc: number; t: string | null; n: number }>(
      db,
      'SELECT anomaly_flag f, status_code sc, anomaly_type t, count(*) n FROM sensor_readings GROUP BY 1, 2, 3',
    );
    let flagged = 0;
    for (const r of rows) {
      if (r.f === 1) {
        assert.equal(r.sc, 1);
        assert.ok((ANOMALY_TYPES as readonly string[]).includes(r.t ?? ''), `type ${r.t}`);
        flagged += r.n;
      } else assert.deepEqual([r.f, r.sc, r.t], [0, 0, null]);
    }
    assert.equal(flagged, s.anomalies);
    assert.ok(Math.abs(flagged / 50_000 - 0.05) < 0.01, `anomaly fraction ${flagged / 50_000}`);
    assert.deepEqual(rows.filter((r) => r.f === 1).map((r) => r.t).sort(), [...ANOMALY_TYPES].sort(), 'every type occurs');
  });

  test('honours anomalyRate 0 and 1 at the extremes', async () => {
    const none = await simulate({ db: dbPath(), rows: 5_000, anomalyRate: 0, startMs: START });
    const all = await simulate({ db: dbPath(), rows: 5_000, anomalyRate: 1, startMs: START });
    assert.equal(none.anomalies, 0);
    assert.equal(all.anomalies, 5_000);
  });

  test('keeps normal readings inside the contract ranges around the typical values, at sensor precision', async () => {
    const db = dbPath();
    await simulate({ db, rows: 20_000, sensors: 20, startMs: START });
    const rows = query<Record<keyof typeof RANGES, number>>(
      db,
      'SELECT temperature, humidity, pressure, vibration, voltage FROM sensor_readings WHERE anomaly_flag = 0',
    );
    const typical = { temperature: [25, 2], humidity: [50, 10], pressure: [101325, 1000], vibration: [2.5, 0.5], voltage: [12, 0.5] };
    for (const metric of Object.keys(RANGES) as (keyof typeof RANGES)[]) {
      const xs = rows.map((r) => r[metric]);
      const [lo, hi] = RANGES[metric];
      assert.ok(xs.every((x) => typeof x === 'number' && x >= lo && x <= hi), `${metric} out of range`);
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
      const [mu, spread] = typical[metric];
      assert.ok(Math.abs(mean - mu) < spread / 2, `${metric} mean ${mean}`);
      assert.ok(sd > spread / 10 && sd < spread * 1.5, `${metric} sd ${sd}`);
    }
    assert.ok(rows.every((r) => Math.abs(r.temperature * 100 - Math.round(r.temperature * 100)) < 1e-6), 'temperature in 0.01 °C');
  });

  test('places sensors at real city coordinates with constant per-sensor attributes', async () => {
    const db = dbPath();
    await simulate({ db, rows: 2_000, sensors: 50, startMs: START });
    const perSensor = query<Record<string, string | number>>(
      db,
      `SELECT sensor_id, count(DISTINCT firmware_version || model || manufacturer || location || latitude || longitude ||
         original_timezone || serial_number || manufacture_date || deployment_type || installation_date ||
         height_meters || orientation_degrees || instance_id || sensor_type) AS variants,
         location, latitude, longitude, original_timezone, installation_date, manufacture_date, synced
       FROM sensor_readings GROUP BY sensor_id`,
    );
    assert.equal(perSensor.length, 50);
    for (const s of perSensor) {
      assert.equal(s.variants, 1, `${s.sensor_id} attributes vary`);
      assert.match(String(s.sensor_id), /^[A-Z]{4}_[0-9A-Z]{6}$/);
      const city = CITIES.find((c) => c.name === s.location);
      assert.ok(city, `unknown city ${s.location}`);
      assert.deepEqual([s.latitude, s.longitude, s.original_timezone], [city.lat, city.lon, city.tz]);
      assert.ok(String(s.sensor_id).startsWith(city.code + '_'));
      assert.ok(String(s.manufacture_date) < String(s.installation_date));
      assert.ok(Date.parse(String(s.installation_date)) < START);
      assert.equal(s.synced, 0);
    }
    assert.equal(new Set(perSensor.map((s) => s.location)).size, 42, 'the first 42 sensors sit in 42 cities');
  });

  test('spreads timestamps over the span from startMs, in contract format', async () => {
    const db = dbPath();
    const spanMs = 2 * 3_600_000;
    await simulate({ db, rows: 7_200, spanMs, startMs: START });
    const ts = query<{ timestamp: string }>(db, 'SELECT timestamp FROM sensor_readings ORDER BY id').map((r) => r.timestamp);
    assert.ok(ts.every((t) => TS_RE.test(t)), 'format');
    const ms = ts.map((t) => Date.parse(t));
    assert.ok(ms.every((t) => t >= START && t < START + spanMs));
    assert.ok(Math.max(...ms) - Math.min(...ms) > 0.99 * spanMs);
    const firstHour = ms.filter((t) => t < START + 3_600_000).length;
    assert.ok(Math.abs(firstHour - 3_600) < 10, `rows in first hour: ${firstHour}`);
  });

  test('ends the default span now: each sensor reads about once a second, at least one hour back', async () => {
    const db = dbPath();
    const before = Date.now();
    await simulate({ db, rows: 100_000, sensors: 10 });
    const after = Date.now();
    const [r] = query<{ lo: string; hi: string }>(db, 'SELECT min(timestamp) lo, max(timestamp) hi FROM sensor_readings');
    assert.ok(Date.parse(r.hi) <= after && Date.parse(r.hi) > before - 60_000, `last ${r.hi}`);
    assert.ok(Math.abs(Date.parse(r.hi) - Date.parse(r.lo) - 10_000_000) < 5_000, 'span = rows / sensors seconds');
    const small = dbPath();
    await simulate({ db: small, rows: 100, sensors: 10 });
    const [s] = query<{ lo: string }>(small, 'SELECT min(timestamp) lo FROM sensor_readings');
    assert.ok(Date.now() - Date.parse(s.lo) > 3_500_000, 'minimum span of one hour');
  });
});

describe('simulate live', () => {
  test('writes about rate × duration rows with current timestamps', async () => {
    const db = dbPath();
    const before = Date.now();
    const s = await simulate({ db, rate: 400, durationMs: 500, sensors: 4 });
    const after = Date.now();
    assert.equal(s.rowsWritten, 200);
    assert.ok(s.elapsedMs >= 400 && s.elapsedMs < 2_000, `elapsed ${s.elapsedMs}`);
    const ts = query<{ timestamp: string }>(db, 'SELECT timestamp FROM sensor_readings ORDER BY id').map((r) => Date.parse(r.timestamp));
    assert.equal(ts.length, 200);
    assert.ok(ts.every((t) => t >= before && t <= after));
    assert.ok(ts[199] - ts[0] > 450, 'spread over the duration, not written at once');
  });

  test('stops when the signal aborts and returns what was committed', async () => {
    const db = dbPath();
    const ac = new AbortController();
    const progress: number[] = [];
    const s = await simulate({
      db,
      rate: 2_000,
      durationMs: 60_000,
      signal: ac.signal,
      onProgress: (n) => {
        progress.push(n);
        if (n >= 100) ac.abort();
      },
    });
    assert.ok(s.rowsWritten >= 100 && s.rowsWritten < 2_000, `rows ${s.rowsWritten}`);
    assert.ok(s.elapsedMs < 5_000);
    assert.equal(query<{ n: number }>(db, 'SELECT count(*) n FROM sensor_readings')[0].n, s.rowsWritten);
    assert.equal(progress.at(-1), s.rowsWritten);
  });

  test('returns at once with nothing written when the signal is already aborted', async () => {
    const s = await simulate({ db: dbPath(), durationMs: 60_000, signal: AbortSignal.abort() });
    assert.equal(s.rowsWritten, 0);
  });
});

describe('simulate options', () => {
  const cases: [string, Partial<SimulateOptions>, RegExp][] = [
    ['sensors below 1', { sensors: 0, rows: 1 }, /sensors.*got 0/],
    ['fractional sensors', { sensors: 2.5, rows: 1 }, /sensors.*got 2\.5/],
    ['rate of zero', { rate: 0 }, /rate.*got 0/],
    ['negative rate', { rate: -5 }, /rate.*got -5/],
    ['negative rows', { rows: -1 }, /rows.*got -1/],
    ['anomalyRate above 1', { rows: 1, anomalyRate: 1.5 }, /anomalyRate.*--anomaly-rate.*got 1\.5/],
    ['negative anomalyRate', { rows: 1, anomalyRate: -0.1 }, /anomalyRate.*got -0\.1/],
    ['both rows and durationMs', { rows: 10, durationMs: 1000 }, /rows.*durationMs.*not both/],
    ['a misspelled option', { rows: 1, sensor: 3 } as Partial<SimulateOptions>, /unknown option "sensor"/],
    ['invalidRate above 1', { rows: 1, invalidRate: 2 }, /invalidRate.*--invalid-rate.*got 2/],
    ['an unknown city', { rows: 1, cities: ['PARI', 'Atlantis'] }, /unknown city "Atlantis".*PARI/],
    ['spreadKm without cities', { rows: 1, spreadKm: 3 }, /--spread-km 3.*needs cities/],
    ['a spreadKm of zero', { rows: 1, cities: ['PARI'], spreadKm: 0 }, /spreadKm.*got 0/],
  ];
  for (const [name, opts, message] of cases) {
    test(`rejects ${name} with a ConfigError naming the option and value`, async () => {
      const db = dbPath();
      await assert.rejects(simulate({ db, ...opts }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('rejects a database path that is a directory, naming the path', async () => {
    await assert.rejects(simulate({ db: dir, rows: 1 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(dir), err.message);
      return true;
    });
  });

  test('rejects a database path in a missing directory, naming the path', async () => {
    const db = join(dir, 'no', 'such', 'sensor_data.db');
    await assert.rejects(simulate({ db, rows: 1 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(db), err.message);
      return true;
    });
  });
});

describe('simulate bad rows', () => {
  test('writes about invalidRate of rows bad, every kind, deterministically under the seed, without changing the good rows', async () => {
    const clean = dbPath();
    const badA = dbPath();
    const badB = dbPath();
    await simulate({ db: clean, rows: 20_000, sensors: 5, startMs: START, seed: 7 });
    const a = await simulate({ db: badA, rows: 20_000, sensors: 5, startMs: START, seed: 7, invalidRate: 0.05 });
    const b = await simulate({ db: badB, rows: 20_000, sensors: 5, startMs: START, seed: 7, invalidRate: 0.05 });
    assert.ok(Math.abs(a.invalid - 1_000) < 150, `invalid rows: ${a.invalid}`);
    assert.deepEqual(Object.keys(a.invalidByKind).sort(), INVALID_KINDS.map((k) => k.kind).sort(), 'every kind drawn');
    assert.deepEqual(a.invalidByKind, b.invalidByKind);
    const dump = (p: string) => query<Record<string, unknown>>(p, 'SELECT * FROM sensor_readings ORDER BY id');
    assert.deepEqual(dump(badA), dump(badB), 'same seed, same bad rows');
    const good = dump(clean);
    const mixed = dump(badA);
    assert.equal(mixed.length, good.length);
    const differing = mixed.filter((r, i) => JSON.stringify(r) !== JSON.stringify(good[i])).length;
    assert.ok(differing <= a.invalid && differing > 0.9 * a.invalid, `${differing} rows differ from the clean run, ${a.invalid} written bad`);
    const [t] = query<{ texts: number; nulls: number }>(
      badA,
      `SELECT sum((typeof(temperature) = 'text') + (typeof(humidity) = 'text') + (typeof(pressure) = 'text') + (typeof(vibration) = 'text') + (typeof(voltage) = 'text')) AS texts,
              sum((temperature IS NULL) + (humidity IS NULL) + (pressure IS NULL) + (vibration IS NULL) + (voltage IS NULL)) AS nulls
       FROM sensor_readings`,
    );
    assert.equal(t.texts, a.invalidByKind.text_metric, 'text in REAL columns stays text');
    assert.equal(t.nulls, a.invalidByKind.null_metric);
  });

  test('each bad row breaks exactly the validation rule its kind names', async () => {
    const db = dbPath();
    const lake = join(dir, 'lake');
    const s = await simulate({ db, rows: 6_000, sensors: 4, seed: 3, invalidRate: 0.03, anomalyRate: 0 });
    await runStage({ db, lake, type: 'validated' });
    const records = lakeRecords(lake, '-validated-');
    assert.equal(records.length, s.rowsWritten);
    const byRule: Record<string, number> = {};
    for (const r of records) {
      const v = r._validation as { valid: boolean; errors: { rule: string }[] };
      if (v.valid) continue;
      assert.equal(v.errors.length, 1, `row ${r.id} breaks one rule: ${JSON.stringify(v.errors)}`);
      byRule[v.errors[0].rule] = (byRule[v.errors[0].rule] ?? 0) + 1;
    }
    const expected: Record<string, number> = {};
    for (const { kind, rule } of INVALID_KINDS) if (s.invalidByKind[kind]) expected[rule] = (expected[rule] ?? 0) + s.invalidByKind[kind];
    assert.deepEqual(byRule, expected);
  });

  test('pins sensors to the given cities, each within spreadKm of the centre and none at it', async () => {
    const db = dbPath();
    await simulate({ db, rows: 600, sensors: 12, startMs: START, cities: ['pari', 'Tokyo'], spreadKm: 3 });
    const rows = query<{ sensor_id: string; location: string; latitude: number; longitude: number }>(
      db,
      'SELECT sensor_id, location, latitude, longitude FROM sensor_readings GROUP BY sensor_id ORDER BY min(id)',
    );
    assert.equal(rows.length, 12);
    assert.deepEqual(rows.map((r) => r.location), Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'Paris' : 'Tokyo')));
    for (const r of rows) {
      const c = CITIES.find((x) => x.name === r.location)!;
      assert.ok(r.sensor_id.startsWith(c.code + '_'));
      const km = haversineKm(c.lat, c.lon, r.latitude, r.longitude);
      assert.ok(km > 0 && km <= 3.001, `${r.sensor_id} is ${km.toFixed(3)} km from ${c.name}`);
    }
    assert.equal(new Set(rows.map((r) => `${r.latitude},${r.longitude}`)).size, 12, 'every sensor at its own position');
  });
});

function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const h = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
}
