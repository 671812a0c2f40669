/**
 * A node whose sensors have not written yet: an empty `sensor_readings`. Its max id (0) is past a
 * fresh checkpoint (before every id), and a run used to take that for rows to read, find none,
 * and try again at once — a loop that never yielded to timers or signals: `run --once` never
 * ended, a follower spun a core and ignored SIGTERM. Both must idle like a table without new rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { checkpointId, createSensorDb, goodRow, insertRows } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

test('run --once on an empty sensor table ends at once with nothing to do', async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const r = await runBuilt(['run', '--once', '--db', db, '--lake', join(dir, 'lake'), '--node-id', 'empty-1', '--no-progress'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, describeResult(r));
  assert.match(r.stderr, /0 rows in 0 batches/);
  assert.equal(checkpointId(db), Number.MIN_SAFE_INTEGER, 'the checkpoint stays before every id: nothing was read');
});

test('a follower on an empty sensor table idles, stops on SIGTERM, and lands the first rows once they come', async (t) => {
  assertBuilt();
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  createSensorDb(db);
  const run = spawnBuilt(['run', '--db', db, '--lake', join(dir, 'lake'), '--node-id', 'empty-2', '--no-progress', '--batch-timeout', '200ms'], { timeoutMs: 60_000 });
  t.after(() => run.child.kill('SIGKILL'));
  // Start-up (modules, workers) takes its CPU, longer on a busy machine; then an idle follower
  // polls a few times a second. The spinning loop used a whole core for good.
  let settled = -1;
  let quiet = 0;
  for (let k = 0, last = 0; k < 40; k++) {
    await delay(500);
    const now = cpuSeconds(run.child.pid!);
    quiet = now - last < 0.1 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) {
      settled = (k + 1) * 0.5;
      break;
    }
  }
  t.diagnostic(`settled to idle after ${settled} s (two half-seconds under 0.1 CPU-s each); CPU so far ${cpuSeconds(run.child.pid!).toFixed(2)} s`);
  assert.ok(settled > 0, `the follower idles on an empty table: still busy after 20 s (${cpuSeconds(run.child.pid!).toFixed(2)} CPU-s)`);
  const before = cpuSeconds(run.child.pid!);
  await delay(2000);
  const idle = cpuSeconds(run.child.pid!) - before;
  t.diagnostic(`CPU over 2 s on an empty table: ${idle.toFixed(2)} s`);
  assert.ok(idle < 0.5, `the follower idles on an empty table: ${idle.toFixed(2)} CPU-s in 2 s`);

  const w = new Database(db);
  insertRows(w, Array.from({ length: 50 }, (_, i) => goodRow(i + 1)));
  w.close();
  await until('the first rows landed', () => checkpointId(db) === 50, 15_000);
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 0, describeResult(r));
});
