import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, describeResult } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';
import { createSensorDb, goodRow, query } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, exactlyOnceProblems, readLake } from './helpers/lake.ts';

/** Runs the CLI and checks exit code and a message substring (stderr). */
async function expectFailure(args: string[], code: number, ...messages: Array<string | RegExp>): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, code, describeResult(r));
  for (const m of messages) {
    if (typeof m === 'string') assert.ok(r.stderr.includes(m), `stderr lacks ${JSON.stringify(m)}:\n${r.stderr}`);
    else assert.match(r.stderr, m);
  }
  assert.doesNotMatch(r.stderr, /unexpected failure|\n\s+at /, 'a usage error is a message, not a stack trace');
  return r.stderr;
}

describe('edgelake run refuses bad input with exit 2 and a message naming it', { concurrency: 2 }, () => {
  test('a missing database file', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'nope.db');
    await expectFailure(['run', '--once', '--db', db, '--lake', join(dir, 'lake')], 2, db, 'does not exist');
  });

  test('a database without sensor_readings', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'other.db');
    const h = new Database(db);
    h.exec('CREATE TABLE readings (id INTEGER PRIMARY KEY, v REAL)');
    h.close();
    await expectFailure(['run', '--once', '--db', db, '--lake', join(dir, 'lake')], 2, 'no table sensor_readings', 'readings');
  });

  test('a sensor_readings table whose id is not an INTEGER PRIMARY KEY, holding duplicate ids', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'bad.db');
    const lake = join(dir, 'lake');
    const h = new Database(db);
    h.exec('CREATE TABLE sensor_readings (id INTEGER, timestamp TEXT, sensor_id TEXT)');
    // Two rows share id 2: a cursor on id would skip or repeat one of them.
    h.exec("INSERT INTO sensor_readings VALUES (1, '2025-08-15T10:00:00Z', 'A'), (2, '2025-08-15T10:00:01Z', 'A'), (2, '2025-08-15T10:00:02Z', 'B')");
    h.close();
    await expectFailure(['run', '--once', '--db', db, '--lake', lake], 2, 'not an INTEGER PRIMARY KEY', 'ids may repeat', db);
    assert.equal(readLake(lake).length, 0, 'nothing was written');
  });

  test('a file that is not SQLite', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'text.db');
    writeFileSync(db, 'hello, this is not a database, but it is long enough to have a header of some sort.\n'.repeat(20));
    await expectFailure(['run', '--once', '--db', db, '--lake', join(dir, 'lake')], 2, db);
  });

  test('an unknown --type, listing the valid types', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, [goodRow(1)]);
    await expectFailure(['run', '--once', '--db', db, '--type', 'bronze'], 2, '--type', 'bronze', 'ingestion, validated, enriched, aggregated');
    await expectFailure(['pipeline', 'set', '--db', db, '--type', 'silver', '--by', 'alice'], 2, 'silver', 'ingestion, validated, enriched, aggregated');
  });

  test('an unknown flag, named with a suggestion', async () => {
    await expectFailure(['run', '--once', '--batchsize', '10'], 2, '--batchsize', 'did you mean --batch-size');
    await expectFailure(['simulat', '--rows', '1'], 2, 'unknown command "simulat"', 'did you mean simulate');
  });

  test('a bad value, named with the flag', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, [goodRow(1)]);
    await expectFailure(['run', '--once', '--db', db, '--batch-size', 'lots'], 2, '--batch-size', '"lots"');
    await expectFailure(['run', '--once', '--db', db, '--lake', 'x', '--s3-endpoint', 'http://127.0.0.1:9'], 2, 'exclusive');
  });

  test('a lake path that is a regular file, or under one (exit 2, nothing advanced)', async (t) => {
    // Tests run as root, so permissions cannot make a folder unwritable; a file in the way can.
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, [goodRow(1), goodRow(2)]);
    const file = join(dir, 'lake-is-a-file');
    writeFileSync(file, 'x');
    await expectFailure(['run', '--once', '--db', db, '--lake', file], 2, file, 'not a writable folder');
    await expectFailure(['run', '--once', '--db', db, '--lake', join(file, 'sub')], 2, 'not a writable folder');
    const cp = query<{ last_id: number }>(db, "SELECT last_id FROM edgelake_checkpoints WHERE cursor = 'live'");
    assert.ok(cp.length === 0 || cp[0].last_id === 0, 'the checkpoint did not move');
    const ok = await runCli(['run', '--once', '--db', db, '--lake', join(dir, 'lake'), '--no-progress']);
    assert.equal(ok.code, 0, describeResult(ok));
    assert.equal(exactlyOnceProblems(readLake(join(dir, 'lake'), INGESTION_BUCKET), 2), null);
  });
});

describe('edgelake pipeline get|set|history', { concurrency: 2 }, () => {
  test('get reports ingestion before anything was set, and set accepts aliases', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db);
    const g0 = await runCli(['pipeline', 'get', '--db', db, '--json']);
    assert.equal(g0.code, 0, describeResult(g0));
    assert.equal(JSON.parse(g0.stdout).pipeline_type, 'ingestion');

    for (const [given, stored] of [
      ['schematized', 'validated'],
      ['raw', 'ingestion'],
      ['ENRICHED', 'enriched'],
    ]) {
      const s = await runCli(['pipeline', 'set', '--db', db, '--type', given, '--by', 'alice']);
      assert.equal(s.code, 0, describeResult(s));
      assert.match(s.stdout, new RegExp(`now ${stored}`));
      const g = await runCli(['pipeline', 'get', '--db', db, '--json']);
      assert.deepEqual({ ...JSON.parse(g.stdout), created_at: null }, { pipeline_type: stored, created_by: 'alice', created_at: null });
    }
    const plain = await runCli(['pipeline', 'get', '--db', db]);
    assert.match(plain.stdout, /^enriched \(set by alice at \d{4}-/);
  });

  test('set needs --type and --by', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db);
    await expectFailure(['pipeline', 'set', '--db', db, '--by', 'alice'], 2, 'needs --type');
    await expectFailure(['pipeline', 'set', '--db', db, '--type', 'raw'], 2, 'needs --by');
    await expectFailure(['pipeline', 'sett', '--db', db], 2, 'did you mean set');
  });

  test('set is atomic: after many sets, some concurrent, exactly one row is active and it is the newest', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db);
    const types = ['validated', 'enriched', 'aggregated', 'ingestion', 'raw', 'schematized'];
    // Two rounds of three concurrent `pipeline set` processes racing on the same file.
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(
        types.slice(round * 3, round * 3 + 3).map((type, i) => runCli(['pipeline', 'set', '--db', db, '--type', type, '--by', `op${round}${i}`])),
      );
      for (const r of results) assert.equal(r.code, 0, describeResult(r));
    }
    const rows = query<{ id: number; is_active: number }>(db, 'SELECT id, is_active FROM pipeline_config ORDER BY id');
    assert.equal(rows.length, 6);
    const active = rows.filter((r) => r.is_active === 1);
    assert.equal(active.length, 1, `active rows: ${JSON.stringify(rows)}`);
    assert.equal(active[0].id, rows[rows.length - 1].id, 'the active row is the newest');
  });

  test('history lists the switches and the executions, as text and as JSON', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    createSensorDb(db, Array.from({ length: 30 }, (_, i) => goodRow(i + 1)));
    assert.equal((await runCli(['pipeline', 'set', '--db', db, '--type', 'raw', '--by', 'alice'])).code, 0);
    assert.equal((await runCli(['pipeline', 'set', '--db', db, '--type', 'ingestion', '--by', 'bob'])).code, 0);
    const run = await runCli(['run', '--once', '--db', db, '--lake', join(dir, 'lake'), '--batch-size', '10', '--no-progress']);
    assert.equal(run.code, 0, describeResult(run));
    assert.match(run.stderr, /30 rows in 3 batches/);

    const j = await runCli(['pipeline', 'history', '--db', db, '--json']);
    assert.equal(j.code, 0, describeResult(j));
    const h = JSON.parse(j.stdout) as { switches: Array<Record<string, unknown>>; executions: Array<Record<string, unknown>> };
    assert.deepEqual(
      h.switches.map((s) => [s.pipeline_type, s.created_by, s.is_active]),
      [
        ['ingestion', 'bob', 1],
        ['ingestion', 'alice', 0],
      ],
    );
    assert.deepEqual(
      h.executions.map((e) => [e.pipeline_type, e.first_id, e.last_id, e.records_in, e.records_out]),
      [
        ['ingestion', 21, 30, 10, 10],
        ['ingestion', 11, 20, 10, 10],
        ['ingestion', 1, 10, 10, 10],
      ],
    );
    const limited = JSON.parse((await runCli(['pipeline', 'history', '--db', db, '--json', '--limit', '1'])).stdout);
    assert.equal(limited.executions.length, 1);

    const text = await runCli(['pipeline', 'history', '--db', db]);
    assert.equal(text.code, 0, describeResult(text));
    assert.match(text.stdout, /Pipeline switches/);
    assert.match(text.stdout, /bob/);
    assert.match(text.stdout, /Recent executions/);
    assert.match(text.stdout, /21-30/);
  });
});
