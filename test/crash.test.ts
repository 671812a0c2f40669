import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { simulate } from '../src/simulate/index.ts';
import { spawnCli, runCli, describeResult } from './helpers/cli.ts';
import { tempDir } from './helpers/tmp.ts';
import { checkpointId, query } from './helpers/sensor-db.ts';
import { INGESTION_BUCKET, METRICS_BUCKET, exactlyOnceProblems, isNodeManifest, listLakeFiles, readLake } from './helpers/lake.ts';

// 48 batches of 5000: the 6 kills land ~50k rows in on a busy machine and up to ~120k on a quiet
// one (a run writes ~200k rows/s there: a 400 ms wait once let one run get 70k rows further), so
// they always interrupt the work, and the rerun and the proof do not spend their time on more.
const ROWS = 240_000;
/** Longest wait after an object appears before the odd kills: ≈ 30k rows at a quiet machine's pace. */
const MAX_WAIT_MS = 150;
const KILLS = 6;

/** Objects (final names) in the ingestion bucket right now. */
function objectCount(lake: string): number {
  return listLakeFiles(join(lake, INGESTION_BUCKET)).filter((f) => f.endsWith('.jsonl.gz')).length;
}

/** Resolves once the ingestion bucket holds more than `than` objects, or the child has exited. */
async function objectsAppear(lake: string, than: number, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  // Polling the folder is the reader's view (what Auto Loader sees); 5 ms keeps the kill close to the rename.
  while (!done && objectCount(lake) <= than) await delay(5);
}

test('SIGKILL at random moments during run --once never loses or duplicates a row: a rerun completes the lake exactly once', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  await simulate({ db, rows: ROWS, sensors: 20, startMs: Date.UTC(2025, 7, 15), seed: 7 });
  const args = ['run', '--once', '--db', db, '--lake', lake, '--batch-size', '5000', '--node-id', 'crashy', '--no-progress'];

  let landed = 0;
  const log: string[] = [];
  for (let i = 0; i < KILLS; i++) {
    const before = objectCount(lake);
    const run = spawnCli(args);
    // Half the kills land right after an object appears (between upload and checkpoint is likely),
    // the other half a random while after the first new object (anywhere in read/encode/upload/commit).
    await objectsAppear(lake, before, run.exited);
    if (i % 2 === 1) await delay(Math.floor(Math.random() * MAX_WAIT_MS));
    run.child.kill('SIGKILL');
    const r = await run.exited;
    const cp = checkpointId(db);
    const pending = query<{ pending: string | null }>(db, "SELECT pending FROM edgelake_checkpoints WHERE cursor = 'live'")[0]?.pending;
    log.push(`kill ${i + 1}: ${r.signal ?? `exit ${r.code}`}, checkpoint ${cp}, pending ${pending ? JSON.parse(pending).lastId : 'none'}`);
    if (r.signal === 'SIGKILL') landed++;
    else assert.equal(r.code, 0, describeResult(r));
    if (cp === ROWS) break;
  }
  t.diagnostic(log.join('; '));
  assert.ok(landed >= 5, `at least 5 kills hit a running process (${log.join('; ')})`);
  assert.ok((checkpointId(db) ?? 0) < ROWS, 'the kills interrupted the work before it was done');

  const rerun = await runCli(args, { timeoutMs: 90_000 });
  assert.equal(rerun.code, 0, describeResult(rerun));
  assert.equal(checkpointId(db), ROWS);

  const objects = readLake(lake, INGESTION_BUCKET);
  assert.equal(exactlyOnceProblems(objects, ROWS), null);
  // Temporary files may remain after a SIGKILL, but never under a final object name.
  for (const f of listLakeFiles(lake)) {
    if (isNodeManifest(f)) continue;
    if (!f.endsWith('.jsonl.gz')) assert.match(f.split('/').pop()!, /^\.tmp-/, `unexpected file ${f}`);
    else assert.doesNotMatch(f, /\.tmp-/, `a temporary file is visible as an object: ${f}`);
  }
  // Object keys are disjoint id ranges: a replay overwrote its own keys instead of writing new, overlapping ones.
  const ranges = objects.map((o) => o.key);
  assert.equal(new Set(ranges).size, ranges.length);
  // Every committed batch has its metrics, and no execution was recorded twice for the same range.
  const execs = query<{ first_id: number; last_id: number; n: number }>(
    db,
    'SELECT first_id, last_id, count(*) AS n FROM pipeline_executions GROUP BY first_id, last_id HAVING n > 1',
  );
  assert.deepEqual(execs, []);
  const total = query<{ s: number }>(db, 'SELECT sum(records_in) AS s FROM pipeline_executions')[0].s;
  assert.equal(total, ROWS);
  assert.ok(readLake(lake, METRICS_BUCKET).length > 0);
});
