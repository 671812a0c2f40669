import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { PipelineType } from '../src/state/pipeline-types.ts';
import { checkFleet, readLakeFolder } from './checker/index.ts';
import { assertBuilt, runBuilt, spawnBuilt } from './helpers/built-cli.ts';
import { describeResult } from './helpers/cli.ts';
import { aggregatedProblems } from './helpers/aggregated-lake.ts';
import { hostNamesUnavailable, spawnOnHost } from './helpers/host.ts';
import { killSource } from './helpers/kill-chain.ts';
import { checkpointId, createSensorDb, maxId } from './helpers/sensor-db.ts';
import { tempDir } from './helpers/tmp.ts';
import { until } from './helpers/until.ts';

// Issue 10: the kill tests ran `--once` on a static database, one process at a time, under one
// node id, and missed that "a crash between upload and commit, then the container restarts under
// a new host name" landed the pending batch again under the new node's keys (50,000 ids twice),
// and that "a kill during the final flush of aggregated windows, then new rows, then a rerun"
// emitted 10 windows twice. Here every start runs in follow mode with a live writer, under a new
// host name and no configured node id (the pinned key must hold), with alerts on (every dataset).

const STAGES: readonly PipelineType[] = ['ingestion', 'validated', 'enriched', 'aggregated'];
const POINTS = ['intent-recorded', 'object-written', 'batch-uploaded', 'batch-committed'] as const;
const KILLS = 7;
const noHosts = hostNamesUnavailable();

before(() => assertBuilt());

const lastId = (db: string) => {
  const cp = checkpointId(db);
  return cp === null || cp === Number.MIN_SAFE_INTEGER ? 0 : cp;
};

describe('kill chains in follow mode: a live writer, a new host name at every restart', { concurrency: 2, skip: noHosts ?? false }, () => {
  for (const [i, stage] of STAGES.entries()) {
    test(`${stage}: ${KILLS} kills at crash points and by timer while rows arrive, each restart on another host, then a final drain: every row once, under the first host's key`, { timeout: 150_000 }, async (t) => {
      const dir = tempDir(t);
      const db = join(dir, 'sensor_data.db');
      const lake = join(dir, 'lake');
      createSensorDb(db);
      const args = ['run', '--db', db, '--lake', lake, '--type', stage, '--batch-size', '300', '--batch-timeout', '150ms', '--no-progress', '--alert-rate-limit', '0'];
      const env = { NODE_ID: undefined, EDGELAKE_CRASH_AT: undefined };
      // The writer runs until the kills are done (SIGTERM below), not for a guessed time: rows arrive
      // through every kill, and the chain does not idle waiting for a fixed duration to pass.
      // --duration only bounds it should the test die before stopping it.
      const writer = spawnBuilt(['simulate', '--db', db, '--duration', '150s', '--rate', '300', '--sensors', '6', '--seed', String(20 + i), '--anomaly-rate', '0.05'], { timeoutMs: 160_000 });
      const story: string[] = [];
      for (let k = 0; k < KILLS; k++) {
        const host = `box-${k}`;
        const crash = k % 3 === 2 ? null : `${POINTS[(k + i) % POINTS.length]}:${1 + ((k * 7 + i) % 3)}`;
        const before = lastId(db);
        const run = spawnOnHost(host, args, { ...env, EDGELAKE_CRASH_AT: crash ?? undefined });
        if (crash) {
          // Unref'd: a pending 20 s timer of the last race would hold the test process open after the tests.
          const r = await Promise.race([run.exited, delay(20_000, null, { ref: false })]);
          if (r === null) {
            run.child.kill('SIGKILL');
            await run.exited;
            story.push(`${host} ${crash}: not reached in 20 s, SIGKILL`);
          } else {
            assert.equal(r.signal, 'SIGKILL', `${host} (${crash}) should die at its crash point: ${describeResult(r)}`);
            story.push(`${host} ${crash}: cp ${lastId(db)}`);
          }
        } else {
          await until(`${host} to commit`, () => lastId(db) > before || run.child.exitCode !== null, 20_000);
          await delay(40 + k * 10);
          run.child.kill('SIGKILL');
          await run.exited;
          story.push(`${host} timer: cp ${lastId(db)}`);
        }
        if (k === 0) assert.match(run.stderr(), /^(?!.*keeping)/s, 'the first host records its name');
      }
      assert.ok(writer.child.exitCode === null && writer.child.signalCode === null, `the writer was still adding rows when the last kill came: ${writer.stderr()}`);
      writer.child.kill('SIGTERM');
      const w = await writer.exited;
      assert.equal(w.code, 0, describeResult(w));
      // A follower on yet another host catches up, stops on SIGTERM, and a --once flushes what is open.
      const rows = maxId(db);
      const last = spawnOnHost('box-final', args, env);
      await until('the final follower to catch up', () => lastId(db) === rows, 60_000).catch((err: Error) => {
        throw new Error(`${err.message} (cp ${lastId(db)} of ${rows}):\n${last.stderr()}`);
      });
      last.child.kill('SIGTERM');
      const lr = await last.exited;
      assert.equal(lr.code, 0, describeResult(lr));
      assert.match(lr.stderr, /the node id from host name is "box-final", but this state was recorded as node "box-0": keeping "box-0"/);
      const flush = spawnOnHost('box-flush', [...args, '--once'], env);
      const fr = await flush.exited;
      assert.equal(fr.code, 0, describeResult(fr));
      t.diagnostic(`${stage}: ${story.join(' | ')}; ${rows} rows`);
      const report = checkFleet({ lake: await readLakeFolder(lake), nodes: [{ nodeId: 'box-0', db }] });
      assert.deepEqual(report.problems, []);
      const n = report.nodes[0];
      t.diagnostic(`${stage}: ${n.sourceRows} rows, ${n.objects} objects, ${n.windows} windows (${n.corrections} corrections), ${n.alerts} alerts`);
      assert.ok(n.alerts > 0, 'alerts were routed through the kills');
    });
  }
});

test('kills inside the final flush of aggregated windows, each followed by new rows (late ones included) and a rerun, never emit a window twice: restatements are corrections', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sensor_data.db');
  const lake = join(dir, 'lake');
  await killSource(db, 8000);
  const args = ['run', '--once', '--db', db, '--lake', lake, '--type', 'aggregated', '--node-id', 'flusher', '--no-progress', '--no-alerts', '--batch-size', '2000'];
  const drained = await runBuilt([...args, '--no-flush-windows']);
  assert.equal(drained.code, 0, describeResult(drained));
  const extra = join(dir, 'extra.db');
  await killSource(extra, 4000, 1_000_000);
  const src = new Database(extra, { readonly: true });
  const pool = src.prepare('SELECT * FROM sensor_readings ORDER BY id').all() as Array<Record<string, unknown>>;
  src.close();
  let next = 0;
  /** New rows: half of them stamped in the windows just flushed (late), half later. */
  const addRows = (n: number) => {
    const h = new Database(db);
    const cols = Object.keys(pool[0]).filter((c) => c !== 'id');
    const ins = h.prepare(`INSERT INTO sensor_readings (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    const lastTs = h.prepare('SELECT timestamp FROM sensor_readings ORDER BY id DESC LIMIT 1').pluck().get() as string;
    h.transaction(() => {
      for (let j = 0; j < n; j++) {
        const row = { ...pool[next++ % pool.length] };
        const base = Date.parse(lastTs);
        row.timestamp = new Date(j % 2 === 0 ? base - 60_000 - j * 10 : base + (next % 900) * 1000).toISOString();
        ins.run(...cols.map((c) => row[c]));
      }
    })();
    h.close();
  };
  // object-written:1 is the flush's manifest, :2 its first window object.
  for (const crash of ['intent-recorded:1', 'object-written:1', 'object-written:2', 'batch-uploaded:1', 'batch-committed:1']) {
    const r = await runBuilt(args, { env: { EDGELAKE_CRASH_AT: crash } });
    assert.equal(r.signal, 'SIGKILL', `${crash}: ${describeResult(r)}`);
    addRows(120);
  }
  const final = await runBuilt(args);
  assert.equal(final.code, 0, describeResult(final));
  const check = aggregatedProblems(lake, db);
  assert.deepEqual(check.problems, []);
  t.diagnostic(`${check.windows} windows, ${check.corrections} corrections`);
  assert.ok(check.corrections > 0, 'late rows for flushed windows became corrections');
});
