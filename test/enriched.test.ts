import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { EARTH_RADIUS_M } from '../src/kernels/index.ts';
import { NodeSnapshotter } from '../src/meta/snapshot.ts';
import { EnrichedRecord } from '../src/schema/records.ts';
import { simulate } from '../src/simulate/index.ts';
import { describeResult, runCli } from './helpers/cli.ts';
import { insertRaw, insertRow, lakeRecords, openTestDb, runStage } from './helpers/stage-db.ts';
import { tempDir } from './helpers/tmp.ts';

type Rec = Record<string, unknown>;
const DEG = Math.PI / 180;

function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const a = Math.sin(((lat2 - lat1) * DEG) / 2) ** 2 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * Math.sin(((lon2 - lon1) * DEG) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, a)));
}

function sourceCoords(dbPath: string): Map<number, { lat: unknown; lon: unknown; sensor: unknown }> {
  const db = new Database(dbPath, { readonly: true });
  const rows = db.prepare('SELECT id, latitude, longitude, sensor_id FROM sensor_readings').all() as Array<{ id: number; latitude: unknown; longitude: unknown; sensor_id: unknown }>;
  db.close();
  return new Map(rows.map((r) => [r.id, { lat: r.latitude, lon: r.longitude, sensor: r.sensor_id }]));
}

const BACALHAU_VARS = ['BACALHAU_JOB_ID', 'BACALHAU_EXECUTION_ID', 'BACALHAU_JOB_TYPE', 'BACALHAU_PARTITION_INDEX', 'BACALHAU_PARTITION_COUNT', 'BACALHAU_NODE_ID'];

/** Runs `f` with the given environment variables set (undefined: removed), restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k];
    else process.env[k] = x;
  };
  apply(vars);
  try {
    return await f();
  } finally {
    apply(saved);
  }
}

const noBacalhau = Object.fromEntries(BACALHAU_VARS.map((k) => [k, undefined]));

test('fuzzes every row with valid coordinates within the radius; rows with bad coordinates get nulls, gps_fuzzed false and an error', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'gps.db');
  await simulate({ db: dbPath, rows: 3000, sensors: 20, seed: 11, startMs: Date.UTC(2025, 7, 15) });
  const db = openTestDb(dbPath);
  const bad = {
    nullLat: insertRow(db, { latitude: null }),
    lat95: insertRow(db, { latitude: 95 }),
    lonText: insertRow(db, { longitude: 'abc' }),
    allNull: Number(db.prepare('INSERT INTO sensor_readings (timestamp) VALUES (NULL)').run().lastInsertRowid),
    blobSensor: insertRaw(db, 'sensor_id', "x'0102'"),
  };
  db.close();
  const lake = join(dir, 'lake');
  await withEnv(noBacalhau, () => runStage({ db: dbPath, lake, type: 'enriched', fuzzRadiusKm: 0.5, nodeId: 'edge-gps', batchSize: 1000 }));
  const src = sourceCoords(dbPath);
  const records = lakeRecords(lake, 'enriched');
  assert.equal(records.length, src.size);
  const badIds = new Set(Object.values(bad).filter((id) => id !== bad.blobSensor));
  for (const rec of records) {
    EnrichedRecord.parse(rec);
    const id = rec.id as number;
    const s = src.get(id)!;
    const priv = rec._privacy as { gps_fuzzed: boolean; fuzzing_radius_km: number; fuzz_distance_m: number | null; fuzzing_method: string };
    assert.equal(priv.fuzzing_radius_km, 0.5);
    assert.ok(!('original_latitude' in rec) && !('original_longitude' in rec), 'true coordinates are not written');
    const lineage = rec._lineage as Rec;
    assert.deepEqual([lineage.source_file, lineage.source_row_id, lineage.pipeline_version], [resolve(dbPath), id, (rec._pipeline as Rec).version]);
    if (badIds.has(id)) {
      assert.deepEqual([priv.gps_fuzzed, rec.latitude, rec.longitude, priv.fuzz_distance_m], [false, null, null, null], `row ${id}`);
      const errs = (rec._validation as { errors: Array<{ field: string }> }).errors;
      assert.ok(errs.some((e) => e.field === 'latitude' || e.field === 'longitude'), `row ${id} names its coordinates`);
      continue;
    }
    assert.equal(priv.gps_fuzzed, true, `row ${id} is fuzzed`);
    const d = haversineM(s.lat as number, s.lon as number, rec.latitude as number, rec.longitude as number);
    assert.ok(d <= 500, `row ${id} moved ${d} m, more than the radius`);
    assert.ok(d > 0 && rec.latitude !== s.lat, `row ${id} moved`);
    assert.ok(Math.abs(d - priv.fuzz_distance_m!) < 0.01, `row ${id}: fuzz_distance_m ${priv.fuzz_distance_m} vs ${d}`);
  }
  const meta = records[0]._bacalhau_metadata as Rec;
  assert.deepEqual(
    [meta.job_id, meta.execution_id, meta.job_type, meta.partition_index, meta.partition_count, meta.node_id],
    [null, null, null, null, null, 'edge-gps'],
  );
  assert.ok((meta.execution_time_ms as number) >= 0);
  const snap = meta.node_snapshot as Rec;
  assert.ok((snap.cpu_cores as number) >= 1 && (snap.memory_gb as number) > 0);
  assert.equal(snap.gpu_count, 0);
  assert.ok((snap.capabilities as string[]).includes('wasm'));
});

test('gives each sensor the same offset in every run with the same key (generated once and kept), another with another key', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'key.db');
  await simulate({ db: dbPath, rows: 600, sensors: 6, seed: 3, startMs: Date.UTC(2025, 7, 15) });
  const coords = (lake: string) => new Map(lakeRecords(lake, 'enriched').map((r) => [r.id as number, `${r.latitude},${r.longitude}`]));
  const first = await withEnv({ EDGELAKE_FUZZ_KEY: undefined }, async () => {
    await runStage({ db: dbPath, lake: join(dir, 'a'), type: 'enriched' });
    await runStage({ db: dbPath, lake: join(dir, 'b'), type: 'enriched', fromId: 1 });
    return [coords(join(dir, 'a')), coords(join(dir, 'b'))];
  });
  assert.equal(first[0].size, 600);
  assert.deepEqual(first[0], first[1], 'same key, same offsets');
  // The generated key lives in edgelake's private file (0600) beside the state, not in the sensor database.
  const priv = new Database(`${dbPath}.private`, { readonly: true });
  const stored = priv.prepare("SELECT value FROM settings WHERE name = 'gps_fuzz_key'").pluck().get() as string;
  priv.close();
  assert.ok(stored.length >= 40, 'a generated key is kept in the private file');
  const db = new Database(dbPath, { readonly: true });
  assert.equal(db.prepare("SELECT count(*) FROM edgelake_settings WHERE name = 'gps_fuzz_key'").pluck().get(), 0, 'not in the sensor database');
  db.close();

  // Per sensor, one fixed offset: as many fuzzed positions as true positions.
  const src = sourceCoords(dbPath);
  const perSensor = new Map<unknown, { truth: Set<string>; fuzzed: Set<string> }>();
  for (const [id, c] of first[0]) {
    const s = src.get(id)!;
    const e = perSensor.get(s.sensor) ?? { truth: new Set(), fuzzed: new Set() };
    e.truth.add(`${s.lat},${s.lon}`);
    e.fuzzed.add(c);
    perSensor.set(s.sensor, e);
  }
  for (const [sensor, e] of perSensor) assert.equal(e.fuzzed.size, e.truth.size, `sensor ${String(sensor)}`);

  const other = await withEnv({ EDGELAKE_FUZZ_KEY: 'another-key-for-this-test' }, async () => {
    await runStage({ db: dbPath, lake: join(dir, 'c'), type: 'enriched', fromId: 2 });
    await runStage({ db: dbPath, lake: join(dir, 'd'), type: 'enriched', fromId: 3 });
    return [coords(join(dir, 'c')), coords(join(dir, 'd'))];
  });
  assert.equal(other[0].get(5), other[1].get(5), 'the configured key is stable too');
  for (const [id, c] of other[0]) assert.notEqual(c, first[0].get(id), `row ${id} moves differently with another key`);
});

test('writes the true coordinates as original_latitude/original_longitude only with --keep-original-gps', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'orig.db');
  const db = openTestDb(dbPath);
  insertRow(db, { latitude: 40.7128, longitude: -74.006 });
  insertRow(db, { latitude: null });
  db.close();
  const lake = join(dir, 'lake');
  await runStage({ db: dbPath, lake, type: 'enriched', keepOriginalGps: true });
  const [a, b] = lakeRecords(lake, 'enriched');
  EnrichedRecord.parse(a);
  EnrichedRecord.parse(b);
  assert.deepEqual([a.original_latitude, a.original_longitude], [40.7128, -74.006]);
  assert.notEqual(a.latitude, 40.7128);
  assert.deepEqual([b.original_latitude, b.original_longitude, b.latitude, b.longitude], [null, 13.405, null, null]);
});

test('fills _bacalhau_metadata from BACALHAU_* and the snapshot from the identity file (CLI)', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'meta.db');
  const db = openTestDb(dbPath);
  insertRow(db);
  db.close();
  const identity = join(dir, 'identity.json');
  writeFileSync(
    identity,
    JSON.stringify({ node_id: 'edge-nyc-01', node_type: 'edge-gateway', capabilities: ['camera'], location: { city: 'New York', country: 'US', region: 'us-east', datacenter: 'nyc-3' } }),
  );
  const env = {
    ...noBacalhau,
    NODE_ID: undefined,
    BACALHAU_JOB_ID: 'j-123',
    BACALHAU_EXECUTION_ID: 'e-456',
    BACALHAU_JOB_TYPE: 'daemon',
    BACALHAU_PARTITION_INDEX: '2',
    BACALHAU_PARTITION_COUNT: '4',
    NODE_CITY: 'Ignored because the file says New York',
  };
  const lake = join(dir, 'lake');
  const r = await runCli(['run', '--db', dbPath, '--once', '--lake', lake, '--type', 'enriched', '--node-identity', identity], { env });
  assert.equal(r.code, 0, describeResult(r));
  const [rec] = lakeRecords(lake, 'enriched');
  EnrichedRecord.parse(rec);
  const meta = rec._bacalhau_metadata as Rec;
  assert.deepEqual(
    [meta.job_id, meta.execution_id, meta.job_type, meta.partition_index, meta.partition_count, meta.node_id],
    ['j-123', 'e-456', 'daemon', 2, 4, 'edge-nyc-01'],
  );
  const snap = meta.node_snapshot as Rec;
  assert.equal(snap.node_type, 'edge-gateway');
  assert.deepEqual(snap.location, { city: 'New York', country: 'US', region: 'us-east', datacenter: 'nyc-3' });
  assert.equal((snap.capabilities as string[])[0], 'camera');

  const lake2 = join(dir, 'lake2');
  const env2 = { ...noBacalhau, NODE_ID: undefined, NODE_CITY: 'Lisbon', NODE_COUNTRY: 'PT', NODE_REGION: undefined, NODE_DATACENTER: 'lis-1', NODE_TYPE: undefined };
  const r2 = await runCli(['run', '--db', dbPath, '--once', '--lake', lake2, '--type', 'enriched', '--from-id', '1'], { env: env2 });
  assert.equal(r2.code, 0, describeResult(r2));
  const [rec2] = lakeRecords(lake2, 'enriched');
  const meta2 = rec2._bacalhau_metadata as Rec;
  // No node id configured this time: the id the state recorded at its first run is kept (contract §6), not the host name.
  assert.deepEqual([meta2.job_id, meta2.partition_index, meta2.node_id], [null, null, 'edge-nyc-01']);
  const snap2 = meta2.node_snapshot as Rec;
  assert.deepEqual(snap2.location, { city: 'Lisbon', country: 'PT', region: null, datacenter: 'lis-1' });
  assert.equal(snap2.node_type, null);
});

test('takes a node snapshot at most once per max age', () => {
  const s = new NodeSnapshotter({ identity: null, env: {}, maxAgeMs: 60_000 });
  const a = s.current(1_000_000);
  assert.equal(s.current(1_059_999), a);
  const b = s.current(1_060_000);
  assert.notEqual(b, a);
  assert.equal(b.taken_at, new Date(1_060_000).toISOString());
  assert.equal(s.json(1_060_001), JSON.stringify(b));
});
