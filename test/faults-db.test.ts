import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult, type CliChild } from './helpers/cli.ts';
import { liveCursor } from './helpers/kill-chain.ts';
import { INGESTION_BUCKET, exactlyOnceProblems, isNodeManifest, listLakeFiles, parseRowKey, readLake } from './helpers/lake.ts';
import { createSensorDb, goodRow, insertRows, maxId, query, type TestRow } from './helpers/sensor-db.ts';
import { fillUp, mountTmpfs } from './helpers/tmpfs.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

const NODE = 'faulty';

before(() => assertBuilt());

/** `n` rows from id `from` of sensor generation `gen`: its serial numbers say which, and its day differs. */
function rows(gen: number, from: number, n: number): TestRow[] {
  return Array.from({ length: n }, (_, i) => ({ ...goodRow(from + i, `2025-08-${14 + gen}T10`), serial_number: `G${gen}-${from + i}` }));
}

/** `run` in follow mode (compiled CLI), quick to pick rows up; killed at the end of the test if still alive. */
function follow(t: TestContext, db: string, lake: string, extra: string[] = []): CliChild {
  const run = spawnBuilt(['run', '--db', db, '--lake', lake, '--batch-size', '1000', '--batch-timeout', '150ms', '--poll-interval', '100ms', '--node-id', NODE, '--no-progress', ...extra], {
    timeoutMs: 90_000,
  });
  t.after(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  });
  return run;
}

/** Polls `probe` until it holds or `timeoutMs` passes; true when it held (the caller asserts with fresh details). */
async function holds(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probe()) return true;
    if (Date.now() > deadline) return false;
    await delay(20);
  }
}

/** Waits until the live checkpoint in `stateDb` is exactly `id` (the state db is the only signal a separate process gives). */
async function checkpointIs(stateDb: string, id: number, run: CliChild, timeoutMs = 20_000): Promise<void> {
  const ok = await holds(() => {
    if (run.child.exitCode !== null) throw new Error(`run exited early (${run.child.exitCode}):\n${run.stderr()}`);
    return liveCursor(stateDb).lastId === id;
  }, timeoutMs);
  assert.ok(ok, `checkpoint did not reach ${id} in ${timeoutMs} ms (it is ${liveCursor(stateDb).lastId}); run stderr:\n${run.stderr()}`);
}

/** SIGTERM, then exit 0. */
async function stop(run: CliChild): Promise<void> {
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
}

/** A sensor's own connection to its database (in this process: a process apart from the run, which is what locks care about). */
function sensorWriter(db: string): Database.Database {
  const w = new Database(db);
  w.pragma('busy_timeout = 10000');
  return w;
}

/** Exactly-once problems of one source generation: its objects (keyed `<node>` or `<node>.g<N>`) hold ids 1..maxId of that generation. */
function generationProblems(lake: string, gen: number, last: number): string | null {
  const node = gen === 1 ? NODE : `${NODE}~g${gen}`;
  const objects = readLake(lake, INGESTION_BUCKET).filter((o) => parseRowKey(o.key)?.node === node);
  const foreign = objects.flatMap((o) => o.records).filter((r) => !String(r.serial_number).startsWith(`G${gen}-`));
  if (foreign.length) return `objects of ${node} hold ${foreign.length} rows of another generation (first: id ${foreign[0].id}, ${foreign[0].serial_number})`;
  const p = exactlyOnceProblems(objects, last);
  return p && `generation ${gen} (${node}): ${p}`;
}

/** A value of edgelake_settings (e.g. `source_generation`), null when unset. */
function setting(stateDb: string, name: string): string | null {
  return query<{ value: string }>(stateDb, 'SELECT value FROM edgelake_settings WHERE name = ?', name)[0]?.value ?? null;
}

describe('the sensor database misbehaving under a running `run`', { concurrency: 3 }, () => {
  test('a sensor holding a write transaction for 3 s does not block run: committed rows land meanwhile, the held rows right after COMMIT', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 2000));
    // State in its own file: the run never needs the sensor database's write lock.
    const run = follow(t, db, lake, ['--state-db', state]);
    await checkpointIs(state, 2000, run);
    const w = sensorWriter(db);
    insertRows(w, rows(1, 2001, 1000));
    w.exec('BEGIN IMMEDIATE');
    const heldAt = Date.now();
    try {
      insertRows(w, rows(1, 3001, 1000));
      // WAL: the run keeps reading and landing what was committed while the sensor holds its lock.
      await checkpointIs(state, 3000, run);
      // The fault itself: the sensor keeps its transaction open for 3 s in all.
      await delay(Math.max(0, 3000 - (Date.now() - heldAt)));
      assert.ok(w.inTransaction);
      assert.equal(liveCursor(state).lastId, 3000, 'rows of the open transaction are not read before COMMIT');
    } finally {
      w.exec('COMMIT');
      w.close();
    }
    await checkpointIs(state, 4000, run);
    await stop(run);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), 4000), null);
  });

  test('a write lock held past busy_timeout (12 s) makes run log that the database is locked and retry, not crash; the rows land once it is released', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 1000));
    // State in the sensor database (the default): recording an intent needs the write lock.
    const run = follow(t, db, lake);
    await checkpointIs(db, 1000, run);
    const w = sensorWriter(db);
    insertRows(w, rows(1, 1001, 1000)); // visible: the run reads them and must record an intent
    w.exec('BEGIN EXCLUSIVE');
    try {
      insertRows(w, rows(1, 2001, 500));
      const retried = await holds(() => run.child.exitCode !== null || /the state database is locked by another process \(SQLITE_BUSY\).*retrying in/.test(run.stderr()), 30_000);
      assert.ok(retried, `no "locked … retrying" line from run in 30 s; stderr:\n${run.stderr()}`);
      assert.equal(run.child.exitCode, null, `run is still alive: ${run.stderr()}`);
      assert.equal(liveCursor(db).lastId, 1000, 'nothing committed while locked');
    } finally {
      w.exec('COMMIT');
      w.close();
    }
    await checkpointIs(db, 2500, run, 30_000);
    await stop(run);
    assert.doesNotMatch(run.stderr(), /unexpected failure/);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), 2500), null);
  });

  test('a rollback-journal sensor holding an exclusive lock when run starts: exit 1 saying the database is locked, and a rerun after release lands every row once', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 1500));
    const w = sensorWriter(db);
    w.pragma('journal_mode = DELETE');
    w.exec('BEGIN EXCLUSIVE'); // readers are locked out too, unlike in WAL mode
    let r;
    try {
      insertRows(w, rows(1, 1501, 500));
      r = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', NODE, '--no-progress'], { timeoutMs: 40_000 });
    } finally {
      w.exec('COMMIT');
      w.close();
    }
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, /stayed locked by another process .*nothing is lost; rerun once the lock is released/);
    assert.deepEqual(listLakeFiles(lake).filter((f) => f.endsWith('.jsonl.gz')), [], 'nothing written');
    const rerun = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', NODE, '--no-progress']);
    assert.equal(rerun.code, 0, describeResult(rerun));
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), 2000), null);
  });

  test('a sensor that prunes every row keeps its ids going, and one that empties its table and restarts ids becomes generation 2: both land exactly once', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 3000));
    const run = follow(t, db, lake);
    await checkpointIs(db, 3000, run);
    const w = sensorWriter(db);
    try {
      // Pruned: every row deleted, AUTOINCREMENT continues at 3001. Same generation.
      w.transaction(() => {
        w.exec('DELETE FROM sensor_readings');
        insertRows(w, rows(1, 3001, 500));
      })();
      assert.equal(maxId(db), 3500);
      await checkpointIs(db, 3500, run);
      assert.equal(setting(db, 'source_generation'), null);
      // Restarted: the table emptied and its sequence reset, so ids start again at 1 (fewer rows than the checkpoint).
      w.transaction(() => {
        w.exec("DELETE FROM sensor_readings; DELETE FROM sqlite_sequence WHERE name = 'sensor_readings'");
        insertRows(w, rows(2, 1, 1200));
      })();
    } finally {
      w.close();
    }
    assert.equal(maxId(db), 1200);
    await until('source generation 2', () => setting(db, 'source_generation') === '2', 20_000);
    await checkpointIs(db, 1200, run);
    await stop(run);
    assert.match(run.stderr(), /replaced or truncated.*source generation 2/);
    assert.equal(generationProblems(lake, 1, 3500), null);
    assert.equal(generationProblems(lake, 2, 1200), null);
  });

  test(
    'a table emptied and refilled from id 1 beyond the checkpoint before run looks is still a new generation: no new row is skipped',
    async (t) => {
      const dir = tempDir(t);
      const db = join(dir, 'sensor_data.db');
      const lake = join(dir, 'lake');
      createSensorDb(db, rows(1, 1, 1000));
      const run = follow(t, db, lake);
      await checkpointIs(db, 1000, run);
      const w = sensorWriter(db);
      w.transaction(() => {
        w.exec("DELETE FROM sensor_readings; DELETE FROM sqlite_sequence WHERE name = 'sensor_readings'");
        insertRows(w, rows(2, 1, 1500));
      })();
      w.close();
      await checkpointIs(db, 1500, run);
      await stop(run);
      assert.equal(generationProblems(lake, 2, 1500), null, `source_generation ${setting(db, 'source_generation')}; stderr:\n${run.stderr()}`);
      assert.equal(generationProblems(lake, 1, 1000), null);
    },
  );

  /** The restarted sensor's move: delete the database with its -wal/-shm, start a new one (ids from 1). */
  function replaceDatabase(db: string, newRows: TestRow[]): void {
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
    createSensorDb(db, newRows);
  }

  test('a database file replaced under a following run stops it with a clear error, and the next run reads the new file as generation 2', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 3000));
    const run = follow(t, db, lake, ['--state-db', state]);
    await checkpointIs(state, 3000, run);
    replaceDatabase(db, rows(2, 1, 1200));
    // The old connection would read the unlinked file forever: the run notices and stops.
    const r = await run.exited;
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, /was replaced by a new file while running; stopping so that the next run reads the new file/);
    assert.equal(liveCursor(state).lastId, 3000, 'nothing of the new file was read under the old generation');
    const again = follow(t, db, lake, ['--state-db', state]);
    await until('source generation 2', () => setting(state, 'source_generation') === '2', 20_000);
    await checkpointIs(state, 1200, again);
    await stop(again);
    assert.equal(generationProblems(lake, 1, 3000), null);
    assert.equal(generationProblems(lake, 2, 1200), null);
  });

  test('a database file replaced while run was stopped is detected at start: generation 2 lands exactly once beside generation 1', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const state = join(dir, 'state.db');
    const lake = join(dir, 'lake');
    createSensorDb(db, rows(1, 1, 3000));
    const first = await runBuilt(['run', '--once', '--db', db, '--state-db', state, '--lake', lake, '--batch-size', '1000', '--node-id', NODE, '--no-progress']);
    assert.equal(first.code, 0, describeResult(first));
    replaceDatabase(db, rows(2, 1, 1200));
    const run = follow(t, db, lake, ['--state-db', state]);
    await until('source generation 2', () => setting(state, 'source_generation') === '2', 20_000);
    await checkpointIs(state, 1200, run);
    await stop(run);
    assert.match(run.stderr(), /replaced or truncated.*source generation 2/);
    assert.equal(generationProblems(lake, 1, 3000), null);
    assert.equal(generationProblems(lake, 2, 1200), null);
  });

  test('a full lake disk fails the batch cleanly (exit 1 with --once, retries when following) and, once space is freed, every row lands exactly once', async (t) => {
    const m = mountTmpfs(t, 2 * 1024 * 1024);
    if (m.skip !== undefined) {
      t.diagnostic(m.skip);
      t.skip(m.skip);
      return;
    }
    const lake = m.dir;
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    createSensorDb(db, rows(1, 1, 2000));
    const args = ['run', '--db', db, '--lake', lake, '--batch-size', '1000', '--node-id', NODE, '--no-progress'];
    const r0 = await runBuilt([...args, '--once']);
    assert.equal(r0.code, 0, describeResult(r0));
    const w = sensorWriter(db);
    insertRows(w, rows(1, 2001, 6000));
    w.close();

    const filler = join(lake, 'filler');
    fillUp(filler);
    const objectsBefore = listLakeFiles(lake).filter((f) => f.endsWith('.jsonl.gz'));
    const r1 = await runBuilt([...args, '--once']);
    assert.equal(r1.code, 1, describeResult(r1));
    assert.match(r1.stderr, /failed \(ENOSPC\); the checkpoint is unchanged, so nothing is lost/);
    assert.doesNotMatch(r1.stderr, /unexpected failure/);
    const after = liveCursor(db);
    assert.equal(after.lastId, 2000, 'checkpoint unchanged');
    assert.equal(after.pending?.afterId ?? 2000, 2000);
    // No partial object and no temporary file: the failed write removed its temporary.
    assert.deepEqual(
      listLakeFiles(lake).filter((f) => f !== 'filler' && !objectsBefore.includes(f) && !isNodeManifest(f)),
      [],
    );
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), 2000), null);

    const run = follow(t, db, lake);
    const retried = await holds(() => run.child.exitCode !== null || (run.stderr().match(/ENOSPC.*retrying in/g) ?? []).length >= 2, 20_000);
    assert.ok(retried && run.child.exitCode === null, `no two "ENOSPC … retrying" lines from a live run in 20 s; stderr:\n${run.stderr()}`);
    assert.equal(liveCursor(db).lastId, 2000);
    rmSync(filler);
    await checkpointIs(db, 8000, run, 30_000);
    await stop(run);
    assert.equal(exactlyOnceProblems(readLake(lake, INGESTION_BUCKET), 8000), null);
    const stray = readdirSync(lake, { recursive: true }).map(String).filter((f) => f.includes('.tmp-'));
    assert.deepEqual(stray, [], 'no temporary file left behind');
  });
});
