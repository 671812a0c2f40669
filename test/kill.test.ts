import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { PipelineType } from '../src/state/pipeline-types.ts';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { describeChain, killSchedule, killSource, liveCursor, runKillChain } from './helpers/kill-chain.ts';
import { lakeProof } from './helpers/lake-proof.ts';
import { maxId, query } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';

// A modest database in small batches: 44 batches per row stage; a start costs ~1 s of CPU, mostly
// module loading. The 21 kills of a chain land 10-13k rows of a row stage (~15k of aggregated, which
// is ~3× faster per row and gets more rows): enough left that a timer kill never finds its run
// already done, even on a machine twice as fast, and not so much that the final rerun and the
// proof spend their time on rows no kill came near.
const ROWS: Readonly<Record<PipelineType, number>> = { ingestion: 22_000, validated: 22_000, enriched: 22_000, aggregated: 40_000 };
const BATCH = 500;
const KILLS = 21; // 18 at crash points, 3 by timer (every 7th)
const TIMER_EVERY = 7;
const STAGES: readonly PipelineType[] = ['ingestion', 'validated', 'enriched', 'aggregated'];

before(() => assertBuilt());

/** The chain's source in `dir`: the same rows for every stage, some of them late (see killSource). */
async function sourceDb(dir: string, rows: number): Promise<string> {
  const db = join(dir, 'sensor_data.db');
  await killSource(db, rows);
  return db;
}

describe('kill chains: SIGKILL anywhere in run --once, then a plain rerun', { concurrency: 2 }, () => {
  for (const [i, stage] of STAGES.entries()) {
    test(`${stage}: ${KILLS} kills at crash points and by timer, chained on one lake, leave every source row in it exactly once after the rerun`, async (t) => {
      const dir = tempDir(t);
      const rows = ROWS[stage];
      const db = await sourceDb(dir, rows);
      const lake = join(dir, 'lake');
      const kills = killSchedule(KILLS, 1000 + i, TIMER_EVERY);
      // --no-alerts: the alert router's start costs a third of each start's CPU, and this file proves the
      // stage buckets (the SIGTERM case below and bench/kill.ts keep it on).
      const chain = await runKillChain({ db, lake, stage, batchSize: BATCH, kills, alerts: false });
      t.diagnostic(`${stage}: ${describeChain(chain)}; final rerun ${chain.finalMs} ms`);
      // Every kill point hit a live process: none of the starts simply ran to the end.
      assert.equal(chain.killed, KILLS, describeChain(chain));
      assert.ok(chain.steps[chain.steps.length - 1].checkpoint < rows, 'the kills interrupted the work before it was done');
      assert.ok(chain.steps.some((s) => s.pending !== null), 'some kills left a pending batch that a later start replayed');
      const cur = liveCursor(db);
      assert.deepEqual(cur, { lastId: rows, pending: null });
      const proof = lakeProof(stage, db, lake);
      t.diagnostic(`${stage}: ${proof.objects} objects, ${proof.tempFiles} stray .tmp files${proof.windows ? `, ${proof.windows} windows (${proof.corrections} corrections)` : ''}`);
      assert.deepEqual(proof.problems, []);
      // The late rows made the aggregated stage restate windows: kills hit corrections, too.
      if (stage === 'aggregated') assert.ok((proof.corrections ?? 0) > 0, 'some windows were restated by corrections');
    });
  }

  test('SIGTERM while a batch is in flight: the batches in flight complete after the signal, exit 0, and a rerun lands the rest exactly once', async (t) => {
    const dir = tempDir(t);
    const rows = 50_000;
    const batch = 5_000;
    const db = await sourceDb(dir, rows);
    const lake = join(dir, 'lake');
    const args = ['run', '--once', '--db', db, '--lake', lake, '--type', 'enriched', '--batch-size', String(batch), '--node-id', 'termed', '--no-progress'];
    const run = spawnBuilt(args);
    // Wait for a batch past the first whose intent is recorded but not committed: uploading right now.
    let seen: ReturnType<typeof liveCursor> | null = null;
    while (run.child.exitCode === null) {
      const cur = liveCursor(db);
      if (cur.pending && cur.lastId >= batch && cur.lastId < cur.pending.lastId) {
        seen = cur;
        break;
      }
      await delay(5);
    }
    assert.ok(seen?.pending, `the run never showed a batch in flight: ${run.stderr()}`);
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const r = await run.exited;
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stderr, /SIGTERM: finishing the batch in flight/);

    const after = liveCursor(db);
    assert.equal(after.pending, null, 'no intent left behind');
    assert.ok(after.lastId >= seen.pending.lastId, `the batch in flight (ids ${seen.pending.afterId + 1}-${seen.pending.lastId}) completed; checkpoint ${after.lastId}`);
    assert.ok(after.lastId < rows, `the run stopped early instead of draining (checkpoint ${after.lastId})`);
    // At least one batch was committed after the signal was sent: work really was in flight when it arrived.
    const finished = query<{ last_id: number; finished_at: string }>(db, 'SELECT last_id, finished_at FROM pipeline_executions ORDER BY last_id');
    assert.ok(
      finished.some((e) => Date.parse(e.finished_at) >= signalledAt - 5),
      `batches finished at ${finished.map((e) => `${e.last_id}@${e.finished_at}`).join(', ')}; signal at ${new Date(signalledAt).toISOString()}`,
    );

    const rerun = await runBuilt(args);
    assert.equal(rerun.code, 0, describeResult(rerun));
    assert.equal(maxId(db), rows);
    assert.deepEqual(lakeProof('enriched', db, lake).problems, []);
  });
});
