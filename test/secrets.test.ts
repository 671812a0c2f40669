import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { simulate } from '../src/simulate/index.ts';
import { describeResult, runCli, type CliResult } from './helpers/cli.ts';
import { startS3Server } from './helpers/s3server.ts';
import { filesUnder, insertRow, openTestDb } from './helpers/stage-db.ts';
import { tempDir } from './helpers/tmp.ts';

const CANARIES = {
  AWS_ACCESS_KEY_ID: 'AKIACANARY7Q2W4E6R8T',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-9f3e1b7d5c',
  AWS_SESSION_TOKEN: 'canary-session-token-4a6b8c',
  EDGELAKE_FUZZ_KEY: 'canary-fuzz-key-5d8c2a0e91',
};

/** Every readable text of a file: its bytes, and its gunzipped bytes when it is gzip. */
function contents(path: string): string {
  const raw = readFileSync(path);
  const texts = [raw.toString('latin1')];
  if (raw[0] === 0x1f && raw[1] === 0x8b) texts.push(gunzipSync(raw).toString('utf8'));
  return texts.join('\n');
}

/** Asserts that none of `secrets` occurs in any file below `dirs` or in the CLI outputs. */
function assertNoSecret(secrets: readonly string[], dirs: readonly string[], outputs: readonly CliResult[]): number {
  let scanned = 0;
  for (const dir of dirs) {
    for (const f of filesUnder(dir)) {
      const text = contents(f);
      scanned++;
      for (const s of secrets) assert.ok(!text.includes(s), `secret ${s.slice(0, 8)}… found in ${f}`);
    }
  }
  for (const r of outputs) for (const s of secrets) assert.ok(!(r.stdout + r.stderr).includes(s), `secret ${s.slice(0, 8)}… found in the CLI output`);
  return scanned;
}

/** The history tables as text (the settings table may hold a generated fuzz key by design; the others must not). */
function historyText(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('sensor_readings', 'edgelake_settings')").pluck().all() as string[]);
  const text = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).all())).join('\n');
  db.close();
  return text;
}

async function sensorDb(dir: string): Promise<string> {
  const dbPath = join(dir, 'sensors.db');
  await simulate({ db: dbPath, rows: 1500, sensors: 5, seed: 5, startMs: Date.UTC(2025, 7, 15) });
  const db = openTestDb(dbPath);
  insertRow(db, { temperature: 'n/a', latitude: null });
  db.close();
  return dbPath;
}

test('no AWS credential or configured fuzz key appears in any lake object, CLI output or history row, for every stage', async (t) => {
  const dir = tempDir(t);
  const dbPath = await sensorDb(dir);
  const lake = join(dir, 'lake');
  const outputs: CliResult[] = [];
  for (const [i, type] of ['ingestion', 'validated', 'enriched'].entries()) {
    const args = ['run', '--db', dbPath, '--once', '--lake', lake, '--type', type, '--from-id', '1', '--batch-size', '700'];
    // The first run follows the live cursor; later ones reprocess on their own checkpoints.
    const r = await runCli(i === 0 ? args.slice(0, 8) : args, { env: CANARIES });
    assert.equal(r.code, 0, describeResult(r));
    outputs.push(r);
  }
  const bad = await runCli(['run', '--db', join(dir, 'missing.db'), '--once', '--lake', lake, '--type', 'enriched'], { env: CANARIES });
  assert.equal(bad.code, 2, describeResult(bad));
  outputs.push(bad);
  const scanned = assertNoSecret(Object.values(CANARIES), [lake], outputs);
  assert.ok(scanned >= 6, `scanned ${scanned} files`);
  const history = historyText(dbPath);
  for (const s of Object.values(CANARIES)) assert.ok(!history.includes(s), `secret ${s.slice(0, 8)}… in the state history`);
});

test('a generated fuzz key stays in the private file beside the state: never in the sensor database, objects, object metadata on S3, or logs', async (t) => {
  const dir = tempDir(t);
  const dbPath = await sensorDb(dir);
  const s3 = await startS3Server();
  t.after(() => s3.dispose());
  // s3rver checks the access key id (S3RVER) but not the secret, so the secret can be a canary.
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: CANARIES.AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: undefined, EDGELAKE_FUZZ_KEY: undefined, AWS_REGION: 'us-west-2' };
  const r = await runCli(['run', '--db', dbPath, '--once', '--s3-endpoint', s3.endpoint, '--create-buckets', '--type', 'enriched'], { env });
  assert.equal(r.code, 0, describeResult(r));
  const priv = new Database(`${dbPath}.private`, { readonly: true });
  const key = priv.prepare("SELECT value FROM settings WHERE name = 'gps_fuzz_key'").pluck().get() as string;
  priv.close();
  assert.ok(key && key.length >= 40, 'the generated key is stored');
  assert.equal(statSync(`${dbPath}.private`).mode & 0o777, 0o600, 'the private file is readable by its owner only');
  assert.match(r.stderr, /generated a GPS fuzzing key/);
  const secrets = [key, CANARIES.AWS_SECRET_ACCESS_KEY];
  // s3rver keeps each object's body beside its metadata and checksum files: all are scanned.
  const scanned = assertNoSecret(secrets, [s3.dir], [r]);
  assert.ok(scanned >= 3, `scanned ${scanned} files`);
  assert.ok(!historyText(dbPath).includes(key), 'the key is not in the history tables');
  // Not even in the sensor database's raw pages or WAL.
  for (const f of [dbPath, `${dbPath}-wal`]) {
    try {
      assert.ok(!readFileSync(f).includes(key), `the key is in the bytes of ${f}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
});
