import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { READING_COLUMNS, SENSOR_READINGS_DDL } from '../src/source/schema.ts';
import { SENSOR_CACHE_KIB, openSensorDb } from '../src/source/open.ts';
import { describeResult, runCli } from './helpers/cli.ts';
import { INGESTION_BUCKET, VALIDATED_BUCKET, idCounts, readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow, insertRows, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { mountTmpfs } from './helpers/tmpfs.ts';
import { until } from './helpers/until.ts';

// Issue 10: ids ≤ 0 were silently skipped; ids past 2^53 − 1 were never exported and `run --once`
// spun at 145 % CPU ignoring signals; extra columns were dropped by ingestion; a renamed column
// crashed with a stack trace; a rollback-journal database was switched to WAL; a read-only one
// was refused.

const ids = (lake: string, bucket: string) => [...idCounts(readLake(lake, bucket))].sort((a, b) => a[0] - b[0]);

test('ids -5, 0 and 2^53-3 are exported like any other, and 2^53+7 stops the run with exit 2 naming it, at once and without spinning', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const h = new Database(db);
  const cols = READING_COLUMNS.filter((c) => c.name !== 'id').map((c) => c.name);
  const ins = h.prepare(`INSERT INTO sensor_readings (id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})`);
  for (const [n, id] of [-5n, 0n, 2n ** 53n - 3n, 2n ** 53n + 7n].entries()) {
    const row = goodRow(n + 1);
    ins.run(id, ...cols.map((c) => row[c] ?? null));
  }
  h.close();
  const lake = join(dir, 'lake');
  const t0 = performance.now();
  const r = await runCli(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'far', '--no-progress', '--no-alerts'], { timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  assert.equal(r.code, 2, describeResult(r));
  assert.match(r.stderr, /sensor_readings holds id 9007199254740999, beyond 2\^53 - 1/);
  assert.doesNotMatch(r.stderr, /unexpected failure/);
  assert.ok(ms < 20_000, `took ${ms} ms`);
  assert.deepEqual(ids(lake, INGESTION_BUCKET), [[-5, 1], [0, 1], [2 ** 53 - 3, 1]]);
  // A rerun exports nothing twice and stops the same way.
  const again = await runCli(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'far', '--no-progress', '--no-alerts']);
  assert.equal(again.code, 2, describeResult(again));
  assert.deepEqual(ids(lake, INGESTION_BUCKET), [[-5, 1], [0, 1], [2 ** 53 - 3, 1]]);
});

test('ingestion keeps every column of the table as stored, two extra ones included; validated needs only its own and ignores them', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, [goodRow(1), goodRow(2), goodRow(3)]);
  const h = new Database(db);
  h.exec("ALTER TABLE sensor_readings ADD COLUMN site_code TEXT; ALTER TABLE sensor_readings ADD COLUMN battery_pct REAL");
  h.exec("UPDATE sensor_readings SET site_code = 'NYC-' || id, battery_pct = 90.5 + id WHERE id < 3; UPDATE sensor_readings SET battery_pct = 'low' WHERE id = 3");
  h.close();
  const lake = join(dir, 'lake');
  for (const type of ['ingestion', 'validated']) {
    const r = await runCli(['run', '--once', '--db', db, '--lake', lake, '--type', type, '--node-id', 'extra', '--no-progress', '--no-alerts', ...(type === 'validated' ? ['--from-id', '1'] : [])]);
    assert.equal(r.code, 0, describeResult(r));
  }
  const recs = readLake(lake, INGESTION_BUCKET).flatMap((o) => o.records).sort((a, b) => Number(a.id) - Number(b.id));
  assert.deepEqual(recs.map((r) => [r.site_code, r.battery_pct]), [['NYC-1', 91.5], ['NYC-2', 92.5], [null, 'low']]);
  assert.equal(Object.keys(recs[0]).length, 27 + 2 + 1, 'every column plus _pipeline');
  const validated = readLake(lake, VALIDATED_BUCKET).flatMap((o) => o.records);
  assert.equal(validated.length, 3);
  assert.ok(!('site_code' in validated[0]), 'validated writes the contract columns only');
});

test('a renamed column: validated exits 2 naming the missing column and the likely rename, ingestion keeps the renamed one as stored', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db, [goodRow(1), goodRow(2)]);
  const h = new Database(db);
  h.exec('ALTER TABLE sensor_readings RENAME COLUMN temperature TO temp_c');
  h.close();
  const lake = join(dir, 'lake');
  const v = await runCli(['run', '--once', '--db', db, '--lake', lake, '--type', 'validated', '--node-id', 'renamed', '--no-progress', '--no-alerts']);
  assert.equal(v.code, 2, describeResult(v));
  assert.match(v.stderr, /sensor_readings has no column "temperature", which this stage needs \("temp_c" looks like temperature renamed\)/);
  assert.doesNotMatch(v.stderr, /unexpected failure|alert thread failed|    at /);
  const i = await runCli(['run', '--once', '--db', db, '--lake', lake, '--type', 'ingestion', '--node-id', 'renamed', '--no-progress', '--no-alerts']);
  assert.equal(i.code, 0, describeResult(i));
  const recs = readLake(lake, INGESTION_BUCKET).flatMap((o) => o.records);
  assert.equal(recs.length, 2);
  assert.ok('temp_c' in recs[0] && !('temperature' in recs[0]));
});

test('a rollback-journal sensor database is read in its own journal mode, beside a writer holding RESERVED, and never switched to WAL', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const h = new Database(db);
  h.pragma('journal_mode = DELETE');
  h.exec(SENSOR_READINGS_DDL);
  insertRows(h, Array.from({ length: 500 }, (_, n) => goodRow(n + 1)));
  h.close();
  // A sensor process in the middle of a write transaction (RESERVED lock), holding it for a while.
  const writer = spawn(process.execPath, ['-e', `
    const D = require('better-sqlite3'); const d = new D(${JSON.stringify(db)});
    d.exec('BEGIN IMMEDIATE'); d.prepare("INSERT INTO sensor_readings (timestamp, sensor_id) VALUES ('2025-08-15T11:00:00Z', 'LATE')").run();
    process.stdout.write('holding\\n'); setTimeout(() => { d.exec('COMMIT'); d.close(); }, 4000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  writer.stdout!.on('data', (d: Buffer) => (said += d));
  await until('the writer to hold its transaction', () => said.includes('holding'), 10_000);
  const lake = join(dir, 'lake');
  const r = await runCli(['run', '--once', '--db', db, '--state-db', join(dir, 'state.db'), '--lake', lake, '--node-id', 'journal', '--no-progress', '--no-alerts']);
  assert.equal(r.code, 0, describeResult(r));
  assert.equal(idCounts(readLake(lake, INGESTION_BUCKET)).size, 500, 'the committed rows, not the uncommitted one');
  await new Promise((resolve) => writer.on('close', resolve));
  assert.equal(query<{ journal_mode: string }>(db, 'PRAGMA journal_mode')[0].journal_mode, 'delete');
});

test('a read-only sensor file (a read-only mount) works with --state-db elsewhere; a WAL one there gets a message saying why SQLite cannot read it', async (t) => {
  const mnt = mountTmpfs(t, 8 * 1024 * 1024);
  if (mnt.skip !== undefined) return t.skip(mnt.skip);
  const dir = tempDir(t);
  for (const mode of ['DELETE', 'WAL']) {
    const src = join(dir, `${mode}.db`);
    const h = new Database(src);
    h.pragma(`journal_mode = ${mode}`);
    h.exec(SENSOR_READINGS_DDL);
    insertRows(h, Array.from({ length: 200 }, (_, n) => goodRow(n + 1)));
    h.close();
    copyFileSync(src, join(mnt.dir, `${mode}.db`));
  }
  execFileSync('mount', ['-o', 'remount,ro', mnt.dir]);
  const lake = join(dir, 'lake');
  const ok = await runCli(['run', '--once', '--db', join(mnt.dir, 'DELETE.db'), '--state-db', join(dir, 'state.db'), '--lake', lake, '--node-id', 'ro', '--no-progress', '--no-alerts']);
  assert.equal(ok.code, 0, describeResult(ok));
  assert.equal(idCounts(readLake(lake, INGESTION_BUCKET)).size, 200);
  const wal = await runCli(['run', '--once', '--db', join(mnt.dir, 'WAL.db'), '--state-db', join(dir, 'state2.db'), '--lake', lake, '--node-id', 'ro2', '--no-progress', '--no-alerts']);
  assert.equal(wal.code, 2, describeResult(wal));
  assert.match(wal.stderr, /WAL-mode database on a read-only file system needs its -shm and -wal files/);
  // Without --state-db the state would have to be written into the read-only file: a clear refusal too.
  const inside = await runCli(['run', '--once', '--db', join(mnt.dir, 'DELETE.db'), '--lake', lake, '--node-id', 'ro3', '--no-progress', '--no-alerts']);
  assert.equal(inside.code, 2, describeResult(inside));
  assert.match(inside.stderr, /not writable .*--state-db/);
});

test('a connection reading the sensor table keeps a small page cache, not better-sqlite3’s 16 MB default per connection', (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const fresh = new Database(db, { readonly: true });
  const conn = openSensorDb(db, { readonly: true });
  try {
    // What this guards: a scan fills the default cache with pages it never reads again (src/source/open.ts).
    assert.equal(fresh.pragma('cache_size', { simple: true }), -16000, 'the default this tunes away from');
    assert.equal(conn.pragma('cache_size', { simple: true }), -SENSOR_CACHE_KIB);
    assert.ok(SENSOR_CACHE_KIB <= 1024);
  } finally {
    fresh.close();
    conn.close();
  }
});
