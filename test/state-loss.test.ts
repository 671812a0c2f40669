import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { assertBuilt, runBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { killSource } from './helpers/kill-chain.ts';
import { aggregatedProblems } from './helpers/aggregated-lake.ts';
import { INGESTION_BUCKET, exactlyOnceProblems, readLake } from './helpers/lake.ts';
import { maxId, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

// Issue 10: "the state file is lost or replaced (--state-db on a wiped volume): the next run
// uploads every row again under other batch boundaries, no warning"; "checkpoint table dropped,
// or a corrupt pending/stage_state JSON: stack traces on every run; the only way out is
// hand-written SQL". The lake's per-node manifest makes the recovery exact.

const run = (db: string, state: string, lake: string, extra: string[] = [], env: Record<string, string | undefined> = {}) =>
  runBuilt(['run', '--once', '--db', db, '--state-db', state, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts', ...extra], { env });

/** Appends `rows` more readings to `db` (same shape, later timestamps) from a second simulated source. */
async function moreRows(db: string, dir: string, rows: number, seed: number): Promise<void> {
  const extra = join(dir, `more-${seed}.db`);
  await killSource(extra, rows, 1_000_000);
  const h = new Database(db);
  h.exec(`ATTACH DATABASE '${extra}' AS more`);
  const cols = (h.prepare("SELECT name FROM pragma_table_info('sensor_readings') WHERE name != 'id'").pluck().all() as string[]).map((c) => `"${c}"`).join(', ');
  h.exec(`INSERT INTO sensor_readings (${cols}) SELECT ${cols} FROM more.sensor_readings ORDER BY id`);
  h.exec('DETACH DATABASE more');
  h.close();
}

const wipe = (state: string) => {
  for (const s of ['', '-wal', '-shm', '.lock']) rmSync(state + s, { force: true });
};

describe('a lost or damaged state is never silent', { concurrency: 1 }, () => {
  test('a state deleted after uploads with a small batch size, then a run with the default batch size: the position is recovered from the lake, no id twice, none missing', async (t) => {
    assertBuilt();
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state', 'state.db');
    const lake = join(dir, 'lake');
    await killSource(db, 5000);
    rmSync(join(dir, 'state'), { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(join(dir, 'state')));
    const r1 = await run(db, state, lake, ['--batch-size', '700']);
    assert.equal(r1.code, 0, describeResult(r1));
    wipe(state); // the volume is wiped
    await moreRows(db, dir, 2000, 3);
    const r2 = await run(db, state, lake);
    assert.equal(r2.code, 0, describeResult(r2));
    assert.match(r2.stderr, /this state had no checkpoint .* recovered the position from its manifest .*ids up to \d+ are in the lake/);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), maxId(db)), null);
  });

  test('a crash in the middle of a batch upload, then the state lost: the recorded intent is replayed onto its own keys (no partial object stays beside different boundaries)', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    await killSource(db, 6000);
    // Object 1 of a batch is the manifest; the third object written is the second batch's first data object.
    const r1 = await run(db, state, lake, ['--batch-size', '1000', '--type', 'validated'], { EDGELAKE_CRASH_AT: 'object-written:6' });
    assert.equal(r1.signal, 'SIGKILL', describeResult(r1));
    wipe(state);
    const r2 = await run(db, state, lake, ['--type', 'validated']);
    assert.equal(r2.code, 0, describeResult(r2));
    assert.match(r2.stderr, /batch \d+-\d+ is replayed onto the keys it was written under/);
    assert.equal(exactlyOnceProblems(readLake(lake, 'expanso-databricks-validated-us-west-2'), maxId(db)), null);
  });

  test('aggregated: a state lost between batches is recovered with its open windows; every window equals its recomputation, corrections marked', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    await killSource(db, 12_000);
    const r1 = await run(db, state, lake, ['--batch-size', '1500', '--type', 'aggregated'], { EDGELAKE_CRASH_AT: 'batch-committed:3' });
    assert.equal(r1.signal, 'SIGKILL', describeResult(r1));
    wipe(state);
    const r2 = await run(db, state, lake, ['--type', 'aggregated', '--batch-size', '1500']);
    assert.equal(r2.code, 0, describeResult(r2));
    assert.match(r2.stderr, /recovered the position from its manifest/);
    const agg = aggregatedProblems(lake, db);
    assert.deepEqual(agg.problems, []);
    t.diagnostic(`${agg.windows} windows, ${agg.corrections} corrections`);
  });

  test('a corrupt pending or stage_state column is named with its repair (exit 2, no stack trace); `edgelake state reset` then lets the next run recover it from the lake', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    await killSource(db, 3000);
    const r1 = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts', '--batch-size', '500'], { env: { EDGELAKE_CRASH_AT: 'batch-uploaded:3' } });
    assert.equal(r1.signal, 'SIGKILL');
    for (const [column, value] of [
      ['pending', '{"type":"ingestion","afterId":'],
      ['stage_state', 'not json'],
    ]) {
      const h = new Database(db);
      const before = h.prepare(`SELECT ${column} FROM edgelake_checkpoints WHERE cursor = 'live'`).pluck().get();
      h.prepare(`UPDATE edgelake_checkpoints SET ${column} = ? WHERE cursor = 'live'`).run(value);
      h.close();
      const r = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts']);
      assert.equal(r.code, 2, describeResult(r));
      assert.match(r.stderr, new RegExp(`edgelake_checkpoints, cursor "live", has an unreadable ${column}`));
      assert.match(r.stderr, /edgelake state reset --db/);
      assert.doesNotMatch(r.stderr, /unexpected failure|    at /);
      if (column === 'stage_state') break;
      const h2 = new Database(db);
      h2.prepare(`UPDATE edgelake_checkpoints SET ${column} = ? WHERE cursor = 'live'`).run(before);
      h2.close();
    }
    const reset = await runBuilt(['state', 'reset', '--db', db]);
    assert.equal(reset.code, 0, describeResult(reset));
    assert.match(reset.stdout, /removed checkpoint "live"/);
    const r3 = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts']);
    assert.equal(r3.code, 0, describeResult(r3));
    assert.match(r3.stderr, /recovered the position from its manifest/);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), maxId(db)), null);
  });

  test('a dropped checkpoint table is recreated and the position recovered from the lake, without a stack trace', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    await killSource(db, 2000);
    const r1 = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts', '--batch-size', '300']);
    assert.equal(r1.code, 0);
    const h = new Database(db);
    h.exec('DROP TABLE edgelake_checkpoints');
    h.close();
    await moreRows(db, dir, 700, 4);
    const r2 = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'lossy', '--no-progress', '--no-alerts']);
    assert.equal(r2.code, 0, describeResult(r2));
    assert.match(r2.stderr, /recovered the position from its manifest/);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), maxId(db)), null);
    assert.equal(query<{ n: number }>(db, "SELECT count(*) AS n FROM edgelake_checkpoints WHERE cursor = 'live'")[0].n, 1);
  });

  test('a new database under a node whose state was lost is not mistaken for the exported one: it is read from its first id as a new generation', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    await killSource(db, 1500);
    assert.equal((await run(db, state, lake)).code, 0);
    wipe(state);
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
    await killSource(db, 900, 7); // ids 1..900 again, other rows
    const r = await run(db, state, lake);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stderr, /describes another database .* as source generation 2/);
    const gen2 = readLake(lake, INGESTION_BUCKET).filter((o) => o.key.includes('lossy~g2_'));
    assert.equal(exactlyOnceProblems(gen2, 900), null);
  });
});
