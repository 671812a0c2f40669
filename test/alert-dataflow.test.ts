/**
 * The alert path reads no row twice (issue 12): while the stage is behind the head of the table
 * it scores the batches the stage read, and polls the sensor table itself only at the head, where
 * the stage waits for a batch to fill. A follower given a backlog scores every row exactly once,
 * reads at most about one batch of it itself, and looks no alerted row up again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseRunOptions } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { runPipeline } from '../src/pipeline/run.ts';
import { simulate } from '../src/simulate/index.ts';
import { checkpointId, goodRow, insertRows, maxId } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

const BACKLOG = 120_000;
const BATCH = 10_000;
const HEAD_ROWS = 300;

for (const type of ['ingestion', 'validated'] as const) {
  test(`${type}: a follower behind the head scores each row once from the stage's batches and polls only the head itself`, async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 's.db');
    await simulate({ db, rows: BACKLOG, sensors: 20, startMs: Date.UTC(2025, 7, 15), seed: 5 });
    const options = parseRunOptions({ db, lake: join(dir, 'lake'), nodeId: 'edge-df-1', type, batchSize: BATCH, progress: false });
    const ac = new AbortController();
    const run = runPipeline(options, { signal: ac.signal, log: createLogger({ quiet: true }) });
    t.after(() => ac.abort());
    await until('the backlog landed', () => checkpointId(db) === BACKLOG, 90_000);
    // New rows at the head, now that the stage waits there: these are the detector's own to poll.
    const w = new Database(db);
    insertRows(w, Array.from({ length: HEAD_ROWS }, (_, i) => ({ ...goodRow(BACKLOG + i + 1), timestamp: new Date(Date.UTC(2025, 7, 15, 12) + i * 1000).toISOString() })));
    w.close();
    const last = maxId(db);
    await until('the head rows landed', () => checkpointId(db) === last, 30_000);
    ac.abort();
    const summary = await run;
    const stats = summary.alerts;
    assert.ok(stats, 'the alert path ran');
    t.diagnostic(`${type}: ${last} rows, scored ${stats.rowsScored}, polled by the alert path itself ${stats.rowsPolled}, looked up ${stats.rowsLookedUp}, alerts ${stats.alerts}`);
    assert.equal(stats.rowsScored, last, 'every row was scored exactly once');
    assert.ok(stats.alerts > 0, 'the simulated anomalies raised alerts');
    assert.equal(stats.rowsLookedUp, 0, 'alert records come from the rows the stage read, never a second SELECT');
    // The head poll may read the backlog's last batch before the stage gets there, and the new rows: nothing else.
    assert.ok(stats.rowsPolled <= BATCH + HEAD_ROWS, `rows the alert path read itself: ${stats.rowsPolled} of ${last}`);
  });
}
