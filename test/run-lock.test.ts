import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult, runCli, type CliChild } from './helpers/cli.ts';
import { lakeProof } from './helpers/lake-proof.ts';
import { checkpointId, createSensorDb, maxId, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';
import { StateStore } from '../src/state/store.ts';

// Regression tests for issue 10's first rows: the catch-up job beside the daemon landed 136,737
// of 200,000 ids twice, and two followers on one database (a restarted daemon whose old
// container was still stopping) 1,283. One run per state, and a compare-and-swap commit.

const follow = (db: string, lake: string, extra: string[] = []) =>
  spawnBuilt(['run', '--db', db, '--lake', lake, '--batch-size', '2000', '--batch-timeout', '200ms', '--node-id', 'locked-node', '--no-progress', ...extra]);

/** Resolves once `run` has committed at least one batch (it holds the lock by then). */
async function firstCommit(db: string, run: CliChild): Promise<void> {
  await until(`a first commit of ${run.child.pid}`, () => {
    if (run.child.exitCode !== null) throw new Error(`run exited early:\n${run.stderr()}`);
    return (checkpointId(db) ?? Number.MIN_SAFE_INTEGER) > 0;
  }, 30_000);
}

test(
  'two followers and a run --once started together on one database while a writer inserts 2,000 rows/s for 12 s: one uploads, the refused ones say why, a waiting follower takes over, and after a final drain every id is in the lake exactly once',
  { timeout: 120_000 },
  async (t) => {
    assertBuilt();
    const dir = tempDir(t);
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    createSensorDb(db);
    const writer = spawnBuilt(['simulate', '--db', db, '--duration', '12s', '--rate', '2000', '--sensors', '20', '--seed', '5']);
    const first = follow(db, lake);
    await firstCommit(db, first);
    // The daemon restarted while its old container still stops: the new follower waits for the old one.
    const second = follow(db, lake, ['--wait-lock', '60s']);
    // The catch-up job started beside the daemon, without waiting: refused at once.
    const once = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'locked-node', '--no-progress']);
    assert.equal(once.code, 2, describeResult(once));
    assert.match(once.stderr, /another edgelake run holds the state .*sensor_data\.db \(pid \d+ on host [^ ]+ since 20\d\d-.*\); waited 0\.\d s/);
    assert.match(once.stderr, /--wait-lock/);
    // A third follower that does not wait is refused the same way.
    const third = await runBuilt(['run', '--db', db, '--lake', lake, '--node-id', 'locked-node', '--no-progress']);
    assert.equal(third.code, 2, describeResult(third));
    assert.match(third.stderr, new RegExp(`pid ${first.child.pid} `));

    await delay(3000);
    assert.equal(second.child.exitCode, null, `the waiting follower is still waiting:\n${second.stderr()}`);
    // The old daemon stops mid-stream (SIGTERM: finishes its batch); the waiting one takes over while rows still arrive.
    first.child.kill('SIGTERM');
    const r1 = await first.exited;
    assert.equal(r1.code, 0, describeResult(r1));
    const handedOver = checkpointId(db)!;
    await until('the second follower to commit after the hand-over', () => (checkpointId(db) ?? 0) > handedOver, 30_000);
    assert.match(second.stderr(), /waiting up to 60 s for it \(--wait-lock\)/);

    const w = await writer.exited;
    assert.equal(w.code, 0, describeResult(w));
    const rows = maxId(db);
    assert.ok(rows >= 12_000, `the writer wrote ${rows} rows`);
    assert.ok(handedOver < rows, 'the hand-over happened while the writer was still writing');
    await until('the second follower to catch up', () => checkpointId(db) === rows, 60_000);
    second.child.kill('SIGTERM');
    const r2 = await second.exited;
    assert.equal(r2.code, 0, describeResult(r2));
    // The final drain (the once job, now that no follower holds the state) adds nothing and exits 0.
    const drain = await runBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'locked-node', '--no-progress', '--wait-lock', '10s']);
    assert.equal(drain.code, 0, describeResult(drain));
    assert.deepEqual(lakeProof('ingestion', db, lake).problems, []);
    const [{ n }] = query<{ n: number }>(db, 'SELECT count(DISTINCT first_id) AS n FROM pipeline_executions');
    t.diagnostic(`${rows} rows in ${n} batches; hand-over at id ${handedOver}`);
  },
);

test('a --once run waits for a holder with --wait-lock, says how long it waited, and then drains exactly once', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  createSensorDb(db);
  const sim = await runCli(['simulate', '--db', db, '--rows', '3000', '--seed', '2']);
  assert.equal(sim.code, 0, describeResult(sim));
  // Another process holds the lock (as a running follower would), and lets go ~1 s after the --once starts waiting.
  const holder = spawnBuilt(['run', '--db', db, '--lake', lake, '--node-id', 'waiter', '--no-progress', '--poll-interval', '50ms']);
  await firstCommit(db, holder);
  const waiting = spawnBuilt(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'waiter', '--no-progress', '--wait-lock', '30s']);
  await until('the --once run to say it waits', () => /another run holds the state .*; waiting up to 30 s for it/.test(waiting.stderr()) || waiting.child.exitCode !== null, 30_000);
  const t0 = performance.now();
  await delay(1000);
  holder.child.kill('SIGTERM');
  const once = await waiting.exited;
  const waited = performance.now() - t0;
  assert.equal(once.code, 0, describeResult(once));
  assert.match(once.stderr, /another run holds the state .*; waiting up to 30 s for it/);
  assert.ok(waited >= 1000, `waited ${waited} ms after the holder was asked to stop`);
  assert.equal((await holder.exited).code, 0);
  assert.deepEqual(lakeProof('ingestion', db, lake).problems, []);

  // Without a holder, a too-short wait is not needed at all; with one, the message gives the real wait.
  const h2 = spawnBuilt(['run', '--db', db, '--lake', lake, '--node-id', 'waiter', '--no-progress']);
  await until('the second holder to take the lock', () => /holds|edgelake/.test(h2.stderr()) || query<{ v: string }>(db, "SELECT value AS v FROM edgelake_settings WHERE name = 'run_holder'")[0]?.v.includes(String(h2.child.pid)), 20_000);
  const refused = await runCli(['run', '--once', '--db', db, '--lake', lake, '--node-id', 'waiter', '--no-progress', '--wait-lock', '700ms']);
  h2.child.kill('SIGTERM');
  await h2.exited;
  assert.equal(refused.code, 2, describeResult(refused));
  assert.match(refused.stderr, /waited 0\.[6-9] s|waited 1\.\d s/);
});

test('a checkpoint moved under a run (a broken lock) fails its commit with CHECKPOINT_MOVED instead of uploading the rows twice', () => {
  const db = new Database(':memory:');
  const store = new StateStore(db);
  store.ensureCheckpoint('live', 100, '100|t');
  const intent = { type: 'ingestion' as const, batchId: 'n-ingestion-101-200', afterId: 100, lastId: 200, limit: 100, startedMs: 0 };
  store.beginBatch('live', intent);
  const exec = {
    pipeline_type: 'ingestion', batch_id: intent.batchId, cursor: 'live', node_id: 'n', job_id: null, first_id: 101, last_id: 200, records_in: 100, records_out: 100,
    invalid_count: null, raw_bytes: 1, bytes_written: 1, objects_written: 1, started_at: '', finished_at: '', duration_ms: 1, latency_ms: null, details: null,
  };
  // Another process committed the same range meanwhile.
  db.prepare("UPDATE edgelake_checkpoints SET last_id = 200, pending = NULL WHERE cursor = 'live'").run();
  assert.throws(() => store.commitBatch('live', 100, 200, '200|t', null, exec), /CHECKPOINT_MOVED|checkpoint "live" is at id 200.*not at 100.*another process/);
  assert.throws(() => store.beginBatch('live', intent), /checkpoint "live" is at id 200/);
  assert.equal((db.prepare('SELECT count(*) AS n FROM pipeline_executions').get() as { n: number }).n, 0, 'nothing recorded twice');
  db.close();
});
